package dataloader_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ormloader/ormloader/dataloader"
)

// FuzzSchedule runs schedules of operations on two loaders of one scope —
// Load, LoadMany, LoadWith, LoadThunk, LoadWithThunk, Prime, PrimeMany,
// PrimeError, Set, Clear, ClearMany, ClearAll, Dispatch, cancelling a
// caller's context, batch errors, per-key errors, panics and wrong-length
// results of the batch function, slow batches and Close — from one to three
// goroutines, and checks every result against the contracts:
//
//   - a load returns its own key's value from a batch that fetched that key
//     (or a value primed or Set for that key), that key's per-key error (or
//     one primed for it), the batch error, panic or wrong-length error of a
//     batch that fetched that key, its own context's error, or
//     ErrScopeClosed once Close has started; never another key's value,
//     never a primed context error, never the second value that one
//     PrimeMany gave a key;
//   - once a value or a per-key error has been returned, a load that starts
//     later returns the same result unless a Clear, ClearMany or Set of that
//     key or a ClearAll may have run in between, and never that result once
//     one has (WithoutCache: a new result every time, nothing primed);
//   - a failed batch is never cached: a load that starts after another one
//     returned its failure does not get it again;
//   - loads that start after Close returned fail with ErrScopeClosed;
//   - the batch function never gets a key twice in one call, nor more keys
//     than WithMaxBatch; the scope's Stats count its calls and keys;
//   - every goroutine started during a schedule has ended once Close
//     returned (goleak), and the schedule finishes within a timeout.
//
// The seed corpus in testdata/fuzz/FuzzSchedule runs as a regular test
// with every go test. To search for failing schedules for longer:
//
//	go test -run '^$' -fuzz '^FuzzSchedule$' -fuzztime 10m ./dataloader
//
// A failure is written to testdata/fuzz/FuzzSchedule; keep it there with
// the fix. New interesting inputs go to the fuzz cache
// ($(go env GOCACHE)/fuzz/.../FuzzSchedule); copy a few into the corpus.
//
// Input format: byte 0 configures the scope and loaders (see
// decodeSchedule); then every two bytes are one operation: an op code
// (modulo numOpCodes) and an argument whose bit 0 selects the loader,
// bits 1-3 the key (0-7) and bits 4-7 the goroutine (modulo their number).
func FuzzSchedule(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		sc := decodeSchedule(data)
		ignore := goleak.IgnoreCurrent()
		r := newFuzzRun(sc)
		done := make(chan struct{})
		go func() {
			defer close(done)
			r.run()
		}()
		select {
		case <-done:
		case <-time.After(fuzzTimeout):
			buf := make([]byte, 1<<20)
			t.Fatalf("schedule did not finish within %v (a deadlock?): %+v\n%s", fuzzTimeout, sc, buf[:runtime.Stack(buf, true)])
		}
		r.check(t)
		goleak.VerifyNone(t, ignore)
	})
}

const (
	fuzzTimeout = 20 * time.Second
	maxFuzzOps  = 64
	fuzzKeys    = 8 // keys are 0..7
	// cacheKeyPanicKey is the key of loader 0 whose cache key function
	// panics.
	cacheKeyPanicKey = 7
	cacheKeyPanic    = "fuzz: cache key function panics"
	slowBatch        = 300 * time.Microsecond
)

type opCode uint8

const (
	opLoad          opCode = iota
	opLoadMany             // keys k, k^2, k: one duplicate
	opLoadWith             // siblings k, k^1
	opLoadThunk            // the thunk is called by opCallThunks or at the end
	opLoadWithThunk        // siblings k, k^1
	opCallThunks           // calls the goroutine's pending thunks, the first one twice
	opPrime
	opClear
	opClearAll
	opCancel      // cancels the current context of goroutine k (modulo their number)
	opFailBatch   // the next batch that fetches the key returns a batch error
	opFailKey     // ... returns a per-key error for the key
	opPanic       // ... panics
	opWrongLength // ... returns one value too few
	opSlow        // ... takes slowBatch (or until the scope's context is done)
	opClose       // closes the scope
	opYield       // key bit 0: sleep 100 µs; otherwise runtime.Gosched
	// The calls added after the seed corpus was first written come last, so
	// that the op bytes of old inputs (below 17) keep their meaning.
	opPrimeMany  // keys k, k^1, k: the second value of k is never cached
	opPrimeError // key primeCtxErrKey primes a context error, which is never cached
	opSet
	opClearMany // keys k, k^1
	opDispatch
	opHold       // key bit 0: 0 holds sibling sets (HoldSiblings), 1 releases the goroutine's oldest hold
	opRootWorker // the goroutine's next ops run in a root worker (StartRootWorker) until the next opRootWorker
	opReserve    // reserves a worker (Reserve) until the goroutine's next op, as gqlgenloader reserves a root field until it starts (key bit 0: 1 releases it twice)
	numOpCodes
)

// primeCtxErrKey is the key for which opPrimeError primes a context error.
const primeCtxErrKey = 5

var opNames = [...]string{"Load", "LoadMany", "LoadWith", "LoadThunk", "LoadWithThunk", "CallThunks", "Prime", "Clear",
	"ClearAll", "Cancel", "FailBatch", "FailKey", "Panic", "WrongLength", "Slow", "Close", "Yield",
	"PrimeMany", "PrimeError", "Set", "ClearMany", "Dispatch", "Hold", "RootWorker", "Reserve"}

func (c opCode) String() string { return opNames[c] }

type fuzzOp struct {
	code      opCode
	g, loader int
	key       int
}

func (o fuzzOp) String() string { return fmt.Sprintf("g%d:%v(L%d,%d)", o.g, o.code, o.loader, o.key) }

type schedule struct {
	goroutines int
	tracked    bool // the goroutines are tracked workers (Scope.Go)
	noCache1   bool // loader 1 is WithoutCache
	chained    bool // loader 1's batch function loads its keys from loader 0
	maxBatch0  bool // loader 0 is WithMaxBatch(2)
	shortWait  bool // WithMaxWait(200 µs): the watchdog fires often
	traced     bool // the scope has a tracer that wraps the batch context
	ops        []fuzzOp
}

// decodeSchedule decodes a fuzz input. Byte 0: bits 0-1 the number of
// goroutines (1-3), then one bit each for tracked, noCache1, chained,
// maxBatch0, shortWait and traced.
func decodeSchedule(data []byte) schedule {
	var cfg byte
	if len(data) > 0 {
		cfg, data = data[0], data[1:]
	}
	sc := schedule{
		goroutines: int(cfg&3)%3 + 1,
		tracked:    cfg&4 != 0,
		noCache1:   cfg&8 != 0,
		chained:    cfg&16 != 0,
		maxBatch0:  cfg&32 != 0,
		shortWait:  cfg&64 != 0,
		traced:     cfg&128 != 0,
	}
	for ; len(data) >= 2 && len(sc.ops) < maxFuzzOps; data = data[2:] {
		arg := data[1]
		sc.ops = append(sc.ops, fuzzOp{
			code:   opCode(data[0] % byte(numOpCodes)),
			g:      int(arg>>4) % sc.goroutines,
			loader: int(arg & 1),
			key:    int(arg>>1) & 7,
		})
	}
	return sc
}

// Flags set by the failure ops for the next batch that fetches a key.
const (
	flagBatchErr = 1 << iota
	flagKeyErr
	flagPanic
	flagWrongLength
	flagSlow
)

type fetchKind uint8

const (
	fetchOK fetchKind = iota // values and per-key errors: cached
	fetchBatchErr
	fetchPanic
	fetchWrongLength
)

// fetchRecord is one call of a batch function.
type fetchRecord struct {
	loader int
	keys   []int
	gens   []int  // per key: how many times the loader has fetched it, this one included
	keyErr []bool // per key: it got a per-key error
	kind   fetchKind
}

func (f *fetchRecord) index(k int) int { return slices.Index(f.keys, k) }

// fuzzBatchError is the batch error of fetch id.
type fuzzBatchError struct {
	id    int
	cause error // the scope's context error, for a slow batch cut short by Close
}

func (e *fuzzBatchError) Error() string { return fmt.Sprintf("batch %d failed (%v)", e.id, e.cause) }
func (e *fuzzBatchError) Unwrap() error { return e.cause }

// fuzzPanic is the panic value of fetch id.
type fuzzPanic struct{ id int }

// fuzzKeyError is the per-key error of key in the gen-th fetch of it.
type fuzzKeyError struct{ loader, key, gen int }

func (e *fuzzKeyError) Error() string {
	return fmt.Sprintf("loader %d key %d fetch %d failed", e.loader, e.key, e.gen)
}

// fuzzPrimedError is the error primed for key by the PrimeError at
// sequence number seq.
type fuzzPrimedError struct {
	loader, key int
	seq         int64
}

func (e *fuzzPrimedError) Error() string {
	return fmt.Sprintf("loader %d key %d primed error %d", e.loader, e.key, e.seq)
}

// fuzzPrimedCtxError is a context error that PrimeError was asked to prime.
type fuzzPrimedCtxError struct{}

func (fuzzPrimedCtxError) Error() string { return "primed context error" }
func (fuzzPrimedCtxError) Unwrap() error { return context.DeadlineExceeded }

// observation is one result returned by a load. Times are values of the
// run's sequence counter: a load whose enqStart is greater than another's
// end started after that one had returned.
type observation struct {
	g              int // -1: a load made by loader 1's batch function
	op             opCode
	loader, key    int
	opKeys         []int // every key the call named (siblings included)
	enqStart       int64 // before the call that enqueued the key
	enqEnd         int64 // after it
	end            int64 // after the result was returned
	val            string
	err            error
	ctxDone        bool // the load's context was done when it returned
	thunkCallIndex int  // 0, or 1 for the second call of a thunk
}

func (o *observation) String() string {
	return fmt.Sprintf("g%d %v(L%d,%d) [%d..%d..%d] = %q, %v", o.g, o.op, o.loader, o.key, o.enqStart, o.enqEnd, o.end, o.val, o.err)
}

// clearRecord is a call that may change a key's cached result: Clear,
// ClearMany, ClearAll or Set.
type clearRecord struct {
	loader, key int
	all         bool
	set         bool // Set: it replaces the result, it never lets the key be fetched again
	start, end  int64
}

func (c clearRecord) touches(loader, key int) bool {
	return c.loader == loader && (c.all || c.key == key)
}

type fuzzRun struct {
	sc      schedule
	s       *dataloader.Scope
	root    context.Context
	loaders [2]*dataloader.Loader[int, string]
	seq     atomic.Int64

	mu         sync.Mutex // guards everything below
	fetches    []fetchRecord
	gens       [2][fuzzKeys]int
	flags      [2][fuzzKeys]int
	primes     map[string]bool // values and errors primed or Set; false: never to be returned
	clears     []clearRecord
	obs        []*observation
	ctxs       []context.Context // each goroutine's current context
	cancels    []context.CancelFunc
	allCancels []context.CancelFunc
	closeStart int64 // the earliest start of a Close; 0: none
	closeEnd   int64 // the earliest end of a Close; 0: none
	stats      dataloader.Stats
	// running, roots and reserved are the scope's running workers, root
	// workers and reservations once everything has ended: 0.
	running, roots, reserved int
}

func newFuzzRun(sc schedule) *fuzzRun {
	r := &fuzzRun{sc: sc, primes: map[string]bool{}}
	var opts0 []dataloader.Option
	if sc.maxBatch0 {
		opts0 = append(opts0, dataloader.WithMaxBatch(2))
	}
	r.loaders[0] = dataloader.NewWithCacheKey(r.fetch(0), func(k int) int {
		if k == cacheKeyPanicKey {
			panic(cacheKeyPanic)
		}
		return k
	}, append(opts0, dataloader.WithName("L0"))...)
	opts1 := []dataloader.Option{dataloader.WithName("L1")}
	if sc.noCache1 {
		opts1 = append(opts1, dataloader.WithoutCache())
	}
	r.loaders[1] = dataloader.New(r.fetch(1), opts1...)
	scopeOpts := []dataloader.ScopeOption{dataloader.WithLogger(slog.New(slog.DiscardHandler))}
	if sc.shortWait {
		scopeOpts = append(scopeOpts, dataloader.WithMaxWait(200*time.Microsecond))
	}
	if sc.traced {
		scopeOpts = append(scopeOpts, dataloader.WithTracer(valueTracer{}))
	}
	r.root, r.s = dataloader.NewScope(context.Background(), scopeOpts...)
	return r
}

func (r *fuzzRun) cached(loader int) bool { return loader == 0 || !r.sc.noCache1 }

// fetch is loader l's batch function: key k's value in its n-th fetch is
// "L<l>:k<k>#<n>"; the flags set by the failure ops decide the outcome.
func (r *fuzzRun) fetch(l int) func(ctx context.Context, keys []int) ([]string, []error, error) {
	return func(ctx context.Context, keys []int) ([]string, []error, error) {
		if l == 1 && r.sc.chained {
			r.loadMany(ctx, -1, 0, keys) // a loader called from a loader
		}
		r.mu.Lock()
		id := len(r.fetches)
		rec := fetchRecord{loader: l, keys: slices.Clone(keys), gens: make([]int, len(keys)), keyErr: make([]bool, len(keys))}
		flags := 0
		for i, k := range keys {
			r.gens[l][k]++
			rec.gens[i] = r.gens[l][k]
			f := r.flags[l][k]
			r.flags[l][k] = 0
			flags |= f
			rec.keyErr[i] = f&flagKeyErr != 0
		}
		switch {
		case flags&flagPanic != 0:
			rec.kind = fetchPanic
		case flags&flagBatchErr != 0:
			rec.kind = fetchBatchErr
		case flags&flagWrongLength != 0:
			rec.kind = fetchWrongLength
		}
		r.fetches = append(r.fetches, rec)
		r.mu.Unlock()
		var cause error
		if flags&flagSlow != 0 {
			timer := time.NewTimer(slowBatch)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				cause = ctx.Err()
			}
		}
		if cause != nil && rec.kind != fetchPanic {
			r.mu.Lock()
			r.fetches[id].kind = fetchBatchErr
			r.mu.Unlock()
			return nil, nil, &fuzzBatchError{id: id, cause: cause}
		}
		switch rec.kind {
		case fetchPanic:
			panic(fuzzPanic{id})
		case fetchBatchErr:
			return nil, nil, &fuzzBatchError{id: id}
		}
		vals := make([]string, len(keys))
		var errs []error
		for i, k := range keys {
			vals[i] = fmt.Sprintf("L%d:k%d#%d", l, k, rec.gens[i])
			if rec.keyErr[i] {
				if errs == nil {
					errs = make([]error, len(keys))
				}
				errs[i] = &fuzzKeyError{l, k, rec.gens[i]}
			}
		}
		if rec.kind == fetchWrongLength {
			vals = vals[:len(vals)-1]
		}
		return vals, errs, nil
	}
}

func (r *fuzzRun) record(o *observation) {
	r.mu.Lock()
	r.obs = append(r.obs, o)
	r.mu.Unlock()
}

func (r *fuzzRun) loadMany(ctx context.Context, g, l int, keys []int) {
	start := r.seq.Add(1)
	vals, errs := r.loaders[l].LoadMany(ctx, keys)
	done := ctx.Err() != nil
	end := r.seq.Add(1)
	for i, k := range keys {
		o := &observation{g: g, op: opLoadMany, loader: l, key: k, opKeys: keys, enqStart: start, enqEnd: end, end: end, val: vals[i], ctxDone: done}
		if errs != nil {
			o.err = errs[i]
		}
		r.record(o)
	}
}

// ctxFor returns goroutine g's context, replacing it if it was cancelled.
func (r *fuzzRun) ctxFor(g int, base context.Context) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctxs[g] == nil || r.ctxs[g].Err() != nil {
		ctx, cancel := context.WithCancel(base)
		r.ctxs[g], r.cancels[g] = ctx, cancel
		r.allCancels = append(r.allCancels, cancel)
	}
	return r.ctxs[g]
}

type pendingThunk struct {
	obs   observation // the fields known when the key was enqueued
	ctx   context.Context
	thunk func() (string, error)
}

func (r *fuzzRun) run() {
	n := r.sc.goroutines
	r.ctxs, r.cancels = make([]context.Context, n), make([]context.CancelFunc, n)
	perG := make([][]fuzzOp, n)
	for _, op := range r.sc.ops {
		perG[op.g] = append(perG[op.g], op)
	}
	var wg sync.WaitGroup
	wg.Add(n)
	if r.sc.tracked {
		// Started from a worker, as resolvers are.
		ctx, end := r.s.StartWorker(r.root)
		for g := range n {
			r.s.Go(ctx, func(ctx context.Context) {
				defer wg.Done()
				r.goroutine(g, ctx, perG[g])
			})
		}
		end()
	} else {
		for g := range n {
			go func() {
				defer wg.Done()
				r.goroutine(g, r.root, perG[g])
			}()
		}
	}
	wg.Wait()
	r.close() // batches that siblings started may still run
	r.mu.Lock()
	for _, cancel := range r.allCancels {
		cancel()
	}
	r.mu.Unlock()
	r.stats = r.s.Stats()
	// Scope.Go ends its worker just after the function returns, which is
	// after its wg.Done: wait for that a little, as goleak does.
	for range 200 {
		if r.running, r.roots, r.reserved = dataloader.RunningForTest(r.s); r.running == 0 && r.roots == 0 && r.reserved == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// close closes the scope and records when.
func (r *fuzzRun) close() {
	start := r.seq.Add(1)
	r.mu.Lock()
	if r.closeStart == 0 || start < r.closeStart {
		r.closeStart = start
	}
	r.mu.Unlock()
	r.s.Close()
	end := r.seq.Add(1)
	r.mu.Lock()
	if r.closeEnd == 0 || end < r.closeEnd {
		r.closeEnd = end
	}
	r.mu.Unlock()
}

func (r *fuzzRun) goroutine(g int, base context.Context, ops []fuzzOp) {
	var (
		holds    []func()
		reserves []func()
		endRoot  func()
	)
	defer func() {
		for _, release := range holds {
			release()
		}
		for _, release := range reserves {
			release()
		}
		if endRoot != nil {
			endRoot()
		}
	}()
	var thunks []pendingThunk
	callThunks := func() {
		for i, p := range thunks {
			calls := 1
			if i == 0 {
				calls = 2 // a thunk may be called more than once
			}
			for c := range calls {
				v, err := p.thunk()
				done := p.ctx.Err() != nil
				o := p.obs
				o.end, o.val, o.err, o.ctxDone, o.thunkCallIndex = r.seq.Add(1), v, err, done, c
				r.record(&o)
			}
		}
		thunks = thunks[:0]
	}
	for _, op := range ops {
		for _, release := range reserves {
			release() // the reserved worker has started
		}
		reserves = reserves[:0]
		ctx := r.ctxFor(g, base)
		l, k := op.loader, op.key
		loader := r.loaders[l]
		switch op.code {
		case opLoad, opLoadWith:
			keys := []int{k}
			var siblings []int
			if op.code == opLoadWith {
				siblings = []int{k, k ^ 1}
				keys = siblings
			}
			start := r.seq.Add(1)
			var v string
			var err error
			if siblings != nil {
				v, err = loader.LoadWith(ctx, k, siblings)
			} else {
				v, err = loader.Load(ctx, k)
			}
			done := ctx.Err() != nil
			end := r.seq.Add(1)
			r.record(&observation{g: g, op: op.code, loader: l, key: k, opKeys: keys, enqStart: start, enqEnd: end, end: end, val: v, err: err, ctxDone: done})
		case opLoadMany:
			r.loadMany(ctx, g, l, []int{k, k ^ 2, k})
		case opLoadThunk, opLoadWithThunk:
			keys := []int{k}
			start := r.seq.Add(1)
			var thunk func() (string, error)
			if op.code == opLoadWithThunk {
				keys = []int{k, k ^ 1}
				thunk, _ = loader.LoadWithThunk(ctx, k, keys)
			} else {
				thunk = loader.LoadThunk(ctx, k)
			}
			end := r.seq.Add(1)
			thunks = append(thunks, pendingThunk{
				obs:   observation{g: g, op: op.code, loader: l, key: k, opKeys: keys, enqStart: start, enqEnd: end},
				ctx:   ctx,
				thunk: thunk,
			})
		case opCallThunks:
			callThunks()
		case opPrime:
			v := fmt.Sprintf("P%d:k%d:%d", l, k, r.seq.Add(1))
			r.mu.Lock()
			r.primes[v] = true
			r.mu.Unlock()
			loader.Prime(ctx, k, v)
		case opPrimeMany:
			keys := []int{k, k ^ 1, k}
			vals := make([]string, len(keys))
			r.mu.Lock()
			for i, pk := range keys {
				vals[i] = fmt.Sprintf("P%d:k%d:%d", l, pk, r.seq.Add(1))
				r.primes[vals[i]] = i < 2
			}
			r.mu.Unlock()
			loader.PrimeMany(ctx, keys, vals)
		case opPrimeError:
			var err error = &fuzzPrimedError{l, k, r.seq.Add(1)}
			if k == primeCtxErrKey {
				err = fuzzPrimedCtxError{}
			}
			r.mu.Lock()
			r.primes[err.Error()] = k != primeCtxErrKey
			r.mu.Unlock()
			loader.PrimeError(ctx, k, err)
		case opSet:
			start := r.seq.Add(1)
			v := fmt.Sprintf("P%d:k%d:%d", l, k, start)
			r.mu.Lock()
			r.primes[v] = true
			r.mu.Unlock()
			loader.Set(ctx, k, v)
			end := r.seq.Add(1)
			r.mu.Lock()
			r.clears = append(r.clears, clearRecord{loader: l, key: k, set: true, start: start, end: end})
			r.mu.Unlock()
		case opClear, opClearAll, opClearMany:
			start := r.seq.Add(1)
			switch op.code {
			case opClear:
				loader.Clear(ctx, k)
			case opClearMany:
				loader.ClearMany(ctx, []int{k, k ^ 1})
			default:
				loader.ClearAll(ctx)
			}
			end := r.seq.Add(1)
			r.mu.Lock()
			r.clears = append(r.clears, clearRecord{loader: l, key: k, all: op.code == opClearAll, start: start, end: end})
			if op.code == opClearMany {
				r.clears = append(r.clears, clearRecord{loader: l, key: k ^ 1, start: start, end: end})
			}
			r.mu.Unlock()
		case opDispatch:
			r.s.Dispatch()
		case opHold:
			if k&1 == 0 {
				holds = append(holds, r.s.HoldSiblings())
			} else if len(holds) > 0 {
				holds[0]()
				holds = holds[1:]
			}
		case opReserve:
			release := r.s.Reserve()
			if k&1 != 0 {
				once := release
				release = func() {
					once()
					once() // a second call does nothing
				}
			}
			reserves = append(reserves, release)
		case opRootWorker:
			if endRoot != nil {
				endRoot()
				endRoot = nil
				break
			}
			var rctx context.Context
			rctx, endRoot = r.s.StartRootWorker(ctx)
			cctx, cancel := context.WithCancel(rctx)
			r.mu.Lock()
			r.ctxs[g], r.cancels[g] = cctx, cancel
			r.allCancels = append(r.allCancels, cancel)
			r.mu.Unlock()
		case opCancel:
			r.mu.Lock()
			cancel := r.cancels[k%r.sc.goroutines]
			r.mu.Unlock()
			if cancel != nil {
				cancel()
			}
		case opFailBatch, opFailKey, opPanic, opWrongLength, opSlow:
			flag := map[opCode]int{opFailBatch: flagBatchErr, opFailKey: flagKeyErr, opPanic: flagPanic, opWrongLength: flagWrongLength, opSlow: flagSlow}[op.code]
			r.mu.Lock()
			r.flags[l][k] |= flag
			r.mu.Unlock()
		case opClose:
			r.close()
		case opYield:
			if k&1 != 0 {
				time.Sleep(100 * time.Microsecond)
			} else {
				runtime.Gosched()
			}
		}
	}
	callThunks()
}

// outcome classifies a result for the pairwise checks.
type outcome uint8

const (
	outAnswer  outcome = iota // a value or a per-key error: cached
	outFailure                // a failed batch: never cached
	outOther                  // the caller's context, the scope closing, a cache key panic
)

// classify checks that o is a result the contracts allow, and returns its
// outcome and a description that identifies it (the batch, the value).
func (r *fuzzRun) classify(o *observation) (outcome, string, error) {
	l, k := o.loader, o.key
	fetchOf := func(id int) (*fetchRecord, int, error) {
		if id < 0 || id >= len(r.fetches) {
			return nil, 0, fmt.Errorf("no batch %d", id)
		}
		f := &r.fetches[id]
		i := f.index(k)
		if f.loader != l || i < 0 {
			return nil, 0, fmt.Errorf("batch %d (loader %d, keys %v) did not fetch this key: another key's result", id, f.loader, f.keys)
		}
		return f, i, nil
	}
	// genOf finds the fetch in which loader l fetched k for the gen-th time.
	genOf := func(gen int) (*fetchRecord, int, error) {
		for id := range r.fetches {
			f := &r.fetches[id]
			if i := f.index(k); f.loader == l && i >= 0 && f.gens[i] == gen {
				return f, i, nil
			}
		}
		return nil, 0, fmt.Errorf("no fetch %d of loader %d key %d", gen, l, k)
	}
	var (
		be  *fuzzBatchError
		pe  *dataloader.PanicError
		ke  *dataloader.KeyError
		fke *fuzzKeyError
		fpe *fuzzPrimedError
	)
	switch err := o.err; {
	case err == nil:
		var vl, vk, gen, seq int
		if _, perr := fmt.Sscanf(o.val, "L%d:k%d#%d", &vl, &vk, &gen); perr == nil {
			if vl != l || vk != k {
				return 0, "", errors.New("another key's value")
			}
			f, i, err := genOf(gen)
			if err != nil {
				return 0, "", err
			}
			if f.kind != fetchOK || f.keyErr[i] {
				return 0, "", fmt.Errorf("a value from a batch that failed for this key (%+v)", *f)
			}
			return outAnswer, "value " + o.val, nil
		}
		if _, perr := fmt.Sscanf(o.val, "P%d:k%d:%d", &vl, &vk, &seq); perr == nil {
			if vl != l || vk != k {
				return 0, "", errors.New("a value primed for another key")
			}
			if !r.primes[o.val] {
				return 0, "", errors.New("the second value that PrimeMany gave a key (the first one wins)")
			}
			if !r.cached(l) {
				return 0, "", errors.New("a primed value from a loader without cache")
			}
			return outAnswer, "value " + o.val, nil
		}
		return 0, "", errors.New("not a value of this loader")
	case errors.As(err, &be):
		f, _, ferr := fetchOf(be.id)
		if ferr != nil {
			return 0, "", ferr
		}
		if f.kind != fetchBatchErr {
			return 0, "", fmt.Errorf("batch %d did not fail", be.id)
		}
		return outFailure, fmt.Sprintf("batch error %d", be.id), nil
	case errors.As(err, &pe):
		switch v := pe.Value.(type) {
		case fuzzPanic:
			f, _, ferr := fetchOf(v.id)
			if ferr != nil {
				return 0, "", ferr
			}
			if f.kind != fetchPanic || pe.Loader != fmt.Sprintf("L%d", l) {
				return 0, "", fmt.Errorf("batch %d did not panic, or the error names loader %q", v.id, pe.Loader)
			}
			return outFailure, fmt.Sprintf("panic %d", v.id), nil
		case string:
			if v != cacheKeyPanic || l != 0 || !slices.Contains(o.opKeys, cacheKeyPanicKey) {
				return 0, "", errors.New("a cache key panic for keys whose cache key cannot panic")
			}
			return outOther, "cache key panic", nil
		}
		return 0, "", errors.New("unknown panic value")
	case errors.As(err, &ke):
		if !errors.Is(err, dataloader.ErrWrongLength) || ke.Key != k || ke.Loader != fmt.Sprintf("L%d", l) {
			return 0, "", errors.New("a key error for another key or loader")
		}
		for id := range r.fetches {
			if f := &r.fetches[id]; f.loader == l && f.index(k) >= 0 && f.kind == fetchWrongLength {
				return outFailure, "wrong length", nil
			}
		}
		return 0, "", errors.New("a wrong-length error but no such batch fetched this key")
	case errors.As(err, &fke):
		if fke.loader != l || fke.key != k {
			return 0, "", errors.New("another key's per-key error")
		}
		f, i, ferr := genOf(fke.gen)
		if ferr != nil {
			return 0, "", ferr
		}
		if f.kind != fetchOK || !f.keyErr[i] {
			return 0, "", errors.New("a per-key error that the batch did not return")
		}
		return outAnswer, "key error " + err.Error(), nil
	case errors.As(err, &fpe):
		if fpe.loader != l || fpe.key != k || !r.primes[err.Error()] {
			return 0, "", errors.New("an error primed for another key")
		}
		if !r.cached(l) {
			return 0, "", errors.New("a primed error from a loader without cache")
		}
		return outAnswer, "primed error " + err.Error(), nil
	case errors.As(err, new(fuzzPrimedCtxError)):
		return 0, "", errors.New("a primed context error: PrimeError must not cache it")
	case errors.Is(err, dataloader.ErrScopeClosed):
		if r.closeStart == 0 || r.closeStart > o.end {
			return 0, "", errors.New("ErrScopeClosed before Close")
		}
		return outOther, "closed", nil
	case errors.Is(err, context.Canceled):
		if !o.ctxDone {
			return 0, "", errors.New("a context error, but the caller's context is not done")
		}
		return outOther, "cancelled", nil
	}
	return 0, "", errors.New("unexpected error")
}

func (r *fuzzRun) check(t *testing.T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("schedule %+v:\n"+format, append([]any{r.sc}, args...)...)
	}
	if r.running != 0 || r.roots != 0 || r.reserved != 0 {
		fail("after every worker ended, %d workers run, %d of them root workers, and %d are reserved", r.running, r.roots, r.reserved)
	}
	// The batch functions.
	keys := 0
	largest := 0
	for id, f := range r.fetches {
		keys += len(f.keys)
		largest = max(largest, len(f.keys))
		for i, k := range f.keys {
			if slices.Index(f.keys, k) != i {
				fail("batch %d got key %d twice: %v", id, k, f.keys)
			}
		}
		if r.sc.maxBatch0 && f.loader == 0 && len(f.keys) > 2 {
			fail("batch %d has %d keys, more than WithMaxBatch(2)", id, len(f.keys))
		}
	}
	if st := r.stats; st.Batches != int64(len(r.fetches)) || st.Keys != int64(keys) || st.LargestBatch != largest {
		fail("stats %+v, but the batch functions ran %d times with %d keys (largest %d)", st, len(r.fetches), keys, largest)
	}
	clearsOf := func(l, k int) (n int) {
		for _, c := range r.clears {
			if c.touches(l, k) && !c.set {
				n++
			}
		}
		return n
	}
	// A value or per-key error stays cached until cleared: each cached
	// result of a key but the last was removed by a distinct Clear or
	// ClearAll.
	for l := range 2 {
		if !r.cached(l) {
			continue
		}
		for k := range fuzzKeys {
			answers := 0
			for _, f := range r.fetches {
				if f.loader == l && f.index(k) >= 0 && f.kind == fetchOK {
					answers++
				}
			}
			if c := clearsOf(l, k); answers > c+1 {
				fail("loader %d fetched key %d successfully %d times with %d clears: a cached result was fetched again", l, k, answers, c)
			}
		}
	}
	// Every result on its own.
	type classified struct {
		o    *observation
		out  outcome
		desc string
	}
	byKey := map[[2]int][]classified{}
	for _, o := range r.obs {
		out, desc, err := r.classify(o)
		if err != nil {
			fail("%v: %v", o, err)
		}
		if r.closeEnd != 0 && o.enqStart > r.closeEnd && out != outOther {
			fail("%v: a load after Close returned %s, want ErrScopeClosed", o, desc)
		}
		byKey[[2]int{o.loader, o.key}] = append(byKey[[2]int{o.loader, o.key}], classified{o, out, desc})
	}
	// Results in pairs: b started after a returned.
	for lk, cs := range byKey {
		l, k := lk[0], lk[1]
		for _, a := range cs {
			for _, b := range cs {
				if b.o.thunkCallIndex == 1 && a.o.g == b.o.g && a.o.enqStart == b.o.enqStart && a.o.thunkCallIndex == 0 {
					if a.out != outOther && b.out != outOther && a.desc != b.desc {
						fail("a thunk called twice returned %s, then %s", a.desc, b.desc)
					}
					continue
				}
				if a.o.end >= b.o.enqStart || b.out == outOther {
					continue
				}
				switch a.out {
				case outFailure:
					if a.desc == b.desc && a.desc != "wrong length" {
						fail("a failed batch was cached:\n%v\nthen %v", a.o, b.o)
					}
				case outAnswer:
					if !r.cached(l) {
						if a.desc == b.desc {
							fail("a loader without cache returned a cached result:\n%v\nthen %v", a.o, b.o)
						}
						continue
					}
					mayClear := slices.ContainsFunc(r.clears, func(c clearRecord) bool {
						return c.touches(l, k) && c.end > a.o.enqStart && c.start < b.o.enqEnd
					})
					if !mayClear && a.desc != b.desc {
						fail("a cached result changed without a Clear or Set:\n%v\nthen %v", a.o, b.o)
					}
					// A result returned before a Clear (or Set) started was
					// resolved, so the Clear forgot it (the Set replaced it).
					cleared := slices.ContainsFunc(r.clears, func(c clearRecord) bool {
						return c.touches(l, k) && c.start > a.o.end && c.end < b.o.enqStart
					})
					if cleared && a.desc == b.desc {
						fail("a cleared result was returned again:\n%v\nthen %v", a.o, b.o)
					}
				}
			}
		}
	}
}
