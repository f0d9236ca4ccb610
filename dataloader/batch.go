package dataloader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// keyed is the implementation of a loader whose keys are cached under C.
type keyed[K any, C comparable, V any] struct {
	cfg      loaderConfig // &cfg identifies the loader in a scope
	fetch    func(ctx context.Context, keys []K) ([]V, []error)
	cacheKey func(K) C
	warnOnce sync.Once // the no-scope warning
}

// entry is one key's result in a scope. Its fields are guarded by the
// scope's mutex until f.done is closed; after that val and err never change
// and may be read without the lock by whoever received from f.done.
type entry[V any] struct {
	val   V
	err   error
	state entryState
	f     *flight // the batch that resolves the entry
}

type entryState uint8

const (
	statePending  entryState = iota // in the scope's pending batch
	stateInFlight                   // its batch function is running
	stateResolved                   // val and err are final
)

// flight is what the waiters of one batch wait on.
type flight struct {
	done chan struct{} // closed after every entry of the batch is resolved
	// waiters are the tracked workers blocked on the batch; guarded by the
	// scope's mutex. The batch marks them running again when it resolves,
	// before they are scheduled, so that the scope does not see "no worker
	// running" while woken workers are still on their way.
	waiters []*worker
}

// resolved is the flight of entries that never had a batch (Prime).
var resolved = func() *flight {
	f := &flight{done: make(chan struct{})}
	close(f.done)
	return f
}()

// state is a loader's state in one scope; guarded by the scope's mutex.
type state[K any, C comparable, V any] struct {
	l       *keyed[K, C, V]
	cache   map[C]*entry[V]
	pending *batch[K, V]
	slab    []entry[V] // entries are carved from it, to allocate them in chunks
}

type batch[K, V any] struct {
	flight  // its entries point here
	keys    []K
	entries []*entry[V]
}

// clock reads the time once, when first needed.
type clock struct{ t time.Time }

func (c *clock) now() time.Time {
	if c.t.IsZero() {
		c.t = time.Now()
	}
	return c.t
}

func (l *keyed[K, C, V]) stateLocked(s *Scope) *state[K, C, V] {
	if st, ok := s.states[&l.cfg]; ok {
		return st.(*state[K, C, V])
	}
	st := &state[K, C, V]{l: l, cache: make(map[C]*entry[V])}
	s.states[&l.cfg] = st
	return st
}

// newEntry returns a pending entry of flight f; more tells how many more
// entries the caller is about to need, to size the next chunk.
func (st *state[K, C, V]) newEntry(f *flight, more int) *entry[V] {
	if len(st.slab) == 0 {
		st.slab = make([]entry[V], max(more, 8))
	}
	e := &st.slab[0]
	st.slab = st.slab[1:]
	e.f = f
	return e
}

// enqueueLocked returns key's entry, adding key to the pending batch if it
// has none; hit reports an existing entry. more is a sizing hint: how many
// keys the caller may still enqueue.
func (st *state[K, C, V]) enqueueLocked(s *Scope, key K, more int, c *clock) (e *entry[V], hit bool) {
	ck := st.l.cacheKey(key)
	if e, ok := st.cache[ck]; ok {
		return e, true
	}
	first := st.pending == nil
	if first {
		n := more
		if m := st.l.cfg.maxBatch; m > 0 {
			n = min(n, m)
		}
		st.pending = &batch[K, V]{
			flight:  flight{done: make(chan struct{})},
			keys:    make([]K, 0, n),
			entries: make([]*entry[V], 0, n),
		}
	}
	b := st.pending
	e = st.newEntry(&b.flight, more)
	b.keys = append(b.keys, key)
	b.entries = append(b.entries, e)
	st.cache[ck] = e
	if m := st.l.cfg.maxBatch; m > 0 && len(b.keys) >= m {
		if !first {
			s.unreadyLocked(st)
		}
		st.dispatchLocked(s)
		s.lastActivity = c.now()
		return e, false
	}
	s.pendingLocked(st, first, c.now())
	return e, false
}

// dispatchLocked starts the pending batch.
func (st *state[K, C, V]) dispatchLocked(s *Scope) {
	b := st.pending
	st.pending = nil
	for _, e := range b.entries {
		e.state = stateInFlight
	}
	s.stats.Batches++
	s.stats.Keys += int64(len(b.keys))
	s.stats.LargestBatch = max(s.stats.LargestBatch, len(b.keys))
	s.batches.Add(1)
	go st.run(s, b)
}

// failPendingLocked resolves the pending batch with err and forgets it.
func (st *state[K, C, V]) failPendingLocked(err error) []chan struct{} {
	b := st.pending
	st.pending = nil
	st.resolveLocked(b, nil, nil, err)
	return []chan struct{}{b.done}
}

// run calls the batch function and wakes the batch's waiters.
func (st *state[K, C, V]) run(s *Scope, b *batch[K, V]) {
	defer s.batches.Done()
	vals, errs, batchErr := st.l.call(s, b.keys)
	s.mu.Lock()
	st.resolveLocked(b, vals, errs, batchErr)
	s.lastActivity = time.Now()
	s.mu.Unlock()
	close(b.done)
}

// resolveLocked stores the results of b in its entries and marks the
// batch's waiting workers running. Failed entries are removed from the
// cache (if the cache still holds them), as are all entries of a loader
// without cache.
func (st *state[K, C, V]) resolveLocked(b *batch[K, V], vals []V, errs []error, batchErr error) {
	for _, w := range b.waiters {
		w.unblockLocked()
	}
	b.waiters = nil
	for i, e := range b.entries {
		e.state = stateResolved
		switch {
		case errors.Is(batchErr, ErrWrongLength):
			e.err = &KeyError{Loader: st.l.cfg.name, Key: b.keys[i], Err: batchErr}
		case batchErr != nil:
			e.err = batchErr
		default:
			e.val = vals[i]
			if errs != nil {
				e.err = errs[i]
			}
		}
		if st.l.cfg.noCache || batchErr != nil || isContextErr(e.err) {
			ck := st.l.cacheKey(b.keys[i])
			if st.cache[ck] == e {
				delete(st.cache, ck)
			}
		}
	}
}

func isContextErr(err error) bool {
	return err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// call runs the batch function under the scope's context with the tracer,
// and logs a panic. batchErr is non-nil when the whole batch failed;
// otherwise len(vals) == len(keys) and errs is nil or of the same length.
func (l *keyed[K, C, V]) call(s *Scope, keys []K) (vals []V, errs []error, batchErr error) {
	ctx := s.ctx
	if t := s.cfg.tracer; t != nil {
		start := time.Now()
		ctx = t.TraceBatchStart(ctx, BatchStartData{Loader: l.cfg.name, Keys: len(keys)})
		defer func() {
			t.TraceBatchEnd(ctx, BatchEndData{Loader: l.cfg.name, Keys: len(keys), Err: batchErr, Duration: time.Since(start)})
		}()
	}
	vals, errs, batchErr = l.safeFetch(ctx, keys)
	if pe, ok := batchErr.(*PanicError); ok {
		s.cfg.logger.Error("dataloader: batch function panicked", "loader", l.cfg.name, "keys", len(keys), "panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
	}
	return vals, errs, batchErr
}

// safeFetch calls fetch, recovering a panic, and checks the results' shape.
func (l *keyed[K, C, V]) safeFetch(ctx context.Context, keys []K) (vals []V, errs []error, batchErr error) {
	defer func() {
		// Every waiter of the batch gets the panic as an error rather than
		// the panic itself: the batch runs in its own goroutine, where a
		// panic would kill the process, and no waiter is more "the caller"
		// than another.
		if r := recover(); r != nil {
			vals, errs, batchErr = nil, nil, &PanicError{Loader: l.cfg.name, Value: r, Stack: debug.Stack()}
		}
	}()
	vals, errs = l.fetch(ctx, keys)
	if len(errs) == 1 && (len(keys) != 1 || len(vals) == 0) {
		// A single error for the whole batch.
		if errs[0] != nil {
			return nil, nil, errs[0]
		}
		errs = nil
	}
	if len(vals) != len(keys) || (errs != nil && len(errs) != len(keys)) {
		return nil, nil, fmt.Errorf("%w (%d keys, %d values, %d errors)", ErrWrongLength, len(keys), len(vals), len(errs))
	}
	return vals, errs, nil
}

// direct loads keys without a scope: one unbatched call under the caller's
// context.
func (l *keyed[K, C, V]) direct(ctx context.Context, keys []K) ([]V, []error) {
	if l.cfg.strict {
		return make([]V, len(keys)), repeat(len(keys), ErrNoScope)
	}
	l.warnOnce.Do(func() {
		slog.WarnContext(ctx, "dataloader: load without a scope in the context: calling the batch function unbatched (open one per request with dataloader.NewScope)", "loader", l.cfg.name)
	})
	vals, errs, batchErr := l.safeFetch(ctx, keys)
	if batchErr != nil {
		errs = repeat(len(keys), batchErr)
		if errors.Is(batchErr, ErrWrongLength) {
			for i, k := range keys {
				errs[i] = &KeyError{Loader: l.cfg.name, Key: k, Err: batchErr}
			}
		}
		return make([]V, len(keys)), errs
	}
	return vals, errs
}

func repeat(n int, err error) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

func (l *keyed[K, C, V]) load(ctx context.Context, key K, siblings []K) (V, error) {
	s := FromContext(ctx)
	if s == nil {
		vals, errs := l.direct(ctx, []K{key})
		if errs != nil {
			return vals[0], errs[0]
		}
		return vals[0], nil
	}
	var c clock
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		var zero V
		return zero, ErrScopeClosed
	}
	st := l.stateLocked(s)
	e, hit := st.enqueueLocked(s, key, len(siblings)+1, &c)
	for i, sib := range siblings {
		st.enqueueLocked(s, sib, len(siblings)-i, &c)
	}
	s.stats.Loads++
	if hit {
		s.stats.CacheHits++
		if e.state == stateResolved {
			v, err := e.val, e.err
			s.mu.Unlock()
			return v, err
		}
	}
	s.parkLocked(ctx, e)
	s.mu.Unlock()
	return await(ctx, e)
}

// parkLocked registers the calling worker, if any, as blocked on e's batch;
// the batch marks it running again when it resolves. A waiter whose context
// ends first stays counted as blocked until then: the scope may then
// dispatch early, never late.
func (s *Scope) parkLocked(ctx context.Context, e interface{ flightLocked() *flight }) {
	f := e.flightLocked()
	if f == nil {
		return
	}
	w := s.workerFrom(ctx)
	if w == nil {
		return
	}
	f.waiters = append(f.waiters, w)
	w.blockLocked()
	if s.running == 0 {
		s.lastActivity = time.Now()
		s.notify()
	}
}

// flightLocked returns the flight to wait on, or nil if e is resolved.
func (e *entry[V]) flightLocked() *flight {
	if e.state == stateResolved {
		return nil
	}
	return e.f
}

// await waits for e's batch or for ctx.
func await[V any](ctx context.Context, e *entry[V]) (V, error) {
	select {
	case <-e.f.done:
		return e.val, e.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// wait is await for an entry enqueued earlier (LoadMany, LoadThunk).
func wait[V any](ctx context.Context, s *Scope, e *entry[V]) (V, error) {
	select {
	case <-e.f.done:
		return e.val, e.err
	default:
	}
	s.mu.Lock()
	s.parkLocked(ctx, e)
	s.mu.Unlock()
	return await(ctx, e)
}

func (l *keyed[K, C, V]) loadMany(ctx context.Context, keys []K) ([]V, []error) {
	s := FromContext(ctx)
	if s == nil {
		return l.direct(ctx, keys)
	}
	entries, err := l.enqueueAll(s, keys)
	if err != nil {
		return make([]V, len(keys)), repeat(len(keys), err)
	}
	vals := make([]V, len(keys))
	var errs []error
	for i, e := range entries {
		var err error
		vals[i], err = wait(ctx, s, e)
		if err != nil {
			if errs == nil {
				errs = make([]error, len(keys))
			}
			errs[i] = err
		}
	}
	return vals, errs
}

// enqueueAll adds keys to the pending batch as one unit.
func (l *keyed[K, C, V]) enqueueAll(s *Scope, keys []K) ([]*entry[V], error) {
	var c clock
	entries := make([]*entry[V], len(keys))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrScopeClosed
	}
	st := l.stateLocked(s)
	for i, k := range keys {
		var hit bool
		entries[i], hit = st.enqueueLocked(s, k, len(keys)-i, &c)
		if hit {
			s.stats.CacheHits++
		}
	}
	s.stats.Loads += int64(len(keys))
	return entries, nil
}

func (l *keyed[K, C, V]) thunk(ctx context.Context, key K) func() (V, error) {
	s := FromContext(ctx)
	if s == nil {
		var once sync.Once
		var v V
		var err error
		return func() (V, error) {
			once.Do(func() { v, err = l.load(ctx, key, nil) })
			return v, err
		}
	}
	entries, err := l.enqueueAll(s, []K{key})
	return func() (V, error) {
		if err != nil {
			var zero V
			return zero, err
		}
		return wait(ctx, s, entries[0])
	}
}

func (l *keyed[K, C, V]) prime(ctx context.Context, key K, v V) {
	s := FromContext(ctx)
	if s == nil || l.cfg.noCache {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := l.stateLocked(s)
	ck := l.cacheKey(key)
	if _, ok := st.cache[ck]; !ok {
		st.cache[ck] = &entry[V]{val: v, state: stateResolved, f: resolved}
	}
}

// clear forgets key (all keys if all) in ctx's scope, except entries of a
// batch that has not been dispatched.
func (l *keyed[K, C, V]) clear(ctx context.Context, key K, all bool) {
	s := FromContext(ctx)
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := l.stateLocked(s)
	if !all {
		ck := l.cacheKey(key)
		if e, ok := st.cache[ck]; ok && e.state != statePending {
			delete(st.cache, ck)
		}
		return
	}
	for ck, e := range st.cache {
		if e.state != statePending {
			delete(st.cache, ck)
		}
	}
}
