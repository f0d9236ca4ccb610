package gormloader_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/gormloader/internal/music"
	"github.com/ormloader/ormloader/internal/testdb"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// GORM's prepared-statement store (Session{PrepareStmt: true}) starts
		// an expiry goroutine that never ends, by design (gorm/internal/lru).
		goleak.IgnoreTopFunction("gorm.io/gorm/internal/lru.NewLRU[...].func1"),
	)
}

// counter counts the statements that reach the database, through GORM
// callbacks registered after each operation (dry runs, which only build
// subqueries, are not statements).
type counter struct {
	mu    sync.Mutex
	stmts []string
	keys  []int // per statement: the values it binds, an array literal of keys (= ANY) counting as its elements
}

func (c *counter) register(t testing.TB, db *gorm.DB) {
	t.Helper()
	rec := func(db *gorm.DB) {
		if db.DryRun || db.Statement.SQL.Len() == 0 {
			return
		}
		c.mu.Lock()
		c.stmts = append(c.stmts, db.Statement.SQL.String())
		c.keys = append(c.keys, boundValues(db.Statement.SQL.String(), db.Statement.Vars))
		c.mu.Unlock()
	}
	cb := db.Callback()
	must(t, cb.Query().After("gorm:query").Register("test:count", rec))
	must(t, cb.Row().After("gorm:row").Register("test:count", rec))
	must(t, cb.Raw().After("gorm:raw").Register("test:count", rec))
	must(t, cb.Create().After("gorm:create").Register("test:count", rec))
	must(t, cb.Update().After("gorm:update").Register("test:count", rec))
	must(t, cb.Delete().After("gorm:delete").Register("test:count", rec))
}

// boundValues counts the values a statement binds: an array literal bound
// for "= ANY(?)" (PostgreSQL's key lists) counts as its
// elements (these tests' keys hold no commas).
func boundValues(sql string, vars []any) int {
	n := 0
	for _, v := range vars {
		if lit, ok := v.(string); ok && strings.Contains(sql, "= ANY(") && strings.HasPrefix(lit, "{") {
			if lit != "{}" {
				n += strings.Count(lit, ",") + 1
			}
			continue
		}
		n++
	}
	return n
}

func (c *counter) reset() {
	c.mu.Lock()
	c.stmts, c.keys = nil, nil
	c.mu.Unlock()
}

func (c *counter) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.stmts)
}

// first returns the first statement since the last reset ("" for none).
func (c *counter) first() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.stmts) == 0 {
		return ""
	}
	return c.stmts[0]
}

func (c *counter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for i, s := range c.stmts {
		if len(s) > 300 {
			s = s[:300] + "..."
		}
		fmt.Fprintf(&b, "\n  %d: [%d values] %s", i+1, c.keys[i], s)
	}
	return b.String()
}

// expect checks that fn issued want statements.
func (c *counter) expect(t testing.TB, want int, what string, fn func()) {
	t.Helper()
	c.reset()
	fn()
	if got := c.n(); got != want {
		t.Errorf("%s: %d statements, want %d:%s", what, got, want, c)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// env is one database with the plugin installed, migrated and seeded.
type env struct {
	dialect string
	db      *gorm.DB
	loader  *gormloader.Loader
	count   *counter
}

func open(t testing.TB, d testdb.DB, opts ...gormloader.PluginOption) *env {
	t.Helper()
	db := openGorm(t, d)
	must(t, db.AutoMigrate(music.Models()...))
	l := gormloader.New(opts...)
	must(t, db.Use(l))
	c := &counter{}
	c.register(t, db)
	return &env{dialect: d.Dialect, db: db, loader: l, count: c}
}

// openGorm opens d with GORM, closed at the end of the test.
func openGorm(t testing.TB, d testdb.DB) *gorm.DB {
	t.Helper()
	var dial gorm.Dialector
	switch d.Dialect {
	case "sqlite":
		dial = sqlite.Open(d.DSN)
	case "postgres":
		dial = postgres.New(postgres.Config{DriverName: d.DriverName, DSN: d.DSN})
	case "mysql":
		dial = mysql.Open(d.DSN)
	default:
		t.Fatalf("unknown dialect %s", d.Dialect)
	}
	db, err := gorm.Open(dial, &gorm.Config{
		Logger:                                   logger.Default.LogMode(logger.Silent),
		DisableForeignKeyConstraintWhenMigrating: true,
	})
	must(t, err)
	sqlDB, err := db.DB()
	must(t, err)
	t.Cleanup(func() { sqlDB.Close() })
	return db
}

// forEachDB runs fn on every available dialect, seeded with the reference data.
func forEachDB(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			e := open(t, d)
			seed(t, e.db, 12)
			fn(t, e)
		})
	}
}

// scope opens a dataloader scope closed at the end of the test.
func scope(t testing.TB) context.Context {
	ctx, s := dataloader.NewScope(context.Background())
	t.Cleanup(s.Close)
	return ctx
}

func ptr[T any](v T) *T { return &v }

// seed writes n bands and everything around them; the shapes vary with the
// index so that every relation has parents with several, one and no targets,
// NULL foreign keys and shared targets.
func seed(t testing.TB, db *gorm.DB, n int) {
	t.Helper()
	labels := []music.Label{{Name: "Alpha", Code: "A"}, {Name: "Beta", Code: "B"}, {Name: "Gamma", Code: "C"}}
	must(t, db.Create(&labels).Error)
	people := make([]music.Person, 6)
	for i := range people {
		people[i] = music.Person{Name: fmt.Sprintf("person %d", i)}
	}
	must(t, db.Create(&people).Error)
	bands := make([]music.Band, n)
	for i := range bands {
		b := music.Band{Name: fmt.Sprintf("band %02d", i)}
		if i%4 != 3 {
			b.LabelID = &labels[i%2].ID // label 3 has no bands; every 4th band none
		}
		if i%2 == 0 {
			b.DistributorCode = ptr(labels[(i/2)%3].Code)
		}
		bands[i] = b
	}
	must(t, db.Create(&bands).Error)
	var members []map[string]any
	var influences []map[string]any
	for i, b := range bands {
		if i%5 != 4 {
			for j := 0; j <= i%3; j++ {
				members = append(members, map[string]any{"band_id": b.ID, "person_id": people[(i+j)%len(people)].ID})
			}
		}
		if i%3 != 2 && n > 2 {
			influences = append(influences,
				map[string]any{"band_id": b.ID, "influence_id": bands[(i+1)%n].ID},
				map[string]any{"band_id": b.ID, "influence_id": bands[(i+2)%n].ID})
		}
	}
	if len(members) > 0 {
		must(t, db.Table("band_members").Create(&members).Error)
	}
	if len(influences) > 0 {
		must(t, db.Table("band_influences").Create(&influences).Error)
	}
	var albums []music.Album
	var profiles []music.Profile
	var comments []music.Comment
	for i, b := range bands {
		for j := 0; j < i%4; j++ {
			albums = append(albums, music.Album{BandID: b.ID, Title: fmt.Sprintf("album %d.%d", i, j), Year: 1990 + (i*7+j*5)%20})
		}
		if i%2 == 0 {
			profiles = append(profiles, music.Profile{BandID: b.ID, Bio: fmt.Sprintf("bio %d", i)})
		}
		if i%3 == 0 {
			comments = append(comments,
				music.Comment{OwnerID: b.ID, OwnerType: "bands", Body: fmt.Sprintf("on band %d", i)},
				music.Comment{OwnerID: b.ID, OwnerType: "bands", Body: fmt.Sprintf("again on band %d", i)})
		}
	}
	if len(albums) > 0 {
		must(t, db.Create(&albums).Error)
	}
	if len(profiles) > 0 {
		must(t, db.Create(&profiles).Error)
	}
	var tracks []music.Track
	var releases []music.Release
	var charts []music.ChartEntry
	day := time.Date(2001, 2, 3, 0, 0, 0, 0, time.UTC)
	for j, a := range albums {
		for k := 0; k <= j%3; k++ {
			tracks = append(tracks, music.Track{AlbumID: a.ID, Position: k + 1, Name: fmt.Sprintf("track %d.%d", j, k)})
		}
		if j%2 == 0 {
			// an album comment whose owner id equals a band id: the type column must keep them apart
			comments = append(comments, music.Comment{OwnerID: a.ID, OwnerType: "albums", Body: fmt.Sprintf("on album %d", j)})
		}
		for k, c := range []string{"US", "UK"}[:1+j%2] {
			releases = append(releases, music.Release{AlbumID: a.ID, Country: c, Released: day.AddDate(0, j, k)})
			if k == 0 {
				charts = append(charts, music.ChartEntry{AlbumID: a.ID, Country: c, Position: j + 1})
			}
		}
	}
	// a chart entry whose release does not exist
	charts = append(charts, music.ChartEntry{AlbumID: 999999, Country: "XX", Position: 1})
	for _, rows := range []any{&tracks, &comments, &releases, &charts} {
		must(t, db.Create(rows).Error)
	}
	// soft-delete one album of every band that has two or more
	for i := range bands {
		if i%4 == 2 {
			must(t, db.Where("band_id = ? AND title = ?", bands[i].ID, fmt.Sprintf("album %d.1", i)).Delete(&music.Album{}).Error)
		}
	}
}
