package dataloader_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ormloader/ormloader/dataloader"
)

// A batch function that loads a key of its own batch would wait for itself
// forever; in tracked mode the load fails with ErrLoadCycle instead, through
// every way of loading (Load, LoadThunk, LoadMany, LoadExisting) and from a
// goroutine under the batch's context, and the batch still ends. Keys that
// are not in the batch still load.
func TestLoadOfItsOwnBatchFails(t *testing.T) {
	ways := map[string]func(ctx context.Context, l *dataloader.Loader[int, string], k int) (string, error){
		"Load": func(ctx context.Context, l *dataloader.Loader[int, string], k int) (string, error) {
			return l.Load(ctx, k)
		},
		"LoadThunk": func(ctx context.Context, l *dataloader.Loader[int, string], k int) (string, error) {
			return l.LoadThunk(ctx, k)()
		},
		"LoadMany": func(ctx context.Context, l *dataloader.Loader[int, string], k int) (string, error) {
			vals, errs := l.LoadMany(ctx, []int{k})
			if errs != nil {
				return vals[0], errs[0]
			}
			return vals[0], nil
		},
		"LoadExisting": func(ctx context.Context, l *dataloader.Loader[int, string], k int) (string, error) {
			v, _, err := l.LoadExisting(ctx, k)
			return v, err
		},
		"goroutine": func(ctx context.Context, l *dataloader.Loader[int, string], k int) (string, error) {
			var v string
			var err error
			var wg sync.WaitGroup
			wg.Go(func() { v, err = l.Load(ctx, k) })
			wg.Wait()
			return v, err
		},
	}
	for name, load := range ways {
		t.Run(name, func(t *testing.T) {
			var l *dataloader.Loader[int, string]
			var inner []error
			l = dataloader.New(func(ctx context.Context, keys []int) ([]string, []error, error) {
				vals := make([]string, len(keys))
				for i, k := range keys {
					if k == 1 {
						_, err := load(ctx, l, 2) // 2 is in this batch
						inner = append(inner, err)
					}
					vals[i] = fmt.Sprint(k)
				}
				return vals, nil, nil
			}, dataloader.WithName("self"))
			ctx, s := dataloader.NewScope(context.Background(), dataloader.WithMaxWait(time.Hour))
			defer s.Close()
			ctx, end := s.StartWorker(ctx)
			defer end()
			done := make(chan struct{})
			var vals []string
			var errs []error
			go func() { defer close(done); vals, errs = l.LoadMany(ctx, []int{1, 2}) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the batch waits for itself")
			}
			if errs != nil || vals[0] != "1" || vals[1] != "2" {
				t.Fatalf("outer loads = %q, %v", vals, errs)
			}
			if len(inner) != 1 || !errors.Is(inner[0], dataloader.ErrLoadCycle) {
				t.Fatalf("inner load error = %v, want ErrLoadCycle", inner)
			}
			if name == "Load" && inner[0].Error() != `dataloader: a batch function waits for its own batch: loader "self", key 2` {
				t.Fatalf("error text %q", inner[0])
			}
		})
	}
}

// Two batches of one tick each loading a key of the other's: the second to
// wait sees the cycle and fails; the first then gets its value, and both
// batches end.
func TestLoadCycleThroughAnotherBatch(t *testing.T) {
	for range 50 {
		var a, b *dataloader.Loader[int, string]
		var mu sync.Mutex
		var inner []error
		// Each loader's batch (of key 1) loads the other loader's key 1,
		// which is in flight in the other's batch.
		cross := func(other **dataloader.Loader[int, string], release, wait chan struct{}) func(context.Context, []int) ([]string, []error, error) {
			return func(ctx context.Context, keys []int) ([]string, []error, error) {
				close(release) // the other batch is in flight before this one loads
				<-wait
				_, err := (*other).Load(ctx, 1)
				mu.Lock()
				inner = append(inner, err)
				mu.Unlock()
				vals := make([]string, len(keys))
				for i, k := range keys {
					vals[i] = fmt.Sprint(k)
				}
				return vals, nil, nil
			}
		}
		ra, rb := make(chan struct{}), make(chan struct{})
		a = dataloader.New(cross(&b, ra, rb))
		b = dataloader.New(cross(&a, rb, ra))
		ctx, s := dataloader.NewScope(context.Background(), dataloader.WithMaxWait(time.Hour))
		ctx, end := s.StartWorker(ctx)
		var errA, errB error
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer end()
			// Both keys are pending before either batch goes: one tick
			// dispatches both when this worker waits.
			ta, tb := a.LoadThunk(ctx, 1), b.LoadThunk(ctx, 1)
			_, errA = ta()
			_, errB = tb()
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the two batches wait for each other")
		}
		s.Close()
		if errA != nil || errB != nil {
			t.Fatalf("outer loads: %v, %v", errA, errB)
		}
		cycles := 0
		for _, err := range inner {
			if errors.Is(err, dataloader.ErrLoadCycle) {
				cycles++
			} else if err != nil {
				t.Fatalf("inner load: %v", err)
			}
		}
		if len(inner) != 2 || cycles != 1 {
			t.Fatalf("inner loads %v: want one ErrLoadCycle and one value", inner)
		}
	}
}

// A batch function that stopped waiting for another batch (its context
// ended) no longer waits for it: when that batch then loads a key of the
// first one, it is no cycle, and it gets the value once the first returns.
func TestAnAbandonedWaitIsNoCycle(t *testing.T) {
	var a, b *dataloader.Loader[int, string]
	var errA, errB error
	var gotB string
	a = dataloader.New(func(ctx context.Context, keys []int) ([]string, []error, error) {
		wctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		_, errA = b.Load(wctx, 1) // gives up before b's batch loads from a
		cancel()
		time.Sleep(100 * time.Millisecond)
		return []string{"a"}, nil, nil
	})
	b = dataloader.New(func(ctx context.Context, keys []int) ([]string, []error, error) {
		time.Sleep(50 * time.Millisecond)
		gotB, errB = a.Load(ctx, 1)
		return []string{"b"}, nil, nil
	})
	ctx, s := dataloader.NewScope(context.Background(), dataloader.WithMaxWait(time.Hour))
	defer s.Close()
	ctx, end := s.StartWorker(ctx)
	v, err := a.Load(ctx, 1)
	end()
	s.Close() // waits for b's batch function too
	if v != "a" || err != nil {
		t.Fatalf("outer load = %q, %v", v, err)
	}
	if !errors.Is(errA, context.DeadlineExceeded) {
		t.Fatalf("a's wait for b: %v, want its deadline", errA)
	}
	if gotB != "a" || errB != nil {
		t.Fatalf("b's load of a's key = %q, %v; want the value, not a cycle", gotB, errB)
	}
}
