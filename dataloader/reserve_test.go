package dataloader_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ormloader/ormloader/dataloader"
)

// A reserved worker holds the pending batch past the watchdog: a worker
// that starts long after the first key (a root field gqlgen schedules late
// on a busy machine) still joins its batch. With a started worker instead of
// the reservation, the watchdog would dispatch the first key alone.
func TestReservedWorkerHoldsBatchPastWatchdog(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, scope := newScope(t, dataloader.WithMaxWait(5*time.Millisecond))
	release := scope.Reserve()
	var wg sync.WaitGroup
	wg.Add(1)
	scope.Go(ctx, func(ctx context.Context) {
		defer wg.Done()
		if _, err := l.Load(ctx, 1); err != nil {
			t.Error(err)
		}
	})
	time.Sleep(25 * time.Millisecond) // 5 watchdogs, within the 100 ms bound
	if got := r.calls(); len(got) != 0 {
		t.Fatalf("batch dispatched while a worker was reserved: %v", got)
	}
	wg.Add(1)
	scope.Go(ctx, func(ctx context.Context) {
		defer wg.Done()
		release() // the reserved worker has started
		if _, err := l.Load(ctx, 2); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	wantBatches(t, r.sorted(), [][]int{{1, 2}})
	release() // idempotent
}

// A worker blocked elsewhere is still bounded by the watchdog while another
// is reserved: the reservation does not make the scope wait for it.
func TestReservationDoesNotDisableWatchdogForRunningWorkers(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, scope := newScope(t, dataloader.WithMaxWait(2*time.Millisecond))
	release := scope.Reserve()
	defer release()
	_, endBlocked := scope.StartWorker(ctx) // running, never loads
	defer endBlocked()
	done := make(chan struct{})
	go func() {
		defer close(done)
		wctx, end := scope.StartWorker(ctx)
		defer end()
		if _, err := l.Load(wctx, 1); err != nil {
			t.Error(err)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the watchdog did not fire for a worker blocked outside loaders")
	}
	wantBatches(t, r.calls(), [][]int{{1}})
}

// The wait for a reservation is bounded (20 watchdogs): a reservation that
// never starts does not hold the scope forever.
func TestReservationIsBounded(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, scope := newScope(t, dataloader.WithMaxWait(time.Millisecond))
	release := scope.Reserve()
	defer release()
	wctx, end := scope.StartWorker(ctx)
	defer end()
	start := time.Now()
	if _, err := l.Load(wctx, 1); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 15*time.Millisecond {
		t.Errorf("dispatched after %v, before the reservation's bound of 20 ms", d)
	}
	wantBatches(t, r.calls(), [][]int{{1}})
}

// The watchdog runs from the last start of a worker: a reserved worker that
// starts long after the first key, and runs a little before it loads, still
// joins the batch (measured from the first key, the watchdog had expired
// the moment it started).
func TestWatchdogRunsFromTheLastWorkerStart(t *testing.T) {
	r := &recorder{}
	l := dataloader.New(r.fetch)
	ctx, scope := newScope(t, dataloader.WithMaxWait(20*time.Millisecond))
	release := scope.Reserve()
	var wg sync.WaitGroup
	wg.Add(2)
	scope.Go(ctx, func(ctx context.Context) {
		defer wg.Done()
		if _, err := l.Load(ctx, 1); err != nil {
			t.Error(err)
		}
	})
	time.Sleep(50 * time.Millisecond) // past the watchdog, within the reservation's bound
	scope.Go(ctx, func(ctx context.Context) {
		defer wg.Done()
		release()
		time.Sleep(2 * time.Millisecond) // running, well within a fresh watchdog
		if _, err := l.Load(ctx, 2); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	wantBatches(t, r.sorted(), [][]int{{1, 2}})
}
