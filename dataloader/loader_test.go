package dataloader_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ormloader/ormloader/dataloader"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// recorder is a batch function that remembers every batch it was called
// with and answers key k with "v<k>".
type recorder struct {
	mu      sync.Mutex
	batches [][]int
	fail    func(key int) error // per-key error, if non-nil
}

func (r *recorder) fetch(_ context.Context, keys []int) ([]string, []error, error) {
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(keys))
	r.mu.Unlock()
	vals := make([]string, len(keys))
	var errs []error
	for i, k := range keys {
		vals[i] = fmt.Sprintf("v%d", k)
		if r.fail != nil {
			if err := r.fail(k); err != nil {
				if errs == nil {
					errs = make([]error, len(keys))
				}
				errs[i] = err
			}
		}
	}
	return vals, errs, nil
}

func (r *recorder) calls() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

// sorted returns the batches with their keys sorted, for comparisons that
// do not depend on goroutine order.
func (r *recorder) sorted() [][]int {
	out := r.calls()
	for _, b := range out {
		slices.Sort(b)
	}
	return out
}

func newScope(t *testing.T, opts ...dataloader.ScopeOption) (context.Context, *dataloader.Scope) {
	t.Helper()
	ctx, s := dataloader.NewScope(context.Background(), opts...)
	t.Cleanup(s.Close)
	return ctx, s
}

func wantBatches(t *testing.T, got, want [][]int) {
	t.Helper()
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches = %v, want %v", got, want)
	}
}

func mustLoad[K, V any](t *testing.T, ctx context.Context, l *dataloader.Loader[K, V], k K) V {
	t.Helper()
	v, err := l.Load(ctx, k)
	if err != nil {
		t.Fatalf("Load(%v): %v", k, err)
	}
	return v
}

// slowTick makes window mode wait 50 ms for more keys, so that tests of
// batching from one goroutine do not depend on scheduling.
var slowTick = []dataloader.ScopeOption{dataloader.WithWindow(50 * time.Millisecond), dataloader.WithQuietPeriod(50 * time.Millisecond)}

func TestLoadReturnsValue(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, _ := newScope(t)
	if got := mustLoad(t, ctx, l, 1); got != "v1" {
		t.Fatalf("Load(1) = %q", got)
	}
	wantBatches(t, r.calls(), [][]int{{1}})
}

func TestBatchesConcurrentLoads(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	// A generous window so the test does not depend on scheduling.
	ctx, s := newScope(t, slowTick...)
	var wg sync.WaitGroup
	for k := 1; k <= 3; k++ {
		wg.Go(func() {
			if got := mustLoad(t, ctx, l, k); got != fmt.Sprintf("v%d", k) {
				t.Errorf("Load(%d) = %q", k, got)
			}
		})
	}
	wg.Wait()
	wantBatches(t, r.sorted(), [][]int{{1, 2, 3}})
	if st := s.Stats(); st.Batches != 1 || st.Keys != 3 || st.Loads != 3 || st.LargestBatch != 3 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestLoadThunksBatchFromOneGoroutine(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, _ := newScope(t, slowTick...)
	a, b := l.LoadThunk(ctx, 1), l.LoadThunk(ctx, 2)
	va, erra := a()
	vb, errb := b()
	if va != "v1" || vb != "v2" || erra != nil || errb != nil {
		t.Fatalf("thunks = %q %v, %q %v", va, erra, vb, errb)
	}
	wantBatches(t, r.calls(), [][]int{{1, 2}})
}

func TestLoadManyIsOneBatchInKeyOrder(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, _ := newScope(t)
	vals, errs := l.LoadMany(ctx, []int{3, 1, 2})
	if errs != nil || !slices.Equal(vals, []string{"v3", "v1", "v2"}) {
		t.Fatalf("LoadMany = %v, %v", vals, errs)
	}
	wantBatches(t, r.calls(), [][]int{{3, 1, 2}})
}

func TestCoalescesIdenticalKeys(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, s := newScope(t)
	vals, errs := l.LoadMany(ctx, []int{1, 1, 2, 1})
	if errs != nil || !slices.Equal(vals, []string{"v1", "v1", "v2", "v1"}) {
		t.Fatalf("LoadMany = %v, %v", vals, errs)
	}
	wantBatches(t, r.calls(), [][]int{{1, 2}})
	if st := s.Stats(); st.Loads != 4 || st.CacheHits != 2 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestCachesAcrossBatches(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, s := newScope(t)
	mustLoad(t, ctx, l, 1)
	vals, _ := l.LoadMany(ctx, []int{1, 2})
	mustLoad(t, ctx, l, 2)
	if !slices.Equal(vals, []string{"v1", "v2"}) {
		t.Fatalf("LoadMany = %v", vals)
	}
	wantBatches(t, r.calls(), [][]int{{1}, {2}})
	if st := s.Stats(); st.CacheHits != 2 {
		t.Fatalf("CacheHits = %d, want 2", st.CacheHits)
	}
}

func TestPrime(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, _ := newScope(t)
	l.Prime(ctx, 1, "primed")
	mustLoad(t, ctx, l, 2)
	l.Prime(ctx, 2, "ignored: already cached")
	vals, _ := l.LoadMany(ctx, []int{1, 2})
	if !slices.Equal(vals, []string{"primed", "v2"}) {
		t.Fatalf("LoadMany = %v", vals)
	}
	wantBatches(t, r.calls(), [][]int{{2}})

	l.Clear(ctx, 2)
	l.Prime(ctx, 2, "replaced")
	if got := mustLoad(t, ctx, l, 2); got != "replaced" {
		t.Fatalf("after Clear and Prime: %q", got)
	}
}

func TestClearAndClearAll(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	other := dataloader.New((&recorder{}).fetch)
	ctx, _ := newScope(t)
	l.LoadMany(ctx, []int{1, 2})
	mustLoad(t, ctx, other, 9)

	l.Clear(ctx, 1)
	l.LoadMany(ctx, []int{1, 2})
	wantBatches(t, r.calls(), [][]int{{1, 2}, {1}})

	l.ClearAll(ctx)
	l.LoadMany(ctx, []int{1, 2})
	wantBatches(t, r.calls(), [][]int{{1, 2}, {1}, {1, 2}})

	// ClearAll of one loader leaves the others' caches alone.
	r9 := len(r.calls())
	mustLoad(t, ctx, other, 9)
	if len(r.calls()) != r9 {
		t.Fatal("unexpected batch")
	}
}

func TestClearKeepsKeyInUndispatchedBatch(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, _ := newScope(t, slowTick...)
	thunk := l.LoadThunk(ctx, 1)
	l.Clear(ctx, 1) // the batch has not read anything yet
	l.LoadThunk(ctx, 1)
	if v, err := thunk(); v != "v1" || err != nil {
		t.Fatalf("thunk = %q, %v", v, err)
	}
	wantBatches(t, r.calls(), [][]int{{1}})
}

var errOdd = errors.New("odd key")

func TestPerKeyErrorsAreCachedAndClearable(t *testing.T) {
	r := &recorder{fail: func(k int) error {
		if k%2 == 1 {
			return errOdd
		}
		return nil
	}}
	l := dataloader.New(r.fetch)
	ctx, _ := newScope(t)
	vals, errs := l.LoadMany(ctx, []int{1, 2})
	if !errors.Is(errs[0], errOdd) || errs[1] != nil || vals[1] != "v2" {
		t.Fatalf("LoadMany = %v, %v", vals, errs)
	}
	if _, err := l.Load(ctx, 1); !errors.Is(err, errOdd) {
		t.Fatalf("cached error = %v", err)
	}
	wantBatches(t, r.calls(), [][]int{{1, 2}})
	l.Clear(ctx, 1)
	l.Load(ctx, 1)
	wantBatches(t, r.calls(), [][]int{{1, 2}, {1}})
}

func TestBatchErrorIsNotCached(t *testing.T) {
	dbDown := errors.New("connection refused")
	var calls int
	l := dataloader.New(func(_ context.Context, keys []int) ([]string, []error, error) {
		calls++
		if calls == 1 {
			return nil, nil, dbDown
		}
		return []string{"ok", "ok"}, nil, nil
	})
	ctx, _ := newScope(t)
	_, errs := l.LoadMany(ctx, []int{1, 2})
	if !errors.Is(errs[0], dbDown) || !errors.Is(errs[1], dbDown) {
		t.Fatalf("errs = %v", errs)
	}
	vals, errs := l.LoadMany(ctx, []int{1, 2})
	if errs != nil || vals[0] != "ok" || calls != 2 {
		t.Fatalf("retry: %v %v after %d calls", vals, errs, calls)
	}
}

func TestMapFetch(t *testing.T) {
	l := dataloader.NewMapped(func(_ context.Context, keys []int) (map[int]string, error) {
		m := map[int]string{}
		for _, k := range keys {
			if k != 404 {
				m[k] = fmt.Sprint(k)
			}
		}
		return m, nil
	}, dataloader.WithName("users"))
	ctx, _ := newScope(t)
	vals, errs := l.LoadMany(ctx, []int{404, 1})
	if vals[1] != "1" || errs[1] != nil {
		t.Fatalf("key 1: %q, %v", vals[1], errs[1])
	}
	var ke *dataloader.KeyError
	if !errors.Is(errs[0], dataloader.ErrNotFound) || !errors.As(errs[0], &ke) || ke.Key != 404 || ke.Loader != "users" {
		t.Fatalf("missing key error = %#v", errs[0])
	}
	if msg := errs[0].Error(); !strings.Contains(msg, `"users"`) || !strings.Contains(msg, "404") {
		t.Fatalf("error message %q does not name the loader and the key", msg)
	}
}

func TestMapFetchError(t *testing.T) {
	boom := errors.New("boom")
	l := dataloader.NewMapped(func(context.Context, []int) (map[int]int, error) { return nil, boom })
	ctx, _ := newScope(t)
	if _, err := l.Load(ctx, 1); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

func TestWrongLengthIsPerKeyErrorNamingLoader(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fetch func(context.Context, []int) ([]int, []error, error)
	}{
		{"short values", func(_ context.Context, keys []int) ([]int, []error, error) { return make([]int, len(keys)-1), nil, nil }},
		{"long values", func(_ context.Context, keys []int) ([]int, []error, error) { return make([]int, len(keys)+1), nil, nil }},
		{"short errors", func(_ context.Context, keys []int) ([]int, []error, error) {
			return make([]int, len(keys)), make([]error, len(keys)-1), nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls int
			l := dataloader.New(func(ctx context.Context, keys []int) ([]int, []error, error) {
				calls++
				return tc.fetch(ctx, keys)
			}, dataloader.WithName("albums"))
			ctx, _ := newScope(t)
			_, errs := l.LoadMany(ctx, []int{7, 8, 9})
			for i, err := range errs {
				var ke *dataloader.KeyError
				if !errors.Is(err, dataloader.ErrWrongLength) || !errors.As(err, &ke) || ke.Loader != "albums" || ke.Key != []int{7, 8, 9}[i] {
					t.Fatalf("errs[%d] = %v", i, err)
				}
			}
			l.Load(ctx, 7) // not cached: the batch function runs again
			if calls != 2 {
				t.Fatalf("batch function ran %d times, want 2", calls)
			}
		})
	}
}

func TestMaxBatch(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch, dataloader.WithMaxBatch(2))
	ctx, s := newScope(t)
	vals, errs := l.LoadMany(ctx, []int{1, 2, 3, 4, 5})
	if errs != nil || len(vals) != 5 || vals[4] != "v5" {
		t.Fatalf("LoadMany = %v, %v", vals, errs)
	}
	got := r.sorted() // batches run concurrently: compare them in key order
	slices.SortFunc(got, func(a, b []int) int { return a[0] - b[0] })
	wantBatches(t, got, [][]int{{1, 2}, {3, 4}, {5}})
	if st := s.Stats(); st.LargestBatch != 2 || st.Batches != 3 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestCustomCacheKey(t *testing.T) {
	type name struct{ first, last string }
	var batches [][]name
	l := dataloader.NewWithCacheKey(func(_ context.Context, keys []name) ([]string, []error, error) {
		batches = append(batches, keys)
		out := make([]string, len(keys))
		for i, k := range keys {
			out[i] = k.first + " " + k.last
		}
		return out, nil, nil
	}, func(n name) string { return strings.ToLower(n.first + "\x00" + n.last) })
	ctx, _ := newScope(t)
	vals, _ := l.LoadMany(ctx, []name{{"Ada", "Lovelace"}, {"ADA", "LOVELACE"}, {"Alan", "Turing"}})
	if len(batches) != 1 || len(batches[0]) != 2 {
		t.Fatalf("batches = %v", batches)
	}
	if vals[1] != "Ada Lovelace" {
		t.Fatalf("case-insensitive key got %q", vals[1])
	}
	// Non-comparable keys work through a cache key.
	sl := dataloader.NewWithCacheKey(func(_ context.Context, keys [][]int) ([]int, []error, error) {
		out := make([]int, len(keys))
		for i, k := range keys {
			out[i] = len(k)
		}
		return out, nil, nil
	}, func(k []int) string { return fmt.Sprint(k) })
	if v := mustLoad(t, ctx, sl, []int{1, 2, 3}); v != 3 {
		t.Fatalf("slice key: %d", v)
	}
}

func TestWithoutCache(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch, dataloader.WithoutCache())
	ctx, _ := newScope(t)
	l.LoadMany(ctx, []int{1, 1, 2})
	mustLoad(t, ctx, l, 1)
	l.Prime(ctx, 3, "primed")
	l.PrimeMany(ctx, []int{4}, []string{"primed"})
	l.PrimeError(ctx, 5, errPrimed)
	l.Set(ctx, 6, "set")
	for k := 3; k <= 6; k++ {
		if v := mustLoad(t, ctx, l, k); v != fmt.Sprintf("v%d", k) {
			t.Fatalf("Load(%d) = %q: a loader without cache primed it", k, v)
		}
	}
	wantBatches(t, r.calls(), [][]int{{1, 2}, {1}, {3}, {4}, {5}, {6}})
}

func TestLoadsWhileBatchResolves(t *testing.T) {
	var l *dataloader.Loader[int, string]
	var batches [][]int
	var mu sync.Mutex
	l = dataloader.New(func(ctx context.Context, keys []int) ([]string, []error, error) {
		mu.Lock()
		batches = append(batches, slices.Clone(keys))
		mu.Unlock()
		out := make([]string, len(keys))
		for i, k := range keys {
			out[i] = fmt.Sprint(k)
			if k < 3 {
				// A batch function may use the loader itself (the scope's
				// context is the one it runs under).
				v, err := l.Load(ctx, k+10)
				if err != nil {
					return nil, nil, err
				}
				out[i] += "/" + v
			}
		}
		return out, nil, nil
	})
	ctx, _ := newScope(t)
	vals, errs := l.LoadMany(ctx, []int{1, 3})
	if errs != nil || vals[0] != "1/11" || vals[1] != "3" {
		t.Fatalf("LoadMany = %v, %v", vals, errs)
	}
	if len(batches) != 2 || !slices.Equal(batches[1], []int{11}) {
		t.Fatalf("batches = %v", batches)
	}
}

func TestLoadWithEnqueuesUncachedSiblings(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, s := newScope(t)
	mustLoad(t, ctx, l, 2) // cached: not fetched again
	siblings := []int{1, 2, 3, 4}
	for _, k := range siblings {
		v, err := l.LoadWith(ctx, k, siblings)
		if err != nil || v != fmt.Sprintf("v%d", k) {
			t.Fatalf("LoadWith(%d) = %q, %v", k, v, err)
		}
	}
	wantBatches(t, r.calls(), [][]int{{2}, {1, 3, 4}})
	if st := s.Stats(); st.Loads != 5 || st.CacheHits != 3 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestBatchRunsUnderScopeContext(t *testing.T) {
	type viewerKey struct{}
	type fieldKey struct{}
	var gotViewer, gotField any
	var gotErr error
	l := dataloader.New(func(ctx context.Context, keys []int) ([]int, []error, error) {
		gotViewer, gotField, gotErr = ctx.Value(viewerKey{}), ctx.Value(fieldKey{}), ctx.Err()
		return keys, nil, nil
	})
	req := context.WithValue(context.Background(), viewerKey{}, "alice")
	ctx, s := dataloader.NewScope(req)
	defer s.Close()
	caller, cancel := context.WithCancel(context.WithValue(ctx, fieldKey{}, "field"))
	defer cancel()
	mustLoad(t, caller, l, 1)
	if gotViewer != "alice" || gotField != nil || gotErr != nil {
		t.Fatalf("batch saw viewer=%v field=%v err=%v; want the scope's values only", gotViewer, gotField, gotErr)
	}
}

func TestCancelledWaiterReturnsAloneAndEarly(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	l := dataloader.New(func(_ context.Context, keys []int) ([]int, []error, error) {
		close(started)
		<-release
		return keys, nil, nil
	})
	ctx, _ := newScope(t)
	first, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := l.Load(first, 1) // the first caller: its key starts the batch
		errc <- err
	}()
	<-started
	second := make(chan int, 1)
	go func() {
		v, _ := l.Load(ctx, 1)
		second <- v
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	close(release)
	if v := <-second; v != 1 {
		t.Fatalf("other waiter got %d", v)
	}
	// The result was cached despite the first caller's cancellation.
	if v := mustLoad(t, ctx, l, 1); v != 1 {
		t.Fatal(v)
	}
}

func TestPanicIsReturnedToEveryWaiterAndNotCached(t *testing.T) {
	var calls int
	l := dataloader.New(func(_ context.Context, keys []int) ([]int, []error, error) {
		calls++
		if calls == 1 {
			panic("kaboom")
		}
		return keys, nil, nil
	}, dataloader.WithName("tracks"))
	logs := &strings.Builder{}
	ctx, _ := newScope(t, dataloader.WithLogger(newTextLogger(logs)))
	_, errs := l.LoadMany(ctx, []int{1, 2})
	for _, err := range errs {
		var pe *dataloader.PanicError
		if !errors.Is(err, dataloader.ErrPanic) || !errors.As(err, &pe) || pe.Value != "kaboom" || len(pe.Stack) == 0 || pe.Loader != "tracks" {
			t.Fatalf("err = %v", err)
		}
	}
	if n := strings.Count(logs.String(), "panicked"); n != 1 {
		t.Fatalf("panic logged %d times, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "loader_test.go") {
		t.Fatalf("log has no stack:\n%s", logs)
	}
	if v := mustLoad(t, ctx, l, 1); v != 1 || calls != 2 {
		t.Fatalf("retry after panic: %d after %d calls", v, calls)
	}
}

func TestScopesNeverShareCacheOrBatch(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctxA, _ := newScope(t, dataloader.WithWindow(20*time.Millisecond))
	ctxB, _ := newScope(t, dataloader.WithWindow(20*time.Millisecond))
	l.Prime(ctxA, 1, "A's")
	var wg sync.WaitGroup
	var a, b string
	wg.Go(func() { a = mustLoad(t, ctxA, l, 1) })
	wg.Go(func() { b = mustLoad(t, ctxB, l, 1) })
	wg.Wait()
	if a != "A's" || b != "v1" {
		t.Fatalf("scope A got %q, scope B got %q", a, b)
	}
	wantBatches(t, r.calls(), [][]int{{1}})
}

func TestCloseFailsPendingAndLaterLoads(t *testing.T) {
	l := dataloader.New((&recorder{}).fetch)
	ctx, s := dataloader.NewScope(context.Background(), dataloader.WithWindow(time.Hour), dataloader.WithQuietPeriod(time.Hour))
	thunk := l.LoadThunk(ctx, 1)
	s.Close()
	if _, err := thunk(); !errors.Is(err, dataloader.ErrScopeClosed) {
		t.Fatalf("pending load after Close: %v", err)
	}
	if _, err := l.Load(ctx, 2); !errors.Is(err, dataloader.ErrScopeClosed) {
		t.Fatalf("load after Close: %v", err)
	}
	s.Close() // idempotent
}

func TestCloseCancelsAndWaitsForRunningBatch(t *testing.T) {
	started := make(chan struct{})
	var finished bool
	l := dataloader.New(func(ctx context.Context, keys []int) ([]int, []error, error) {
		close(started)
		<-ctx.Done()
		finished = true
		return nil, nil, ctx.Err()
	})
	ctx, s := dataloader.NewScope(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := l.Load(ctx, 1)
		errc <- err
	}()
	<-started
	s.Close()
	if !finished {
		t.Fatal("Close returned before the batch function")
	}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("waiter: %v", err)
	}
}
