package gormloader_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/gormloader/internal/music"
)

// The first load of a relation over a load set whose own key is already in
// flight in another set's batch joins that batch and enqueues nothing for
// its set. If that batch fails, the failure is the joining row's only: the
// rows of its set that were in no batch load when they ask, they are not
// owed an error of a statement that never named them. (Before, the first
// row recorded the other batch's failure for its whole set.)
func TestFailureOfAnotherSetsBatchIsNotOwedToMine(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		var (
			failing atomic.Bool
			started = make(chan struct{}, 1)
			hold    = make(chan struct{})
		)
		must(t, e.db.Callback().Query().Before("gorm:query").Register("test:hold_fail_albums", func(db *gorm.DB) {
			if db.DryRun || db.Statement.Table != "albums" || !failing.Load() {
				return
			}
			started <- struct{}{}
			<-hold
			db.AddError(reviewBoom)
		}))
		ctx := scope(t)
		var first, mine []music.Band
		must(t, e.db.WithContext(ctx).Order("id").Limit(5).Find(&first).Error)
		must(t, e.db.WithContext(ctx).Where("id IN ?", []uint{first[1].ID, first[4].ID + 3}).Order("id").Find(&mine).Error)
		if len(mine) != 2 {
			t.Fatalf("seed: %d bands, want 2", len(mine))
		}

		failing.Store(true)
		errc := make(chan error, 2)
		go func() { // first's set: its batch holds, then fails
			_, err := gormloader.Load[music.Album](ctx, e.db, &first[0], "Albums")
			errc <- err
		}()
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("the batch did not start")
		}
		failing.Store(false) // only the held statement fails
		s := dataloader.FromContext(ctx)
		hits := s.Stats().CacheHits
		go func() { // mine's set: its first row is in first's batch
			_, err := gormloader.Load[music.Album](ctx, e.db, &mine[0], "Albums")
			errc <- err
		}()
		for deadline := time.Now().Add(10 * time.Second); s.Stats().CacheHits == hits && time.Now().Before(deadline); {
			time.Sleep(100 * time.Microsecond)
		}
		close(hold)
		for range 2 {
			if err := <-errc; !errors.Is(err, reviewBoom) {
				t.Fatalf("a load in the failed batch: %v, want its failure", err)
			}
		}
		var want []music.Album
		must(t, e.db.Where("band_id = ?", mine[1].ID).Order("id").Find(&want).Error)
		e.count.reset()
		got, err := gormloader.Load[music.Album](ctx, e.db, &mine[1], "Albums")
		if err != nil {
			t.Fatalf("band %d, in no failed batch: %v", mine[1].ID, err)
		}
		if len(got) != len(want) {
			t.Errorf("band %d: %d albums, want %d", mine[1].ID, len(got), len(want))
		}
		if n := e.count.n(); n != 1 {
			t.Errorf("%d statements for the rest of the set, want 1:\n%s", n, e.count)
		}
	})
}
