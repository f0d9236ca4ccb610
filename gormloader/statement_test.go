package gormloader_test

import (
	"context"
	"database/sql"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ormloader/ormloader/gormloader/internal/music"
	"github.com/ormloader/ormloader/internal/holdtest"
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
		batches := holdtest.Batches(t, maxWait, func(ctx context.Context) error {
			slow.Store(true)
			defer slow.Store(false)
			var bands []music.Band
			return e.db.WithContext(ctx).Find(&bands).Error
		})
		if want := [][]int{{1, 2, 3, 4}}; !slices.EqualFunc(batches, want, slices.Equal) {
			t.Fatalf("batches %v, want %v", batches, want)
		}
	})
}
