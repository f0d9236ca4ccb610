package dataloader_test

// Side-by-side benchmarks against github.com/vikstrous/dataloadgen and
// github.com/graph-gophers/dataloader/v7. Each library is called the way its
// users call it from gqlgen resolvers: the peers create their loaders per
// request and resolvers fetch them from the context (gqlgen's documented
// setup); ormloader keeps one global definition and opens a scope per
// request. Run with:
//
//	go test -run '^$' -bench . -benchmem ./benchmarks/dataloader
//
// BENCHMARKS.md has the numbers.

import (
	"context"
	"sync"
	"testing"
	"time"

	gg "github.com/graph-gophers/dataloader/v7"
	"github.com/vikstrous/dataloadgen"

	"github.com/ormloader/ormloader/dataloader"
)

func benchFetch(_ context.Context, keys []int) ([]int, []error, error) {
	out := make([]int, len(keys))
	copy(out, keys)
	return out, nil, nil
}

// benchFetchDG is benchFetch in dataloadgen's form.
func benchFetchDG(ctx context.Context, keys []int) ([]int, []error) {
	out, _, _ := benchFetch(ctx, keys)
	return out, nil
}

func benchFetchGG(_ context.Context, keys []int) []*gg.Result[int] {
	out := make([]*gg.Result[int], len(keys))
	for i, k := range keys {
		out[i] = &gg.Result[int]{Data: k}
	}
	return out
}

// request abstracts "one GraphQL request" for a library: begin sets up the
// per-request state and returns the context resolvers get; load is what a
// resolver calls; end tears the request down.
type request struct {
	begin func(context.Context) (context.Context, func())
	load  func(ctx context.Context, key int) (int, error)
	many  func(ctx context.Context, keys []int) ([]int, error)
}

type loadersKey struct{}

func ormloaderRequest(l *dataloader.Loader[int, int], opts ...dataloader.ScopeOption) request {
	return request{
		begin: func(ctx context.Context) (context.Context, func()) {
			ctx, s := dataloader.NewScope(ctx, opts...)
			return ctx, s.Close
		},
		load: l.Load,
		many: func(ctx context.Context, keys []int) ([]int, error) {
			vals, errs := l.LoadMany(ctx, keys)
			if errs != nil {
				return nil, errs[0]
			}
			return vals, nil
		},
	}
}

func dataloadgenRequest(opts ...dataloadgen.Option) request {
	return request{
		begin: func(ctx context.Context) (context.Context, func()) {
			l := dataloadgen.NewLoader(benchFetchDG, opts...)
			return context.WithValue(ctx, loadersKey{}, l), func() {}
		},
		load: func(ctx context.Context, key int) (int, error) {
			return ctx.Value(loadersKey{}).(*dataloadgen.Loader[int, int]).Load(ctx, key)
		},
		many: func(ctx context.Context, keys []int) ([]int, error) {
			return ctx.Value(loadersKey{}).(*dataloadgen.Loader[int, int]).LoadAll(ctx, keys)
		},
	}
}

func graphGophersRequest(opts ...gg.Option[int, int]) request {
	return request{
		begin: func(ctx context.Context) (context.Context, func()) {
			l := gg.NewBatchedLoader(benchFetchGG, opts...)
			return context.WithValue(ctx, loadersKey{}, l), func() {}
		},
		load: func(ctx context.Context, key int) (int, error) {
			return ctx.Value(loadersKey{}).(*gg.Loader[int, int]).Load(ctx, key)()
		},
		many: func(ctx context.Context, keys []int) ([]int, error) {
			vals, errs := ctx.Value(loadersKey{}).(*gg.Loader[int, int]).LoadMany(ctx, keys)()
			if len(errs) > 0 {
				return nil, errs[0]
			}
			return vals, nil
		},
	}
}

var keys100 = func() []int {
	k := make([]int, 100)
	for i := range k {
		k[i] = i
	}
	return k
}()

// BenchmarkCacheMiss: a request loads 100 new keys in one call; every
// library caps batches at 100 keys, so the full batch goes at once.
func BenchmarkCacheMiss(b *testing.B) {
	for _, tc := range []struct {
		name string
		req  request
	}{
		{"ormloader", ormloaderRequest(dataloader.New(benchFetch, dataloader.WithMaxBatch(100)))},
		{"dataloadgen", dataloadgenRequest(dataloadgen.WithBatchCapacity(100))},
		{"graph-gophers", graphGophersRequest(gg.WithBatchCapacity[int, int](100))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ctx, end := tc.req.begin(context.Background())
				if _, err := tc.req.many(ctx, keys100); err != nil {
					b.Fatal(err)
				}
				end()
			}
		})
	}
}

// BenchmarkCacheHit: a resolver loads a key the request already loaded.
func BenchmarkCacheHit(b *testing.B) {
	for _, tc := range []struct {
		name string
		req  request
	}{
		{"ormloader", ormloaderRequest(dataloader.New(benchFetch))},
		{"dataloadgen", dataloadgenRequest(dataloadgen.WithWait(time.Millisecond))},
		{"graph-gophers", graphGophersRequest()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx, end := tc.req.begin(context.Background())
			defer end()
			if _, err := tc.req.load(ctx, 7); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if v, err := tc.req.load(ctx, 7); v != 7 || err != nil {
					b.Fatal(v, err)
				}
			}
		})
	}
}

// concurrentCases are the setups for the rows in which resolvers run
// concurrently: the peers with gqlgen's documented 1 ms wait and with their
// own 16 ms default; ormloader tracked (the gqlgen integration reports
// resolvers as workers; here Scope.Go) and in window mode (plain go
// statements, no integration).
func concurrentCases() []struct {
	name    string
	req     request
	tracked bool
} {
	l := dataloader.New(benchFetch)
	return []struct {
		name    string
		req     request
		tracked bool
	}{
		{"ormloader-tracked", ormloaderRequest(l), true},
		{"ormloader-window", ormloaderRequest(l), false},
		{"dataloadgen-1ms", dataloadgenRequest(dataloadgen.WithWait(time.Millisecond)), false},
		{"dataloadgen-default", dataloadgenRequest(), false},
		{"graph-gophers-default", graphGophersRequest(), false},
	}
}

// BenchmarkConcurrent10: a request in which 10 resolvers load one key each,
// concurrently.
func BenchmarkConcurrent10(b *testing.B) {
	for _, tc := range concurrentCases() {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				ctx, end := tc.req.begin(context.Background())
				fanOut(b, ctx, tc.tracked, 10, tc.req.load)
				end()
			}
		})
	}
}

// BenchmarkLoneLoad: the latency of a request whose only resolver loads one
// key: what a fixed wait window costs.
func BenchmarkLoneLoad(b *testing.B) {
	for _, tc := range concurrentCases() {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				ctx, end := tc.req.begin(context.Background())
				fanOut(b, ctx, tc.tracked, 1, tc.req.load)
				end()
			}
		})
	}
}

// reportCPU reports the process's CPU time per operation ("cpu-ns/op"),
// which shows what waiting costs: spinning through a quiet period burns CPU
// where a timer sleeps. Call the returned function after the loop.
func reportCPU(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		if end, ok2 := processCPU(); ok && ok2 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// fanOut runs n resolvers that each load one key, and waits for them.
func fanOut(b *testing.B, ctx context.Context, tracked bool, n int, load func(context.Context, int) (int, error)) {
	var wg sync.WaitGroup
	wg.Add(n)
	resolve := func(ctx context.Context, k int) {
		defer wg.Done()
		if v, err := load(ctx, k); v != k || err != nil {
			b.Error(v, err)
		}
	}
	if tracked {
		s := dataloader.FromContext(ctx)
		ctx, end := s.StartWorker(ctx) // the parent resolver
		for k := range n {
			s.Go(ctx, func(ctx context.Context) { resolve(ctx, k) })
		}
		end()
	} else {
		for k := range n {
			go resolve(ctx, k)
		}
	}
	wg.Wait()
}
