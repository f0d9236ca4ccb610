package dataloader_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ormloader/ormloader/dataloader"
)

// While a scope holds sibling sets, LoadWith leaves its batch to the tick; a
// key of that held batch is not joined by LoadExistingUnlessHeld, and its
// LoadWithThunk adds another set's siblings to the same batch. The tick
// after the release ends the hold: then a set goes at once again.
func TestHoldSiblings(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, s := newScope(t, dataloader.WithMaxWait(time.Minute)) // no watchdog in the way
	wctx, end := s.StartWorker(ctx)                            // tracked mode: the tick waits for this worker
	release := s.HoldSiblings()

	// The first root field's set, {1, 2}: held, not dispatched.
	waitA, joined := l.LoadWithThunk(wctx, 1, []int{1, 2})
	if joined {
		t.Fatal("the first load of a set joined nothing")
	}
	if got := r.calls(); len(got) != 0 {
		t.Fatalf("batches under the hold: %v, want none yet", got)
	}
	// The second root field's set, {1, ..., 5}, whose first load is key 1:
	// not joined as existing, so that its set is claimed and enqueued.
	if _, ok, _ := l.LoadExistingUnlessHeld(wctx, 1); ok {
		t.Fatal("LoadExistingUnlessHeld joined a key of a held batch")
	}
	if _, ok, _ := l.LoadExistingUnlessHeld(wctx, 7); ok {
		t.Fatal("LoadExistingUnlessHeld found a key without an entry")
	}
	waitB, joined := l.LoadWithThunk(wctx, 1, []int{1, 2, 3, 4, 5})
	if joined {
		t.Fatal("a key of a held batch loaded with another set's siblings must enqueue them (joined false)")
	}
	if got := r.calls(); len(got) != 0 {
		t.Fatalf("batches under the hold: %v, want none yet", got)
	}
	release()
	release() // idempotent
	end()     // nothing runs: the tick sends the held batch
	for _, wait := range []func() (string, error){waitA, waitB} {
		if v, err := wait(); err != nil || v != "v1" {
			t.Fatalf("wait = %q, %v", v, err)
		}
	}
	wantBatches(t, r.sorted(), [][]int{{1, 2, 3, 4, 5}})

	// The tick ended the hold: a set goes at once, without waiting for the
	// running worker.
	wctx, end = s.StartWorker(ctx)
	defer end()
	if v, err := l.LoadWith(wctx, 6, []int{6, 7}); err != nil || v != "v6" {
		t.Fatalf("LoadWith after the hold = %q, %v", v, err)
	}
	wantBatches(t, r.sorted(), [][]int{{1, 2, 3, 4, 5}, {6, 7}})
	// A key pending in a batch that was not held is joined as before.
	waitC := l.LoadThunk(wctx, 8)
	if _, ok, _ := l.LoadExistingUnlessHeld(wctx, 8); !ok {
		t.Fatal("LoadExistingUnlessHeld did not join a key of a batch that was not held")
	}
	end()
	if v, err := waitC(); err != nil || v != "v8" {
		t.Fatalf("thunk = %q, %v", v, err)
	}
}

// Sets loaded from concurrent workers while the scope is held make one
// batch, however the workers interleave.
func TestHoldSiblingsConcurrentSets(t *testing.T) {
	for range 50 {
		r := &recorder{}
		l := dataloader.New(r.fetch)
		ctx, s := newScope(t, dataloader.WithMaxWait(time.Minute))
		release := s.HoldSiblings()
		sets := [][]int{{1, 2}, {1, 2, 3, 4, 5, 6}, {5, 6, 7}}
		type load struct {
			ctx context.Context
			end func()
			key int
			set []int
		}
		var loads []load
		for _, set := range sets { // every worker starts before any loads
			for _, k := range set {
				wctx, end := s.StartWorker(ctx)
				loads = append(loads, load{wctx, end, k, set})
			}
		}
		var wg sync.WaitGroup
		for _, ld := range loads {
			wg.Go(func() {
				defer ld.end()
				if v, err := l.LoadWith(ld.ctx, ld.key, ld.set); err != nil || v == "" {
					t.Errorf("LoadWith(%d) = %q, %v", ld.key, v, err)
				}
			})
		}
		time.Sleep(time.Millisecond) // the workers enqueue under the hold
		release()
		wg.Wait()
		wantBatches(t, r.sorted(), [][]int{{1, 2, 3, 4, 5, 6, 7}})
	}
}

// A root field blocked outside loaders (its own slow query) makes the
// watchdog send the held batch; that ends the hold, so the levels below go
// at once again instead of waiting for the watchdog each.
func TestHoldEndsAtTheWatchdog(t *testing.T) {
	const maxWait = 200 * time.Millisecond
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, s := newScope(t, dataloader.WithMaxWait(maxWait))
	release := s.HoldSiblings()
	defer release()
	_, endSlow := s.StartWorker(ctx) // a root field still in its query
	defer endSlow()
	wctx, end := s.StartWorker(ctx)
	defer end()
	start := time.Now()
	if _, err := l.LoadWith(wctx, 1, []int{1, 2}); err != nil { // waits for the watchdog
		t.Fatal(err)
	}
	first := time.Since(start)
	if first < maxWait/2 {
		t.Fatalf("the held batch went after %v, before the watchdog (%v)", first, maxWait)
	}
	for k := 10; k <= 30; k += 10 { // three more levels
		if _, err := l.LoadWith(wctx, k, []int{k, k + 1}); err != nil {
			t.Fatal(err)
		}
	}
	if rest := time.Since(start) - first; rest > maxWait*3/4 {
		t.Fatalf("three levels after the watchdog took %v: each waited for it again (%v)", rest, maxWait)
	}
	wantBatches(t, r.sorted(), [][]int{{1, 2}, {10, 11}, {20, 21}, {30, 31}})
}

// A root worker (StartRootWorker: a root field's resolver, or the gap
// before its fields start) still running when the watchdog fires does not
// end a hold: the held batch waits for it, up to 4 watchdogs, so that its
// rows' sets join the batch, also at the hold's last tick. Past that bound
// the batch goes and the holds are over, as for any worker at the watchdog;
// a plain worker that starts meanwhile brings the watchdog back.
func TestHoldWaitsForRootWorkers(t *testing.T) {
	const maxWait = 80 * time.Millisecond
	// waitFor loads a held set from a plain worker while a root worker runs
	// for d (nothing else runs), then ends it (after release if released),
	// and returns how long the load waited.
	waitFor := func(t *testing.T, d time.Duration, releaseFirst bool) (time.Duration, [][]int) {
		r := &recorder{}
		l := dataloader.New(r.fetch)
		ctx, s := newScope(t, dataloader.WithMaxWait(maxWait))
		release := s.HoldSiblings()
		defer release()
		rctx, endRoot := s.StartRootWorker(ctx)
		wctx, end := s.StartWorker(ctx)
		defer end()
		if releaseFirst {
			release()
		}
		start := time.Now()
		done := make(chan time.Duration)
		go func() {
			if _, err := l.LoadWith(wctx, 1, []int{1, 2}); err != nil {
				t.Error(err)
			}
			done <- time.Since(start)
		}()
		time.Sleep(d)
		thunk, _ := l.LoadWithThunk(rctx, 3, []int{3, 4}) // the root field's rows
		endRoot()
		release()
		if _, err := thunk(); err != nil {
			t.Fatal(err)
		}
		return <-done, r.sorted()
	}
	t.Run("the root worker returns", func(t *testing.T) {
		waited, batches := waitFor(t, 2*maxWait, false)
		if waited < 2*maxWait {
			t.Fatalf("the held batch went after %v, before the root worker ended (%v)", waited, 2*maxWait)
		}
		wantBatches(t, batches, [][]int{{1, 2, 3, 4}})
	})
	t.Run("at the hold's last tick", func(t *testing.T) {
		waited, batches := waitFor(t, 2*maxWait, true)
		if waited < 2*maxWait {
			t.Fatalf("the held batch went after %v, before the root worker ended (%v)", waited, 2*maxWait)
		}
		wantBatches(t, batches, [][]int{{1, 2, 3, 4}})
	})
	t.Run("a worker of another kind starts", func(t *testing.T) {
		r := &recorder{}
		l := dataloader.New(r.fetch)
		ctx, s := newScope(t, dataloader.WithMaxWait(maxWait))
		release := s.HoldSiblings()
		defer release()
		_, endRoot := s.StartRootWorker(ctx)
		defer endRoot()
		wctx, end := s.StartWorker(ctx)
		defer end()
		start := time.Now()
		plainDone := make(chan struct{})
		defer func() { <-plainDone }()
		go func() {
			defer close(plainDone)
			time.Sleep(maxWait / 2)
			_, endPlain := s.StartWorker(ctx) // blocked outside loaders
			defer endPlain()
			time.Sleep(5 * maxWait)
		}()
		if _, err := l.LoadWith(wctx, 1, []int{1, 2}); err != nil {
			t.Fatal(err)
		}
		// The plain worker's watchdog: 1.5 watchdogs from the start; the
		// root worker's bound would be 4.
		if waited := time.Since(start); waited > 3*maxWait {
			t.Fatalf("the batch went after %v, not at the plain worker's watchdog (%v after its start)", waited, maxWait)
		}
	})
	t.Run("past the bound", func(t *testing.T) {
		r := &recorder{}
		l := dataloader.New(r.fetch)
		ctx, s := newScope(t, dataloader.WithMaxWait(maxWait))
		release := s.HoldSiblings()
		defer release()
		_, endRoot := s.StartRootWorker(ctx) // never returns in time
		defer endRoot()
		wctx, end := s.StartWorker(ctx)
		defer end()
		start := time.Now()
		if _, err := l.LoadWith(wctx, 1, []int{1, 2}); err != nil {
			t.Fatal(err)
		}
		if first := time.Since(start); first < 3*maxWait || first > 10*maxWait {
			t.Fatalf("the held batch went after %v, not at 4 watchdogs (%v)", first, 4*maxWait)
		}
		level := time.Now()
		if _, err := l.LoadWith(wctx, 10, []int{10, 11}); err != nil { // the holds are over: at once
			t.Fatal(err)
		}
		if d := time.Since(level); d > maxWait {
			t.Fatalf("the next level took %v: the hold was not over", d)
		}
		wantBatches(t, r.sorted(), [][]int{{1, 2}, {10, 11}})
	})
}

// While a hold lasts and only root workers run, the scope waits for them
// past the root workers' bound (4 watchdogs) when none of them can be
// waiting for the held batches: a root field that has not started yet
// (reserved, while another's gap runs) or root workers in database
// statements (StartStatement). Under 8 clients on 2 cores both ran past 4
// watchdogs (20 ms) in about one query of several root fields in a
// hundred, which split its batches.
func TestHoldWaitsLongerForRootsThatCannotWait(t *testing.T) {
	const maxWait = 20 * time.Millisecond
	const late = 6 * maxWait // past 4 watchdogs, within 20
	for _, c := range []struct {
		name string
		// root ends the first root field's gap (endGap) and runs the other
		// root field until its keys are loaded, for late; it returns the
		// context they are loaded under and the function that ends it.
		root func(ctx context.Context, s *dataloader.Scope, endGap func()) (context.Context, func())
	}{
		{"a reserved root field", func(ctx context.Context, s *dataloader.Scope, endGap func()) (context.Context, func()) {
			release := s.Reserve()
			time.Sleep(late) // the gap runs, the other root field has not started
			rctx, end := s.StartRootWorker(ctx)
			release()
			endGap()
			return rctx, end
		}},
		{"a root worker in a statement", func(ctx context.Context, s *dataloader.Scope, endGap func()) (context.Context, func()) {
			endGap()
			rctx, end := s.StartRootWorker(ctx)
			endStatement := s.StartStatement(rctx)
			time.Sleep(late)
			endStatement()
			time.Sleep(2 * maxWait) // scanning the rows: the bounds run from the statement's end
			return rctx, end
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &recorder{}
			l := dataloader.New(r.fetch)
			ctx, s := newScope(t, dataloader.WithMaxWait(maxWait))
			release := s.HoldSiblings()
			defer release()
			_, endGap := s.StartRootWorker(ctx) // the first root field's gap
			wctx, end := s.StartWorker(ctx)
			first, _ := l.LoadWithThunk(wctx, 1, []int{1, 2}) // the first root field's set, held
			end()
			rctx, endRoot := c.root(ctx, s, endGap)
			thunk, _ := l.LoadWithThunk(rctx, 3, []int{3, 4})
			endRoot()
			release()
			for _, wait := range []func() (string, error){first, thunk} {
				if _, err := wait(); err != nil {
					t.Fatal(err)
				}
			}
			wantBatches(t, r.sorted(), [][]int{{1, 2, 3, 4}})
		})
	}
	// A root worker outside a statement still waits 4 watchdogs at most: it
	// may be waiting for a held batch (a lookup the root fields share).
	t.Run("a root worker after its statement", func(t *testing.T) {
		r := &recorder{}
		l := dataloader.New(r.fetch)
		ctx, s := newScope(t, dataloader.WithMaxWait(maxWait))
		release := s.HoldSiblings()
		defer release()
		rctx, endRoot := s.StartRootWorker(ctx)
		defer endRoot()
		s.StartStatement(rctx)() // over
		wctx, end := s.StartWorker(ctx)
		defer end()
		start := time.Now()
		if _, err := l.LoadWith(wctx, 1, []int{1, 2}); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited > 10*maxWait {
			t.Fatalf("the held batch went after %v, not at 4 watchdogs (%v)", waited, 4*maxWait)
		}
	})
	// Outside a worker, or for a plain worker, StartStatement does nothing.
	t.Run("no root worker", func(t *testing.T) {
		ctx, s := newScope(t)
		s.StartStatement(ctx)()
		wctx, end := s.StartWorker(ctx)
		defer end()
		s.StartStatement(wctx)()
	})
}

// A root worker that runs statement after statement does not postpone the
// batches past the bounds: the plain watchdog (no hold) is not moved by a
// statement's end, and under a hold the wait stays within 20 watchdogs of
// the first pending key. (Before, every statement's end restarted both,
// and a resolver's forty quick queries held a plain worker's load for
// their whole 170 ms at a 10 ms watchdog.)
func TestStatementsDoNotPostponeTheBounds(t *testing.T) {
	const maxWait = 10 * time.Millisecond
	for _, c := range []struct {
		name string
		hold bool
		max  time.Duration
	}{{"no hold", false, 5 * maxWait}, {"a hold", true, 30 * maxWait}} {
		t.Run(c.name, func(t *testing.T) {
			r := &recorder{}
			l := dataloader.New(r.fetch)
			ctx, s := newScope(t, dataloader.WithMaxWait(maxWait))
			if c.hold {
				defer s.HoldSiblings()()
			}
			rctx, endRoot := s.StartRootWorker(ctx)
			stop := make(chan struct{})
			stopped := make(chan struct{})
			go func() { // a root resolver running quick queries for 40 watchdogs
				defer close(stopped)
				defer endRoot()
				for range 120 {
					select {
					case <-stop:
						return
					default:
					}
					end := s.StartStatement(rctx)
					time.Sleep(maxWait / 3)
					end()
				}
			}()
			defer func() { close(stop); <-stopped }()
			wctx, end := s.StartWorker(ctx)
			defer end()
			start := time.Now()
			if _, err := l.Load(wctx, 1); err != nil {
				t.Fatal(err)
			}
			if waited := time.Since(start); waited > c.max {
				t.Fatalf("the load waited %v, want at most %v (watchdog %v)", waited, c.max, maxWait)
			}
		})
	}
}

// Under a hold a key pending for the tick is in a held batch whatever
// enqueued it: a set whose key another root field's one-row result (no set
// of siblings) has enqueued with a plain load claims the set and enqueues
// all of its keys there, instead of joining with that key alone and leaving
// the others to a later load, which the tick could send as a second batch.
func TestHeldBatchOfAPlainLoad(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, s := newScope(t, dataloader.WithMaxWait(5*time.Millisecond))
	release := s.HoldSiblings()
	defer release()
	rctx, endRoot := s.StartRootWorker(ctx)
	wctx, end := s.StartWorker(ctx)
	lone := l.LoadThunk(wctx, 1) // the one-row result's load
	end()
	if _, ok, _ := l.LoadExistingUnlessHeld(rctx, 1); ok {
		t.Error("a key pending under a hold was joined, not left to its set's claim")
	}
	set, _ := l.LoadWithThunk(rctx, 1, []int{1, 2, 3})
	endRoot()
	release()
	for _, wait := range []func() (string, error){lone, set} {
		if _, err := wait(); err != nil {
			t.Fatal(err)
		}
	}
	wantBatches(t, r.sorted(), [][]int{{1, 2, 3}})
}

// n loads of one set of n siblings compute O(n) cache keys, not O(n²):
// a load whose key has an entry does not read its siblings, and under a
// hold, a set already enqueued in the held batch is not walked again. The
// batch is the same: one, with every key.
func TestLoadWithSetCostsLinear(t *testing.T) {
	for _, hold := range []bool{false, true} {
		t.Run(fmt.Sprintf("hold=%v", hold), func(t *testing.T) {
			r := &recorder{}
			var calls atomic.Int64
			l := dataloader.NewWithCacheKey(r.fetch, func(k int) int { calls.Add(1); return k })
			ctx, s := newScope(t, dataloader.WithMaxWait(time.Minute))
			release := func() {}
			if hold {
				release = s.HoldSiblings()
			}
			const n = 500
			set := make([]int, n)
			for i := range set {
				set[i] = i
			}
			var wg sync.WaitGroup
			for _, k := range set {
				wctx, end := s.StartWorker(ctx)
				wg.Go(func() {
					defer end()
					if v, err := l.LoadWith(wctx, k, set); err != nil || v != fmt.Sprintf("v%d", k) {
						t.Errorf("LoadWith(%d) = %q, %v", k, v, err)
					}
				})
			}
			time.Sleep(time.Millisecond)
			release()
			wg.Wait()
			wantBatches(t, r.sorted(), [][]int{set})
			// Each load: its key and the set's mark (4); the first, and
			// any that found its key without an entry (loads that start
			// while the first computes the set's keys outside the lock: a
			// few, but 74 in one CI run on a busy machine), the whole set.
			// n² would be 250 000.
			if got, most := calls.Load(), int64(4*n+n*n/5); got > most {
				t.Errorf("%d cache key calls for %d loads of a set of %d; want O(n), at most %d", got, n, n, most)
			}
		})
	}
}

// Two sets that share a mark (length, ends and middle) under a hold: the
// second's load of a key of the first does not walk it, and its own other
// key, loaded later, still goes into the held batch.
func TestHoldSiblingsSetsSharingAMark(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, s := newScope(t, dataloader.WithMaxWait(time.Minute))
	release := s.HoldSiblings()
	a, b := []int{1, 2, 3, 4, 5}, []int{1, 2, 3, 9, 5}
	loads := []struct {
		key int
		set []int
	}{{1, a}, {1, b}, {9, b}, {4, a}}
	var ctxs []context.Context
	var ends []func()
	for range loads { // every worker starts before any loads: no tick yet
		wctx, end := s.StartWorker(ctx)
		ctxs, ends = append(ctxs, wctx), append(ends, end)
	}
	var wg sync.WaitGroup
	for i, ld := range loads {
		wg.Go(func() {
			defer ends[i]()
			if v, err := l.LoadWith(ctxs[i], ld.key, ld.set); err != nil || v != fmt.Sprintf("v%d", ld.key) {
				t.Errorf("LoadWith(%d) = %q, %v", ld.key, v, err)
			}
		})
		time.Sleep(time.Millisecond) // in this order; the later workers keep the tick off
	}
	release()
	wg.Wait()
	wantBatches(t, r.sorted(), [][]int{{1, 2, 3, 4, 5, 9}})
}
