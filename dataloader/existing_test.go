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
