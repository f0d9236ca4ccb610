package dataloader

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
)

// LoadTracer is a [Tracer] that also observes loads. A scope whose tracer
// implements it (found by type assertion, as pgx finds its optional
// tracers) calls TraceLoad for every call of Load, LoadWith, LoadMany,
// LoadThunk, LoadWithThunk and LoadExisting (when it finds an entry) that
// gets as far as the cache, with the caller's context: tools that attribute
// batches to their callers (package ormloadertest: the GraphQL path of the
// resolver that loaded) use it. A scope without one pays nothing per load.
type LoadTracer interface {
	Tracer
	// TraceLoad is called from the caller's goroutine, after the key has
	// been found in the scope or enqueued and before the load waits for
	// its batch; it must not block. It is called once per batch that the
	// keys of the call wait for or were resolved by (LoadMany: once per
	// distinct batch, in the order of its keys).
	TraceLoad(ctx context.Context, data LoadData)
}

// LoadData describes a load (see [LoadTracer]).
type LoadData struct {
	Loader string // the loader's name (WithName)
	// Batch is the number of the batch that the key waits for or that
	// resolved its cached entry, as in BatchStartData.Batch; 0 for an
	// entry given by Prime, PrimeMany, PrimeError or Set.
	Batch uint64
}

type scopeTracerKey struct{}

// TraceScopes returns a copy of ctx with which every scope opened under it
// ([NewScope] with that context, or with one derived from it) also reports
// to t, after the tracer given by its own [WithTracer] option. It is how
// code that does not open the scopes itself observes them, as
// net/http/httptrace does for requests: a test wraps a request's context
// and sees the batches of the scope a gqlgen extension opens for it. On a
// context that has a tracer from TraceScopes already, both are called, the
// earlier one first.
func TraceScopes(ctx context.Context, t Tracer) context.Context {
	if t == nil {
		return ctx
	}
	if prev, ok := ctx.Value(scopeTracerKey{}).(Tracer); ok {
		t = joinTracers(prev, t)
	}
	return context.WithValue(ctx, scopeTracerKey{}, t)
}

// joinTracers returns a tracer that calls a, then b (either may be nil).
func joinTracers(a, b Tracer) Tracer {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	var ts tracers
	for _, t := range []Tracer{a, b} {
		if more, ok := t.(tracers); ok {
			ts = append(ts, more...)
		} else {
			ts = append(ts, t)
		}
	}
	return ts
}

// tracers calls several tracers: starts in order, ends in reverse order, so
// that the first tracer's end sees what the later ones added to the
// context, as nested spans do.
type tracers []Tracer

func (ts tracers) TraceBatchStart(ctx context.Context, data BatchStartData) context.Context {
	for _, t := range ts {
		ctx = t.TraceBatchStart(ctx, data)
	}
	return ctx
}

func (ts tracers) TraceBatchEnd(ctx context.Context, data BatchEndData) {
	for i := len(ts) - 1; i >= 0; i-- {
		ts[i].TraceBatchEnd(ctx, data)
	}
}

// loadTracer is what a scope calls per load: a LoadTracer, or the load
// tracers among joined ones.
type loadTracer interface {
	TraceLoad(ctx context.Context, data LoadData)
}

type loadTracers []LoadTracer

func (ts loadTracers) TraceLoad(ctx context.Context, data LoadData) {
	for _, t := range ts {
		t.TraceLoad(ctx, data)
	}
}

// loadTracerOf returns what traces the loads of a scope whose tracer is t,
// or nil if nothing does.
func loadTracerOf(t Tracer) loadTracer {
	if ts, ok := t.(tracers); ok {
		var lts loadTracers
		for _, t := range ts {
			if lt, ok := t.(LoadTracer); ok {
				lts = append(lts, lt)
			}
		}
		if len(lts) == 0 {
			return nil
		}
		return lts
	}
	lt, _ := t.(LoadTracer)
	if lt == nil {
		return nil // not a typed nil in an interface
	}
	return lt
}

// traceLoad calls the scope's load tracer; a panic in it is logged, not
// propagated, as for the batch tracer: a tracer bug must not fail a load.
func (s *Scope) traceLoad(ctx context.Context, loader string, batch uint64) {
	defer func() {
		if r := recover(); r != nil {
			s.cfg.logger.Error("dataloader: tracer panicked in TraceLoad", "loader", loader, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	s.cfg.loadTracer.TraceLoad(ctx, LoadData{Loader: loader, Batch: batch})
}

// traceLoads calls traceLoad once per distinct batch of entries, in the
// order of the entries (LoadMany, LoadThunk). An entry's flight is set when
// the entry is created and never changes, so it is read without the lock.
func traceLoads[V any](ctx context.Context, s *Scope, loader string, entries []*entry[V]) {
	var seen []uint64 // few: the keys of one call wait for one or two batches
	for _, e := range entries {
		if id := e.f.id; !slices.Contains(seen, id) {
			seen = append(seen, id)
			s.traceLoad(ctx, loader, id)
		}
	}
}
