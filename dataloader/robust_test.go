package dataloader_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ormloader/ormloader/dataloader"
)

// A batch error is not cached, also for a batch of one key.
func TestSingleKeyBatchErrorIsNotCached(t *testing.T) {
	dbDown := errors.New("db down")
	calls := 0
	l := dataloader.New(func(_ context.Context, keys []int) ([]int, []error, error) {
		calls++
		return make([]int, len(keys)), nil, dbDown
	})
	ctx, _ := newScope(t)
	for range 2 {
		if _, err := l.Load(ctx, 1); !errors.Is(err, dbDown) {
			t.Fatalf("err = %v", err)
		}
	}
	if calls != 2 {
		t.Fatalf("batch function ran %d times, want 2 (a batch error is not cached)", calls)
	}
	// A not-found from a map batch function is an answer, and is cached.
	calls = 0
	m := dataloader.NewMapped(func(context.Context, []int) (map[int]int, error) { calls++; return nil, nil })
	for range 2 {
		if _, err := m.Load(ctx, 1); !errors.Is(err, dataloader.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	}
	if calls != 1 {
		t.Fatalf("not-found fetched %d times, want 1", calls)
	}
}

func TestCacheKeyPanicIsAnErrorAndScopeStaysUsable(t *testing.T) {
	l := dataloader.NewWithCacheKey(echoFetch, func(k int) int {
		if k < 0 {
			panic("negative key")
		}
		return k
	})
	ctx, s := dataloader.NewScope(context.Background())
	if _, err := l.Load(ctx, -1); !errors.Is(err, dataloader.ErrPanic) {
		t.Fatalf("Load = %v", err)
	}
	if _, errs := l.LoadMany(ctx, []int{1, -1}); !errors.Is(errs[0], dataloader.ErrPanic) {
		t.Fatalf("LoadMany = %v", errs)
	}
	if _, err := l.LoadWith(ctx, 1, []int{-1}); !errors.Is(err, dataloader.ErrPanic) {
		t.Fatalf("LoadWith = %v", err)
	}
	if v, err := l.Load(ctx, 2); v != 2 || err != nil {
		t.Fatalf("the scope is unusable after a panic: %v, %v", v, err)
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs after a cache key panic")
	}
}

func TestGoexitInBatchFunctionFailsTheBatch(t *testing.T) {
	calls := 0
	l := dataloader.New(func(_ context.Context, keys []int) ([]int, []error, error) {
		calls++
		if calls == 1 {
			runtime.Goexit()
		}
		return keys, nil, nil
	}, dataloader.WithName("fake"))
	ctx, _ := newScope(t)
	_, err := l.Load(ctx, 1)
	if err == nil || !strings.Contains(err.Error(), "Goexit") {
		t.Fatalf("err = %v", err)
	}
	if v, err := l.Load(ctx, 1); v != 1 || err != nil {
		t.Fatalf("retry = %v, %v", v, err)
	}
}

type panickyTracer struct{ start, end bool }

func (p panickyTracer) TraceBatchStart(ctx context.Context, _ dataloader.BatchStartData) context.Context {
	if p.start {
		panic("tracer start")
	}
	return ctx
}

func (p panickyTracer) TraceBatchEnd(context.Context, dataloader.BatchEndData) {
	if p.end {
		panic("tracer end")
	}
}

func TestTracerPanicDoesNotFailOrCrash(t *testing.T) {
	logs := &syncBuffer{}
	l := dataloader.New(echoFetch)
	for _, tr := range []panickyTracer{{start: true}, {end: true}} {
		ctx, _ := newScope(t, dataloader.WithTracer(tr), dataloader.WithLogger(newTextLogger(logs)))
		if v, err := l.Load(ctx, 3); v != 3 || err != nil {
			t.Fatalf("Load with %+v = %v, %v", tr, v, err)
		}
	}
	if !strings.Contains(logs.String(), "tracer start") || !strings.Contains(logs.String(), "tracer end") {
		t.Fatalf("tracer panics not logged:\n%s", logs)
	}
}

func TestWithoutCacheIgnoresSiblings(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch, dataloader.WithoutCache())
	ctx, _ := newScope(t)
	siblings := []int{1, 2, 3}
	for _, k := range siblings {
		mustLoad(t, ctx, l, k)
		l.LoadWith(ctx, k, siblings)
	}
	keys := 0
	for _, b := range r.calls() {
		keys += len(b)
	}
	if keys != 6 {
		t.Fatalf("fetched %d keys for 6 loads: %v", keys, r.calls())
	}
}

func TestDoneContextEnqueuesNothing(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, _ := newScope(t)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Load(cancelled, 1); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if _, errs := l.LoadMany(cancelled, []int{1, 2}); !errors.Is(errs[1], context.Canceled) {
		t.Fatal(errs)
	}
	if _, err := l.LoadThunk(cancelled, 1)(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	mustLoad(t, ctx, l, 9)
	wantBatches(t, r.calls(), [][]int{{9}})
}

func TestWorkerContextCarriesItsScope(t *testing.T) {
	l := dataloader.New(echoFetch, dataloader.WithStrict())
	_, s := newScope(t)
	ctx, end := s.StartWorker(context.Background()) // a context without the scope
	defer end()
	if v, err := l.Load(ctx, 4); v != 4 || err != nil {
		t.Fatalf("Load through a worker's context = %v, %v", v, err)
	}
}

func TestLoadWithThunkEnqueuesAtCall(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	// Window and quiet period of an hour: only naming siblings dispatches.
	ctx, s := newScope(t, dataloader.WithWindow(time.Hour), dataloader.WithQuietPeriod(time.Hour))
	thunk, joined := l.LoadWithThunk(ctx, 1, []int{1, 2, 3})
	if joined {
		t.Fatal("the first load of key 1 joined an entry")
	}
	// The keys were enqueued, and the batch dispatched, by the call: a load
	// of a sibling finds its key in flight, and joins it.
	other := l.LoadThunk(ctx, 2)
	if _, joined := l.LoadWithThunk(ctx, 3, []int{3, 4}); !joined {
		t.Fatal("key 3, in flight, did not join its entry")
	}
	if v, err := thunk(); v != "v1" || err != nil {
		t.Fatalf("thunk = %q, %v", v, err)
	}
	if v, err := other(); v != "v2" || err != nil {
		t.Fatalf("sibling = %q, %v", v, err)
	}
	if st := s.Stats(); st.Loads != 3 || st.CacheHits != 2 || st.Batches != 1 || st.Keys != 3 {
		t.Fatalf("stats = %+v", st)
	}
	// A key whose only sibling is itself waits for the tick, to merge with
	// other keys: here, until Close fails it.
	lone, _ := l.LoadWithThunk(ctx, 9, []int{9})
	s.Close()
	if _, err := lone(); !errors.Is(err, dataloader.ErrScopeClosed) {
		t.Fatalf("lone key: %v", err)
	}
	wantBatches(t, r.calls(), [][]int{{1, 2, 3}})
}

// A per-key error is cached whatever the size of the batch. (When the batch
// error shared the per-key slice, a one-key batch's per-key error read as a
// batch error and was fetched again, while the same error in a two-key batch
// was cached: caching depended on timing.)
func TestPerKeyErrorIsCachedInEveryBatchSize(t *testing.T) {
	for _, n := range []int{1, 2, 5} {
		r := &recorder{fail: func(int) error { return errOdd }}
		l := dataloader.New(r.fetch)
		ctx, _ := newScope(t)
		keys := make([]int, n)
		for i := range keys {
			keys[i] = i + 1
		}
		for round := range 2 {
			_, errs := l.LoadMany(ctx, keys)
			for i, err := range errs {
				if !errors.Is(err, errOdd) {
					t.Fatalf("%d keys, round %d: errs[%d] = %v", n, round, i, err)
				}
			}
			if _, err := l.Load(ctx, keys[0]); !errors.Is(err, errOdd) {
				t.Fatalf("%d keys, round %d: Load = %v", n, round, err)
			}
		}
		if got := len(r.calls()); got != 1 {
			t.Fatalf("%d keys: %d batches, want 1 (per-key errors are cached)", n, got)
		}
	}
}

// Prime and Clear of a key whose cache key function panics do nothing and
// log the panic once per call; they neither panic in the caller nor leave
// the scope unusable. (Nothing can be cached under such a key.)
func TestPrimeAndClearWithPanickingCacheKey(t *testing.T) {
	logs := &syncBuffer{}
	r := &recorder{}
	l := dataloader.NewWithCacheKey(r.fetch, func(k int) int {
		if k < 0 {
			panic("negative key")
		}
		return k
	}, dataloader.WithName("bands"))
	ctx, s := dataloader.NewScope(context.Background(), dataloader.WithLogger(newTextLogger(logs)))
	noPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s panicked in the caller: %v", name, r)
			}
		}()
		f()
	}
	noPanic("Prime", func() { l.Prime(ctx, -1, "x") })
	noPanic("Clear", func() { l.Clear(ctx, -1) })
	for _, call := range []string{"Prime", "Clear"} {
		if n := strings.Count(logs.String(), "call="+call); n != 1 {
			t.Errorf("%s: panic logged %d times, want once:\n%s", call, n, logs)
		}
	}
	if !strings.Contains(logs.String(), "cache key function panicked") || !strings.Contains(logs.String(), "loader=bands") ||
		!strings.Contains(logs.String(), "negative key") || !strings.Contains(logs.String(), "robust_test.go") {
		t.Errorf("log does not name the loader, the panic and its stack:\n%s", logs)
	}
	// The scope still works: loads, Prime, Clear and ClearAll.
	l.Prime(ctx, 3, "primed")
	if v, err := l.Load(ctx, 3); v != "primed" || err != nil {
		t.Fatalf("Load of a primed key = %q, %v", v, err)
	}
	if v, err := l.Load(ctx, 2); v != "v2" || err != nil {
		t.Fatalf("Load = %q, %v", v, err)
	}
	l.Clear(ctx, 2)
	l.ClearAll(ctx)
	if v, err := l.Load(ctx, 2); v != "v2" || err != nil {
		t.Fatalf("Load after Clear = %q, %v", v, err)
	}
	wantBatches(t, r.calls(), [][]int{{2}, {2}})
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs after a cache key panic in Prime or Clear")
	}
}
