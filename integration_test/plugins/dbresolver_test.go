package plugins_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/plugin/dbresolver"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gormloader"
)

type Org struct {
	ID    uint
	Name  string
	Staff []Staff
}

type Staff struct {
	ID    uint
	OrgID uint
	Name  string
	Org   *Org
}

// Report is in the database of a resolver of its own (dbresolver.Use).
type Report struct {
	ID    uint
	Title string
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// openResolved is openResolvedWith with one more resolver, "archive", whose
// statements all go to the database archive.
func openResolved(t *testing.T) *gorm.DB {
	t.Helper()
	return openResolvedWith(t, &gorm.Config{}, func(path func(string) string, dr *dbresolver.DBResolver) *dbresolver.DBResolver {
		return dr.Register(dbresolver.Config{Sources: []gorm.Dialector{sqlite.Open(path("archive"))}}, "archive")
	})
}

// Loads read where GORM's own queries on the same *gorm.DB read: a replica
// by default, the source for a db that chose dbresolver.Write, and the
// named resolver's database for dbresolver.Use; a transaction's loads read
// in the transaction. Before, every batch read from the default resolver's
// replica: a load that asked for the source (to read what the request had
// just written) got the replica's rows, and one that asked for another
// resolver got another database's.
func TestDBResolverChoices(t *testing.T) {
	db := openResolved(t)
	ctx, sc := dataloader.NewScope(context.Background())
	defer sc.Close()
	for _, c := range []struct {
		name string
		db   *gorm.DB
		want string
	}{
		{"default", db, "replica"},
		{"Write", db.Clauses(dbresolver.Write), "source"},
		{"Read", db.Clauses(dbresolver.Read), "replica"},
		{"Use", db.Clauses(dbresolver.Use("archive")), "archive"},
		{"Use and Write", db.Clauses(dbresolver.Use("archive"), dbresolver.Write), "archive"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var orgs []Org
			must(t, c.db.WithContext(ctx).Order("id").Find(&orgs).Error)
			if orgs[0].Name != c.want {
				t.Fatalf("GORM's Find read %s, want %s", orgs[0].Name, c.want)
			}
			for i := range orgs {
				staff, err := gormloader.Load[Staff](ctx, c.db, &orgs[i], "Staff")
				must(t, err)
				if len(staff) != 1 || staff[0].Name != c.want {
					t.Errorf("org %d: Load read %v, want one row of %s", orgs[i].ID, staff, c.want)
				}
				org, err := gormloader.LoadOne[Org](ctx, c.db, &staff[0], "Org")
				must(t, err)
				if org == nil || org.Name != c.want {
					t.Errorf("staff %d: LoadOne read %v, want %s", staff[0].ID, org, c.want)
				}
			}
			org, err := gormloader.ByID[Org](ctx, c.db, 2)
			must(t, err)
			if org == nil || org.Name != c.want {
				t.Errorf("ByID read %v, want %s", org, c.want)
			}
		})
	}
	t.Run("transaction", func(t *testing.T) {
		must(t, db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			for _, tx := range []*gorm.DB{tx, tx.Clauses(dbresolver.Read)} {
				staff, err := gormloader.Load[Staff](ctx, tx, &Org{ID: 1}, "Staff")
				must(t, err)
				if len(staff) != 1 || staff[0].Name != "source" {
					t.Errorf("Load in a transaction read %v, want the source's row", staff)
				}
			}
			return nil
		}))
	})
}

// What a request writes through the source, a load on a db that chose the
// source reads back in the same request: the write cleared the cache, and
// the batch reads the source, not the replica (which, in this test, never
// receives it).
func TestDBResolverReadYourWrites(t *testing.T) {
	db := openResolved(t)
	ctx, sc := dataloader.NewScope(context.Background())
	defer sc.Close()
	org := Org{ID: 1}
	before, err := gormloader.Load[Staff](ctx, db.Clauses(dbresolver.Write), &org, "Staff")
	must(t, err)
	must(t, db.WithContext(ctx).Create(&Staff{ID: 10, OrgID: 1, Name: "new"}).Error)
	after, err := gormloader.Load[Staff](ctx, db.Clauses(dbresolver.Write), &org, "Staff")
	must(t, err)
	if len(after) != len(before)+1 {
		t.Errorf("after the write, Load on the source read %d rows, want %d", len(after), len(before)+1)
	}
	stale, err := gormloader.Load[Staff](ctx, db, &org, "Staff")
	must(t, err)
	if len(stale) != len(before) {
		t.Errorf("Load on the replica read %d rows, want the replica's %d", len(stale), len(before))
	}
	w := db.Clauses(dbresolver.Write)
	n, err := gormloader.Count(ctx, w, &org, "Staff")
	must(t, err)
	page, err := gormloader.LoadPage[Staff](ctx, w, &org, "Staff", 5)
	must(t, err)
	ids, err := gormloader.ByIDs[Staff](ctx, w, 10)
	must(t, err)
	if n != int64(len(after)) || page.TotalCount != n || ids[0] == nil {
		t.Errorf("on the source: Count %d, LoadPage's total %d, ByIDs %v; want %d, %d and the new row", n, page.TotalCount, ids[0], len(after), len(after))
	}
}

// openResolvedWith returns a GORM db (with cfg) on the SQLite database
// "source" with dbresolver sending its reads to "replica", and the resolvers
// that configs registers on the databases replica2, archive and archive2
// (path names them). Each database has the same ids with its own name in
// every row, so a row tells where it was read.
func openResolvedWith(t *testing.T, cfg *gorm.Config, configs func(path func(string) string, dr *dbresolver.DBResolver) *dbresolver.DBResolver) *gorm.DB {
	t.Helper()
	dir := t.TempDir()
	path := func(name string) string { return "file:" + filepath.Join(dir, name+".db") + "?_busy_timeout=5000" }
	for _, name := range []string{"source", "replica", "replica2", "archive", "archive2"} {
		db, err := gorm.Open(sqlite.Open(path(name)), &gorm.Config{Logger: logger.Discard})
		must(t, err)
		must(t, db.AutoMigrate(&Org{}, &Staff{}, &Report{}))
		for i := uint(1); i <= 3; i++ {
			must(t, db.Create(&Org{ID: i, Name: name}).Error)
			must(t, db.Create(&Staff{ID: i, OrgID: i, Name: name}).Error)
		}
		sqlDB, _ := db.DB()
		must(t, sqlDB.Close())
	}
	cfg.Logger = logger.Discard
	db, err := gorm.Open(sqlite.Open(path("source")), cfg)
	must(t, err)
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	must(t, db.Use(configs(path, dbresolver.Register(dbresolver.Config{Replicas: []gorm.Dialector{sqlite.Open(path("replica"))}}))))
	must(t, db.Use(gormloader.New()))
	return db
}

// A named resolver on the default source (no databases of its own): Use
// still chooses it, and loads read where GORM's Find reads.
func TestDBResolverUseOnTheDefaultPool(t *testing.T) {
	db := openResolvedWith(t, &gorm.Config{}, func(path func(string) string, dr *dbresolver.DBResolver) *dbresolver.DBResolver {
		return dr.Register(dbresolver.Config{}, "primary")
	})
	ctx, sc := dataloader.NewScope(context.Background())
	defer sc.Close()
	udb := db.Clauses(dbresolver.Use("primary"))
	var orgs []Org
	must(t, udb.WithContext(ctx).Order("id").Find(&orgs).Error)
	staff, err := gormloader.Load[Staff](ctx, udb, &orgs[0], "Staff")
	must(t, err)
	org, err := gormloader.ByID[Org](ctx, udb, 2)
	must(t, err)
	if orgs[0].Name != staff[0].Name || org.Name != orgs[0].Name {
		t.Errorf("Find with Use(primary) read %s; Load read %s, ByID %s", orgs[0].Name, staff[0].Name, org.Name)
	}
}

// countStatements counts the statements db runs (dry runs aside).
func countStatements(t *testing.T, db *gorm.DB) *atomic.Int64 {
	var n atomic.Int64
	must(t, db.Callback().Query().After("gorm:query").Register("test:count", func(db *gorm.DB) {
		if !db.DryRun {
			n.Add(1)
		}
	}))
	return &n
}

// concurrentLoads loads the staff of orgs 1, 2 and 3 from three workers of
// one scope, each on a db of its own, and returns the names read.
func concurrentLoads(t *testing.T, db func() *gorm.DB) (names []string) {
	ctx, sc := dataloader.NewScope(context.Background(), dataloader.WithMaxWait(time.Minute))
	defer sc.Close()
	names = make([]string, 3)
	var wg sync.WaitGroup
	wg.Add(1)
	s := dataloader.FromContext(ctx)
	s.Go(ctx, func(context.Context) {
		defer wg.Done()
		for i := range 3 {
			wg.Add(1)
			s.Go(ctx, func(ctx context.Context) {
				defer wg.Done()
				staff, err := gormloader.Load[Staff](ctx, db(), &Org{ID: uint(i + 1)}, "Staff")
				must(t, err)
				names[i] = staff[0].Name
			})
		}
	})
	wg.Wait()
	return names
}

// Concurrent loads that each chose alike, on a db of their own (as
// resolvers do), share one batch, also with PrepareStmt (a new prepared-
// statement pool per Clauses call): the pool dbresolver picked is not part
// of the partition.
func TestDBResolverChoicesShareBatches(t *testing.T) {
	for _, c := range []struct {
		name   string
		choose func(*gorm.DB) *gorm.DB
	}{
		{"none", func(db *gorm.DB) *gorm.DB { return db }},
		{"Write", func(db *gorm.DB) *gorm.DB { return db.Clauses(dbresolver.Write) }},
		{"Use", func(db *gorm.DB) *gorm.DB { return db.Clauses(dbresolver.Use("archive")) }},
	} {
		for _, prep := range []bool{false, true} {
			db := openResolvedWith(t, &gorm.Config{PrepareStmt: prep}, func(path func(string) string, dr *dbresolver.DBResolver) *dbresolver.DBResolver {
				return dr.Register(dbresolver.Config{Sources: []gorm.Dialector{sqlite.Open(path("archive"))}}, "archive")
			})
			n := countStatements(t, db)
			got := concurrentLoads(t, func() *gorm.DB { return c.choose(db) })
			if n.Load() != 1 {
				t.Errorf("%s, PrepareStmt %v: 3 concurrent loads ran %d statements, want 1 (%v)", c.name, prep, n.Load(), got)
			}
		}
	}
}

// The same with a resolver of two replicas, which dbresolver picks at
// random for each Clauses call.
func TestDBResolverReplicasShareBatches(t *testing.T) {
	db := openResolvedWith(t, &gorm.Config{}, func(path func(string) string, dr *dbresolver.DBResolver) *dbresolver.DBResolver {
		return dr.Register(dbresolver.Config{Replicas: []gorm.Dialector{sqlite.Open(path("archive")), sqlite.Open(path("archive2"))}}, "archive")
	})
	n := countStatements(t, db)
	var total int64
	for range 5 {
		n.Store(0)
		concurrentLoads(t, func() *gorm.DB { return db.Clauses(dbresolver.Use("archive")) })
		total += n.Load()
	}
	if total != 5 {
		t.Errorf("5 rounds of 3 concurrent loads with Use(archive) ran %d statements, want 5", total)
	}
}
