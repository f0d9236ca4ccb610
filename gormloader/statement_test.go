package gormloader_test

import (
	"context"
	"database/sql"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gormloader/internal/music"
)

// slowPool delays every query by d, as a busy database would.
type slowPool struct {
	gorm.ConnPool
	d time.Duration
}

func (p slowPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	time.Sleep(p.d)
	return p.ConnPool.QueryContext(ctx, query, args...)
}

// The application's queries run as statements of their worker
// (dataloader.Scope.StartStatement): a root field's query that the database
// answers after 4 watchdogs, under a hold of sibling sets, does not end the
// hold, and the other root field's set joins the held batch. (Before, the
// batch went at the root workers' bound, without it.)
func TestRootFieldQueryIsAStatementOfItsWorker(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		const maxWait = 5 * time.Millisecond
		var slow atomic.Bool
		must(t, e.db.Callback().Query().Before("gorm:query").Register("test:slow_pool", func(db *gorm.DB) {
			if slow.Load() && !db.DryRun {
				db.Statement.ConnPool = slowPool{db.Statement.ConnPool, 12 * maxWait}
			}
		}))
		var mu sync.Mutex
		var batches [][]int
		l := dataloader.New(func(_ context.Context, keys []int) ([]int, []error, error) {
			mu.Lock()
			batches = append(batches, slices.Sorted(slices.Values(keys)))
			mu.Unlock()
			return keys, nil, nil
		})
		ctx, s := dataloader.NewScope(context.Background(), dataloader.WithMaxWait(maxWait))
		defer s.Close()
		release := s.HoldSiblings()
		defer release()
		rctx, endRoot := s.StartRootWorker(ctx) // the other root field's resolver
		wctx, end := s.StartWorker(ctx)
		first, _ := l.LoadWithThunk(wctx, 1, []int{1, 2}) // the first root field's set, held
		end()
		slow.Store(true)
		var bands []music.Band
		err := e.db.WithContext(rctx).Find(&bands).Error
		slow.Store(false)
		must(t, err)
		thunk, _ := l.LoadWithThunk(rctx, 3, []int{3, 4})
		endRoot()
		release()
		for _, wait := range []func() (int, error){first, thunk} {
			_, err := wait()
			must(t, err)
		}
		if want := [][]int{{1, 2, 3, 4}}; !slices.EqualFunc(batches, want, slices.Equal) {
			t.Fatalf("batches %v, want %v", batches, want)
		}
	})
}
