package ormloadertest

import (
	"context"
	"slices"
	"sync"
)

// Counter receives the SQL statements of a database from the hook installed
// on it (gormcount.Register for GORM, entcount.Driver for ent, or a call of
// [Counter.Record] from a hook of your own) and hands each one to what is
// being measured:
//
//   - a statement whose context comes from [Statements]' function or from
//     the request of [Operation] or [Guard.Middleware] counts there (and in
//     the Operation around a Guard), and nowhere else, whichever counter
//     reports it;
//   - a statement with another context (context.Background(), a GORM query
//     without WithContext) counts in every [Statements] and [Operation] that
//     is running on this counter at the time: a guard that misses a
//     statement is worse than one that sees a neighbour's, so tests that run
//     in parallel on one database should pass their context down.
//
// A zero Counter is ready to use; it is safe for concurrent use. Install
// one hook per database; one counter may serve several.
type Counter struct {
	mu      sync.Mutex   // protects running
	running []*recording // Statements and Operation calls in progress
}

// Record reports one statement: query is its SQL text and ctx the context it
// runs under. Hooks call it once per statement sent to the database, before
// or after running it.
func (c *Counter) Record(ctx context.Context, query string) {
	if ctx == nil {
		ctx = context.Background()
	}
	if r := recordingFrom(ctx); r != nil {
		o := originOf(ctx)
		for ; r != nil; r = r.parent {
			r.statement(ctx, o, query)
		}
		return
	}
	c.mu.Lock()
	running := slices.Clone(c.running)
	c.mu.Unlock()
	if len(running) == 0 {
		return // nothing is measured: a hook on a server without a Guard costs this much
	}
	o := originOf(ctx)
	for _, r := range running {
		r.statement(ctx, o, query)
	}
}

// start makes r count the statements reported without a recording in
// their context, until stop.
func (c *Counter) start(r *recording) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.running = append(c.running, r)
}

func (c *Counter) stop(r *recording) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := slices.Index(c.running, r); i >= 0 {
		c.running = slices.Delete(c.running, i, i+1)
	}
}
