package gormloader_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/internal/testdb"
)

// A many-to-many relation through a join model of the application's own
// (SetupJoinTable) whose rows are soft-deleted, hidden by a query clause
// with an argument, or of another tenant: players and clubs are shared by
// every tenant, a roster entry is one tenant's, and a callback adds the
// request's tenant to every query of a model with a tenant_id. A deleted,
// archived or other tenant's entry links nothing for GORM's Preload.
type Player struct {
	ID    uint
	Name  string
	Clubs []Club `gorm:"many2many:rosters"`
}

type Club struct {
	ID      uint
	Name    string
	Players []Player `gorm:"many2many:rosters"`
}

type Roster struct {
	PlayerID  uint `gorm:"primaryKey"`
	ClubID    uint `gorm:"primaryKey"`
	TenantID  uint
	DeletedAt gorm.DeletedAt
	Archived  Archived
}

type rosterTenantKey struct{}

// registerTenantScope adds "tenant_id = ?" to every query of a model with
// a tenant_id column when the statement's context names a tenant.
func registerTenantScope(t *testing.T, db *gorm.DB) {
	t.Helper()
	must(t, db.Callback().Query().Before("gorm:query").Register("test:tenant", func(db *gorm.DB) {
		tenant, ok := db.Statement.Context.Value(rosterTenantKey{}).(uint)
		if ok && db.Statement.Schema != nil && db.Statement.Schema.LookUpField("tenant_id") != nil {
			db.Where(clause.Eq{Column: clause.Column{Table: clause.CurrentTable, Name: "tenant_id"}, Value: tenant})
		}
	}))
}

// Archived hides the rows whose flag is set from every query of their
// model (archived = 0), as a soft-delete plugin does: a query clause with
// an argument.
type Archived int8

func (Archived) QueryClauses(f *schema.Field) []clause.Interface {
	return []clause.Interface{archivedClause{f}}
}

type archivedClause struct{ f *schema.Field }

func (archivedClause) Name() string               { return "" }
func (archivedClause) Build(clause.Builder)       {}
func (archivedClause) MergeClause(*clause.Clause) {}
func (c archivedClause) ModifyStatement(stmt *gorm.Statement) {
	if stmt.Unscoped {
		return
	}
	stmt.AddClause(clause.Where{Exprs: []clause.Expression{
		clause.Eq{Column: clause.Column{Table: clause.CurrentTable, Name: c.f.DBName}, Value: Archived(0)},
	}})
}

// openRosters returns d with players, clubs and rosters: player i plays in
// clubs 1..i+1, for tenant 1 or 2 by turns; of those, the entry for club
// i+1 is soft-deleted for odd i and archived for i divisible by 3.
func openRosters(t *testing.T, d testdb.DB) *gorm.DB {
	t.Helper()
	db := openGorm(t, d)
	must(t, db.SetupJoinTable(&Player{}, "Clubs", &Roster{}))
	must(t, db.SetupJoinTable(&Club{}, "Players", &Roster{}))
	must(t, db.AutoMigrate(&Player{}, &Club{}, &Roster{}))
	const n = 6
	for i := range n {
		must(t, db.Create(&Player{ID: uint(i + 1), Name: fmt.Sprintf("player %d", i+1)}).Error)
		must(t, db.Create(&Club{ID: uint(i + 1), Name: fmt.Sprintf("club %d", i+1)}).Error)
	}
	for i := range n {
		for c := 1; c <= i+1; c++ {
			r := Roster{PlayerID: uint(i + 1), ClubID: uint(c), TenantID: uint(1 + (i+c)%2)}
			if c == i+1 && i%3 == 0 {
				r.Archived = 1
			}
			must(t, db.Create(&r).Error)
			if c == i+1 && i%2 == 1 {
				must(t, db.Delete(&r).Error)
			}
		}
	}
	var hidden int64
	must(t, db.Unscoped().Model(&Roster{}).Where("deleted_at IS NOT NULL OR archived <> 0").Count(&hidden).Error)
	if hidden < 4 {
		t.Fatalf("%d hidden roster entries, want at least 4", hidden)
	}
	registerTenantScope(t, db)
	must(t, db.Use(gormloader.New()))
	return db
}

func names[T any](rows []T, name func(T) string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = name(r)
	}
	slices.Sort(out)
	return out
}

// TestJoinModelQueryClauses: Load, Count, Limit and LoadPage of a
// many-to-many relation leave out the links that the join model's query
// clauses and the callbacks for it hide, as Preload does, without a tenant
// and for each of two (the loader's JOIN ignored both: a deleted roster
// entry still linked its club, and another tenant's entry too). GORM's
// association Find applies the query clauses but not the callbacks (it
// joins the table), and fails on PostgreSQL with a clause that has an
// argument ("expected 1 arguments, got 2": it embeds the clause's $1), so
// Preload is the reference here.
func TestJoinModelQueryClauses(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			db := openRosters(t, d)
			for _, tenant := range []uint{0, 1, 2} {
				t.Run(fmt.Sprintf("tenant=%d", tenant), func(t *testing.T) {
					base := context.Background()
					if tenant > 0 {
						base = context.WithValue(base, rosterTenantKey{}, tenant)
					}
					checkRosters(t, db.WithContext(base), base)
				})
			}
		})
	}
}

func checkRosters(t *testing.T, db *gorm.DB, base context.Context) {
	var wantPlayers []Player
	must(t, db.Preload("Clubs", func(q *gorm.DB) *gorm.DB { return q.Order("id") }).Order("id").Find(&wantPlayers).Error)
	var wantClubs []Club
	must(t, db.Preload("Players").Order("id").Find(&wantClubs).Error)
	var visible, links int64
	must(t, db.Model(&Roster{}).Count(&visible).Error)
	for _, p := range wantPlayers {
		links += int64(len(p.Clubs))
	}
	if links != visible {
		t.Fatalf("Preload links %d clubs, the roster has %d visible entries", links, visible)
	}
	ctx, sc := dataloader.NewScope(base)
	defer sc.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var players []Player
	must(t, db.WithContext(ctx).Order("id").Find(&players).Error)
	clubName := func(c Club) string { return c.Name }
	for i := range players {
		p, want := &players[i], wantPlayers[i].Clubs
		got, err := gormloader.Load[Club](ctx, db, p, "Clubs")
		must(t, err)
		if g, w := names(got, clubName), names(want, clubName); !slices.Equal(g, w) {
			t.Errorf("player %d: Load gives %v, Preload %v", p.ID, g, w)
		}
		n, err := gormloader.Count(ctx, db, p, "Clubs")
		must(t, err)
		if n != int64(len(want)) {
			t.Errorf("player %d: Count gives %d, Preload %d clubs", p.ID, n, len(want))
		}
		last, err := gormloader.Load[Club](ctx, db, p, "Clubs", gormloader.Limit(1), gormloader.Order("id desc"))
		must(t, err)
		if len(want) > 0 && (len(last) != 1 || last[0].Name != want[len(want)-1].Name) {
			t.Errorf("player %d: Limit(1) by id desc gives %v, want %s", p.ID, names(last, clubName), want[len(want)-1].Name)
		}
		page, err := gormloader.LoadPage[Club](ctx, db, p, "Clubs", 2)
		must(t, err)
		if page.TotalCount != int64(len(want)) || page.HasNextPage != (len(want) > 2) || len(page.Rows) != min(2, len(want)) {
			t.Errorf("player %d: LoadPage(2) gives %d rows, total %d, more %v; Preload %d clubs", p.ID, len(page.Rows), page.TotalCount, page.HasNextPage, len(want))
		}
	}
	// The other side, through the same join model.
	var clubs []Club
	must(t, db.WithContext(ctx).Order("id").Find(&clubs).Error)
	playerName := func(p Player) string { return p.Name }
	for i := range clubs {
		c := &clubs[i]
		got, err := gormloader.Load[Player](ctx, db, c, "Players")
		must(t, err)
		if g, w := names(got, playerName), names(wantClubs[i].Players, playerName); !slices.Equal(g, w) {
			t.Errorf("club %d: Load gives %v, Preload %v", c.ID, g, w)
		}
	}
}

// TestJoinModelDeleteInRequest: a link deleted through the join model in
// the request is gone from the next load.
func TestJoinModelDeleteInRequest(t *testing.T) {
	for _, d := range testdb.All(t) {
		db := openRosters(t, d)
		ctx, sc := dataloader.NewScope(context.Background())
		defer sc.Close()
		var p Player
		must(t, db.WithContext(ctx).Order("id desc").First(&p).Error)
		before, err := gormloader.Load[Club](ctx, db, &p, "Clubs")
		must(t, err)
		if len(before) == 0 {
			t.Fatal("the last player has no clubs")
		}
		must(t, db.WithContext(ctx).Delete(&Roster{PlayerID: p.ID, ClubID: before[0].ID}).Error)
		after, err := gormloader.Load[Club](ctx, db, &p, "Clubs")
		must(t, err)
		if len(after) != len(before)-1 || slices.ContainsFunc(after, func(c Club) bool { return c.ID == before[0].ID }) {
			t.Errorf("%s: player %d: after deleting the link to club %d, Load gives %v", d.Dialect, p.ID, before[0].ID, names(after, func(c Club) string { return c.Name }))
		}
	}
}

// A self-referencing many2many through a join model.

type Pal struct {
	ID      uint
	Name    string
	Friends []Pal `gorm:"many2many:friendships"`
}

type Friendship struct {
	PalID     uint `gorm:"primaryKey"`
	FriendID  uint `gorm:"primaryKey"`
	DeletedAt gorm.DeletedAt
}

// Composite keys through a join model whose table is not the tag's.

type Shelf struct {
	Org   string      `gorm:"primaryKey;size:20"`
	Code  string      `gorm:"primaryKey;size:20"`
	Books []ShelfItem `gorm:"many2many:shelf_books"`
}

type ShelfItem struct {
	Org   string `gorm:"primaryKey;size:20"`
	ISBN  string `gorm:"primaryKey;size:20"`
	Title string
}

type ShelfBook struct {
	ShelfOrg      string `gorm:"primaryKey;size:20"`
	ShelfCode     string `gorm:"primaryKey;size:20"`
	ShelfItemOrg  string `gorm:"primaryKey;size:20"`
	ShelfItemISBN string `gorm:"primaryKey;size:20"`
	DeletedAt     gorm.DeletedAt
}

func (ShelfBook) TableName() string { return shelfBookTable }

var shelfBookTable = "shelf_book_links"

// checkManyToMany compares Load, Count, Limit(1) and LoadPage(1) of rel
// for every parent (in order) with Preload.
func checkManyToMany[P, T any](t *testing.T, db *gorm.DB, rel string, order string, key func(T) string, field func(*P) []T) {
	t.Helper()
	var want []P
	must(t, db.Preload(rel).Order(order).Find(&want).Error)
	ctx, sc := dataloader.NewScope(context.Background())
	defer sc.Close()
	var parents []P
	must(t, db.WithContext(ctx).Order(order).Find(&parents).Error)
	for i := range parents {
		w := field(&want[i])
		ws := names(w, key)
		got, err := gormloader.Load[T](ctx, db, &parents[i], rel)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if g := names(got, key); !slices.Equal(g, ws) {
			t.Errorf("parent %d: Load %v, Preload %v", i, g, ws)
		}
		n, err := gormloader.Count(ctx, db, &parents[i], rel)
		if err != nil {
			t.Fatalf("Count: %v", err)
		}
		if n != int64(len(w)) {
			t.Errorf("parent %d: Count %d, want %d", i, n, len(w))
		}
		lim, err := gormloader.Load[T](ctx, db, &parents[i], rel, gormloader.Limit(1))
		if err != nil {
			t.Fatalf("Limit: %v", err)
		}
		if len(lim) != min(1, len(w)) {
			t.Errorf("parent %d: Limit(1) %d rows, want %d", i, len(lim), min(1, len(w)))
		}
		page, err := gormloader.LoadPage[T](ctx, db, &parents[i], rel, 1)
		if err != nil {
			t.Fatalf("LoadPage: %v", err)
		}
		if page.TotalCount != int64(len(w)) || len(page.Rows) != min(1, len(w)) {
			t.Errorf("parent %d: LoadPage total %d rows %d, want %d", i, page.TotalCount, len(page.Rows), len(w))
		}
	}
}

func TestJoinModelSelfReference(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			db := openGorm(t, d)
			must(t, db.SetupJoinTable(&Pal{}, "Friends", &Friendship{}))
			must(t, db.AutoMigrate(&Pal{}, &Friendship{}))
			for i := 1; i <= 5; i++ {
				must(t, db.Create(&Pal{ID: uint(i), Name: fmt.Sprint("p", i)}).Error)
			}
			for i := 1; i <= 5; i++ {
				for j := 1; j <= 5; j++ {
					if i != j && (i+j)%2 == 1 {
						f := Friendship{PalID: uint(i), FriendID: uint(j)}
						must(t, db.Create(&f).Error)
						if j == 2 {
							must(t, db.Delete(&f).Error)
						}
					}
				}
			}
			must(t, db.Use(gormloader.New()))
			checkManyToMany(t, db, "Friends", "id", func(p Pal) string { return p.Name }, func(p *Pal) []Pal { return p.Friends })
		})
	}
}

func TestJoinModelCompositeKeys(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			db := openGorm(t, d)
			must(t, db.SetupJoinTable(&Shelf{}, "Books", &ShelfBook{}))
			must(t, db.AutoMigrate(&Shelf{}, &ShelfItem{}, &ShelfBook{}))
			for i := 1; i <= 4; i++ {
				must(t, db.Create(&Shelf{Org: "o", Code: fmt.Sprint("s", i)}).Error)
				must(t, db.Create(&ShelfItem{Org: "o", ISBN: fmt.Sprint("b", i), Title: fmt.Sprint("t", i)}).Error)
			}
			for i := 1; i <= 4; i++ {
				for j := 1; j <= i; j++ {
					l := ShelfBook{ShelfOrg: "o", ShelfCode: fmt.Sprint("s", i), ShelfItemOrg: "o", ShelfItemISBN: fmt.Sprint("b", j)}
					must(t, db.Create(&l).Error)
					if j == 1 {
						must(t, db.Delete(&l).Error)
					}
				}
			}
			must(t, db.Use(gormloader.New()))
			checkManyToMany(t, db, "Books", "code", func(b ShelfItem) string { return b.Title }, func(s *Shelf) []ShelfItem { return s.Books })
		})
	}
}

// A join model under a TablePrefix naming strategy.
func TestJoinModelTablePrefix(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			db := openGorm(t, d)
			db.Config.NamingStrategy = schema.NamingStrategy{TablePrefix: "pfx_"}
			must(t, db.SetupJoinTable(&Player{}, "Clubs", &Roster{}))
			must(t, db.SetupJoinTable(&Club{}, "Players", &Roster{}))
			must(t, db.AutoMigrate(&Player{}, &Club{}, &Roster{}))
			for i := 1; i <= 4; i++ {
				must(t, db.Create(&Player{ID: uint(i), Name: fmt.Sprint("p", i)}).Error)
				must(t, db.Create(&Club{ID: uint(i), Name: fmt.Sprint("c", i)}).Error)
			}
			for i := 1; i <= 4; i++ {
				for c := 1; c <= i; c++ {
					r := Roster{PlayerID: uint(i), ClubID: uint(c), TenantID: 1}
					must(t, db.Create(&r).Error)
					if c == 1 {
						must(t, db.Delete(&r).Error)
					}
				}
			}
			must(t, db.Use(gormloader.New()))
			checkManyToMany(t, db, "Clubs", "id", func(c Club) string { return c.Name }, func(p *Player) []Club { return p.Clubs })
		})
	}
}

// A join model in another schema on PostgreSQL (TableName "schema.table").
type QualifiedLink struct {
	PlayerID  uint `gorm:"primaryKey"`
	ClubID    uint `gorm:"primaryKey"`
	DeletedAt gorm.DeletedAt
}

var qualifiedLinkTable string

func (QualifiedLink) TableName() string { return qualifiedLinkTable }

type QualifiedPlayer struct {
	ID    uint
	Name  string
	Clubs []QualifiedClub `gorm:"many2many:qualified_links;joinForeignKey:PlayerID;joinReferences:ClubID"`
}

type QualifiedClub struct {
	ID   uint
	Name string
}

func TestJoinModelSchemaQualified(t *testing.T) {
	d, ok := testdb.Postgres(t)
	if !ok {
		t.Skip()
	}
	db := openGorm(t, d)
	other := fmt.Sprintf("ormloader_join_%d", os.Getpid())
	must(t, db.Exec("CREATE SCHEMA IF NOT EXISTS "+other).Error)
	t.Cleanup(func() { db.Exec("DROP SCHEMA " + other + " CASCADE") })
	qualifiedLinkTable = other + ".qualified_links"
	must(t, db.SetupJoinTable(&QualifiedPlayer{}, "Clubs", &QualifiedLink{}))
	must(t, db.AutoMigrate(&QualifiedPlayer{}, &QualifiedClub{}, &QualifiedLink{}))
	for i := 1; i <= 4; i++ {
		must(t, db.Create(&QualifiedPlayer{ID: uint(i), Name: fmt.Sprint("p", i)}).Error)
		must(t, db.Create(&QualifiedClub{ID: uint(i), Name: fmt.Sprint("c", i)}).Error)
	}
	for i := 1; i <= 4; i++ {
		for c := 1; c <= i; c++ {
			r := QualifiedLink{PlayerID: uint(i), ClubID: uint(c)}
			must(t, db.Create(&r).Error)
			if c == 1 {
				must(t, db.Delete(&r).Error)
			}
		}
	}
	must(t, db.Use(gormloader.New()))
	checkManyToMany(t, db, "Clubs", "id", func(c QualifiedClub) string { return c.Name }, func(p *QualifiedPlayer) []QualifiedClub { return p.Clubs })
}

// A callback's error on the join model's query fails the load, as it fails
// Preload (GORM drops the errors of a subquery it builds as an argument).
var errNoTenant = errors.New("test: no tenant for a tenant-scoped model")

func TestJoinModelCallbackError(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			db := openRosters(t, d)
			must(t, db.Callback().Query().Before("gorm:query").Register("test:require_tenant", func(db *gorm.DB) {
				if db.Statement.Schema != nil && db.Statement.Schema.Table == "rosters" {
					if _, ok := db.Statement.Context.Value(rosterTenantKey{}).(uint); !ok {
						db.AddError(errNoTenant)
					}
				}
			}))
			var want []Player
			perr := db.Preload("Clubs").Find(&want).Error
			if !errors.Is(perr, errNoTenant) {
				t.Fatalf("Preload's error %v, want the callback's", perr)
			}
			ctx := scope(t)
			_, err := gormloader.Load[Club](ctx, db, &Player{ID: 3}, "Clubs")
			if !errors.Is(err, errNoTenant) {
				t.Errorf("Load's error %v, want the callback's %v (Preload: %v)", err, errNoTenant, perr)
			}
		})
	}
}

// The same with the callback after gorm:query.
func TestJoinModelCallbackErrorAfterQuery(t *testing.T) {
	d := testdb.SQLite(t)
	db := openRosters(t, d)
	must(t, db.Callback().Query().After("gorm:query").Register("test:check", func(db *gorm.DB) {
		if db.Statement.Schema != nil && db.Statement.Schema.Table == "rosters" {
			db.AddError(errNoTenant)
		}
	}))
	var want []Player
	perr := db.Preload("Clubs").Find(&want).Error
	ctx := scope(t)
	got, err := gormloader.Load[Club](ctx, db, &Player{ID: 3}, "Clubs")
	if !errors.Is(err, errNoTenant) {
		t.Errorf("Load gives %d rows, error %v; Preload: %v", len(got), err, perr)
	}
}

// Where and Order options may name the join table's columns, as they
// could when the table was joined directly.
func TestJoinModelWhereOnLinkColumns(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			db := openRosters(t, d)
			ctx := scope(t)
			var want []Club
			must(t, db.Joins("JOIN rosters ON rosters.club_id = clubs.id").
				Where("rosters.player_id = ? AND rosters.tenant_id = ? AND rosters.deleted_at IS NULL AND rosters.archived = 0", 5, 1).Order("clubs.id").Find(&want).Error)
			got, err := gormloader.Load[Club](ctx, db, &Player{ID: 5}, "Clubs", gormloader.Where("rosters.tenant_id = ?", 1), gormloader.Order("rosters.club_id"))
			must(t, err)
			if g, w := names(got, func(c Club) string { return c.Name }), names(want, func(c Club) string { return c.Name }); len(w) == 0 || !slices.Equal(g, w) {
				t.Errorf("Load with a Where on the link's tenant gives %v, want %v", g, w)
			}
		})
	}
}

// LoadPage with Where and a cursor, with a tenant and the archived clause
// (arguments in the subquery), against Preload.
func TestJoinModelPageAfterCursor(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			db := openRosters(t, d)
			for _, tenant := range []uint{0, 1, 2} {
				base := context.Background()
				if tenant > 0 {
					base = context.WithValue(base, rosterTenantKey{}, tenant)
				}
				var want []Player
				must(t, db.WithContext(base).Preload("Clubs", func(q *gorm.DB) *gorm.DB { return q.Where("clubs.name <> ?", "club 3").Order("id") }).Order("id").Find(&want).Error)
				ctx, sc := dataloader.NewScope(base)
				for i := range want {
					p := Player{ID: want[i].ID}
					var after []Club
					for _, c := range want[i].Clubs {
						if c.ID > 1 {
							after = append(after, c)
						}
					}
					page, err := gormloader.LoadPage[Club](ctx, db, &p, "Clubs", 1, gormloader.Where("clubs.name <> ?", "club 3"), gormloader.Order("id"), gormloader.After("clubs.id > ?", 1))
					must(t, err)
					if page.TotalCount != int64(len(want[i].Clubs)) || len(page.Rows) != min(1, len(after)) || page.HasNextPage != (len(after) > 1) || (len(after) > 0 && page.Rows[0].ID != after[0].ID) {
						t.Errorf("tenant %d player %d: page %+v; want total %d, after %v", tenant, p.ID, page, len(want[i].Clubs), names(after, func(c Club) string { return c.Name }))
					}
				}
				sc.Close()
			}
		})
	}
}
