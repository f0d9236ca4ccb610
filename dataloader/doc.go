// Package dataloader is a request-scoped batcher: it collects the keys that
// concurrent (or sequential) callers ask for, calls one batch function for
// all of them, and caches the results for the rest of the request.
//
// # Definitions are global, state is per scope
//
// A [Loader] is a definition: a batch function plus options. It holds no
// results and is safe to keep in a package variable and to share between
// requests. Every piece of state — the cache, the pending batch, the batches
// in flight — lives in a [Scope], which is carried in a [context.Context]:
//
//	var userByID = dataloader.NewMapped(fetchUsers) // once, at start-up
//
//	func handler(w http.ResponseWriter, r *http.Request) {
//		ctx, scope := dataloader.NewScope(r.Context())
//		defer scope.Close()
//		u, err := userByID.Load(ctx, 42) // batched and cached within this request only
//		...
//	}
//
// Two requests never share a cache entry or a batch, because they never share
// a scope. A Load whose context carries no scope calls the batch function
// directly for that one key (correct, unbatched) and logs one warning per
// loader through log/slog; with [WithStrict] it returns [ErrNoScope] instead.
//
// # Contracts
//
//   - Order and length are handled by construction. A map batch function
//     ([NewMapped]) cannot misalign values; a key missing from its map gets an
//     error matching [ErrNotFound]. A slice batch function ([New]) that returns
//     the wrong number of values fails every key of that batch with an error
//     matching [ErrWrongLength] that names the loader.
//   - Batch functions run under the scope's context (the request's values are
//     kept) and never under a caller's context: one caller's cancellation fails
//     only that caller, whose Load returns as soon as its own context is done.
//   - A failed batch (the batch function returned a batch error or panicked)
//     fails the waiters of that batch and is not cached: a later Load of the
//     same key in the same scope calls the batch function again. Context
//     errors are never cached, nor primed. Per-key errors, including
//     not-found and those primed with [Loader.PrimeError], are cached like
//     values; [Loader.Clear] forgets them.
//   - [Loader.Prime], [Loader.PrimeMany] and [Loader.PrimeError] cache a
//     result only for a key that has no entry. [Loader.Set] replaces a key's
//     entry; it does not change what a batch already dispatched returns to
//     its waiters.
//   - A panic in a batch function is recovered, logged once with its stack, and
//     returned to every waiter of that batch as a [*PanicError]. A panic in a
//     cache key function ([NewWithCacheKey]) fails only the load that called
//     it, with a [*PanicError]; the calls that return no error (the primes,
//     Set and the clears) log it through the scope's logger and skip that
//     key.
//     Recovering cannot repair what the panic broke below: a database driver
//     that panics inside a query leaves database/sql holding that
//     connection forever (database/sql recovers nothing, so the same happens
//     under gqlgen's or net/http's recover without a loader), and a pool
//     exhausted that way stalls the server. A driver that may panic must be
//     fixed or wrapped so that it returns an error (driver.ErrBadConn
//     discards the connection) instead.
//   - [Scope.Close] fails batches that have not started, cancels the scope's
//     context and waits for running batch functions, so nothing that a request
//     started outlives it.
//
// # When a batch is dispatched (the tick)
//
// Go has no event loop, so a scope decides when "everyone has asked" in one of
// two ways:
//
//   - Window mode, for code outside any integration: a batch is dispatched
//     once no key has arrived for a short quiet period ([WithQuietPeriod]),
//     and at the latest a window after its first key ([WithWindow]).
//   - Tracked mode, once an integration reports workers with
//     [Scope.StartWorker] or the application fans out with [Scope.Go]: a batch
//     is dispatched as soon as no tracked worker is running (every one is
//     finished or blocked in a Load) and nothing has happened for the quiet
//     period; a watchdog ([WithMaxWait]) dispatches anyway if a worker is
//     blocked elsewhere, so a scope never stalls. A running batch function
//     counts as a worker, so loads made from batch functions of the same
//     tick ("a loader called from a loader") share one batch; a batch
//     function waiting on a slow query holds the scope's other batches
//     back until it returns or the watchdog fires. A batch function that
//     loads a key of its own batch (or of a batch waiting, through others,
//     for its own) would wait for itself: in tracked mode that load, made
//     under the batch function's context, fails at once with
//     [ErrLoadCycle]; in window mode, or from a worker started with
//     [Scope.Go] inside the batch function, it waits until its context
//     ends.
//
// A worker is one goroutine. Goroutines started under a worker's context
// without [Scope.Go] (go f(ctx) or an errgroup in a resolver, or gqlgen
// federation resolving each representation of an entity without multi: true
// in a goroutine of its own under the _entities field's context) share that
// worker: the first of them to block in a load makes it count as blocked,
// and the others' keys join that batch only if they arrive within the quiet
// period (100 such goroutines loading a key each made 1 to 4 batches on 2
// cores). Start them with [Scope.Go], or load their keys at once with
// [Loader.LoadMany] from the worker.
//
// Waits shorter than a millisecond are spent yielding the processor
// ([runtime.Gosched]) while watching the clock, because Go timers cannot sleep
// for less than about a millisecond. The defaults and the measurements behind
// them are in BENCHMARKS.md at the root of the repository.
//
// A full batch ([WithMaxBatch]) is dispatched at once. [Loader.LoadWith]
// enqueues a key together with sibling keys as one unit and dispatches at
// once: the ORM adapters use it to load a relation for every row that came
// back in the same result set with a single statement, whatever the timing.
// [Scope.Dispatch] sends every pending batch of a scope now, for code that
// knows it has enqueued every key it wants in them. [Scope.HoldSiblings]
// does the opposite for work that is still producing sets (gqlgenloader:
// the root fields of a query, each a query result of its own): until the
// first tick after its release, LoadWith leaves its batch to the tick, so
// that the sets share it. Everything else waits for
// the tick: [Loader.LoadMany] puts its keys in one batch, but that batch waits
// like Load's, and other keys may join it.
//
// # Observability
//
// [Scope.Stats] counts loads, cache hits, batches and keys; a [Tracer] sees
// every batch start and end (package dataloaderotel adapts it to
// OpenTelemetry), and a [LoadTracer] every load too, with the caller's
// context. [TraceScopes] attaches a tracer to the scopes that other code
// opens under a context (package ormloadertest finds N+1 patterns this
// way). A scope without a load tracer pays nothing per load. The package
// imports nothing outside the standard library.
package dataloader
