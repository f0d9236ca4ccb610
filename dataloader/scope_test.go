package dataloader_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ormloader/ormloader/dataloader"
)

func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}

// setDefaultLogger captures slog.Default for one test.
func setDefaultLogger(t *testing.T) *syncBuffer {
	buf := &syncBuffer{}
	old := slog.Default()
	slog.SetDefault(newTextLogger(buf))
	t.Cleanup(func() { slog.SetDefault(old) })
	return buf
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestNoScopeLoadsDirectlyAndWarnsOnce(t *testing.T) {
	logs := setDefaultLogger(t)
	r := &recorder{}
	l := dataloader.New(r.fetch, dataloader.WithName("bands"))
	for range 3 {
		if v, err := l.Load(context.Background(), 5); v != "v5" || err != nil {
			t.Fatalf("Load without scope = %q, %v", v, err)
		}
	}
	vals, errs := l.LoadMany(context.Background(), []int{1, 2})
	if errs != nil || vals[1] != "v2" {
		t.Fatalf("LoadMany without scope = %v, %v", vals, errs)
	}
	if v, err := l.LoadThunk(context.Background(), 6)(); v != "v6" || err != nil {
		t.Fatalf("thunk without scope = %q, %v", v, err)
	}
	wantBatches(t, r.calls(), [][]int{{5}, {5}, {5}, {1, 2}, {6}})
	if n := strings.Count(logs.String(), "without a scope"); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "loader=bands") {
		t.Fatalf("warning does not name the loader:\n%s", logs)
	}
	// Primes and clears without a scope do nothing and do not panic.
	l.Prime(context.Background(), 1, "x")
	l.PrimeMany(context.Background(), []int{1}, []string{"x"})
	l.PrimeError(context.Background(), 1, errPrimed)
	l.Set(context.Background(), 1, "x")
	l.Clear(context.Background(), 1)
	l.ClearMany(context.Background(), []int{1})
	l.ClearAll(context.Background())
	if v, err := l.Load(context.Background(), 1); v != "v1" || err != nil {
		t.Fatalf("Load without scope after primes = %q, %v", v, err)
	}
}

func TestStrictNoScope(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch, dataloader.WithStrict())
	if _, err := l.Load(context.Background(), 1); !errors.Is(err, dataloader.ErrNoScope) {
		t.Fatalf("err = %v", err)
	}
	if len(r.calls()) != 0 {
		t.Fatal("strict loader called the batch function without a scope")
	}
}

func TestNoScopePanicIsAnError(t *testing.T) {
	setDefaultLogger(t)
	l := dataloader.New(func(context.Context, []int) ([]int, []error, error) { panic("no scope, still no panic") })
	if _, err := l.Load(context.Background(), 1); !errors.Is(err, dataloader.ErrPanic) {
		t.Fatalf("err = %v", err)
	}
}

func TestTrackedFanOutIsOneBatch(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	// The watchdog is set far away: only tracking may dispatch here.
	ctx, s := newScope(t, dataloader.WithMaxWait(10*time.Second))
	// The fan-out starts inside a worker, as resolvers do in gqlgen.
	ctx, end := s.StartWorker(ctx)
	var wg sync.WaitGroup
	for k := range 100 {
		wg.Add(1)
		s.Go(ctx, func(ctx context.Context) {
			defer wg.Done()
			time.Sleep(time.Duration(k%10) * 100 * time.Microsecond) // workers arrive spread out
			if _, err := l.Load(ctx, k); err != nil {
				t.Error(err)
			}
		})
	}
	end()
	wg.Wait()
	if got := r.calls(); len(got) != 1 || len(got[0]) != 100 {
		t.Fatalf("%d batches, want 1 of 100 keys", len(got))
	}
}

func TestTrackedNestedLevelsBatchPerLevel(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, s := newScope(t, dataloader.WithMaxWait(10*time.Second))
	ctx, end := s.StartWorker(ctx)
	var wg sync.WaitGroup
	for k := range 10 {
		wg.Add(1)
		s.Go(ctx, func(ctx context.Context) {
			defer wg.Done()
			mustLoad(t, ctx, l, k)
			// A child worker per parent, as gqlgen starts one per field.
			wg.Add(1)
			s.Go(ctx, func(ctx context.Context) {
				defer wg.Done()
				mustLoad(t, ctx, l, 100+k)
			})
		})
	}
	end()
	wg.Wait()
	if got := r.calls(); len(got) != 2 {
		t.Fatalf("batches = %v, want one per level", got)
	}
}

func TestWatchdogDispatchesWhenWorkerBlocksElsewhere(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, s := newScope(t, dataloader.WithMaxWait(20*time.Millisecond))
	blocked := make(chan struct{})
	defer close(blocked)
	s.Go(ctx, func(context.Context) { <-blocked }) // never reaches a loader in time
	done := make(chan time.Duration, 1)
	s.Go(ctx, func(ctx context.Context) {
		start := time.Now()
		mustLoad(t, ctx, l, 1)
		done <- time.Since(start)
	})
	select {
	case d := <-done:
		if d < 15*time.Millisecond {
			t.Fatalf("dispatched after %v although a worker was running", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the scope stalled: the watchdog never dispatched")
	}
}

func TestWorkerEndIsIdempotentAndStaleWorkerHarmless(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, s := newScope(t, dataloader.WithMaxWait(10*time.Second))
	wctx, end := s.StartWorker(ctx)
	end()
	end()
	// A load through the context of a finished worker must not drive the
	// running count negative (which would dispatch others' batches early or
	// never).
	if v := mustLoad(t, wctx, l, 1); v != "v1" {
		t.Fatal(v)
	}
	ctx, end = s.StartWorker(ctx)
	var wg sync.WaitGroup
	for k := range 5 {
		wg.Add(1)
		s.Go(ctx, func(ctx context.Context) { defer wg.Done(); mustLoad(t, ctx, l, 10+k) })
	}
	end()
	wg.Wait()
	wantBatches(t, r.sorted(), [][]int{{1}, {10, 11, 12, 13, 14}})
}

func TestWorkerFromOtherScopeIsIgnored(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctxA, a := newScope(t)
	wctx, end := a.StartWorker(ctxA)
	defer end()
	// A context that carries scope B and a running worker of scope A: B has
	// no tracked worker and must dispatch by its window, not wait for A's.
	ctxB, b := dataloader.NewScope(wctx, dataloader.WithMaxWait(time.Hour))
	defer b.Close()
	if v := mustLoad(t, ctxB, l, 1); v != "v1" {
		t.Fatal(v)
	}
}

func TestGoOnClosedScope(t *testing.T) {
	l := dataloader.New((&recorder{}).fetch)
	ctx, s := dataloader.NewScope(context.Background())
	s.Close()
	errc := make(chan error, 1)
	s.Go(ctx, func(ctx context.Context) {
		_, err := l.Load(ctx, 1)
		errc <- err
	})
	if err := <-errc; !errors.Is(err, dataloader.ErrScopeClosed) {
		t.Fatalf("load in a Go'd function on a closed scope: %v", err)
	}
}

type recordingTracer struct {
	mu     sync.Mutex
	events []string
}

type spanKey struct{}

func (r *recordingTracer) TraceBatchStart(ctx context.Context, d dataloader.BatchStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "start "+d.Loader)
	return context.WithValue(ctx, spanKey{}, d.Keys)
}

func (r *recordingTracer) TraceBatchEnd(ctx context.Context, d dataloader.BatchEndData) {
	r.mu.Lock()
	defer r.mu.Unlock()
	errText := "ok"
	if d.Err != nil {
		errText = "error"
	}
	if ctx.Value(spanKey{}) != d.Keys || d.Duration <= 0 {
		errText = "bad end data"
	}
	r.events = append(r.events, "end "+d.Loader+" "+errText)
}

func TestTracer(t *testing.T) {
	tr := &recordingTracer{}
	var sawSpan any
	l := dataloader.New(func(ctx context.Context, keys []int) ([]int, []error, error) {
		sawSpan = ctx.Value(spanKey{})
		if keys[0] == 0 {
			return nil, nil, errors.New("fail")
		}
		return keys, nil, nil
	}, dataloader.WithName("bands"))
	ctx, _ := newScope(t, dataloader.WithTracer(tr))
	l.LoadMany(ctx, []int{1, 2})
	l.Load(ctx, 0)
	if sawSpan != 1 && sawSpan != 2 {
		t.Fatalf("batch function did not get the tracer's context: %v", sawSpan)
	}
	want := []string{"start bands", "end bands ok", "start bands", "end bands error"}
	if strings.Join(tr.events, ",") != strings.Join(want, ",") {
		t.Fatalf("events = %v, want %v", tr.events, want)
	}
}

func TestLocal(t *testing.T) {
	type key struct{}
	_, a := newScope(t)
	_, b := newScope(t)
	calls := 0
	init := func() any { calls++; return &calls }
	if a.Local(key{}, init) != a.Local(key{}, init) || calls != 1 {
		t.Fatalf("Local created its value %d times", calls)
	}
	b.Local(key{}, init)
	if calls != 2 {
		t.Fatal("scopes share Local values")
	}
}
