package dataloader_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ormloader/ormloader/dataloader"
)

// BenchmarkLoadWithSet: n tracked workers each load their key of one set of
// n siblings with LoadWith (a GraphQL level loading a relation for every
// row of a list), with the scope held (a query of several root fields) or
// not. Each set's batch is fetched once; what grows with n is the cost of
// the callers after the first.
func BenchmarkLoadWithSet(b *testing.B) {
	fetch := func(_ context.Context, keys []int) ([]int, []error, error) { return keys, nil, nil }
	l := dataloader.New(fetch)
	for _, n := range []int{100, 1000, 4000} {
		for _, hold := range []bool{false, true} {
			b.Run(fmt.Sprintf("n=%d/hold=%v", n, hold), func(b *testing.B) {
				set := make([]int, n)
				for i := range set {
					set[i] = i
				}
				b.ReportAllocs()
				for b.Loop() {
					ctx, s := dataloader.NewScope(context.Background(), dataloader.WithMaxWait(time.Minute))
					release := func() {}
					if hold {
						release = s.HoldSiblings()
					}
					var wg sync.WaitGroup
					for _, k := range set {
						wctx, end := s.StartWorker(ctx)
						wg.Go(func() {
							defer end()
							if v, err := l.LoadWith(wctx, k, set); v != k || err != nil {
								b.Errorf("LoadWith(%d) = %d, %v", k, v, err)
							}
						})
					}
					release()
					wg.Wait()
					s.Close()
				}
			})
		}
	}
}
