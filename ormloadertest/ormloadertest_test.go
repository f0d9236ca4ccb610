package ormloadertest_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/ormloadertest"
)

// fakeTB records the failures of the helpers under test instead of failing
// the test that runs them.
type fakeTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func (f *fakeTB) failures() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errs...)
}

// albumsByBand is a loader whose batch function "runs" one statement on c
// for all its keys, as an ORM adapter's would.
func albumsByBand(c *ormloadertest.Counter) *dataloader.Loader[int, int] {
	return dataloader.NewMapped(func(ctx context.Context, bands []int) (map[int]int, error) {
		c.Record(ctx, fmt.Sprintf("SELECT * FROM albums WHERE band_id IN (%s)", strings.TrimSuffix(strings.Repeat("?,", len(bands)), ",")))
		m := make(map[int]int, len(bands))
		for _, b := range bands {
			m[b] = 10 * b
		}
		return m, nil
	}, dataloader.WithName("Band.albums"))
}

func TestStatementsCountsAndAttributes(t *testing.T) {
	var c ormloadertest.Counter
	loader := albumsByBand(&c)
	fake := &fakeTB{TB: t}
	rep := ormloadertest.Statements(fake, &c, 3, func(ctx context.Context) {
		c.Record(ctx, "SELECT * FROM bands")
		// A naive loop: one statement per band.
		for range 10 {
			c.Record(ctx, "SELECT * FROM albums WHERE band_id = ?")
		}
		// Batched in a scope the block opens: one statement for 10 bands.
		sctx, scope := dataloader.NewScope(ctx)
		defer scope.Close()
		keys := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
		if _, errs := loader.LoadMany(sctx, keys); errs != nil {
			t.Error(errs)
		}
		// A statement without the block's context counts too.
		c.Record(context.Background(), "SELECT 1")
	})
	if rep.Statements != 13 {
		t.Errorf("counted %d statements, want 13:\n%s", rep.Statements, rep)
	}
	fails := fake.failures()
	if len(fails) != 1 || !strings.Contains(fails[0], "ran 13 statements, more than the budget of 3.") {
		t.Fatalf("failures %q", fails)
	}
	// Grouped by call site: the naive loop's line has 10.
	for _, want := range []string{
		"\n  10 statements outside resolvers and batches, at ormloadertest/ormloadertest_test.go:",
		"(ormloadertest_test.TestStatementsCountsAndAttributes.func1)\n      10× SELECT * FROM albums WHERE band_id = ?\n",
		"\n  Band.albums ×1: 1 statement in 1 batch of 10 keys, at ormloadertest/ormloadertest_test.go:",
		"(ormloadertest_test.TestStatementsCountsAndAttributes.func1)\n      1× SELECT * FROM albums WHERE band_id IN (?, …)\n",
		"\n  1 statement outside resolvers and batches, at ormloadertest/ormloadertest_test.go:",
	} {
		if !strings.Contains(fails[0], want) {
			t.Errorf("the failure lacks %q:\n%s", want, fails[0])
		}
	}
	var batched *ormloadertest.Relation
	for i, rel := range rep.Relations {
		if rel.Name == "Band.albums" {
			batched = &rep.Relations[i]
		}
	}
	if batched == nil || !batched.Batched || batched.Batches != 1 || batched.Keys != 10 || batched.Statements != 1 || batched.Path != "" {
		t.Errorf("the batch's relation: %+v", batched)
	}

	// Within the budget: no failure.
	fake = &fakeTB{TB: t}
	rep = ormloadertest.Statements(fake, &c, 2, func(ctx context.Context) {
		c.Record(ctx, "SELECT 1")
		c.Record(ctx, "SELECT 2")
	})
	if rep.Statements != 2 || len(fake.failures()) != 0 {
		t.Errorf("%d statements, failures %q", rep.Statements, fake.failures())
	}
}

// Two blocks at once on one counter: each counts the statements of its own
// context only, and both count the statements without one.
func TestStatementsOfConcurrentBlocks(t *testing.T) {
	var c ormloadertest.Counter
	inA, inB := make(chan struct{}), make(chan struct{})
	done := make(chan *ormloadertest.Report)
	go func() {
		done <- ormloadertest.Statements(t, &c, 100, func(ctx context.Context) {
			close(inA)
			<-inB
			for range 3 {
				c.Record(ctx, "SELECT a")
			}
			c.Record(context.Background(), "SELECT shared")
		})
	}()
	<-inA
	b := ormloadertest.Statements(t, &c, 100, func(ctx context.Context) {
		close(inB)
		c.Record(ctx, "SELECT b")
		a := <-done
		if a.Statements != 4 {
			t.Errorf("block A counted %d statements, want 4:\n%s", a.Statements, a)
		}
	})
	if b.Statements != 2 {
		t.Errorf("block B counted %d statements, want 2:\n%s", b.Statements, b)
	}
	// After both: nothing counts.
	c.Record(context.Background(), "SELECT after")
}
