package dataloader

import (
	"context"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Default timings of the tick, chosen by measurement on a 2-core machine
// (BenchmarkTick; BENCHMARKS.md has the table):
//   - DefaultQuietPeriod: a batch goes once no key has arrived (and no
//     worker started or ended) for this long. In tracked mode no fan-out of
//     100 resolvers was split in 4 000 requests, even when the goroutine
//     starting them was not tracked; a lone Load returns in about 25 µs.
//   - DefaultWindow: in window mode (no tracked workers) a batch goes at the
//     latest this long after its first key. No fan-out of 100 plain
//     goroutines was split at GOMAXPROCS=1; about 5 % were at GOMAXPROCS=2,
//     with any window up to 500 µs (a goroutine delayed by the scheduler or
//     the GC): code that knows its keys should name them (LoadMany, LoadWith).
//   - DefaultMaxWait: the watchdog of tracked mode; it only fires when a
//     tracked worker is blocked on something other than a loader, such as
//     a batch function waiting for a slow query (a batch function counts
//     as a worker while it runs).
const (
	DefaultQuietPeriod = 20 * time.Microsecond
	DefaultWindow      = 200 * time.Microsecond
	DefaultMaxWait     = 5 * time.Millisecond
)

// rootFactor times the watchdog bounds the wait for root workers under a
// hold (StartRootWorker).
const rootFactor = 4

// reserveFactor times the watchdog bounds the wait for reserved workers
// (Scope.Reserve): 100 ms by default.
const reserveFactor = 20

// holdQuietFactor times the quiet period is what the tick that ends a hold
// (Scope.HoldSiblings) waits for: the fields of the last root field to
// return start after gqlgen has marshalled its result, and a busy scheduler
// runs them late. With 20 µs, 5 % of sequential requests of two root fields
// loading three relations each split a batch; with 200 µs, 1-2 %.
const holdQuietFactor = 10

// spinLimit is the longest wait done by yielding instead of sleeping: Go
// timers cannot sleep for less than about a millisecond.
const spinLimit = time.Millisecond

// ScopeOption configures a [Scope].
type ScopeOption func(*scopeConfig)

type scopeConfig struct {
	window     time.Duration
	quiet      time.Duration
	maxWait    time.Duration
	tracer     Tracer
	loadTracer loadTracer // what of tracer traces loads; nil: nothing, and loads pay nothing
	logger     *slog.Logger
}

// WithWindow sets how long, in window mode, a batch may wait after its first
// key for more keys, as long as they keep arriving within the quiet period.
// Zero or less keeps [DefaultWindow].
func WithWindow(d time.Duration) ScopeOption {
	return func(c *scopeConfig) {
		if d > 0 {
			c.window = d
		}
	}
}

// WithQuietPeriod sets how long nothing must happen (no key arrives, no
// worker starts or ends) before a batch is dispatched; in tracked mode, no
// tracked worker may be running either. Zero or less keeps
// [DefaultQuietPeriod].
func WithQuietPeriod(d time.Duration) ScopeOption {
	return func(c *scopeConfig) {
		if d > 0 {
			c.quiet = d
		}
	}
}

// WithMaxWait bounds, in tracked mode, how long a batch waits for running
// workers, batch functions included, counted from its first key or from the
// last start of a worker, whichever is later (so a worker that starts late
// has the whole bound to reach its load). Reserved workers ([Scope.Reserve])
// are waited for up to 20 times as long, and root workers under a hold
// ([Scope.StartRootWorker]) up to 4 times. Zero or less keeps [DefaultMaxWait].
func WithMaxWait(d time.Duration) ScopeOption {
	return func(c *scopeConfig) {
		if d > 0 {
			c.maxWait = d
		}
	}
}

// WithTracer reports every batch of the scope to t, and every load if t is
// a [LoadTracer]. A tracer from [TraceScopes] on the scope's context is
// called too, after t.
func WithTracer(t Tracer) ScopeOption {
	return func(c *scopeConfig) { c.tracer = t }
}

// WithLogger sets the logger for recovered panics (of batch functions,
// tracers, and cache key functions called by Prime and Clear). The default
// is [slog.Default] at the time the scope is created.
func WithLogger(l *slog.Logger) ScopeOption {
	return func(c *scopeConfig) {
		if l != nil {
			c.logger = l
		}
	}
}

// Scope holds the state of every loader used in one request: caches, pending
// batches and batches in flight. Create one per request with [NewScope] and
// close it when the request ends. A Scope is safe for concurrent use.
type Scope struct {
	ctx     context.Context // batches run under it; cancelled by Close
	cancel  context.CancelFunc
	cfg     scopeConfig
	carrier carrier // the context NewScope returns, allocated with the scope

	mu sync.Mutex // protects every field below
	// states holds the state in this scope of each loader used in it
	// (*state[K, C, V] for that loader's type parameters), found by the
	// loader's config address: the first few inline, the rest in a map.
	states     [4]stateRef
	nstates    int
	moreStates map[*loaderConfig]any
	// ready lists the states that have a pending batch, in the order their
	// first key arrived; the tick dispatches them all together.
	ready             []dispatcher
	readyBuf          [4]dispatcher // ready's first backing array
	firstKey          time.Time     // when the oldest pending key arrived
	lastActivity      time.Time     // last key, worker start or worker end
	ticking           bool          // a tick goroutine is running
	wake              chan struct{} // nudges a sleeping tick; made when first needed
	tracked           bool          // a worker was started: dispatch by tracking
	running           int           // tracked workers that are neither done nor blocked in a load
	rootsRunning      int           // of them, root workers (StartRootWorker)
	rootsInStatements int           // of them, root workers in a database statement (StartStatement)
	reserved          int           // workers about to start (Reserve)
	siblingHolds      int           // HoldSiblings calls not yet released
	holdsEnding       int           // holds released since the last tick, which ends them
	holdsCut          bool          // the watchdog sent held batches: the holds are over
	lastStart         time.Time     // when a worker last started or a reservation was released
	statementEnd      time.Time     // when a running root worker's statement last ended under a hold (StartStatement)
	closed            bool
	stats             Stats
	lastBatch         uint64 // the number of the last batch created
	// locals holds the Local values: a map that is replaced, never
	// changed, so that Local reads it without the lock.
	locals atomic.Pointer[map[any]any]

	batches sync.WaitGroup // tick and batch goroutines
}

// dispatcher is a loader state with a pending batch.
type dispatcher interface {
	dispatchLocked(s *Scope)
	failPendingLocked(err error) chan struct{}
}

type scopeKey struct{}

// carrier is a context that carries a scope.
type carrier struct {
	context.Context
	s *Scope
}

func (c *carrier) Value(key any) any {
	if key == (scopeKey{}) {
		return c.s
	}
	return c.Context.Value(key)
}

// NewScope returns a new scope and a copy of ctx that carries it. Batch
// functions run under a context derived from the returned one: its values
// (a viewer, a tenant) are visible to them, it carries the scope (a load
// inside a batch function is batched and cached in the same scope; in
// tracked mode the batch function is a worker, see [Scope.StartWorker]),
// and it is cancelled by [Scope.Close] or when ctx is.
func NewScope(ctx context.Context, opts ...ScopeOption) (context.Context, *Scope) {
	cfg := scopeConfig{
		window:  DefaultWindow,
		quiet:   DefaultQuietPeriod,
		maxWait: DefaultMaxWait,
		logger:  slog.Default(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	if t, ok := ctx.Value(scopeTracerKey{}).(Tracer); ok {
		cfg.tracer = joinTracers(cfg.tracer, t)
	}
	cfg.loadTracer = loadTracerOf(cfg.tracer)
	s := &Scope{cfg: cfg}
	s.ready = s.readyBuf[:0]
	s.carrier = carrier{Context: ctx, s: s}
	ctx = &s.carrier
	// Batch functions see the scope too: a load inside one is batched.
	s.ctx, s.cancel = context.WithCancel(ctx)
	return ctx, s
}

// FromContext returns the scope carried by ctx, or nil.
func FromContext(ctx context.Context) *Scope {
	s, _ := ctx.Value(scopeKey{}).(*Scope)
	return s
}

// Close ends the scope: batches that have not been dispatched fail with
// [ErrScopeClosed], the scope's context is cancelled, and Close waits until
// every batch function has returned. Loads after Close fail with
// [ErrScopeClosed]. Close is idempotent. Do not call it from a batch
// function or a [Tracer]: it would wait for itself.
func (s *Scope) Close() {
	s.mu.Lock()
	var done []chan struct{}
	if !s.closed {
		s.closed = true
		for _, d := range s.ready {
			done = append(done, d.failPendingLocked(ErrScopeClosed))
		}
		s.ready = nil
	}
	s.notifyLocked()
	s.mu.Unlock()
	for _, ch := range done {
		close(ch)
	}
	s.cancel()
	s.batches.Wait()
}

// Local returns the scope's value for key, calling init to create it on
// first use (once per scope and key, under the scope's lock: init must not
// use the scope). Packages built on dataloader keep their per-request state
// here, such as the ORM adapters' load sets; use an unexported key type, as
// for context values.
func (s *Scope) Local(key any, init func() any) any {
	if m := s.locals.Load(); m != nil {
		if v, ok := (*m)[key]; ok {
			return v // the common case: one map lookup, no lock
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.locals.Load()
	if old != nil {
		if v, ok := (*old)[key]; ok {
			return v
		}
	}
	m := map[any]any{}
	if old != nil {
		m = maps.Clone(*old)
	}
	v := init()
	m[key] = v
	s.locals.Store(&m)
	return v
}

// Stats counts what happened in a scope.
type Stats struct {
	Loads        int64 // keys asked for by Load, LoadMany, LoadWith and LoadThunk
	CacheHits    int64 // of those, keys answered by an entry that was already cached, pending or in flight
	Batches      int64 // calls of batch functions
	Keys         int64 // keys passed to batch functions, siblings included
	LargestBatch int   // most keys passed to one call of a batch function
}

// Stats returns the scope's counters.
func (s *Scope) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// worker is a tracked unit of work (a gqlgen resolver, a Go'd function, a
// batch function dispatched in tracked mode).
// It counts as running while it is not done and not blocked in a load. It is
// also the context that identifies it to loads, which saves an allocation
// per resolver.
type worker struct {
	context.Context
	s       *Scope
	waiting int        // loads this worker is blocked in; guarded by s.mu
	on      []*flight  // the batches of those loads, one per load; guarded by s.mu
	onBuf   [1]*flight // on's first backing array
	done    bool       // guarded by s.mu
	root    bool       // started by StartRootWorker; never changes
	// statements counts the database statements the worker runs
	// (StartStatement); guarded by s.mu.
	statements int
}

type workerKey struct{}

func (w *worker) Value(key any) any {
	switch key.(type) { // a type switch: every context lookup passes here
	case workerKey:
		return w
	case scopeKey:
		return w.s // also when StartWorker got a context without the scope
	}
	return w.Context.Value(key)
}

// StartWorker reports that a unit of work that may call loaders has started,
// and switches the scope to tracked mode. The returned context identifies
// the worker to loads; call end when the work has finished (later calls do
// nothing). Integrations call it around every resolver.
//
// In tracked mode a batch function is a worker too, from its dispatch until
// its waiters are woken: two batch functions of one tick that load from the
// same loader make one batch of it, as if they were resolvers.
func (s *Scope) StartWorker(ctx context.Context) (_ context.Context, end func()) {
	return s.startWorker(ctx, false)
}

// StartRootWorker is StartWorker for work that a hold of sibling sets
// ([Scope.HoldSiblings]) waits for: gqlgenloader starts the resolvers of a
// query's root fields with it, and the gap between a root field's return
// and the start of the fields below it (gqlgen marshals the value and
// starts the fields' goroutines). While a hold lasts (until the tick after
// its release) and only root workers run, the watchdog ([WithMaxWait])
// does not end the wait: the scope waits up to 4 times as long, so that a
// root field's query or goroutines that a busy machine runs late do not end
// the hold and split the batches of the other root fields' relations. A
// root worker that waits outside loaders for a batch the hold keeps (a
// lookup that two root fields share behind a sync.Once) costs the bound,
// 20 ms by default, once per operation: the hold is over after it. While
// any other worker runs, a root worker is a worker like any other.
func (s *Scope) StartRootWorker(ctx context.Context) (_ context.Context, end func()) {
	return s.startWorker(ctx, true)
}

func (s *Scope) startWorker(ctx context.Context, root bool) (context.Context, func()) {
	w := &worker{Context: ctx, s: s, root: root}
	now := time.Now()
	s.mu.Lock()
	s.tracked = true
	// A tick asleep while only root (or reserved) workers ran waits longer
	// than the watchdog that a worker of another kind brings back.
	wake := !root && s.running == s.rootsRunning
	w.countLocked(1)
	s.lastActivity, s.lastStart = now, now
	if wake {
		s.notifyLocked()
	}
	s.mu.Unlock()
	return w, w.end
}

// countLocked adds delta to the scope's count of running workers.
func (w *worker) countLocked(delta int) {
	w.s.running += delta
	if w.root {
		w.s.rootsRunning += delta
		if w.statements > 0 {
			w.s.rootsInStatements += delta
		}
	}
}

// runningLocked reports whether the worker counts as running: not done and
// not blocked in a load.
func (w *worker) runningLocked() bool { return !w.done && w.waiting == 0 }

// StartStatement reports that the worker that ctx identifies (see
// [Scope.StartWorker]) runs a database statement until end is called (later
// calls do nothing): work that ends by itself, without waiting for this
// scope's batches. The ORM adapters call it around the application's
// queries. It matters for root workers ([Scope.StartRootWorker]) only:
// while a hold of sibling sets lasts and every running worker is a root
// worker in a statement, the scope waits for them as it waits for
// reservations ([Scope.Reserve]: up to 20 watchdogs) instead of 4
// watchdogs, and the 4 watchdogs run again from the statement's end (never
// past the 20 from the first pending key or the last worker's start): a
// root field whose query a busy database answers late does not split the
// other root fields' batches. The watchdog of other workers is not
// changed. Without such a worker in ctx it does nothing.
func (s *Scope) StartStatement(ctx context.Context) (end func()) {
	w := s.workerFrom(ctx)
	if w == nil || !w.root {
		return noop
	}
	s.mu.Lock()
	w.statements++
	if w.statements == 1 && w.runningLocked() {
		s.rootsInStatements++
	}
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if w.statements == 1 && w.runningLocked() {
				s.rootsInStatements--
			}
			w.statements--
			// A hold's bound for root workers runs again from here: the
			// time in the statement does not count against it (the
			// watchdog of other workers, and the hold's whole wait, run
			// from the last start as before).
			now := time.Now()
			s.lastActivity = now
			if w.statements == 0 && w.runningLocked() && s.holdingLocked() {
				s.statementEnd = now
			}
			s.notifyLocked()
			s.mu.Unlock()
		})
	}
}

func noop() {}

// Reserve reports that a worker is about to start: integrations call it for
// work they know will run but whose goroutine may not have been scheduled
// yet (gqlgenloader: each root field of a query, before gqlgen starts it).
// Until release is called, pending batches wait for it; unlike a running
// worker, a reservation is known not to be blocked anywhere, so the
// watchdog ([WithMaxWait]) does not cut the wait short: the scope waits up
// to 20 times as long for reserved workers (100 ms by default; a bound, for
// a reservation that can only start when a loader's batch is over, such as
// one waiting for a worker limit's slot), and aliased root fields are one
// batch however late the scheduler starts them within that. Call release
// once the worker has started (StartWorker) or will not start; later calls
// do nothing. It switches the scope to tracked mode.
func (s *Scope) Reserve() (release func()) {
	s.mu.Lock()
	s.tracked = true
	s.reserved++
	s.lastActivity = time.Now()
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			now := time.Now()
			s.mu.Lock()
			s.reserved--
			s.lastActivity, s.lastStart = now, now
			s.notifyLocked()
			s.mu.Unlock()
		})
	}
}

// HoldSiblings makes [Loader.LoadWith] (and LoadWithThunk) leave its batch
// to the tick instead of dispatching it at once, from now until the first
// tick after release is called: for work that produces several sets of
// siblings whose keys should share batches. gqlgenloader holds it while the
// root fields of a query resolve: each root field's result is a set of its
// own (a: bands(first: 2) and b: bands(first: 10) load their albums as two
// sets), and a set's batch must not go before the other root fields have
// returned their rows and their fields have enqueued them, which the tick
// after the last root field has returned waits for. A key of a held batch
// loaded with siblings enqueues them in it, so that another set's keys join
// it (see [Loader.LoadExistingUnlessHeld]). The wait it adds is the tick's: until
// no worker runs, and at most one watchdog ([WithMaxWait]) for a worker
// blocked outside loaders, or 4 while only root workers run
// ([Scope.StartRootWorker]): a tick that the
// watchdog forces ends every hold of the scope, so that the levels below
// do not wait for the watchdog again. Release is idempotent.
func (s *Scope) HoldSiblings() (release func()) {
	s.mu.Lock()
	s.siblingHolds++
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.siblingHolds--
			s.holdsEnding++
			s.mu.Unlock()
		})
	}
}

// holdingLocked reports whether LoadWith must leave its batches to the tick
// (HoldSiblings).
func (s *Scope) holdingLocked() bool {
	return !s.holdsCut && (s.siblingHolds > 0 || s.holdsEnding > 0)
}

func (w *worker) end() {
	w.s.mu.Lock()
	w.endLocked()
	w.s.mu.Unlock()
}

func (w *worker) endLocked() {
	if w.done {
		return
	}
	s := w.s
	w.done = true
	if w.waiting == 0 {
		w.countLocked(-1)
	}
	s.lastActivity = time.Now()
	s.notifyLocked()
}

// Go runs fn(ctx) in a new goroutine as a tracked worker, so that the keys
// it loads are batched with those of the other workers of the scope. Like a
// go statement, Go does not wait for fn, and a panic in fn is not
// recovered; use a sync.WaitGroup or errgroup to wait. Start the workers
// from a worker (a resolver, or a goroutine that called StartWorker) so that
// the scope never sees "no worker running" before they have all started.
func (s *Scope) Go(ctx context.Context, fn func(ctx context.Context)) {
	ctx, end := s.StartWorker(ctx)
	go func() {
		defer end()
		fn(ctx)
	}()
}

// workerFrom returns the live worker of s that ctx identifies, or nil.
func (s *Scope) workerFrom(ctx context.Context) *worker {
	w, _ := ctx.Value(workerKey{}).(*worker)
	if w == nil || w.s != s {
		return nil
	}
	return w
}

// blockLocked and unblockLocked keep the running count while a worker waits
// in a load.
func (w *worker) blockLocked(f *flight) {
	if w.waiting == 0 && !w.done {
		w.countLocked(-1)
	}
	w.waiting++
	if w.on == nil {
		w.on = w.onBuf[:0]
	}
	w.on = append(w.on, f)
}

func (w *worker) unblockLocked(f *flight) {
	w.waiting--
	if w.waiting == 0 && !w.done {
		w.countLocked(1)
	}
	w.leaveLocked(f)
}

// leaveLocked removes one of the worker's parks on f from w.on (order does
// not matter there), if it has one.
func (w *worker) leaveLocked(f *flight) {
	if i := slices.Index(w.on, f); i >= 0 {
		last := len(w.on) - 1
		w.on[i] = w.on[last]
		w.on[last] = nil
		w.on = w.on[:last]
	}
}

// notifyLocked nudges the tick goroutine, if one sleeps.
func (s *Scope) notifyLocked() {
	select {
	case s.wake <- struct{}{}: // a nil channel (nobody ever slept) takes default
	default:
	}
}

type stateRef struct {
	cfg *loaderConfig
	st  any
}

// stateLocked returns the state of the loader with config cfg, or nil.
func (s *Scope) stateLocked(cfg *loaderConfig) any {
	for _, r := range s.states[:s.nstates] {
		if r.cfg == cfg {
			return r.st
		}
	}
	return s.moreStates[cfg]
}

func (s *Scope) addStateLocked(cfg *loaderConfig, st any) {
	if s.nstates < len(s.states) {
		s.states[s.nstates] = stateRef{cfg, st}
		s.nstates++
		return
	}
	if s.moreStates == nil {
		s.moreStates = make(map[*loaderConfig]any)
	}
	s.moreStates[cfg] = st
}

// pendingLocked records that d has a new pending key.
func (s *Scope) pendingLocked(d dispatcher, first bool, now time.Time) {
	if first {
		if len(s.ready) == 0 {
			s.firstKey = now
		}
		s.ready = append(s.ready, d)
	}
	s.lastActivity = now
	if !s.ticking {
		s.ticking = true
		s.batches.Add(1)
		go s.tick()
	}
}

// Dispatch starts every pending batch of the scope now, of every loader,
// without waiting for the tick: for code that knows it has enqueued every
// key it wants in them (with [Loader.LoadThunk], or loads it has started in
// other goroutines). It does not wait for the batches. Keys enqueued later
// go into new batches, which wait for the tick as usual.
//
// Dispatch may be called from any goroutine, batch functions and tracers
// included, at any time. With nothing pending it does nothing, so calling
// it twice is calling it once; on a closed scope nothing is pending (Close
// failed it).
func (s *Scope) Dispatch() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dispatchReadyLocked()
	s.notifyLocked() // a sleeping tick has nothing left to wait for
}

// dispatchReadyLocked starts every pending batch.
func (s *Scope) dispatchReadyLocked() {
	for _, d := range s.ready {
		d.dispatchLocked(s)
	}
	clear(s.ready)
	s.ready = s.ready[:0]
}

// unreadyLocked removes d from the ready list (its batch was dispatched
// because it was full).
func (s *Scope) unreadyLocked(d dispatcher) {
	for i, r := range s.ready {
		if r == d {
			s.ready = append(s.ready[:i], s.ready[i+1:]...)
			return
		}
	}
}

// tick waits until the pending batches should go, dispatches them, and
// returns when nothing is pending. One tick goroutine runs per scope at most.
func (s *Scope) tick() {
	defer s.batches.Done()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		s.mu.Lock()
		if s.closed || len(s.ready) == 0 {
			s.ticking = false
			s.mu.Unlock()
			return
		}
		now := time.Now()
		wait, sleep := s.untilDispatchLocked(now)
		if wait <= 0 {
			s.holdsEnding = 0 // the held sets are in: the next ones go at once
			if s.running > 0 && s.holdingLocked() {
				s.holdsCut = true // the watchdog: merging would cost a watchdog per level
			}
			s.dispatchReadyLocked()
			s.mu.Unlock()
			continue
		}
		if s.wake == nil && (sleep || wait >= spinLimit) {
			s.wake = make(chan struct{}, 1)
		}
		wake := s.wake
		s.mu.Unlock()
		if !sleep && wait < spinLimit {
			// Spin without the lock, which the loads need, until the
			// deadline; then look again (in tracked mode activity may
			// have moved it).
			for deadline := now.Add(wait); time.Now().Before(deadline); {
				runtime.Gosched()
			}
			continue
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-timer.C:
		case <-wake:
			timer.Stop()
		}
	}
}

// untilDispatchLocked returns how long the pending batches should still
// wait, and whether to sleep rather than spin because tracked workers run.
func (s *Scope) untilDispatchLocked(now time.Time) (wait time.Duration, sleep bool) {
	quietFor := s.cfg.quiet
	if s.holdsEnding > 0 {
		quietFor *= holdQuietFactor
	}
	quiet := quietFor - now.Sub(s.lastActivity)
	if !s.tracked {
		return min(quiet, s.cfg.window-now.Sub(s.firstKey)), false
	}
	// The watchdog bounds the wait for workers blocked outside loaders: it
	// runs from the first pending key, or from the last start of a worker
	// if later (a root field that started late must get its own chance to
	// load before the batch goes without it).
	watchdog := s.cfg.maxWait - now.Sub(later(s.firstKey, s.lastStart))
	if s.running > 0 {
		if s.running == s.rootsRunning && s.holdingLocked() {
			// Only root workers run, and a hold waits for them: as long as
			// for reservations if none of them can be waiting for the held
			// batches (a root field that has not started yet is one of
			// them, a root field in a statement runs), else 4 watchdogs.
			// The root bound runs from the last statement's end; the
			// whole wait never passes the reservations' bound.
			since := later(s.firstKey, s.lastStart)
			longest := reserveFactor*s.cfg.maxWait - now.Sub(since)
			if s.reserved > 0 || s.rootsInStatements == s.rootsRunning {
				return longest, true
			}
			return min(longest, rootFactor*s.cfg.maxWait-now.Sub(later(since, s.statementEnd))), true
		}
		return watchdog, true
	}
	if s.reserved > 0 {
		// Only reserved workers are left, and they cannot be blocked
		// anywhere: wait for them (their release wakes the tick) far longer
		// than the watchdog, but not forever (a reservation that waits for a
		// slot of a worker limit whose holders wait for this batch).
		return reserveFactor*s.cfg.maxWait - now.Sub(later(s.firstKey, s.lastStart)), true
	}
	return min(quiet, watchdog), false
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
