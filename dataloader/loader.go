package dataloader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// Option configures a [Loader].
type Option func(*loaderConfig)

type loaderConfig struct {
	name     string
	maxBatch int
	noCache  bool
	strict   bool
}

// WithName names the loader in errors, logs and traces. The default is the
// name of the batch function.
func WithName(name string) Option {
	return func(c *loaderConfig) { c.name = name }
}

// WithMaxBatch caps the number of keys passed to one call of the batch
// function; a batch that reaches it is dispatched at once and the next keys
// start a new batch. Zero or less means unlimited.
func WithMaxBatch(n int) Option {
	return func(c *loaderConfig) { c.maxBatch = n }
}

// WithoutCache keeps no result once a batch has completed: every later Load
// calls the batch function again. Identical keys that wait for the same
// batch are still passed to the batch function once.
func WithoutCache() Option {
	return func(c *loaderConfig) { c.noCache = true }
}

// WithStrict makes loads without a [Scope] in the context fail with
// [ErrNoScope] instead of calling the batch function directly.
func WithStrict() Option {
	return func(c *loaderConfig) { c.strict = true }
}

// Loader is a loader definition: a batch function and its options. It holds
// no results: they live in the [Scope] found in each call's context, so a
// Loader can be kept in a package variable and shared by all requests. The
// zero Loader is not usable; create one with [New], [NewMapped] or
// [NewWithCacheKey].
type Loader[K, V any] struct {
	impl loaderImpl[K, V]
}

// loaderImpl is implemented by *keyed[K, C, V]; the indirection hides the
// cache key type C from the API.
type loaderImpl[K, V any] interface {
	load(ctx context.Context, key K, siblings []K) (V, error)
	loadMany(ctx context.Context, keys []K) ([]V, []error)
	thunk(ctx context.Context, key K) func() (V, error)
	prime(ctx context.Context, key K, v V)
	clear(ctx context.Context, key K)
	clearAll(ctx context.Context)
}

// New returns a loader whose batch function returns one value (and
// optionally one error) per key, in the order of keys. errs may be nil
// (no key failed), hold one error per key, or hold a single error, which
// fails the whole batch (not cached). Any other length, or a values slice of
// the wrong length, fails the batch with [ErrWrongLength].
func New[K comparable, V any](fetch func(ctx context.Context, keys []K) ([]V, []error), opts ...Option) *Loader[K, V] {
	return newLoader(fetch, identity[K], opts)
}

// NewMapped returns a loader whose batch function returns a map from key to
// value; a key missing from the map gets an error matching [ErrNotFound]. A
// non-nil error fails the whole batch and is not cached.
func NewMapped[K comparable, V any](fetch func(ctx context.Context, keys []K) (map[K]V, error), opts ...Option) *Loader[K, V] {
	cfg := configure(fetch, opts)
	sliced := func(ctx context.Context, keys []K) ([]V, []error) {
		m, err := fetch(ctx, keys)
		if err != nil {
			return nil, []error{err}
		}
		vals := make([]V, len(keys))
		var errs []error
		for i, k := range keys {
			v, ok := m[k]
			if !ok {
				if errs == nil {
					errs = make([]error, len(keys))
				}
				errs[i] = &KeyError{Loader: cfg.name, Key: k, Err: ErrNotFound}
				continue
			}
			vals[i] = v
		}
		return vals, errs
	}
	return &Loader[K, V]{impl: &keyed[K, K, V]{cfg: cfg, fetch: sliced, cacheKey: identity[K]}}
}

// NewWithCacheKey returns a loader for keys that are not comparable, or
// whose identity is not their Go equality (composite keys held in slices,
// case-insensitive names): cacheKey maps a key to the comparable value under
// which it is cached and deduplicated. fetch is as for [New].
func NewWithCacheKey[K any, C comparable, V any](fetch func(ctx context.Context, keys []K) ([]V, []error), cacheKey func(K) C, opts ...Option) *Loader[K, V] {
	return newLoader(fetch, cacheKey, opts)
}

func newLoader[K any, C comparable, V any](fetch func(ctx context.Context, keys []K) ([]V, []error), cacheKey func(K) C, opts []Option) *Loader[K, V] {
	return &Loader[K, V]{impl: &keyed[K, C, V]{cfg: configure(fetch, opts), fetch: fetch, cacheKey: cacheKey}}
}

func identity[K any](k K) K { return k }

func configure(fetch any, opts []Option) loaderConfig {
	var cfg loaderConfig
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.name == "" {
		cfg.name = funcName(fetch)
	}
	return cfg
}

// funcName names a function value: "pkg.fetchUsers" (closures: "pkg.New.func1").
func funcName(fn any) string {
	f := runtime.FuncForPC(reflect.ValueOf(fn).Pointer())
	if f == nil {
		return "loader"
	}
	name := f.Name()
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// Load returns the value for key. In a scope, the key joins the scope's
// pending batch for this loader (or finds its cached, pending or in-flight
// entry) and Load waits for that batch.
//
// A caller that asks for a key another caller is already waiting for shares
// that caller's batch and result. Load returns as soon as ctx is done, with
// ctx's error, and the batch goes on for the other waiters. If the batch
// fails (a batch error, a panic, the scope closing), every waiter gets the
// error and nothing is cached, so a later Load calls the batch function
// again.
func (l *Loader[K, V]) Load(ctx context.Context, key K) (V, error) {
	return l.impl.load(ctx, key, nil)
}

// LoadWith is Load for a key that belongs to a set of siblings, such as the
// rows of one query result: key and every sibling that is neither cached nor
// already pending or in flight join the same batch as one unit, and LoadWith
// waits for key only. Siblings' results are cached, so the siblings' own
// loads find them. This makes a sequential loop over the rows issue one
// batch.
func (l *Loader[K, V]) LoadWith(ctx context.Context, key K, siblings []K) (V, error) {
	return l.impl.load(ctx, key, siblings)
}

// LoadMany loads keys in one batch (more than one only past [WithMaxBatch])
// and returns their values in the order of keys. errs is nil if every key
// succeeded; otherwise it has one entry per key, nil where that key
// succeeded.
func (l *Loader[K, V]) LoadMany(ctx context.Context, keys []K) (vals []V, errs []error) {
	return l.impl.loadMany(ctx, keys)
}

// LoadThunk enqueues key now and returns a function that waits for its
// value. Enqueue several keys with LoadThunk, then call the thunks, to
// batch keys from one goroutine. The thunk may be called more than once.
func (l *Loader[K, V]) LoadThunk(ctx context.Context, key K) func() (V, error) {
	return l.impl.thunk(ctx, key)
}

// Prime caches v for key in the context's scope unless key already has an
// entry (cached, pending or in flight); to replace one, Clear it first.
// Without a scope it does nothing.
func (l *Loader[K, V]) Prime(ctx context.Context, key K, v V) {
	l.impl.prime(ctx, key, v)
}

// Clear forgets the result for key in the context's scope, so the next
// Load calls the batch function again. A key whose batch has not been
// dispatched yet is left in it: that batch has not read anything yet.
func (l *Loader[K, V]) Clear(ctx context.Context, key K) {
	l.impl.clear(ctx, key)
}

// ClearAll forgets every result of this loader in the context's scope, as
// Clear does for one key.
func (l *Loader[K, V]) ClearAll(ctx context.Context) {
	l.impl.clearAll(ctx)
}

// keyed is the implementation of a loader whose keys are cached under C.
type keyed[K any, C comparable, V any] struct {
	cfg      loaderConfig
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

// flight is what the waiters of one batch wait on.
type flight struct {
	done chan struct{} // closed after every entry of the batch is resolved
	// waiters are the tracked workers blocked on the batch; guarded by the
	// scope's mutex. The batch marks them running again when it resolves,
	// before they are scheduled, so that the scope does not see "no worker
	// running" while woken workers are still on their way.
	waiters []*waiter
}

// waiter is a tracked worker blocked on a flight.
type waiter struct {
	w     *worker
	woken bool // guarded by the scope's mutex
}

// resolved is the flight of entries that never had a batch (Prime).
var resolved = func() *flight {
	f := &flight{done: make(chan struct{})}
	close(f.done)
	return f
}()

// wakeLocked marks the flight's waiters running again.
func (f *flight) wakeLocked() {
	for _, wt := range f.waiters {
		wt.wakeLocked()
	}
	f.waiters = nil
}

func (wt *waiter) wakeLocked() {
	if !wt.woken {
		wt.woken = true
		wt.w.unblockLocked()
	}
}

type entryState uint8

const (
	statePending  entryState = iota // in the scope's pending batch
	stateInFlight                   // its batch function is running
	stateResolved                   // val and err are final
)

// state is a loader's state in one scope; guarded by the scope's mutex.
type state[K any, C comparable, V any] struct {
	l       *keyed[K, C, V]
	cache   map[C]*entry[V]
	pending *batch[K, C, V]
}

type batch[K any, C comparable, V any] struct {
	keys    []K
	ckeys   []C
	entries []*entry[V]
	f       *flight
}

func (l *keyed[K, C, V]) stateLocked(s *Scope) *state[K, C, V] {
	if st, ok := s.states[l]; ok {
		return st.(*state[K, C, V])
	}
	st := &state[K, C, V]{l: l, cache: make(map[C]*entry[V])}
	s.states[l] = st
	return st
}

// enqueueLocked returns key's entry, adding key to the pending batch if it
// has none. hit reports an existing entry.
func (st *state[K, C, V]) enqueueLocked(s *Scope, key K, now time.Time) (e *entry[V], hit bool) {
	ck := st.l.cacheKey(key)
	if e, ok := st.cache[ck]; ok {
		return e, true
	}
	first := st.pending == nil
	if first {
		st.pending = &batch[K, C, V]{f: &flight{done: make(chan struct{})}}
	}
	b := st.pending
	e = &entry[V]{f: b.f}
	b.keys = append(b.keys, key)
	b.ckeys = append(b.ckeys, ck)
	b.entries = append(b.entries, e)
	st.cache[ck] = e
	if m := st.l.cfg.maxBatch; m > 0 && len(b.keys) >= m {
		if !first {
			s.unreadyLocked(st)
		}
		st.dispatchLocked(s)
		s.lastActivity = now
		return e, false
	}
	s.pendingLocked(st, first, now)
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
	return []chan struct{}{b.f.done}
}

// run calls the batch function and wakes the batch's waiters.
func (st *state[K, C, V]) run(s *Scope, b *batch[K, C, V]) {
	defer s.batches.Done()
	vals, errs, batchErr := st.l.call(s, b.keys)
	s.mu.Lock()
	st.resolveLocked(b, vals, errs, batchErr)
	s.lastActivity = time.Now()
	s.mu.Unlock()
	close(b.f.done)
}

// resolveLocked stores the results of b in its entries. Failed entries are
// removed from the cache (if the cache still holds them), as are all entries
// of a loader without cache.
func (st *state[K, C, V]) resolveLocked(b *batch[K, C, V], vals []V, errs []error, batchErr error) {
	b.f.wakeLocked()
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
			if st.cache[b.ckeys[i]] == e {
				delete(st.cache, b.ckeys[i])
			}
		}
	}
}

func isContextErr(err error) bool {
	return err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// call runs the batch function under the scope's context, checks the
// results' shape and turns a panic into a *PanicError. batchErr is non-nil
// when the whole batch failed; otherwise len(vals) == len(keys) and errs is
// nil or of the same length.
func (l *keyed[K, C, V]) call(s *Scope, keys []K) (vals []V, errs []error, batchErr error) {
	ctx := s.ctx
	var start time.Time
	if t := s.cfg.tracer; t != nil {
		start = time.Now()
		ctx = t.TraceBatchStart(ctx, BatchStartData{Loader: l.cfg.name, Keys: len(keys)})
		defer func() {
			t.TraceBatchEnd(ctx, BatchEndData{Loader: l.cfg.name, Keys: len(keys), Err: batchErr, Duration: time.Since(start)})
		}()
	}
	vals, errs, batchErr = l.safeFetch(ctx, keys)
	if batchErr != nil {
		if pe, ok := batchErr.(*PanicError); ok {
			s.cfg.logger.Error("dataloader: batch function panicked", "loader", l.cfg.name, "keys", len(keys), "panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
		}
	}
	return vals, errs, batchErr
}

// safeFetch calls fetch, recovering a panic, and normalizes its results.
func (l *keyed[K, C, V]) safeFetch(ctx context.Context, keys []K) (vals []V, errs []error, batchErr error) {
	defer func() {
		// Each waiter of the batch gets the panic as an error rather than the
		// panic itself: the batch runs in its own goroutine, where a panic
		// would kill the process, and no waiter is more "the caller" than
		// another.
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
		return vals[0], errAt(errs, 0)
	}
	now := time.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		var zero V
		return zero, ErrScopeClosed
	}
	st := l.stateLocked(s)
	e, hit := st.enqueueLocked(s, key, now)
	for _, sib := range siblings {
		st.enqueueLocked(s, sib, now)
	}
	s.stats.Loads++
	if hit {
		s.stats.CacheHits++
	}
	wt := s.parkLocked(ctx, e.state, e.f)
	s.mu.Unlock()
	return await(ctx, s, wt, e)
}

// parkLocked registers the calling worker, if any, as blocked on flight f
// of an entry in state st. It returns nil if the entry is resolved or the
// caller is not a tracked worker.
func (s *Scope) parkLocked(ctx context.Context, st entryState, f *flight) *waiter {
	if st == stateResolved {
		return nil
	}
	w := s.workerFrom(ctx)
	if w == nil {
		return nil
	}
	wt := &waiter{w: w}
	f.waiters = append(f.waiters, wt)
	w.blockLocked()
	if s.running == 0 {
		s.lastActivity = time.Now()
		s.notify()
	}
	return wt
}

// await waits for e or for ctx. If ctx ends first, the worker of wt is
// marked running again here (the batch will not do it).
func await[V any](ctx context.Context, s *Scope, wt *waiter, e *entry[V]) (V, error) {
	select {
	case <-e.f.done:
		return e.val, e.err
	default:
	}
	select {
	case <-e.f.done:
		return e.val, e.err
	case <-ctx.Done():
		if wt != nil {
			s.mu.Lock()
			wt.wakeLocked()
			s.mu.Unlock()
		}
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
	wt := s.parkLocked(ctx, e.state, e.f)
	s.mu.Unlock()
	return await(ctx, s, wt, e)
}

func errAt(errs []error, i int) error {
	if errs == nil {
		return nil
	}
	return errs[i]
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
	now := time.Now()
	entries := make([]*entry[V], len(keys))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrScopeClosed
	}
	st := l.stateLocked(s)
	for i, k := range keys {
		var hit bool
		entries[i], hit = st.enqueueLocked(s, k, now)
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

func (l *keyed[K, C, V]) clear(ctx context.Context, key K) {
	s := FromContext(ctx)
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := l.stateLocked(s)
	ck := l.cacheKey(key)
	if e, ok := st.cache[ck]; ok && e.state != statePending {
		delete(st.cache, ck)
	}
}

func (l *keyed[K, C, V]) clearAll(ctx context.Context) {
	s := FromContext(ctx)
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := l.stateLocked(s)
	for ck, e := range st.cache {
		if e.state != statePending {
			delete(st.cache, ck)
		}
	}
}
