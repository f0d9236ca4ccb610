package ormloadertest

import (
	"context"
	"fmt"
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

// budgetError describes what of rep exceeds b, or returns "".
func budgetError(rep *Report, b Budget) string {
	var msg string
	if reps := rep.repeated(b.maxBatches()); len(reps) > 0 {
		msg += fmt.Sprintf("N+1: %s loaded in more than %s at one GraphQL path, or one key at a time under a list:\n",
			plural(len(reps), "relation"), plural(b.maxBatches(), "batch"))
		for _, rel := range reps {
			msg += relationText(rel)
		}
	}
	if b.Statements > 0 && rep.Statements > b.Statements {
		msg += fmt.Sprintf("ran %d statements, more than the budget of %d.\n", rep.Statements, b.Statements)
	}
	return msg
}
