package dataloader_test

// Behaviour of the reference JavaScript DataLoader (graphql/dataloader,
// src/__tests__/dataloader.test.ts) for the calls that mirror its prime,
// clear, clearAll and manual dispatch: each test names the reference test
// it follows. Where the reference chains clear(key).prime(key, v) to
// replace a value, this package has Set.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ormloader/ormloader/dataloader"
)

// neverTick makes the tick wait an hour: only Dispatch, a full batch,
// LoadWith siblings or Close end a batch's wait.
var neverTick = []dataloader.ScopeOption{dataloader.WithWindow(time.Hour), dataloader.WithQuietPeriod(time.Hour)}

// within fails the test if f does not return within 5 s (a load that
// should not wait for a batch, in a scope whose tick never fires).
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not return: it waits for a batch", what)
	}
}

// Reference: "allows priming the cache", in the primeAll-like form.
func TestPrimeManyPrimesTheCache(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, _ := newScope(t)
	l.PrimeMany(ctx, []int{1, 2}, []string{"p1", "p2"})
	vals, errs := l.LoadMany(ctx, []int{1, 2, 3})
	if errs != nil || !slices.Equal(vals, []string{"p1", "p2", "v3"}) {
		t.Fatalf("LoadMany = %v, %v", vals, errs)
	}
	wantBatches(t, r.calls(), [][]int{{3}})
	l.PrimeMany(ctx, nil, nil) // nothing to prime
}

// Reference: "does not prime keys that already exist". PrimeMany, like
// Prime, leaves an entry alone whether it is cached, pending or in flight,
// and a key given twice keeps its first value.
func TestPrimeManyDoesNotPrimeKeysThatExist(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, s := newScope(t, neverTick...)
	l.Prime(ctx, 1, "X")
	pending := l.LoadThunk(ctx, 2)
	s.Dispatch()
	if v, err := pending(); v != "v2" || err != nil {
		t.Fatalf("Load(2) = %q, %v", v, err)
	}
	pending = l.LoadThunk(ctx, 4)
	l.PrimeMany(ctx, []int{1, 2, 3, 3, 4}, []string{"Y", "Y", "first", "second", "Y"})
	s.Dispatch()
	for k, want := range map[int]string{1: "X", 2: "v2", 3: "first"} {
		if got := mustLoad(t, ctx, l, k); got != want {
			t.Errorf("Load(%d) = %q, want %q", k, got, want)
		}
	}
	if v, err := pending(); v != "v4" || err != nil {
		t.Fatalf("pending Load(4) = %q, %v; want the batch's value", v, err)
	}
	wantBatches(t, r.calls(), [][]int{{2}, {4}})
}

func TestPrimeManyPanicsOnLengthMismatch(t *testing.T) {
	l := dataloader.New((&recorder{}).fetch, dataloader.WithName("users"))
	ctx, _ := newScope(t)
	for _, c := range []struct {
		name string
		ctx  context.Context
	}{{"scope", ctx}, {"no scope", context.Background()}} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, `"users"`) || !strings.Contains(msg, "2 keys and 1 values") {
					t.Fatalf("panic = %q, want one naming the loader and both lengths", msg)
				}
			}()
			l.PrimeMany(c.ctx, []int{1, 2}, []string{"one"})
		})
	}
	if _, err := l.Load(ctx, 1); err != nil {
		t.Fatal(err)
	}
}

// Reference: "Allows priming the cache with an object key" and "Clears
// objects with complex key": keys are primed and cleared by their cache key.
func TestPrimeManyAndClearManyUseTheCacheKey(t *testing.T) {
	var calls [][]string
	l := dataloader.NewWithCacheKey(func(_ context.Context, keys []string) ([]string, []error, error) {
		calls = append(calls, slices.Clone(keys))
		return keys, nil, nil
	}, strings.ToLower)
	ctx, _ := newScope(t)
	l.PrimeMany(ctx, []string{"Ada", "Alan"}, []string{"primed Ada", "primed Alan"})
	if v := mustLoad(t, ctx, l, "ADA"); v != "primed Ada" || len(calls) != 0 {
		t.Fatalf("Load(ADA) = %q after %v", v, calls)
	}
	l.ClearMany(ctx, []string{"ada"})
	if v := mustLoad(t, ctx, l, "Ada"); v != "Ada" {
		t.Fatalf("Load(Ada) after ClearMany = %q", v)
	}
	if v := mustLoad(t, ctx, l, "alan"); v != "primed Alan" {
		t.Fatalf("Load(alan) = %q", v)
	}
	if !slices.EqualFunc(calls, [][]string{{"Ada"}}, slices.Equal) {
		t.Fatalf("batches = %v", calls)
	}
}

// Reference: "clears single value in loader", for several keys at once.
// Like Clear, ClearMany leaves a key in a batch that has not been
// dispatched (reference: none; see TestClearKeepsKeyInUndispatchedBatch).
func TestClearMany(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, s := newScope(t, neverTick...)
	load := func(keys ...int) {
		t.Helper()
		thunks := make([]func() (string, error), len(keys))
		for i, k := range keys {
			thunks[i] = l.LoadThunk(ctx, k)
		}
		s.Dispatch()
		for i, th := range thunks {
			if v, err := th(); v != fmt.Sprintf("v%d", keys[i]) || err != nil {
				t.Fatalf("Load(%d) = %q, %v", keys[i], v, err)
			}
		}
	}
	load(1, 2, 3)
	l.ClearMany(ctx, []int{1, 2, 9}) // 9 has no entry
	load(1, 2, 3)
	wantBatches(t, r.calls(), [][]int{{1, 2, 3}, {1, 2}})

	pending := l.LoadThunk(ctx, 4)
	l.ClearMany(ctx, []int{4})
	again := l.LoadThunk(ctx, 4)
	s.Dispatch()
	for _, th := range []func() (string, error){pending, again} {
		if v, err := th(); v != "v4" || err != nil {
			t.Fatalf("Load(4) = %q, %v", v, err)
		}
	}
	wantBatches(t, r.calls(), [][]int{{1, 2, 3}, {1, 2}, {4}})
	l.ClearMany(ctx, nil)
}

var errPrimed = errors.New("primed: band 1 is hidden")

// Reference: "Handles priming the cache with an error" (the batch function
// is never called for the key), and "Caches failed fetches" (the error is
// returned again without a batch). Like Prime, PrimeError leaves an
// existing entry alone.
func TestPrimeError(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, _ := newScope(t)
	l.PrimeError(ctx, 1, errPrimed)
	for range 2 {
		if v, err := l.Load(ctx, 1); err != errPrimed || v != "" {
			t.Fatalf("Load(1) = %q, %v; want the primed error as given", v, err)
		}
	}
	vals, errs := l.LoadMany(ctx, []int{1, 2})
	if errs == nil || errs[0] != errPrimed || errs[1] != nil || vals[1] != "v2" {
		t.Fatalf("LoadMany = %v, %v", vals, errs)
	}
	if _, err := l.LoadThunk(ctx, 1)(); err != errPrimed {
		t.Fatalf("thunk = %v", err)
	}
	l.PrimeError(ctx, 2, errPrimed) // 2 is cached: not replaced
	if v := mustLoad(t, ctx, l, 2); v != "v2" {
		t.Fatalf("Load(2) = %q", v)
	}
	wantBatches(t, r.calls(), [][]int{{2}})
	if st := dataloader.FromContext(ctx).Stats(); st.Loads != 6 || st.CacheHits != 5 {
		t.Fatalf("stats = %+v: a primed error is a cache hit", st)
	}
}

// Reference: "Can clear values from cache after errors", for primed
// errors: Clear, ClearMany and ClearAll forget them.
func TestClearForgetsPrimedErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		clear func(ctx context.Context, l *dataloader.Loader[int, string])
	}{
		{"Clear", func(ctx context.Context, l *dataloader.Loader[int, string]) { l.Clear(ctx, 1) }},
		{"ClearMany", func(ctx context.Context, l *dataloader.Loader[int, string]) { l.ClearMany(ctx, []int{1}) }},
		{"ClearAll", func(ctx context.Context, l *dataloader.Loader[int, string]) { l.ClearAll(ctx) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{}
			l := dataloader.New(r.fetch)
			ctx, _ := newScope(t)
			l.PrimeError(ctx, 1, errPrimed)
			if _, err := l.Load(ctx, 1); err != errPrimed {
				t.Fatalf("Load = %v", err)
			}
			tc.clear(ctx, l)
			if v := mustLoad(t, ctx, l, 1); v != "v1" {
				t.Fatalf("Load after %s = %q", tc.name, v)
			}
			wantBatches(t, r.calls(), [][]int{{1}})
		})
	}
}

// A context error belongs to one caller, not to the key: the loader never
// caches one, and PrimeError does not prime one (nor a nil error).
func TestPrimeErrorNeverPrimesContextErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, _ := newScope(t)
	for k, primed := range []error{
		nil,
		context.Canceled,
		context.DeadlineExceeded,
		cancelled.Err(),
		fmt.Errorf("query bands: %w", context.DeadlineExceeded),
	} {
		l.PrimeError(ctx, k, primed)
		if v, err := l.Load(ctx, k); v != fmt.Sprintf("v%d", k) || err != nil {
			t.Errorf("PrimeError(%v), then Load = %q, %v; want the batch's value", primed, v, err)
		}
	}
	if got := len(r.calls()); got != 5 {
		t.Fatalf("%d batches, want 5", got)
	}
}

// Reference: "allows forcefully priming the cache", whose
// clear(key).prime(key, v) is Set here; also over cached and primed errors.
func TestSetReplacesCachedEntries(t *testing.T) {
	r := &recorder{fail: func(k int) error {
		if k == 3 {
			return errOdd
		}
		return nil
	}}
	l := dataloader.New(r.fetch)
	ctx, _ := newScope(t)
	l.Prime(ctx, 1, "X")
	l.PrimeError(ctx, 4, errPrimed)
	vals, errs := l.LoadMany(ctx, []int{1, 2, 3, 4})
	if !slices.Equal(vals[:2], []string{"X", "v2"}) || !errors.Is(errs[2], errOdd) || errs[3] != errPrimed {
		t.Fatalf("LoadMany = %v, %v", vals, errs)
	}
	for _, k := range []int{1, 2, 3, 4, 5} {
		l.Set(ctx, k, "Y")
	}
	vals, errs = l.LoadMany(ctx, []int{1, 2, 3, 4, 5})
	if errs != nil || !slices.Equal(vals, []string{"Y", "Y", "Y", "Y", "Y"}) {
		t.Fatalf("after Set: LoadMany = %v, %v", vals, errs)
	}
	l.Set(ctx, 1, "Z") // a Set value is replaced by the next
	if v := mustLoad(t, ctx, l, 1); v != "Z" {
		t.Fatalf("Load(1) = %q", v)
	}
	l.Clear(ctx, 2)
	if v := mustLoad(t, ctx, l, 2); v != "v2" {
		t.Fatalf("Load(2) after Clear = %q", v)
	}
	wantBatches(t, r.calls(), [][]int{{2, 3}, {2}})
}

// Set does not change what a dispatched batch returns to its waiters: they
// get what the batch function read, and that result is not cached; loads
// that start after Set get its value at once.
func TestSetDuringInFlightBatch(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var calls int
	l := dataloader.New(func(_ context.Context, keys []int) ([]string, []error, error) {
		calls++
		close(started)
		<-release
		return []string{"read"}, nil, nil
	})
	ctx, _ := newScope(t)
	waiter := make(chan string, 1)
	go func() {
		v, _ := l.Load(ctx, 1)
		waiter <- v
	}()
	<-started
	joined := l.LoadThunk(ctx, 1) // joins the batch in flight
	l.Set(ctx, 1, "set")
	within(t, "Load after Set", func() {
		if v := mustLoad(t, ctx, l, 1); v != "set" {
			t.Errorf("Load after Set = %q", v)
		}
	})
	close(release)
	if v := <-waiter; v != "read" {
		t.Fatalf("waiter of the in-flight batch got %q", v)
	}
	if v, err := joined(); v != "read" || err != nil {
		t.Fatalf("thunk of the in-flight batch = %q, %v", v, err)
	}
	if v := mustLoad(t, ctx, l, 1); v != "set" || calls != 1 {
		t.Fatalf("Load once the batch is over = %q after %d calls; want Set's value, still cached", v, calls)
	}
}

// A batch that has not been dispatched has read nothing: Set gives its
// value to the key's waiters too (the key is still fetched, its result
// dropped). Clear before the dispatch makes the key wait for its batch
// again, without putting it in the batch twice.
func TestSetOfPendingKey(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, s := newScope(t, neverTick...)
	early := l.LoadThunk(ctx, 1)
	l.Set(ctx, 1, "set")
	within(t, "Load after Set", func() {
		if v := mustLoad(t, ctx, l, 1); v != "set" {
			t.Errorf("Load(1) after Set = %q", v)
		}
		if v, err := l.LoadThunk(ctx, 1)(); v != "set" || err != nil {
			t.Errorf("thunk after Set = %q, %v", v, err)
		}
	})
	cleared := l.LoadThunk(ctx, 2)
	l.Set(ctx, 2, "set")
	l.Clear(ctx, 2)
	again := l.LoadThunk(ctx, 2)
	s.Dispatch()
	if v, err := early(); v != "set" || err != nil {
		t.Fatalf("thunk enqueued before Set = %q, %v", v, err)
	}
	for _, th := range []func() (string, error){cleared, again} {
		if v, err := th(); v != "v2" || err != nil {
			t.Fatalf("Load(2) after Set and Clear = %q, %v", v, err)
		}
	}
	wantBatches(t, r.sorted(), [][]int{{1, 2}})
	if v := mustLoad(t, ctx, l, 1); v != "set" {
		t.Fatalf("Load(1) once its batch is over = %q", v)
	}
	// A pending key that Set resolved keeps its value if the batch fails.
	failing := l.LoadThunk(ctx, 3)
	l.Set(ctx, 3, "set")
	s.Close()
	if v, err := failing(); v != "set" || err != nil {
		t.Fatalf("after Close = %q, %v", v, err)
	}
}

// Reference: "Supports manual dispatch" (a custom batchScheduleFn whose
// dispatch runs the scheduled batches): every pending batch of the scope,
// of every loader, goes at Dispatch; keys enqueued later wait for the next.
func TestDispatch(t *testing.T) {
	r, r2 := &recorder{}, &recorder{}
	l, other := dataloader.New(r.fetch), dataloader.New(r2.fetch)
	ctx, s := newScope(t, neverTick...)
	a, b, o := l.LoadThunk(ctx, 1), l.LoadThunk(ctx, 2), other.LoadThunk(ctx, 7)
	s.Dispatch()
	a2, c := l.LoadThunk(ctx, 1), l.LoadThunk(ctx, 3)
	s.Dispatch()
	d := l.LoadThunk(ctx, 4) // never dispatched
	for i, th := range []func() (string, error){a, b, o, a2, c} {
		if _, err := th(); err != nil {
			t.Fatalf("thunk %d: %v", i, err)
		}
	}
	// The two batches may run concurrently: compare them in key order.
	inOrder := func() [][]int {
		got := r.sorted()
		slices.SortFunc(got, func(a, b []int) int { return a[0] - b[0] })
		return got
	}
	wantBatches(t, inOrder(), [][]int{{1, 2}, {3}})
	wantBatches(t, r2.calls(), [][]int{{7}})
	s.Close()
	if _, err := d(); !errors.Is(err, dataloader.ErrScopeClosed) {
		t.Fatalf("undispatched thunk after Close: %v", err)
	}
	wantBatches(t, inOrder(), [][]int{{1, 2}, {3}})
}

// Dispatch is idempotent, safe from any goroutine (batch functions
// included) and a no-op on a closed scope.
func TestDispatchIsSafeAnywhere(t *testing.T) {
	_, empty := newScope(t)
	empty.Dispatch() // nothing pending
	empty.Dispatch()

	inner := &recorder{}
	innerL := dataloader.New(inner.fetch)
	// A batch function that enqueues keys of another loader and dispatches
	// them rather than waiting for the tick.
	outer := dataloader.New(func(ctx context.Context, keys []int) ([]string, []error, error) {
		thunks := make([]func() (string, error), len(keys))
		for i, k := range keys {
			thunks[i] = innerL.LoadThunk(ctx, k)
		}
		dataloader.FromContext(ctx).Dispatch()
		vals := make([]string, len(keys))
		for i, th := range thunks {
			v, err := th()
			if err != nil {
				return nil, nil, err
			}
			vals[i] = "outer/" + v
		}
		return vals, nil, nil
	})
	for _, tracked := range []bool{false, true} {
		t.Run(fmt.Sprint("tracked=", tracked), func(t *testing.T) {
			ctx, s := dataloader.NewScope(context.Background(), append(neverTick, dataloader.WithMaxWait(time.Hour))...)
			var wg sync.WaitGroup
			for k := range 20 {
				do := func(ctx context.Context) {
					defer wg.Done()
					th := outer.LoadThunk(ctx, k)
					s.Dispatch()
					s.Dispatch()
					if v, err := th(); v != fmt.Sprintf("outer/v%d", k) || err != nil {
						t.Errorf("Load(%d) = %q, %v", k, v, err)
					}
				}
				wg.Add(1)
				if tracked {
					s.Go(ctx, do)
				} else {
					go do(ctx)
				}
			}
			wg.Wait()
			s.Close()
			s.Dispatch() // closed: nothing to do
		})
	}
}

// LoadMany's keys are one unit, but the batch waits for the tick like
// Load's: a key another caller loads meanwhile joins it. Only LoadWith
// with siblings dispatches at once.
func TestLoadManyWaitsForTheTick(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, s := newScope(t, neverTick...)
	done := make(chan []string, 1)
	go func() {
		vals, _ := l.LoadMany(ctx, []int{1, 2})
		done <- vals
	}()
	for deadline := time.Now().Add(5 * time.Second); s.Stats().Loads < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("LoadMany never enqueued its keys")
		}
	}
	joined := l.LoadThunk(ctx, 3)
	select {
	case vals := <-done:
		t.Fatalf("LoadMany returned %v before the tick or a Dispatch", vals)
	case <-time.After(10 * time.Millisecond):
	}
	s.Dispatch()
	if vals := <-done; !slices.Equal(vals, []string{"v1", "v2"}) {
		t.Fatalf("LoadMany = %v", vals)
	}
	if v, err := joined(); v != "v3" || err != nil {
		t.Fatalf("joined = %q, %v", v, err)
	}
	within(t, "LoadWith with siblings", func() {
		if v, err := l.LoadWith(ctx, 4, []int{4, 5}); v != "v4" || err != nil {
			t.Errorf("LoadWith = %q, %v", v, err)
		}
	})
	wantBatches(t, r.calls(), [][]int{{1, 2, 3}, {4, 5}})
}

// PrimeMany, PrimeError, Set and ClearMany with a panicking cache key
// function: the panic is logged (naming the call), that key is skipped,
// the other keys are primed or cleared.
func TestManyFormsWithPanickingCacheKey(t *testing.T) {
	logs := &syncBuffer{}
	r := &recorder{}
	l := dataloader.NewWithCacheKey(r.fetch, func(k int) int {
		if k < 0 {
			panic("negative key")
		}
		return k
	}, dataloader.WithName("bands"))
	ctx, _ := newScope(t, dataloader.WithLogger(newTextLogger(logs)))
	noPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s panicked in the caller: %v", name, r)
			}
		}()
		f()
	}
	noPanic("PrimeMany", func() { l.PrimeMany(ctx, []int{1, -1, 2}, []string{"p1", "x", "p2"}) })
	noPanic("PrimeError", func() { l.PrimeError(ctx, -1, errPrimed) })
	noPanic("Set", func() { l.Set(ctx, -1, "x") })
	noPanic("ClearMany", func() { l.ClearMany(ctx, []int{-1, 1}) })
	for _, call := range []string{"PrimeMany", "PrimeError", "Set", "ClearMany"} {
		if n := strings.Count(logs.String(), "call="+call+" "); n != 1 {
			t.Errorf("%s: panic logged %d times, want once:\n%s", call, n, logs)
		}
	}
	vals, errs := l.LoadMany(ctx, []int{1, 2})
	if errs != nil || !slices.Equal(vals, []string{"v1", "p2"}) {
		t.Fatalf("LoadMany = %v, %v; want 1 cleared, 2 primed", vals, errs)
	}
	wantBatches(t, r.calls(), [][]int{{1}})
}

// PrimeOrReplace primes a key without an entry, replaces a cached value
// that replace accepts, and leaves alone a value it refuses, a per-key
// error, and a key whose batch is pending or in flight (a load that started
// after a Clear gets what its batch reads); it counts no load.
func TestPrimeOrReplace(t *testing.T) {
	r := &recorder{fail: func(k int) error {
		if k == 3 {
			return errors.New("no 3")
		}
		return nil
	}}
	l := dataloader.New(r.fetch)
	ctx, s := newScope(t)
	always := func(string) bool { return true }
	l.PrimeOrReplace(ctx, 1, "primed", always) // no entry: primed
	if _, err := l.Load(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Load(ctx, 3); err == nil {
		t.Fatal("key 3 loaded without its error")
	}
	before := s.Stats()
	l.PrimeOrReplace(ctx, 1, "refused", func(old string) bool { return old != "primed" })
	l.PrimeOrReplace(ctx, 2, "replaced", func(old string) bool { return old == "v2" })
	l.PrimeOrReplace(ctx, 3, "over an error", always)
	if after := s.Stats(); after != before {
		t.Fatalf("stats moved from %+v to %+v", before, after)
	}
	for key, want := range map[int]string{1: "primed", 2: "replaced"} {
		if got, err := l.Load(ctx, key); err != nil || got != want {
			t.Errorf("Load(%d) = %q, %v; want %q", key, got, err, want)
		}
	}
	if _, err := l.Load(ctx, 3); err == nil {
		t.Error("key 3's error was replaced")
	}
	// A pending key keeps its batch.
	wctx, end := s.StartWorker(ctx)
	l.Clear(ctx, 2)
	thunk := l.LoadThunk(wctx, 2)
	l.PrimeOrReplace(ctx, 2, "read before the write", always)
	end()
	if got, err := thunk(); err != nil || got != "v2" {
		t.Errorf("the load after the Clear got %q, %v; want the batch's v2", got, err)
	}
}
