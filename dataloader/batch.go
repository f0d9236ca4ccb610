package dataloader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"
)

// keyed is the implementation of a loader whose keys are cached under C.
type keyed[K any, C comparable, V any] struct {
	cfg      loaderConfig // &cfg identifies the loader in a scope
	fetch    func(ctx context.Context, keys []K) ([]V, []error, error)
	cacheKey func(K) C
	warnOnce sync.Once // the no-scope warning
}

// entry is one key's result in a scope. Its fields are guarded by the
// scope's mutex until f.done is closed; after that val and err never change
// and may be read without the lock by whoever received from f.done. An
// entry of the pending batch that Set gave a value is resolved before its
// batch (f.done is still open): its batch leaves it alone, and Clear may
// make it pending again until the batch is dispatched.
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
	id   uint64        // the batch's number in its scope (0: resolved); never changes
	// waiters are the tracked workers blocked on the batch; guarded by the
	// scope's mutex. The batch marks them running again when it resolves,
	// before they are scheduled, so that the scope does not see "no worker
	// running" while woken workers are still on their way.
	waiters []*worker
	wbuf    [1]*worker // waiters' first backing array
	// fn is the batch function as a tracked worker (nil before dispatch
	// and in window mode); guarded by the scope's mutex.
	fn *worker
}

// resolved is the flight of entries that never had a batch (Prime,
// PrimeError, Set).
var resolved = func() *flight {
	f := &flight{done: make(chan struct{})}
	close(f.done)
	return f
}()

// state is a loader's state in one scope; guarded by the scope's mutex.
type state[K any, C comparable, V any] struct {
	l       *keyed[K, C, V]
	cache   map[C]*entry[V]
	pending *batch[K, C, V]
	slab    []entry[V] // entries are carved from it, to allocate them in chunks
}

type batch[K any, C comparable, V any] struct {
	flight // its entries point here
	keys   []K
	slots  []slot[C, V] // per key: its cache key and entry
	// w is the batch function as a tracked worker, if the scope was in
	// tracked mode at dispatch (w.s != nil): it counts as running while the
	// batch function runs, so that the batches of the loads it makes wait
	// for the other batch functions of its tick ("a loader called from a
	// loader"). Its context is the scope's.
	w worker
	// held: a key was enqueued while the scope was held
	// (Scope.HoldSiblings), so the batch was left to the tick instead of
	// going at once. A load of one of its keys with the siblings of another
	// set enqueues them in it too (see heldLocked).
	held bool
	// marks: the sibling sets enqueued in this held batch, so that the
	// other loads of a set do not walk it again (see siblingsWantedLocked).
	marks map[setMark[C]]struct{}
}

// setMark tells sibling sets apart cheaply: their length and the cache keys
// at both ends and in the middle. Two sets that differ only elsewhere share
// a mark; then the second set's loads enqueue only their own keys (which
// costs a batch split at worst, never a result).
type setMark[C comparable] struct {
	n                int
	first, mid, last C
}

// markOf returns the mark of the sibling set siblings (not empty).
func (l *keyed[K, C, V]) markOf(siblings []K) (m setMark[C], err error) {
	m.n = len(siblings)
	if m.first, err = l.safeCacheKey(siblings[0]); err != nil {
		return m, err
	}
	if m.mid, err = l.safeCacheKey(siblings[len(siblings)/2]); err != nil {
		return m, err
	}
	m.last, err = l.safeCacheKey(siblings[len(siblings)-1])
	return m, err
}

// siblingsWantedLocked reports whether a load of the keys whose cache keys
// are cks, with siblings, enqueues them: when a key has no entry, or the
// first waits in a held batch that the set (marked m; nil: any set) is not
// in yet. The others join what is there without computing the siblings'
// cache keys, so that n loads of one set of n cost O(n), not O(n²).
func (st *state[K, C, V]) siblingsWantedLocked(cks []C, m *setMark[C]) bool {
	for _, ck := range cks {
		if _, ok := st.cache[ck]; !ok {
			return true
		}
	}
	e := st.cache[cks[0]]
	if !st.heldLocked(e) {
		return false
	}
	if m == nil {
		return true
	}
	_, marked := st.pending.marks[*m]
	return !marked
}

// markHeldLocked records that the set marked m was enqueued, if it went
// into a held batch.
func (st *state[K, C, V]) markHeldLocked(m setMark[C]) {
	b := st.pending
	if b == nil || !b.held {
		return
	}
	if b.marks == nil {
		b.marks = make(map[setMark[C]]struct{})
	}
	b.marks[m] = struct{}{}
}

// siblingCacheKeys returns the cache keys of siblings if a load of the keys
// whose cache keys are cks enqueues them (siblingsWantedLocked; m as
// there), and nil otherwise. It is called with s.mu held and returns with it held, but
// computes the cache keys without it (the cache key function is the
// application's); ok is false, with s.mu released, if the scope closed
// meanwhile or a cache key function panicked (err).
func (l *keyed[K, C, V]) siblingCacheKeys(s *Scope, cks []C, siblings []K, m *setMark[C]) (sibCks []C, ok bool, err error) {
	if !l.stateLocked(s).siblingsWantedLocked(cks, m) {
		return nil, true, nil
	}
	s.mu.Unlock()
	if sibCks, err = l.cacheKeys(siblings); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, false, ErrScopeClosed
	}
	return sibCks, true, nil
}

type slot[C comparable, V any] struct {
	ck C
	e  *entry[V]
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
	if st := s.stateLocked(&l.cfg); st != nil {
		return st.(*state[K, C, V])
	}
	st := &state[K, C, V]{l: l, cache: make(map[C]*entry[V])}
	s.addStateLocked(&l.cfg, st)
	return st
}

// maxSlab caps the entries allocated at once (a chunk stays alive as long
// as any of its entries is cached).
const maxSlab = 256

// newEntry returns a pending entry of flight f; more tells how many more
// entries the caller is about to need, to size the next chunk.
func (st *state[K, C, V]) newEntry(f *flight, more int) *entry[V] {
	if len(st.slab) == 0 {
		st.slab = make([]entry[V], min(max(more, 8), maxSlab))
	}
	e := &st.slab[0]
	st.slab = st.slab[1:]
	e.f = f
	return e
}

// enqueueLocked returns the entry of key (whose cache key is ck), adding key
// to the pending batch if it has none; hit reports an existing entry. more
// is a sizing hint: how many keys the caller may still enqueue.
func (st *state[K, C, V]) enqueueLocked(s *Scope, key K, ck C, more int, c *clock) (e *entry[V], hit bool) {
	if e, ok := st.cache[ck]; ok {
		return e, true
	}
	first := st.pending == nil
	if first {
		n := more
		if m := st.l.cfg.maxBatch; m > 0 {
			n = min(n, m)
		}
		s.lastBatch++
		st.pending = &batch[K, C, V]{
			flight: flight{done: make(chan struct{}), id: s.lastBatch},
			keys:   make([]K, 0, n),
			slots:  make([]slot[C, V], 0, n),
		}
	}
	b := st.pending
	e = st.newEntry(&b.flight, more)
	b.keys = append(b.keys, key)
	b.slots = append(b.slots, slot[C, V]{ck, e})
	st.cache[ck] = e
	if s.holdingLocked() {
		// Any key that waits for the tick while the scope holds is in a
		// held batch: a set of siblings that has one of its keys (another
		// root field's one-row result loaded it) joins the batch with all
		// of its keys, rather than with that key alone.
		b.held = true
	}
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

// enqueueSiblingsLocked enqueues the siblings of the key whose cache key is
// ck (LoadWith). If they name any other key, the pending batch is dispatched
// at once: the siblings say who else is coming, and waiting for the tick
// would only add the time the other loads of the set take to start (a
// GraphQL level's resolvers: milliseconds). A key without siblings of its
// own (a one-row result) still waits for the tick, to merge with others,
// and so does every set while the scope is held (Scope.HoldSiblings).
func (st *state[K, C, V]) enqueueSiblingsLocked(s *Scope, ck C, siblings []K, cks []C, c *clock) {
	named := false
	for i, sib := range siblings {
		st.enqueueLocked(s, sib, cks[i], len(siblings)-i, c)
		named = named || cks[i] != ck
	}
	if !named || st.pending == nil {
		return
	}
	if s.holdingLocked() {
		st.pending.held = true
		return
	}
	s.unreadyLocked(st)
	st.dispatchLocked(s)
}

// heldLocked reports whether e is an entry of a pending batch that a hold
// kept from going at once (Scope.HoldSiblings). A load of such a key with
// siblings enqueues them although the key has an entry: the key came first
// in another set (another root field's rows), and this set's rows belong in
// the same batch.
func (st *state[K, C, V]) heldLocked(e *entry[V]) bool {
	return st.pending != nil && st.pending.held && e.f == &st.pending.flight
}

// dispatchLocked starts the pending batch. In tracked mode the batch
// function counts as a running worker from now until its batch is resolved.
func (st *state[K, C, V]) dispatchLocked(s *Scope) {
	b := st.pending
	st.pending = nil
	b.marks = nil // read only while the batch is pending; its entries keep it alive
	for _, sl := range b.slots {
		if sl.e.state == statePending { // not resolved by Set
			sl.e.state = stateInFlight
		}
	}
	if s.tracked {
		b.w = worker{Context: s.ctx, s: s}
		b.fn = &b.w
		if s.running == s.rootsRunning {
			s.notifyLocked() // a tick asleep for root workers: see startWorker
		}
		s.running++
	}
	s.stats.Batches++
	s.stats.Keys += int64(len(b.keys))
	s.stats.LargestBatch = max(s.stats.LargestBatch, len(b.keys))
	s.batches.Add(1)
	go st.run(s, b)
}

// failPendingLocked resolves the pending batch with err and forgets it.
func (st *state[K, C, V]) failPendingLocked(err error) chan struct{} {
	b := st.pending
	st.pending = nil
	st.resolveLocked(b, nil, nil, err)
	return b.done
}

// run calls the batch function and wakes the batch's waiters. The waiters
// are woken in a deferred call, so that a batch function that ends its
// goroutine with runtime.Goexit (t.Fatal in a test fake does) fails its
// batch instead of leaving the waiters stuck.
func (st *state[K, C, V]) run(s *Scope, b *batch[K, C, V]) {
	var (
		vals     []V
		errs     []error
		batchErr error
		returned bool
	)
	defer func() {
		if !returned {
			batchErr = fmt.Errorf("dataloader: loader %q: batch function called runtime.Goexit", st.l.cfg.name)
		}
		s.mu.Lock()
		st.resolveLocked(b, vals, errs, batchErr)
		// The batch function stops counting as running only now that its
		// waiters count again: the scope never sees nothing running
		// between the two.
		if b.w.s != nil {
			b.w.endLocked()
		} else {
			s.lastActivity = time.Now()
		}
		s.mu.Unlock()
		close(b.done)
		s.batches.Done()
	}()
	ctx := s.ctx
	if b.w.s != nil {
		ctx = &b.w
	}
	vals, errs, batchErr = st.l.call(s, ctx, b.keys, b.id)
	returned = true
}

// resolveLocked stores the results of b in its entries and marks the
// batch's waiting workers running. Failed entries are removed from the
// cache (if the cache still holds them), as are all entries of a loader
// without cache. Entries that Set resolved before the batch was dispatched
// keep their value, and stay cached.
func (st *state[K, C, V]) resolveLocked(b *batch[K, C, V], vals []V, errs []error, batchErr error) {
	for _, w := range b.waiters {
		w.unblockLocked(&b.flight)
	}
	b.waiters = nil
	for i, sl := range b.slots {
		e := sl.e
		if e.state == stateResolved {
			continue
		}
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
		failed := false
		if nc, ok := e.err.(notCached); ok {
			e.err, failed = nc.err, true
		}
		if st.l.cfg.noCache || batchErr != nil || failed || isContextErr(e.err) {
			if ck := sl.ck; st.cache[ck] == e {
				delete(st.cache, ck)
			}
		}
	}
	// Cached entries keep the flight, and with it the batch, alive: drop
	// what is no longer needed.
	b.keys, b.slots = nil, nil
}

func isContextErr(err error) bool {
	return err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// call runs the batch function under ctx (the scope's context, or the
// batch's worker that carries it) with the tracer, and logs a panic.
// batchErr is non-nil when the whole batch failed; otherwise
// len(vals) == len(keys) and errs is nil or of the same length.
func (l *keyed[K, C, V]) call(s *Scope, ctx context.Context, keys []K, batch uint64) (vals []V, errs []error, batchErr error) {
	t := s.cfg.tracer
	var start time.Time
	if t != nil {
		start = time.Now()
		ctx = l.traceStart(s, t, ctx, len(keys), batch)
	}
	vals, errs, batchErr = l.safeFetch(ctx, keys)
	if pe, ok := batchErr.(*PanicError); ok {
		l.logPanic(s, pe, len(keys))
	}
	if t != nil {
		l.traceEnd(s, t, ctx, BatchEndData{Loader: l.cfg.name, Keys: len(keys), Batch: batch, Err: batchErr, Duration: time.Since(start)})
	}
	return vals, errs, batchErr
}

func (l *keyed[K, C, V]) logPanic(s *Scope, pe *PanicError, keys int) {
	s.cfg.logger.Error("dataloader: batch function panicked", "loader", l.cfg.name, "keys", keys, "panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
}

// traceStart and traceEnd call the tracer; a panic in it is logged, not
// propagated: a tracer bug must not fail or crash the batch.
func (l *keyed[K, C, V]) traceStart(s *Scope, t Tracer, ctx context.Context, keys int, batch uint64) (out context.Context) {
	defer func() {
		if r := recover(); r != nil {
			out = ctx
			l.logPanic(s, &PanicError{Loader: l.cfg.name, Value: r, Stack: debug.Stack()}, keys)
		}
	}()
	return t.TraceBatchStart(ctx, BatchStartData{Loader: l.cfg.name, Keys: keys, Batch: batch})
}

func (l *keyed[K, C, V]) traceEnd(s *Scope, t Tracer, ctx context.Context, d BatchEndData) {
	defer func() {
		if r := recover(); r != nil {
			l.logPanic(s, &PanicError{Loader: l.cfg.name, Value: r, Stack: debug.Stack()}, d.Keys)
		}
	}()
	t.TraceBatchEnd(ctx, d)
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
	vals, errs, batchErr = l.fetch(ctx, keys)
	if batchErr != nil {
		return nil, nil, batchErr
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
	for i, err := range errs {
		if nc, ok := err.(notCached); ok {
			errs[i] = nc.err
		}
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

// safeCacheKey returns key's cache key; a panic in the cache key function
// becomes an error, before any lock is taken.
func (l *keyed[K, C, V]) safeCacheKey(key K) (ck C, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Loader: l.cfg.name, Value: r, Stack: debug.Stack()}
		}
	}()
	ck = l.cacheKey(key)
	hashable(ck) // a key holding a slice in an interface panics here, not in the cache map under the lock
	return ck, nil
}

// hashable compares ck with itself, which panics if ck holds a value that is
// not comparable (in an interface), as a map operation on it would.
//
//go:noinline
func hashable[C comparable](ck C) bool { return ck == ck }

// scopeCacheKey returns key's cache key for call (Prime, Clear), which
// return no error: a panic in the cache key function is logged through the
// scope's logger, and ok is false. Nothing can be cached under such a key,
// so the call has nothing to do.
func (l *keyed[K, C, V]) scopeCacheKey(s *Scope, key K, call string) (ck C, ok bool) {
	ck, err := l.safeCacheKey(key)
	if err != nil {
		pe := err.(*PanicError)
		s.cfg.logger.Error("dataloader: cache key function panicked", "loader", l.cfg.name, "call", call, "key", fmt.Sprint(key), "panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
		return ck, false
	}
	return ck, true
}

// indexedKey is the cache key of keys[i].
type indexedKey[C comparable] struct {
	ck C
	i  int
}

// scopeCacheKeys is scopeCacheKey for every key of keys (PrimeMany,
// ClearMany): it returns the cache keys of those whose cache key function
// did not panic.
func (l *keyed[K, C, V]) scopeCacheKeys(s *Scope, keys []K, call string) []indexedKey[C] {
	cks := make([]indexedKey[C], 0, len(keys))
	for i, k := range keys {
		if ck, ok := l.scopeCacheKey(s, k, call); ok {
			cks = append(cks, indexedKey[C]{ck, i})
		}
	}
	return cks
}

func (l *keyed[K, C, V]) cacheKeys(keys []K) ([]C, error) {
	cks := make([]C, len(keys))
	for i, k := range keys {
		var err error
		if cks[i], err = l.safeCacheKey(k); err != nil {
			return nil, err
		}
	}
	return cks, nil
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
	var zero V
	if err := ctx.Err(); err != nil {
		return zero, err // nobody will wait for this key
	}
	ck, err := l.safeCacheKey(key)
	if err != nil {
		return zero, err
	}
	if l.cfg.noCache {
		siblings = nil // their results could not be kept
	}
	var mark setMark[C]
	if len(siblings) > 0 {
		if mark, err = l.markOf(siblings); err != nil {
			return zero, err
		}
	}
	var c clock
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return zero, ErrScopeClosed
	}
	var sibCks []C
	if len(siblings) > 0 {
		var ok bool
		if sibCks, ok, err = l.siblingCacheKeys(s, []C{ck}, siblings, &mark); !ok {
			return zero, err
		}
	}
	st := l.stateLocked(s)
	e, hit := st.enqueueLocked(s, key, ck, len(sibCks)+1, &c)
	if len(sibCks) > 0 && (!hit || st.heldLocked(e)) {
		// A load whose own key is cached, pending or in flight does not
		// start a batch for others (see LoadWith), unless the key waits
		// in a held batch.
		st.enqueueSiblingsLocked(s, ck, siblings, sibCks, &c)
		st.markHeldLocked(mark)
	}
	s.stats.Loads++
	if hit {
		s.stats.CacheHits++
		if e.state == stateResolved {
			v, err := e.val, e.err
			s.mu.Unlock()
			if s.cfg.loadTracer != nil {
				s.traceLoad(ctx, l.cfg.name, e.f.id)
			}
			return v, err
		}
	}
	if !s.parkLocked(ctx, e) {
		s.mu.Unlock()
		return zero, l.cycleError(key)
	}
	s.mu.Unlock()
	if s.cfg.loadTracer != nil {
		s.traceLoad(ctx, l.cfg.name, e.f.id)
	}
	return await(ctx, s, e)
}

// cycleError is the error of a load that would wait for its own batch.
//
//go:noinline
func (l *keyed[K, C, V]) cycleError(key K) error {
	return fmt.Errorf("%w: loader %q, key %v", ErrLoadCycle, l.cfg.name, key)
}

// parkLocked registers the calling worker, if any, as blocked on e's batch;
// the batch marks it running again when it resolves. A waiter whose context
// ends first stays counted as blocked until then: the scope may then
// dispatch early, never late. It returns false, registering nothing, if
// the batch could only end after the caller does (waitsForLocked): the
// caller must not wait.
func (s *Scope) parkLocked(ctx context.Context, e interface{ flightLocked() *flight }) bool {
	f := e.flightLocked()
	if f == nil {
		return true
	}
	w := s.workerFrom(ctx)
	if w == nil {
		return true
	}
	if s.waitsForLocked(f, w) {
		return false
	}
	if f.waiters == nil {
		f.waiters = f.wbuf[:0]
	}
	f.waiters = append(f.waiters, w)
	w.blockLocked(f)
	if s.running == 0 {
		s.lastActivity = time.Now()
		s.notifyLocked()
	}
	return true
}

// waitsForLocked reports whether batch f cannot end before worker w does:
// f's batch function is w (a batch function, or a goroutine under its
// context, loading a key of its own batch), or is waiting, directly or
// through other batches, for a batch whose function is w. Only batch
// functions of tracked mode are known as workers.
func (s *Scope) waitsForLocked(f *flight, w *worker) bool {
	var fbuf [8]*flight
	var wbuf [8]*worker
	todo, seen := append(fbuf[:0], f), wbuf[:0]
	for len(todo) > 0 {
		g := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		switch {
		case g.fn == nil || slices.Contains(seen, g.fn):
			continue
		case g.fn == w:
			return true
		}
		seen = append(seen, g.fn)
		todo = append(todo, g.fn.on...)
	}
	return false
}

// flightLocked returns the flight to wait on, or nil if e is resolved.
func (e *entry[V]) flightLocked() *flight {
	if e.state == stateResolved {
		return nil
	}
	return e.f
}

// await waits for e's batch or for ctx.
func await[V any](ctx context.Context, s *Scope, e *entry[V]) (V, error) {
	select {
	case <-e.f.done:
		return e.val, e.err
	case <-ctx.Done():
		s.mu.Lock()
		if w := s.workerFrom(ctx); w != nil {
			// Still counted as blocked until the batch resolves (see
			// parkLocked), but no longer waiting for it: a load of this
			// worker's own batch from that batch is no cycle.
			w.leaveLocked(e.f)
		}
		s.mu.Unlock()
		var zero V
		return zero, ctx.Err()
	}
}

// wait is await for the entry of key enqueued earlier (LoadMany,
// LoadThunk). The entry may have been resolved since, by its batch or by Set.
func (l *keyed[K, C, V]) wait(ctx context.Context, s *Scope, e *entry[V], key K) (V, error) {
	select {
	case <-e.f.done:
		return e.val, e.err
	default:
	}
	s.mu.Lock()
	if e.state == stateResolved {
		// Set resolved it before its batch: f.done may still be open.
		v, err := e.val, e.err
		s.mu.Unlock()
		return v, err
	}
	if err := ctx.Err(); err != nil {
		s.mu.Unlock()
		var zero V
		return zero, err
	}
	if !s.parkLocked(ctx, e) {
		s.mu.Unlock()
		var zero V
		return zero, l.cycleError(key)
	}
	s.mu.Unlock()
	return await(ctx, s, e)
}

func (l *keyed[K, C, V]) loadMany(ctx context.Context, keys []K) ([]V, []error) {
	s := FromContext(ctx)
	if s == nil {
		return l.direct(ctx, keys)
	}
	entries, _, _, err := l.enqueueAll(ctx, s, keys, nil)
	if err != nil {
		return make([]V, len(keys)), repeat(len(keys), err)
	}
	if s.cfg.loadTracer != nil {
		traceLoads(ctx, s, l.cfg.name, entries)
	}
	vals := make([]V, len(keys))
	var errs []error
	for i, e := range entries {
		var err error
		if err = ctx.Err(); err == nil {
			vals[i], err = l.wait(ctx, s, e, keys[i])
		}
		if err != nil {
			if errs == nil {
				errs = make([]error, len(keys))
			}
			errs[i] = err
		}
	}
	return vals, errs
}

// enqueueAll adds keys, and the siblings that have no entry, to the
// pending batch as one unit, and returns the entries of keys, a copy of the
// first as it was then, and whether they all had one already and no sibling
// was enqueued (joined).
func (l *keyed[K, C, V]) enqueueAll(ctx context.Context, s *Scope, keys, siblings []K) (_ []*entry[V], first entry[V], joined bool, _ error) {
	if err := ctx.Err(); err != nil {
		return nil, first, false, err
	}
	if l.cfg.noCache {
		siblings = nil // their results could not be kept
	}
	cks, err := l.cacheKeys(keys)
	if err != nil {
		return nil, first, false, err
	}
	var c clock
	entries := make([]*entry[V], len(keys))
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, first, false, ErrScopeClosed
	}
	var sibCks []C
	if len(siblings) > 0 {
		// Without marks: its caller (LoadWithThunk) learns from joined
		// whether its set went into the batch, and a mark shared by two
		// sets would answer wrongly for the second.
		var ok bool
		if sibCks, ok, err = l.siblingCacheKeys(s, cks, siblings, nil); !ok {
			return nil, first, false, err
		}
	}
	defer s.mu.Unlock()
	st := l.stateLocked(s)
	hits := 0
	for i, k := range keys {
		var hit bool
		entries[i], hit = st.enqueueLocked(s, k, cks[i], len(cks)-i, &c)
		if hit {
			hits++
		}
	}
	s.stats.CacheHits += int64(hits)
	joined = hits == len(keys)
	// as in load: not for a key with an entry, unless it waits in a held batch
	if len(sibCks) > 0 && (!joined || st.heldLocked(entries[0])) {
		st.enqueueSiblingsLocked(s, cks[0], siblings, sibCks, &c)
		joined = false
	}
	s.stats.Loads += int64(len(keys))
	if len(entries) > 0 {
		first = *entries[0]
	}
	return entries, first, joined, nil
}

func (l *keyed[K, C, V]) thunk(ctx context.Context, key K, siblings []K) (func() (V, error), bool) {
	s := FromContext(ctx)
	if s == nil {
		var once sync.Once
		var v V
		var err error
		return func() (V, error) {
			once.Do(func() { v, err = l.load(ctx, key, nil) })
			return v, err
		}, false
	}
	entries, first, joined, err := l.enqueueAll(ctx, s, []K{key}, siblings)
	if err == nil && s.cfg.loadTracer != nil {
		traceLoads(ctx, s, l.cfg.name, entries)
	}
	if err == nil && first.state == stateResolved {
		// A key whose result was there already (cached, or Set while its
		// batch is pending) is answered with that result, as Load would
		// have answered it: a Set after this call must not change it.
		return func() (V, error) { return first.val, first.err }, joined
	}
	return func() (V, error) {
		if err != nil {
			var zero V
			return zero, err
		}
		return l.wait(ctx, s, entries[0], key)
	}, joined
}

// inPendingLocked reports whether e belongs to the pending batch (it may
// have been resolved by Set).
func (st *state[K, C, V]) inPendingLocked(e *entry[V]) bool {
	return st.pending != nil && e.f == &st.pending.flight
}

// primeLocked caches v and err for ck unless ck has an entry.
func (st *state[K, C, V]) primeLocked(ck C, v V, err error, more int) {
	if _, ok := st.cache[ck]; ok {
		return
	}
	e := st.newEntry(resolved, more)
	e.val, e.err, e.state = v, err, stateResolved
	st.cache[ck] = e
}

// setLocked caches v for ck, whatever entry ck has. An entry of the pending
// batch takes v itself: that batch has read nothing yet, so its waiters get
// v too. Any other entry is replaced, not changed: the waiters of an
// in-flight batch get what the batch read, and a resolved entry is read
// without the lock.
func (st *state[K, C, V]) setLocked(ck C, v V, more int) {
	if e, ok := st.cache[ck]; ok && st.inPendingLocked(e) {
		e.val, e.err, e.state = v, nil, stateResolved
		return
	}
	e := st.newEntry(resolved, more)
	e.val, e.state = v, stateResolved
	st.cache[ck] = e
}

// forgetLocked removes e, the entry of ck, from the cache, unless e belongs
// to the pending batch: that batch has read nothing yet, and a later load
// of ck must join it rather than put ck in it twice. Such an entry forgets
// a value that Set gave it, and waits for its batch again.
func (st *state[K, C, V]) forgetLocked(ck C, e *entry[V]) {
	if !st.inPendingLocked(e) {
		delete(st.cache, ck)
		return
	}
	if e.state == stateResolved {
		var zero V
		e.val, e.err, e.state = zero, nil, statePending
	}
}

// prime caches v, or the per-key error err, for key in ctx's scope unless
// key has an entry (Prime, PrimeError); with replace, it caches v whatever
// entry key has (Set).
func (l *keyed[K, C, V]) prime(ctx context.Context, key K, v V, err error, replace bool) {
	s := FromContext(ctx)
	if s == nil || l.cfg.noCache {
		return
	}
	call := "Prime"
	switch {
	case replace:
		call = "Set"
	case err != nil:
		call = "PrimeError"
	}
	ck, ok := l.scopeCacheKey(s, key, call)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := l.stateLocked(s)
	if replace {
		st.setLocked(ck, v, 1)
	} else {
		st.primeLocked(ck, v, err, 1)
	}
}

// primeOrReplace is PrimeOrReplace.
func (l *keyed[K, C, V]) primeOrReplace(ctx context.Context, key K, v V, replace func(old V) bool) {
	s := FromContext(ctx)
	if s == nil || l.cfg.noCache {
		return
	}
	ck, ok := l.scopeCacheKey(s, key, "PrimeOrReplace")
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := l.stateLocked(s)
	e, ok := st.cache[ck]
	switch {
	case !ok:
		st.primeLocked(ck, v, nil, 1)
	case e.state == stateResolved && e.err == nil && !st.inPendingLocked(e) && replace(e.val):
		st.setLocked(ck, v, 1)
	}
}

func (l *keyed[K, C, V]) primeMany(ctx context.Context, keys []K, vals []V) {
	if len(keys) != len(vals) {
		// Priming the pairs that exist would cache values under the wrong
		// keys whenever one list is shifted: the caller's bug must show.
		panic(fmt.Sprintf("dataloader: loader %q: PrimeMany with %d keys and %d values", l.cfg.name, len(keys), len(vals)))
	}
	s := FromContext(ctx)
	if s == nil || l.cfg.noCache || len(keys) == 0 {
		return
	}
	cks := l.scopeCacheKeys(s, keys, "PrimeMany")
	s.mu.Lock()
	defer s.mu.Unlock()
	st := l.stateLocked(s)
	for i, c := range cks {
		st.primeLocked(c.ck, vals[c.i], nil, len(cks)-i)
	}
}

// clear forgets key (all keys if all) in ctx's scope, except entries of a
// batch that has not been dispatched.
func (l *keyed[K, C, V]) clear(ctx context.Context, key K, all bool) {
	s := FromContext(ctx)
	if s == nil {
		return
	}
	var ck C
	if !all {
		var ok bool
		if ck, ok = l.scopeCacheKey(s, key, "Clear"); !ok {
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := l.stateLocked(s)
	if !all {
		if e, ok := st.cache[ck]; ok {
			st.forgetLocked(ck, e)
		}
		return
	}
	for ck, e := range st.cache {
		st.forgetLocked(ck, e)
	}
}

func (l *keyed[K, C, V]) clearMany(ctx context.Context, keys []K) {
	s := FromContext(ctx)
	if s == nil || len(keys) == 0 {
		return
	}
	cks := l.scopeCacheKeys(s, keys, "ClearMany")
	s.mu.Lock()
	defer s.mu.Unlock()
	st := l.stateLocked(s)
	for _, c := range cks {
		if e, ok := st.cache[c.ck]; ok {
			st.forgetLocked(c.ck, e)
		}
	}
}
