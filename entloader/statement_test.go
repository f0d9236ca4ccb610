package entloader_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/ent"
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
		_, err := e.client.Band.Query().All(rctx)
		slow.Store(false)
		if err != nil {
			t.Fatal(err)
		}
		thunk, _ := l.LoadWithThunk(rctx, 3, []int{3, 4})
		endRoot()
		release()
		for _, wait := range []func() (int, error){first, thunk} {
			if _, err := wait(); err != nil {
				t.Fatal(err)
			}
		}
		if want := [][]int{{1, 2, 3, 4}}; !slices.EqualFunc(batches, want, slices.Equal) {
			t.Fatalf("batches %v, want %v", batches, want)
		}
	})
}
