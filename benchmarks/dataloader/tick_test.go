package dataloader_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ormloader/ormloader/dataloader"
)

// BenchmarkTick measures how the tick's timings split a fan-out of 100
// resolvers that each load one key: batches/op is 1 when the fan-out was
// one batch. "window" rows are window mode with plain go statements;
// "quiet" rows are tracked mode in the worst case, where the goroutine
// that starts the workers is not itself tracked (so the scope may see no
// worker running before all have started). Run with:
//
//	go test -run '^$' -bench Tick ./benchmarks/dataloader
func BenchmarkTick(b *testing.B) {
	l := dataloader.New(benchFetch)
	run := func(b *testing.B, tracked bool, opt dataloader.ScopeOption) {
		var batches int64
		defer reportCPU(b)()
		for b.Loop() {
			ctx, s := dataloader.NewScope(context.Background(), opt)
			var wg sync.WaitGroup
			wg.Add(100)
			for k := range 100 {
				resolve := func(ctx context.Context) {
					defer wg.Done()
					if _, err := l.Load(ctx, k); err != nil {
						b.Error(err)
					}
				}
				if tracked {
					s.Go(ctx, resolve)
				} else {
					go resolve(ctx)
				}
			}
			wg.Wait()
			batches += s.Stats().Batches
			s.Close()
		}
		b.ReportMetric(float64(batches)/float64(b.N), "batches/op")
	}
	for _, d := range []time.Duration{50 * time.Microsecond, 100 * time.Microsecond, 200 * time.Microsecond, 500 * time.Microsecond} {
		b.Run("window="+d.String(), func(b *testing.B) { run(b, false, dataloader.WithWindow(d)) })
	}
	for _, d := range []time.Duration{5 * time.Microsecond, 20 * time.Microsecond, 50 * time.Microsecond} {
		b.Run("quiet="+d.String(), func(b *testing.B) { run(b, true, dataloader.WithQuietPeriod(d)) })
	}
}
