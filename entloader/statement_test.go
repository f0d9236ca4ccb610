package entloader_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ormloader/ormloader/ent"
	"github.com/ormloader/ormloader/internal/holdtest"
)

// The application's queries run as statements of their worker
// (dataloader.Scope.StartStatement): a root field's query that the database
// answers after 4 watchdogs, under a hold of sibling sets, does not end the
// hold, and the other root field's set joins the held batch. (Before, the
// batch went at the root workers' bound, without it.)
func TestRootFieldQueryIsAStatementOfItsWorker(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		seed(t, e.client)
		const maxWait = 5 * time.Millisecond
		var slow atomic.Bool
		e.client.Band.Intercept(ent.InterceptFunc(func(next ent.Querier) ent.Querier {
			return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
				if slow.Load() {
					time.Sleep(12 * maxWait) // a busy database
				}
				return next.Query(ctx, q)
			})
		}))
		batches := holdtest.Batches(t, maxWait, func(ctx context.Context) error {
			slow.Store(true)
			defer slow.Store(false)
			_, err := e.client.Band.Query().All(ctx)
			return err
		})
		if want := [][]int{{1, 2, 3, 4}}; !slices.EqualFunc(batches, want, slices.Equal) {
			t.Fatalf("batches %v, want %v", batches, want)
		}
	})
}
