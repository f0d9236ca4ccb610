package gormloader_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/gormloader/internal/music"
)

// A relation batch that fails fails every load of its load set's rows, once
// each, also those that start after the failure; a row that loads again
// fetches the whole set again in one statement. (Before, the set stayed
// claimed by the failed batch, and every row then loaded on its own: N
// statements where one does.)
func TestFailedBatchFreesLoadSet(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		boom := errors.New("albums are unavailable")
		var (
			fail     atomic.Bool
			attempts atomic.Int32
			waitFor  atomic.Int64 // loads the failing statement waits for
		)
		must(t, e.db.Callback().Query().Before("gorm:query").Register("test:fail_albums", func(db *gorm.DB) {
			if db.Statement.Table != "albums" || !fail.Load() {
				return
			}
			attempts.Add(1)
			// Hold the statement until every sibling's load is waiting for
			// it, so that all of them are waiters of the failed batch.
			scope := dataloader.FromContext(db.Statement.Context)
			for deadline := time.Now().Add(5 * time.Second); scope.Stats().Loads < waitFor.Load() && time.Now().Before(deadline); {
				time.Sleep(100 * time.Microsecond)
			}
			db.AddError(boom)
		}))
		ctx := scope(t)
		var bands []music.Band
		must(t, e.db.WithContext(ctx).Order("id").Find(&bands).Error)
		fail.Store(true)
		waitFor.Store(int64(len(bands)))
		var wg sync.WaitGroup
		errs := make([]error, len(bands))
		for i := range bands {
			wg.Go(func() {
				_, errs[i] = gormloader.Load[music.Album](ctx, e.db, &bands[i], "Albums")
			})
		}
		wg.Wait()
		for i, err := range errs {
			if !errors.Is(err, boom) {
				t.Errorf("band %d: err = %v, want the batch's error", i, err)
			}
		}
		if n := attempts.Load(); n != 1 {
			t.Errorf("%d statements for the failing batch, want 1", n)
		}

		// Late loads of the failed set's rows get its failure too, once each:
		// a sequential loop over a failing relation costs one statement, not
		// one per row.
		ctx2 := scope(t)
		var again []music.Band
		must(t, e.db.WithContext(ctx2).Order("id").Find(&again).Error)
		attempts.Store(0)
		waitFor.Store(0)
		for i := range again {
			if _, err := gormloader.Load[music.Album](ctx2, e.db, &again[i], "Albums"); !errors.Is(err, boom) {
				t.Errorf("loop, band %d: err = %v, want the batch's error", i, err)
			}
		}
		if n := attempts.Load(); n != 1 {
			t.Errorf("loop over a failing relation: %d statements, want 1", n)
		}

		// The database is back: the next load fetches the whole set in one
		// statement, and the others find their rows cached.
		fail.Store(false)
		e.count.expect(t, 1, "loop after a failed batch", func() {
			for i := range bands {
				if _, err := gormloader.Load[music.Album](ctx, e.db, &bands[i], "Albums"); err != nil {
					t.Fatalf("band %d: %v", i, err)
				}
			}
		})
	})
}
