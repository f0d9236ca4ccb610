package dataloader_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ormloader/ormloader/dataloader"
)

// LoadExisting joins a key's entry (pending, in flight or cached) and never
// starts a batch of its own.
func TestLoadExisting(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, _ := newScope(t)
	if _, ok, err := l.LoadExisting(ctx, 1); ok || err != nil {
		t.Fatalf("absent key: ok %v, err %v", ok, err)
	}
	wait := l.LoadThunk(ctx, 1) // pending
	if v, ok, err := l.LoadExisting(ctx, 1); !ok || err != nil || v != "v1" {
		t.Fatalf("pending key: %q, %v, %v", v, ok, err)
	}
	if v, err := wait(); err != nil || v != "v1" {
		t.Fatalf("thunk: %q, %v", v, err)
	}
	if v, ok, err := l.LoadExisting(ctx, 1); !ok || err != nil || v != "v1" {
		t.Fatalf("cached key: %q, %v, %v", v, ok, err)
	}
	wantBatches(t, r.calls(), [][]int{{1}})

	// A failed batch is not cached: afterwards its keys are absent.
	boom := errors.New("boom")
	failing := dataloader.New(func(context.Context, []int) ([]int, []error, error) { return nil, nil, boom })
	if _, err := failing.Load(ctx, 2); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, ok, _ := failing.LoadExisting(ctx, 2); ok {
		t.Fatal("a failed batch's key must be absent")
	}
	if _, ok, _ := l.LoadExisting(context.Background(), 1); ok {
		t.Fatal("without a scope nothing exists")
	}
}

// A LoadWith (or LoadWithThunk) whose own key is already cached does not
// enqueue its siblings: nothing runs in the background for rows nobody
// asked for yet.
func TestLoadWithCachedKeyEnqueuesNoSiblings(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, _ := newScope(t)
	if _, err := l.Load(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if v, err := l.LoadWith(ctx, 1, []int{1, 2, 3}); err != nil || v != "v1" {
		t.Fatalf("LoadWith = %q, %v", v, err)
	}
	wait, joined := l.LoadWithThunk(ctx, 1, []int{1, 4})
	if v, err := wait(); err != nil || v != "v1" || !joined {
		t.Fatalf("LoadWithThunk = %q, %v, joined %v; want v1, nil, joined", v, err, joined)
	}
	scope := dataloader.FromContext(ctx)
	scope.Close() // waits for any batch in the background
	wantBatches(t, r.calls(), [][]int{{1}})
	// An uncached key still brings its siblings.
	ctx2, _ := newScope(t)
	if _, err := l.LoadWith(ctx2, 5, []int{5, 6}); err != nil {
		t.Fatal(err)
	}
	wantBatches(t, r.sorted(), [][]int{{1}, {5, 6}})
}

// A per-key error marked NotCached reaches its key's waiters unwrapped and
// is not cached; the batch's other keys are.
func TestNotCachedPerKeyError(t *testing.T) {
	boom := errors.New("partition down")
	calls := 0
	l := dataloader.New(func(_ context.Context, keys []int) ([]int, []error, error) {
		calls++
		errs := make([]error, len(keys))
		for i, k := range keys {
			if k < 0 {
				errs[i] = dataloader.NotCached(boom)
			}
		}
		return keys, errs, nil
	})
	ctx, _ := newScope(t)
	for range 2 {
		vals, errs := l.LoadMany(ctx, []int{1, -1})
		if vals[0] != 1 || errs[0] != nil || errs[1] != boom {
			t.Fatalf("LoadMany = %v, %v (want the error itself, unwrapped)", vals, errs)
		}
	}
	if calls != 2 {
		t.Fatalf("%d batches, want 2: key -1 is loaded again, key 1 is cached", calls)
	}
	if v, err := l.Load(context.Background(), -1); err != boom || v != -1 {
		t.Fatalf("without a scope: %v, %v", v, err)
	}
	if dataloader.NotCached(nil) != nil {
		t.Fatal("NotCached(nil) must be nil")
	}
}

// TestCached: Cached answers only a key whose value is cached without an
// error, never waits and never enqueues.
func TestCached(t *testing.T) {
	release := make(chan struct{})
	errOdd := errors.New("odd")
	l := dataloader.New(func(_ context.Context, keys []int) ([]int, []error, error) {
		<-release
		errs := make([]error, len(keys))
		for i, k := range keys {
			if k%2 == 1 {
				errs[i] = errOdd
			}
		}
		return keys, errs, nil
	})
	if _, ok := l.Cached(context.Background(), 2); ok {
		t.Error("a hit without a scope")
	}
	ctx, s := dataloader.NewScope(context.Background())
	defer s.Close()
	if _, ok := l.Cached(ctx, 2); ok {
		t.Error("a hit for a key without an entry")
	}
	if st := s.Stats(); st.Batches != 0 || st.Loads != 0 {
		t.Errorf("Cached of a missing key enqueued or counted: %+v", st)
	}
	two, one := l.LoadThunk(ctx, 2), l.LoadThunk(ctx, 1)
	s.Dispatch()
	if _, ok := l.Cached(ctx, 2); ok {
		t.Error("a hit for a key whose batch is in flight")
	}
	close(release)
	if v, err := two(); v != 2 || err != nil {
		t.Fatalf("Load(2) = %d, %v", v, err)
	}
	if _, err := one(); !errors.Is(err, errOdd) {
		t.Fatalf("Load(1) = %v, want the per-key error", err)
	}
	before := s.Stats()
	if v, ok := l.Cached(ctx, 2); !ok || v != 2 {
		t.Errorf("Cached(2) = %d, %v after its batch, want 2, true", v, ok)
	}
	if _, ok := l.Cached(ctx, 1); ok {
		t.Error("a hit for a cached per-key error")
	}
	if st := s.Stats(); st.Loads != before.Loads+1 || st.CacheHits != before.CacheHits+1 {
		t.Errorf("stats after one hit: %+v, before %+v", st, before)
	}
}
