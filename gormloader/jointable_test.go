package gormloader_test

import (
	"context"
	"fmt"
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
