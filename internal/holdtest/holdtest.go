// Package holdtest runs, for the ORM adapters' tests, a query of two root
// fields under a hold of sibling sets (dataloader.Scope.HoldSiblings), as
// gqlgenloader runs it: the first root field's set is a held batch while the
// other root field's resolver runs its query.
package holdtest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ormloader/ormloader/dataloader"
)

// Batches enqueues the first root field's set (keys 1 and 2) in a held
// batch, then runs query as the other root field's resolver (a root worker,
// in a scope whose watchdog is maxWait), which then enqueues its set (3 and
// 4), and returns the batches the loader ran, each sorted: one, [1 2 3 4],
// if the hold waited for the resolver.
func Batches(t testing.TB, maxWait time.Duration, query func(ctx context.Context) error) [][]int {
	t.Helper()
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
	rctx, endRoot := s.StartRootWorker(ctx)
	wctx, end := s.StartWorker(ctx)
	first, _ := l.LoadWithThunk(wctx, 1, []int{1, 2}) // held
	end()
	if err := query(rctx); err != nil {
		t.Fatal(err)
	}
	second, _ := l.LoadWithThunk(rctx, 3, []int{3, 4})
	endRoot()
	release()
	for _, wait := range []func() (int, error){first, second} {
		if _, err := wait(); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	return batches
}
