package dataloader

import (
	"context"
	"reflect"
	"runtime"
	"strings"
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
	thunk(ctx context.Context, key K, siblings []K) (func() (V, error), bool)
	loadExisting(ctx context.Context, key K, unlessHeld bool) (V, bool, error)
	cached(ctx context.Context, key K) (V, bool)
	prime(ctx context.Context, key K, v V, err error, replace bool)
	primeOrReplace(ctx context.Context, key K, v V, replace func(old V) bool)
	primeMany(ctx context.Context, keys []K, vals []V)
	clear(ctx context.Context, key K, all bool)
	clearMany(ctx context.Context, keys []K)
}

// New returns a loader whose batch function returns one value per key, in
// the order of keys, and optionally one error per key; or an error of the
// whole batch.
//
// A non-nil err fails the whole batch: every waiter gets it and nothing is
// cached, so a later load retries (a database that is down, a cancelled
// context). Otherwise vals has one value per key, and errs is nil (no key
// failed) or has one entry per key, nil where that key succeeded; per-key
// errors are cached like values, whatever the size of the batch. A vals or
// errs of any other length fails the batch with [ErrWrongLength].
func New[K comparable, V any](fetch func(ctx context.Context, keys []K) (vals []V, errs []error, err error), opts ...Option) *Loader[K, V] {
	return newLoader(fetch, identity[K], opts)
}

// NewMapped returns a loader whose batch function returns a map from key to
// value; a key missing from the map gets an error matching [ErrNotFound]. A
// non-nil error fails the whole batch and is not cached.
func NewMapped[K comparable, V any](fetch func(ctx context.Context, keys []K) (map[K]V, error), opts ...Option) *Loader[K, V] {
	cfg := configure(fetch, opts)
	sliced := func(ctx context.Context, keys []K) ([]V, []error, error) {
		m, err := fetch(ctx, keys)
		if err != nil {
			return nil, nil, err
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
		return vals, errs, nil
	}
	return &Loader[K, V]{impl: &keyed[K, K, V]{cfg: cfg, fetch: sliced, cacheKey: identity[K]}}
}

// NewWithCacheKey returns a loader for keys that are not comparable, or
// whose identity is not their Go equality (composite keys held in slices,
// case-insensitive names): cacheKey maps a key to the comparable value under
// which it is cached and deduplicated. fetch is as for [New]. A panic in
// cacheKey fails the load that called it with a [*PanicError]; see
// [Loader.Prime] and [Loader.Clear] for theirs.
func NewWithCacheKey[K any, C comparable, V any](fetch func(ctx context.Context, keys []K) (vals []V, errs []error, err error), cacheKey func(K) C, opts ...Option) *Loader[K, V] {
	return newLoader(fetch, cacheKey, opts)
}

func newLoader[K any, C comparable, V any](fetch func(ctx context.Context, keys []K) ([]V, []error, error), cacheKey func(K) C, opts []Option) *Loader[K, V] {
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
// entry) and Load waits for that batch, which is dispatched at the tick
// (see the package documentation), when it is full ([WithMaxBatch]), or by
// [Scope.Dispatch].
//
// A caller that asks for a key another caller is already waiting for shares
// that caller's batch and result. Load returns as soon as ctx is done, with
// ctx's error, and the batch goes on for the other waiters (a ctx that is
// already done enqueues nothing). If the batch
// fails (a batch error, a panic, the scope closing), every waiter gets the
// error and nothing is cached, so a later Load calls the batch function
// again.
func (l *Loader[K, V]) Load(ctx context.Context, key K) (V, error) {
	return l.impl.load(ctx, key, nil)
}

// LoadWith is Load for a key that belongs to a set of siblings, such as the
// rows of one query result: key and every sibling that is neither cached nor
// already pending or in flight join the same batch as one unit (split only
// past [WithMaxBatch]), and LoadWith waits for key only. Siblings' results
// are cached, so the siblings' own loads find them. This makes a sequential
// loop over the rows issue one batch.
//
// If the siblings name any key other than key, this loader's pending batch
// is dispatched at once instead of waiting for the tick: the caller has
// said who else is coming. (Keys of another set enqueued later go into the
// next batch.) A key whose only sibling is itself waits for the tick, as
// Load does, and so does every batch while the scope is held
// ([Scope.HoldSiblings]). A loader created with [WithoutCache] ignores siblings, whose
// results it could not keep.
//
// If key itself is already cached, pending or in flight, the siblings are
// not enqueued: a load whose own result is there does not start a batch for
// others (it would run in the background, for rows nobody asked for yet,
// and on a transaction's connection while the caller goes on using it).
// Their own loads enqueue them when they come. The exception is a key
// pending in a batch that a hold kept from going at once: the siblings
// join that batch, which has not started, unless the same set is in it
// already (told apart by length, first, middle and last key: a set that
// shares all four with one there enqueues only its keys' own loads).
// So the n loads of one set of n cost O(n) together: only a load that
// enqueues the siblings reads their keys (and only such a load fails if
// the cache key function panics on a sibling other than the first, middle
// or last, which every LoadWith with siblings reads).
func (l *Loader[K, V]) LoadWith(ctx context.Context, key K, siblings []K) (V, error) {
	return l.impl.load(ctx, key, siblings)
}

// LoadMany returns the values of keys, in the order of keys. errs is nil if
// every key succeeded; otherwise it has one entry per key, nil where that
// key succeeded.
//
// The keys that are neither cached nor pending or in flight join this
// loader's pending batch together, as one unit (split only past
// [WithMaxBatch]), so they are fetched by one call of the batch function.
// That batch still waits for the tick, as Load's does: keys that other
// callers load meanwhile join it too. Only [Loader.LoadWith] with siblings
// dispatches at once; [Scope.Dispatch] sends the scope's pending batches
// now.
func (l *Loader[K, V]) LoadMany(ctx context.Context, keys []K) (vals []V, errs []error) {
	return l.impl.loadMany(ctx, keys)
}

// LoadThunk enqueues key now and returns a function that waits for its
// value; the thunk may be called more than once. Enqueue several keys with
// LoadThunk, then call the thunks, to batch keys from one goroutine: the
// batch waits for the tick, so the keys share it if they are enqueued
// before it fires (in window mode, within the quiet period of each other;
// in tracked mode, while the enqueuing worker runs). Call [Scope.Dispatch]
// after the last LoadThunk to send the batch without waiting.
func (l *Loader[K, V]) LoadThunk(ctx context.Context, key K) func() (V, error) {
	wait, _ := l.impl.thunk(ctx, key, nil)
	return wait
}

// LoadWithThunk is [Loader.LoadWith] in two steps: the key and its siblings
// are enqueued (and, if the siblings name another key, dispatched) when it
// is called, and the returned function waits for the key's value. Code
// that must know the keys are enqueued before it lets other goroutines load
// (the ORM adapters' load-set claims) uses it.
//
// joined reports that key already had an entry (cached, pending or in
// flight), so the siblings were not enqueued and the thunk's result, an
// error too, is that of a batch the caller did not start. A key pending in a
// batch that a hold kept from going at once ([Scope.HoldSiblings]) is not
// joined: its siblings are enqueued in that batch, and joined is false.
func (l *Loader[K, V]) LoadWithThunk(ctx context.Context, key K, siblings []K) (wait func() (V, error), joined bool) {
	return l.impl.thunk(ctx, key, siblings)
}

// Prime caches v for key in the context's scope unless key already has an
// entry (cached, pending or in flight); to replace one, use [Loader.Set].
// Without a scope, or for a loader created with [WithoutCache], it does
// nothing. If the cache key function panics, Prime logs the panic through
// the scope's logger ([WithLogger]) and does nothing.
func (l *Loader[K, V]) Prime(ctx context.Context, key K, v V) {
	l.impl.prime(ctx, key, v, nil, false)
}

// PrimeOrReplace is [Loader.Prime], except that a cached value of key (no
// per-key error, its batch over) for which replace(old) reports true is
// replaced by v, as [Loader.Set] would; a key pending or in flight keeps its
// batch. It looks and changes under one lock of the scope, counts no load
// in [Stats] and calls no tracer; replace runs under that lock, so it must
// be quick and must not call loaders. The ORM adapters use it to prime a
// row from the larger of two query results that returned it.
func (l *Loader[K, V]) PrimeOrReplace(ctx context.Context, key K, v V, replace func(old V) bool) {
	l.impl.primeOrReplace(ctx, key, v, replace)
}

// PrimeMany primes each of keys with the value at the same index of vals,
// as [Loader.Prime] does, under one lock of the scope: a key that already
// has an entry keeps it, and a key given twice keeps its first value. A key
// whose cache key function panics is logged and skipped. PrimeMany panics
// if keys and vals differ in length: priming the pairs that exist would
// cache values under the wrong keys.
func (l *Loader[K, V]) PrimeMany(ctx context.Context, keys []K, vals []V) {
	l.impl.primeMany(ctx, keys, vals)
}

// PrimeError caches err as the per-key error of key in the context's scope,
// unless key already has an entry: later loads of key return err, as given,
// without calling the batch function, as if a batch had returned it for
// key, until [Loader.Clear] forgets it. A nil err, or one that matches
// [context.Canceled] or [context.DeadlineExceeded], primes nothing (the
// loader never caches a context error: it belongs to one caller, not to the
// key), and the next load calls the batch function. Without a scope or
// cache, and if the cache key function panics, it does what Prime does.
func (l *Loader[K, V]) PrimeError(ctx context.Context, key K, err error) {
	if err == nil || isContextErr(err) {
		return
	}
	var zero V
	l.impl.prime(ctx, key, zero, err, false)
}

// Set caches v for key in the context's scope, replacing whatever key has
// (a value or per-key error, primed or loaded): loads of key that start
// after Set returns get v without a batch, until [Loader.Clear] forgets it.
// Loads that were already waiting for key keep waiting for the batch they
// joined: if it has been dispatched they get what its batch function read
// (which is not cached), otherwise they get v (the key is still passed to
// that batch function, whose result for it is dropped). A thunk taken
// when key's result was there already (cached, or an earlier Set) keeps
// that result. Without a scope or
// cache, and if the cache key function panics, it does what Prime does.
func (l *Loader[K, V]) Set(ctx context.Context, key K, v V) {
	l.impl.prime(ctx, key, v, nil, true)
}

// Clear forgets the result for key in the context's scope (a value or a
// per-key error, loaded, primed or Set), so the next Load calls the batch
// function again. A key whose batch has not been dispatched yet is left in
// it, since that batch has not read anything yet, and forgets a value Set
// gave it: its loads get that batch's result. If the cache key function
// panics, Clear logs the panic through the scope's logger and does
// nothing: nothing can have been cached under that key.
func (l *Loader[K, V]) Clear(ctx context.Context, key K) {
	l.impl.clear(ctx, key, false)
}

// ClearMany forgets the results for keys, as [Loader.Clear] does for each
// of them, under one lock of the scope. A key whose cache key function
// panics is logged and skipped.
func (l *Loader[K, V]) ClearMany(ctx context.Context, keys []K) {
	l.impl.clearMany(ctx, keys)
}

// ClearAll forgets every result of this loader in the context's scope, as
// Clear does for each key.
func (l *Loader[K, V]) ClearAll(ctx context.Context) {
	var zero K
	l.impl.clear(ctx, zero, true)
}
