package ormloadertest

import (
	"context"
	"testing"
)

// Statements runs fn and fails t (with t.Errorf) if it ran more than max
// statements on the databases that report to c. fn gets a context derived
// from t.Context() that tells its statements from those of other tests, and
// through which the dataloader scopes that fn opens report their batches:
// pass it down. The failure lists the statements by relation (the loader
// of a batch, or else the code that ran them). The returned Report has the
// counts; Statements waits for nothing fn started and did not wait for.
func Statements(t testing.TB, c *Counter, max int, fn func(ctx context.Context)) *Report {
	t.Helper()
	ctx := t.Context()
	rec := newRecording(ctx, nil)
	c.start(rec)
	func() {
		defer c.stop(rec) // also if fn calls t.FailNow
		fn(rec.context(ctx))
	}()
	rep := rec.report()
	if rep.Statements > max {
		t.Errorf("ormloadertest: ran %d statements, more than the budget of %d.\n%s", rep.Statements, max, rep)
	}
	return rep
}
