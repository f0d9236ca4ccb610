package dataloader_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ormloader/ormloader/dataloader"
)

// valueTracer wraps every batch's context, as a tracing span does.
type valueTracer struct{}

func (valueTracer) TraceBatchStart(ctx context.Context, _ dataloader.BatchStartData) context.Context {
	return context.WithValue(ctx, spanKey{}, "span")
}

func (valueTracer) TraceBatchEnd(context.Context, dataloader.BatchEndData) {}

// chainedLoader returns a loader whose batch function sleeps for d and then
// loads key from inner ("can call a loader from a loader").
func chainedLoader(inner *dataloader.Loader[int, string], key int, d time.Duration) *dataloader.Loader[int, string] {
	return dataloader.New(func(ctx context.Context, keys []int) ([]string, []error, error) {
		time.Sleep(d)
		v, err := inner.Load(ctx, key)
		if err != nil {
			return nil, nil, err
		}
		vals := make([]string, len(keys))
		for i, k := range keys {
			vals[i] = fmt.Sprintf("%d/%s", k, v)
		}
		return vals, nil, nil
	})
}

// Two batch functions dispatched in the same tick that both load from one
// inner loader make one inner batch in tracked mode: a running batch
// function is a tracked worker, so the inner batch waits for the slower
// sibling. (It used to go after the quiet period, without the slower
// sibling's key.) The watchdog is an hour away: only tracking may dispatch.
func TestChainedLoadsInOneTickShareTheInnerBatch(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []dataloader.ScopeOption
	}{
		{"plain", nil},
		{"traced", []dataloader.ScopeOption{dataloader.WithTracer(valueTracer{})}}, // the tracer's ctx still identifies the worker
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 200 {
				inner := &recorder{}
				innerL := dataloader.New(inner.fetch)
				fast, slow := time.Duration(0), time.Duration(i%4+1)*50*time.Microsecond
				if i%2 == 1 {
					fast, slow = slow, fast
				}
				a, b := chainedLoader(innerL, 1, fast), chainedLoader(innerL, 2, slow)
				ctx, s := dataloader.NewScope(context.Background(), append(tc.opts, dataloader.WithMaxWait(time.Hour))...)
				ctx, end := s.StartWorker(ctx)
				var wg sync.WaitGroup
				var va, vb string
				var erra, errb error
				wg.Add(2)
				s.Go(ctx, func(ctx context.Context) { defer wg.Done(); va, erra = a.Load(ctx, 10) })
				s.Go(ctx, func(ctx context.Context) { defer wg.Done(); vb, errb = b.Load(ctx, 20) })
				end()
				wg.Wait()
				s.Close()
				if va != "10/v1" || vb != "20/v2" || erra != nil || errb != nil {
					t.Fatalf("run %d: loads = %q, %v; %q, %v", i, va, erra, vb, errb)
				}
				if got := inner.sorted(); !slices.EqualFunc(got, [][]int{{1, 2}}, slices.Equal) {
					t.Fatalf("run %d: inner batches = %v, want one of both keys", i, got)
				}
			}
		})
	}
}

// In window mode (no tracked worker) chained loads work as before: the inner
// load is batched and cached in the same scope.
func TestChainedLoadsInWindowMode(t *testing.T) {
	inner := &recorder{}
	innerL := dataloader.New(inner.fetch)
	a, b := chainedLoader(innerL, 1, 0), chainedLoader(innerL, 1, time.Millisecond)
	ctx, s := newScope(t)
	var wg sync.WaitGroup
	var va, vb string
	var erra, errb error
	wg.Go(func() { va, erra = a.Load(ctx, 10) })
	wg.Go(func() { vb, errb = b.Load(ctx, 20) })
	wg.Wait()
	if va != "10/v1" || vb != "20/v1" || erra != nil || errb != nil {
		t.Fatalf("loads = %q, %v; %q, %v", va, erra, vb, errb)
	}
	// Key 1 of the inner loader is fetched once: the later load finds it in
	// flight or cached.
	wantBatches(t, inner.calls(), [][]int{{1}})
	if st := s.Stats(); st.Batches != 3 || st.Loads != 4 || st.CacheHits != 1 {
		t.Fatalf("stats = %+v, want 3 batches (a, b, inner) and 1 hit", st)
	}
}

// A batch function blocked on something other than a loader counts as a
// running worker, so the scope's other batches wait for it, but never longer
// than the watchdog.
func TestBlockedBatchFunctionDelaysOthersOnlyUntilWatchdog(t *testing.T) {
	const maxWait = 20 * time.Millisecond
	started := make(chan struct{})
	stuck := dataloader.New(func(ctx context.Context, keys []int) ([]int, []error, error) {
		close(started)
		<-ctx.Done() // a query that never returns, until Close
		return nil, nil, ctx.Err()
	})
	other := dataloader.New(echoFetch)
	ctx, s := dataloader.NewScope(context.Background(), dataloader.WithMaxWait(maxWait))
	stuckErr := make(chan error, 1)
	s.Go(ctx, func(ctx context.Context) {
		_, err := stuck.Load(ctx, 1)
		stuckErr <- err
	})
	<-started
	took := make(chan time.Duration, 1)
	s.Go(ctx, func(ctx context.Context) {
		start := time.Now()
		if v, err := other.Load(ctx, 2); v != 2 || err != nil {
			t.Errorf("Load = %v, %v", v, err)
		}
		took <- time.Since(start)
	})
	select {
	case d := <-took:
		if d < maxWait*3/4 {
			t.Errorf("dispatched after %v although a batch function was running", d)
		}
	case <-time.After(5 * time.Second):
		t.Error("the scope stalled: the watchdog never dispatched")
	}
	s.Close()
	if err := <-stuckErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("stuck load: %v", err)
	}
}
