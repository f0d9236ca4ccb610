package gormloader_test

// Tests written for the review of aff3547, 099045b, 13a606d/341709b and
// fd7d150/d46e1a8. Each one fails on the code it names; the two load-set
// tests (FailureIsNotOwedToCachedRows, CanceledWinnerDoesNotUnbatchTheSet)
// pass since 073aa4f/ac583ad and stay as regression tests.

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/gormloader/internal/music"
	"github.com/ormloader/ormloader/internal/testdb"
)

var reviewBoom = errors.New("review: injected failure")

// reviewFailTable makes the statements on table fail while the returned flag
// is set, and counts the failed statements.
func reviewFailTable(t *testing.T, db *gorm.DB, table string) (on *atomic.Bool, failed *atomic.Int32) {
	t.Helper()
	on, failed = new(atomic.Bool), new(atomic.Int32)
	must(t, db.Callback().Query().Before("gorm:query").Register("review:fail_"+table, func(db *gorm.DB) {
		if db.DryRun || db.Statement.Table != table || !on.Load() {
			return
		}
		failed.Add(1)
		db.AddError(reviewBoom)
	}))
	return on, failed
}

// Claim.Owed (d46e1a8) owes a failed batch's error to every sibling key the
// winner passed, including keys that were not in the batch at all because
// their results were already cached (or in flight in another batch). A row
// whose albums were loaded and cached fine gets the error of a later batch
// that never asked for it. (Fails on d46e1a8; passes since 073aa4f.)
func TestReviewFailureIsNotOwedToCachedRows(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		fail, _ := reviewFailTable(t, e.db, "albums")
		ctx := scope(t)
		var few []music.Band
		must(t, e.db.WithContext(ctx).Order("id").Limit(3).Find(&few).Error)
		want, err := gormloader.Load[music.Album](ctx, e.db, &few[1], "Albums") // caches bands 0..2
		must(t, err)
		if len(want) == 0 {
			t.Fatal("seed: band 1 has no albums")
		}
		// A larger result with the same rows: they now belong to its set.
		var all []music.Band
		must(t, e.db.WithContext(ctx).Order("id").Find(&all).Error)
		fail.Store(true)
		if _, err := gormloader.Load[music.Album](ctx, e.db, &all[5], "Albums"); !errors.Is(err, reviewBoom) {
			t.Fatalf("band 5 while albums fail: %v, want the failure", err)
		}
		fail.Store(false)
		e.count.expect(t, 0, "a row whose albums are cached", func() {
			got, err := gormloader.Load[music.Album](ctx, e.db, &all[1], "Albums")
			if err != nil {
				t.Errorf("band 1, cached before the failed batch (which did not include it): %v", err)
			} else if len(got) != len(want) {
				t.Errorf("band 1: %d albums, want the cached %d", len(got), len(want))
			}
		})
	})
}

// A first load of a set whose own context ends (already done, or while its
// batch runs) wins the set's claim and never reports anything (Claim.Fail
// ignores a done context): the claim stays "successful" for good, so every
// other row of the set loads on its own key only. A plain loop then costs
// one statement per row (N+1), with or without a failing database. (Fails
// on d46e1a8: 11 statements for the loop, 3 for the failing set; passes
// since 073aa4f.)
func TestReviewCanceledWinnerDoesNotUnbatchTheSet(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		t.Run("already canceled", func(t *testing.T) {
			ctx := scope(t)
			var bands []music.Band
			must(t, e.db.WithContext(ctx).Order("id").Find(&bands).Error)
			done, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := gormloader.Load[music.Album](done, e.db, &bands[0], "Albums"); !errors.Is(err, context.Canceled) {
				t.Fatalf("load with a canceled context: %v", err)
			}
			e.count.expect(t, 1, "loop over the rest of the set after a canceled first load", func() {
				for i := 1; i < len(bands); i++ {
					_, err := gormloader.Load[music.Album](ctx, e.db, &bands[i], "Albums")
					must(t, err)
				}
			})
		})
		t.Run("canceled while its batch fails", func(t *testing.T) {
			var (
				on      atomic.Bool
				started = make(chan struct{}, 1)
				hold    = make(chan struct{})
				failed  atomic.Int32
			)
			must(t, e.db.Callback().Query().Before("gorm:query").Register("review:hold_fail_albums", func(db *gorm.DB) {
				if db.DryRun || db.Statement.Table != "albums" || !on.Load() {
					return
				}
				if failed.Add(1) == 1 {
					started <- struct{}{}
					<-hold
				}
				db.AddError(reviewBoom)
			}))
			ctx := scope(t)
			var bands []music.Band
			must(t, e.db.WithContext(ctx).Order("id").Find(&bands).Error)
			on.Store(true)
			wctx, cancel := context.WithCancel(ctx)
			errc := make(chan error, 1)
			go func() {
				_, err := gormloader.Load[music.Album](wctx, e.db, &bands[0], "Albums")
				errc <- err
			}()
			select {
			case <-started:
			case <-time.After(10 * time.Second):
				t.Fatal("the batch did not start")
			}
			cancel() // e.g. a resolver's own timeout
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Fatalf("first load: %v, want its context's error", err)
			}
			close(hold) // the batch fails now
			deadline := time.Now().Add(10 * time.Second)
			for dataloader.FromContext(ctx).Stats().Batches < 1 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond) // let the batch resolve
			for i := 1; i < len(bands); i++ {
				if _, err := gormloader.Load[music.Album](ctx, e.db, &bands[i], "Albums"); !errors.Is(err, reviewBoom) {
					t.Errorf("band %d: %v, want the failure", i, err)
				}
			}
			// One statement for the set, and at most one retry of the whole
			// set; not one per row.
			if n := failed.Load(); n > 2 {
				t.Errorf("a failing relation over a set of %d rows cost %d statements, want 1 (2 at most)", len(bands), n)
			}
		})
	})
}

// relations.Fetch (used by every gormloader batch) fails the whole batch
// when the statement of one partition fails: a load on a dead or aborted
// transaction (or a dedicated connection, 099045b) fails the loads on the
// pool that happened to share its tick. doc.go says a partition "never
// shares a batch ... with loads on another connection".
func TestReviewPartitionFailureStaysInItsPartition(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx, s := dataloader.NewScope(context.Background(), dataloader.WithWindow(time.Minute), dataloader.WithQuietPeriod(time.Minute))
		defer s.Close()
		var lone music.Band
		must(t, e.db.Where("name = ?", "band 05").First(&lone).Error) // no scope: no load set
		var bands []music.Band
		must(t, e.db.WithContext(ctx).Where("id <> ?", lone.ID).Order("id").Find(&bands).Error)
		tx := e.db.Begin()
		must(t, tx.Commit().Error) // every statement on it now fails (as on an aborted PostgreSQL transaction)
		txErr := make(chan error, 1)
		go func() {
			_, err := gormloader.Load[music.Album](ctx, tx, &lone, "Albums")
			txErr <- err
		}()
		for deadline := time.Now().Add(10 * time.Second); s.Stats().Loads < 1 && time.Now().Before(deadline); {
			time.Sleep(100 * time.Microsecond)
		}
		// A load set's first load dispatches the pending batch at once, with
		// the transaction's key in it.
		_, err := gormloader.Load[music.Album](ctx, e.db, &bands[1], "Albums")
		if terr := <-txErr; terr == nil {
			t.Fatal("a load on a committed transaction succeeded")
		}
		if err != nil {
			t.Errorf("a load on the pool failed with another partition's error: %v", err)
		}
	})
}

// connOf (099045b) accepts a connection whose dynamic type is comparable,
// but a comparable struct type can hold a value that is not (an interface
// field): the batch key is then unhashable, and the load panics in the
// caller (doc.go: "nothing panics") inside dataloader's enqueueLocked, with
// the scope's mutex held. A recovered panic (gqlgen recovers resolver
// panics) therefore leaves the scope locked: every later load of the request
// and Scope.Close block forever.
type reviewTaggedPool struct {
	gorm.ConnPool
	tags []string // not comparable
}

type reviewBoxedPool struct{ gorm.ConnPool } // comparable type, any content

func TestReviewUnhashableConnPoolDoesNotPanic(t *testing.T) {
	e := open(t, testdb.SQLite(t))
	seed(t, e.db, 3)
	sqlDB, err := e.db.DB()
	must(t, err)
	db := e.db.WithContext(context.Background()) // a statement of its own
	db.Statement.ConnPool = reviewBoxedPool{reviewTaggedPool{ConnPool: sqlDB, tags: []string{"replica"}}}
	for _, name := range []string{"ByID", "Load"} {
		t.Run(name, func(t *testing.T) {
			ctx, s := dataloader.NewScope(context.Background())
			var bands []music.Band
			must(t, e.db.WithContext(ctx).Order("id").Find(&bands).Error)
			var panicked any
			func() {
				defer func() { panicked = recover() }()
				if name == "ByID" {
					_, _ = gormloader.ByID[music.Band](ctx, db, bands[0].ID)
				} else {
					_, _ = gormloader.Load[music.Album](ctx, db, &bands[0], "Albums")
				}
			}()
			if panicked != nil {
				t.Errorf("%s on a %T connection panicked: %v", name, db.Statement.ConnPool, panicked)
			}
			// The request goes on (as after gqlgen recovered the panic).
			done := make(chan error, 1)
			go func() {
				_, err := gormloader.Load[music.Album](ctx, e.db, &bands[1], "Albums")
				s.Close()
				done <- err
			}()
			select {
			case err := <-done:
				must(t, err)
			case <-time.After(5 * time.Second):
				t.Fatal("the scope is stuck: a later load (and Scope.Close) never returns") // leaks the goroutine
			}
		})
	}
}

// ByID (13a606d) says an id the database cannot bind "never fails the batch
// that other loads of the same tick share". A string key part PostgreSQL
// cannot take (a NUL byte, invalid UTF-8; both arrive in GraphQL IDs) passes
// the conversion and fails the statement, and with it the other ids of the
// batch.
func TestReviewByIDUnbindableStringDoesNotFailTheBatch(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		var rel music.Release
		must(t, e.db.Order("album_id").First(&rel).Error)
		for _, bad := range []string{"U\x00S", "\xff\xfe"} {
			t.Run(fmt.Sprintf("%q", bad), func(t *testing.T) {
				// Two ByID calls of one tick: a quiet period long enough for
				// both to be pending.
				ctx, s := dataloader.NewScope(context.Background(), dataloader.WithWindow(5*time.Second), dataloader.WithQuietPeriod(300*time.Millisecond))
				defer s.Close()
				var wg sync.WaitGroup
				var badErr, goodErr error
				badDone := make(chan struct{})
				wg.Go(func() {
					defer close(badDone)
					_, badErr = gormloader.ByID[music.Release](ctx, e.db, rel.AlbumID, bad)
				})
				// Wait until the bad id is pending, or rejected without a
				// statement (ErrInvalidID: then it cannot fail the batch).
				for deadline := time.Now().Add(10 * time.Second); s.Stats().Loads < 1 && time.Now().Before(deadline); {
					select {
					case <-badDone:
						deadline = time.Time{}
					case <-time.After(100 * time.Microsecond):
					}
				}
				wg.Go(func() { _, goodErr = gormloader.ByID[music.Release](ctx, e.db, rel.AlbumID, rel.Country) })
				wg.Wait()
				if errors.Is(badErr, gormloader.ErrInvalidID) {
					if goodErr != nil {
						t.Errorf("%s: a valid id failed: %v", e.dialect, goodErr)
					}
					return
				}
				if st := s.Stats(); st.Batches != 1 {
					t.Skipf("the two loads did not share a batch (%+v)", st)
				}
				t.Logf("%s: bad id: %v", e.dialect, badErr)
				if goodErr != nil {
					t.Errorf("%s: a valid id failed with the batch of an id the database cannot bind: %v", e.dialect, goodErr)
				}
			})
		}
	})
}

// keyedRows (aff3547) pairs a many-to-many row with its join key by
// position, after the Query callbacks ran. A callback after gorm:query that
// drops rows the viewer may not see (the "check after it" that query.go
// names) makes every such batch fail, where GORM's Preload applies it; one
// that reorders the rows in place gives members of one band to another.
type (
	reviewDropKey    struct{}
	reviewReverseKey struct{}
)

func TestReviewAfterQueryCallbackOnManyToMany(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		must(t, e.db.Callback().Query().After("gorm:query").Register("review:after_people", func(db *gorm.DB) {
			rv := db.Statement.ReflectValue
			if db.Statement.Schema == nil || db.Statement.Schema.Table != "people" || rv.Kind() != reflect.Slice {
				return
			}
			ctx := db.Statement.Context
			if name, ok := ctx.Value(reviewDropKey{}).(string); ok {
				kept := reflect.MakeSlice(rv.Type(), 0, rv.Len())
				for i := range rv.Len() {
					if reflect.Indirect(rv.Index(i)).FieldByName("Name").String() != name {
						kept = reflect.Append(kept, rv.Index(i))
					}
				}
				rv.Set(kept)
			}
			if ctx.Value(reviewReverseKey{}) != nil {
				reflect.Swapper(rv.Interface())(0, rv.Len()-1)
			}
		}))
		for name, base := range map[string]context.Context{
			"filter":  context.WithValue(context.Background(), reviewDropKey{}, "person 1"),
			"reorder": context.WithValue(context.Background(), reviewReverseKey{}, true),
		} {
			t.Run(name, func(t *testing.T) {
				var want []music.Band
				must(t, e.db.WithContext(base).Preload("Members").Order("id").Find(&want).Error)
				ctx, s := dataloader.NewScope(base)
				defer s.Close()
				var bands []music.Band
				must(t, e.db.WithContext(ctx).Order("id").Find(&bands).Error)
				names := func(ps []music.Person) []string {
					var out []string
					for _, p := range ps {
						out = append(out, fmt.Sprint(p.ID))
					}
					sort.Strings(out)
					return out
				}
				for i := range bands {
					got, err := gormloader.Load[music.Person](ctx, e.db, &bands[i], "Members")
					if err != nil {
						t.Fatalf("band %d: %v (Preload gives %d members)", i, err, len(want[i].Members))
					}
					if !reflect.DeepEqual(names(got), names(want[i].Members)) {
						t.Errorf("band %d: members %v, Preload gives %v", i, names(got), names(want[i].Members))
					}
				}
			})
		}
	})
}

// txOf (099045b) unwraps one *gorm.PreparedStmtTX. A prepared-statement
// session of a transaction that is already one (tx.Session(&gorm.Session{
// PrepareStmt: true}) on a db.Session(&gorm.Session{PrepareStmt: true})
// transaction; GORM wraps again) hides the txConn: its writes are not
// recorded, and the commit leaves the loads made outside cached, stale.
func TestReviewCommitClearsThroughNestedPreparedSessions(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := scope(t)
		var band music.Band
		must(t, e.db.WithContext(ctx).Where("name = ?", "band 05").First(&band).Error)
		count := func(db *gorm.DB) int {
			t.Helper()
			albums, err := gormloader.Load[music.Album](ctx, db, &band, "Albums")
			must(t, err)
			return len(albums)
		}
		before := count(e.db)
		tx := e.db.WithContext(ctx).Session(&gorm.Session{PrepareStmt: true}).Begin()
		must(t, tx.Error)
		must(t, tx.Session(&gorm.Session{PrepareStmt: true}).Create(&music.Album{BandID: band.ID, Title: "nested prepared session"}).Error)
		if got := count(e.db); got != before {
			t.Errorf("outside before the commit: %d albums, want %d", got, before)
		}
		must(t, tx.Commit().Error)
		if got := count(e.db); got != before+1 {
			t.Errorf("after the commit: %d albums, want %d (the stale result survived the commit)", got, before+1)
		}
	})
}
