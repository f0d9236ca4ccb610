// Package gqlgenloader connects gqlgen servers to package dataloader and so
// to the ORM adapters built on it (gormloader, entloader). Install it once:
//
//	srv := handler.New(graph.NewExecutableSchema(cfg))
//	srv.AddTransport(transport.POST{})
//	srv.Use(gqlgenloader.New(gqlgenloader.WithContext(func(ctx context.Context) context.Context {
//		return gormloader.WithDB(ctx, db) // GORM: where the generated LoadX methods find the db
//	})))
//
// and a resolver that loads a relation is one call: return obj.LoadAlbums(ctx).
//
// # Scopes
//
// Every query or mutation runs in its own [dataloader.Scope], opened around
// the operation before any resolver runs and closed when the operation's last
// response has been produced: after the only response of a plain query or
// mutation, and after the last deferred response of a query using @defer
// (whose deferred resolvers run after the first response and use the same
// scope). If a transport stops reading responses early, the scope is closed
// when the operation's context is done (for HTTP, when the request ends).
//
// Applications that set up per-request state in HTTP middleware can open the
// scope there instead, with [Extension.Middleware]: then the whole HTTP
// request shares one scope, and the extension uses it for the request's
// queries and mutations.
//
// A subscription gets a new scope for every event, so an event never sees a
// result cached for an earlier one. The subscription resolver itself (the one
// returning the channel) runs without a scope: a goroutine it starts outlives
// any event, so its loads are unbatched (see package dataloader) unless it
// opens a scope of its own.
//
// Batch functions run under the operation's context (its values, such as
// the viewer or what [WithContext] added, are visible), never under a
// resolver's field context.
//
// # Resolver tracking
//
// Every resolver that may load (a resolver method, a method on the model, or a
// field with directives) runs as a tracked worker of the scope
// ([dataloader.Scope.StartWorker]), ended when it returns, panics included.
// The scope dispatches its pending batches as soon as no tracked resolver is
// running (each one has finished or is blocked in a load) and a short quiet
// period has passed, so a level of the query costs no fixed wait. Plain
// struct fields are not tracked: they cannot load.
//
// A field with a gqlgen batch resolver (batch: true in gqlgen.yml) is
// resolved with one call for the elements of a list; gqlgen starts the
// field for each element and all but one wait for that call. The extension
// tracks only the element that makes it (see [Extension.MutateOperationContext]), so
// a batch resolver that loads costs no watchdog wait. It finds the batch
// fields when it is installed ([Extension.Validate]), from the generated
// resolver interfaces: a method whose argument after the context is a slice
// of parents. An extension installed on several servers knows the batch
// fields of all their schemas.
//
// The root fields of a query are held together: the scope reserves a
// worker for each from the start of the operation until its resolver runs
// (dataloader.Scope.Reserve; up to 20 watchdogs, 100 ms by default), so
// aliased lookups (a: band(id: 1) b: band(id: 2)) are one batch whatever the
// goroutines' timing, also on a busy machine. Root fields that return lists
// (a: bands(first: 2) b: bands(first: 10)) are two load sets, each of which
// would send its relation batches at once; in a query of several root
// fields the extension holds the sets (dataloader.Scope.HoldSiblings) until
// every root field has returned and the fields of their values that may
// load have started (resolvers and methods, learned from the fields it
// tracked there in earlier queries of several root fields; a field resolved
// in line with a directive ends that wait), and the tick
// after that, with ten times the quiet period, sends one batch per relation
// for all of them (see "Root fields of a query" in the source, and
// BENCHMARKS.md for the share of requests at the floor). The root fields'
// resolvers and those gaps are root workers (dataloader.Scope.StartRootWorker):
// while only they run, the hold waits for them up to 4 watchdogs (20 ms by
// default) instead of one, so that a busy machine does not split the
// batches — up to 20 (100 ms) while a root field has not started yet or
// every running root resolver is in a database statement, which the ORM
// adapters report (dataloader.Scope.StartStatement); a root field still
// running after that ends the hold, so that the levels below the other root
// fields do not wait for it again.
//
// The tracking runs around every field interceptor of the server, wherever
// srv.Use installs the extension (it wraps each operation's field
// middleware: [Extension.MutateOperationContext]): what an interceptor does
// for a field, loads and waits included, counts as the field's, and a field
// that an interceptor answers without calling the resolver has still
// started.
//
// Below the root, gqlgen starts the resolvers of list
// elements and child fields only after the parent resolver has returned;
// the quiet period ([dataloader.DefaultQuietPeriod]) bridges that gap, and the
// ORM adapters' load sets make relation loads one statement per level
// whatever the timing.
//
// gqlgen's worker limit (exec.worker_limit in gqlgen.yml) cannot stall the
// scope: elements waiting for a worker slot have not started, so they are not
// tracked, and the elements holding the slots are blocked in loads, which lets
// their batch go. A list longer than the limit is then loaded in one batch per
// wave of elements, unless its loads name their siblings, as the ORM
// adapters' load sets do (one batch).
package gqlgenloader

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ormloader/ormloader/dataloader"
)

// Extension is the gqlgen handler extension; install it with srv.Use.
// It is safe for concurrent use by all operations of a server.
type Extension struct {
	contexts  []func(context.Context) context.Context
	scopeOpts []dataloader.ScopeOption

	// batch holds the fields that gqlgen resolves with batch resolvers,
	// read from the schema's resolver interfaces by Validate, which gqlgen
	// calls when the extension is installed, before any operation runs.
	batch batchFields

	// loading holds the fields (fieldKey) that have run as tracked workers
	// below the root fields of queries of several root fields: the fields
	// that may load, which a root field's gap waits for.
	loading sync.Map
}

// fieldKey names a field of an object type.
type fieldKey struct{ object, field string }

// learnLoading records that field k may load: it runs as a tracked worker.
func (e *Extension) learnLoading(k fieldKey) {
	if _, known := e.loading.Load(k); !known {
		e.loading.Store(k, struct{}{})
	}
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
	graphql.RootFieldInterceptor
	graphql.OperationContextMutator
} = (*Extension)(nil)

// Option configures an Extension.
type Option func(*Extension)

// New returns the extension: srv.Use(gqlgenloader.New()).
func New(opts ...Option) *Extension {
	e := &Extension{}
	for _, o := range opts {
		o(e)
	}
	return e
}

// WithContext adds f to the functions applied, in order, to every
// operation's context before its scope opens. Use it for what the batch
// functions need from the context, such as gormloader.WithDB; it runs for
// subscriptions too, once per subscription.
func WithContext(f func(ctx context.Context) context.Context) Option {
	return func(e *Extension) {
		if f != nil {
			e.contexts = append(e.contexts, f)
		}
	}
}

// WithScopeOptions passes opts to every scope the extension opens: a tracer
// (dataloader.WithTracer), a logger, the tick's timings.
func WithScopeOptions(opts ...dataloader.ScopeOption) Option {
	return func(e *Extension) { e.scopeOpts = append(e.scopeOpts, opts...) }
}

// ExtensionName implements graphql.HandlerExtension.
func (*Extension) ExtensionName() string { return "ormloader" }

// Validate implements graphql.HandlerExtension: it finds the schema's batch
// resolvers (see [Extension.MutateOperationContext]).
func (e *Extension) Validate(es graphql.ExecutableSchema) error {
	e.batch.add(es)
	return nil
}

// InterceptOperation implements graphql.OperationInterceptor: it opens the
// operation's scope (one per event for subscriptions) and closes it after the
// last response.
func (e *Extension) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if op := graphql.GetOperationContext(ctx).Operation; op != nil && op.Operation == ast.Subscription {
		return e.perEvent(next(e.withContexts(ctx)))
	}
	if scope, ok := ctx.Value(requestKey{e}).(*dataloader.Scope); ok && scope == dataloader.FromContext(ctx) {
		// The scope of Middleware: it is closed when the HTTP request ends.
		return holdRoots(scope, graphql.GetOperationContext(ctx), next(ctx))
	}
	// Otherwise a scope of the operation's own, also below the scope of a
	// websocket connection's request (Middleware leaves that one to the
	// handler chain).
	ctx = e.withContexts(ctx)
	ctx, scope := dataloader.NewScope(ctx, e.scopeOpts...)
	// Safety net for transports that stop reading before the last response
	// (a POST request with @defer reads only the first): the deferred
	// resolvers still run in this scope until the request is over.
	stop := context.AfterFunc(ctx, scope.Close)
	responses := holdRoots(scope, graphql.GetOperationContext(ctx), next(ctx))
	return func(ctx context.Context) (resp *graphql.Response) {
		last := true // also when responses panics
		defer func() {
			if last {
				stop()
				scope.Close()
			}
		}()
		resp = responses(ctx)
		last = resp == nil || resp.HasNext == nil || !*resp.HasNext
		return resp
	}
}

func (e *Extension) withContexts(ctx context.Context) context.Context {
	for _, f := range e.contexts {
		ctx = f(ctx)
	}
	return ctx
}

// holdRoots returns responses with the root fields of a query held
// together (see startRoots) while its first response is produced.
func holdRoots(scope *dataloader.Scope, opCtx *graphql.OperationContext, responses graphql.ResponseHandler) graphql.ResponseHandler {
	if opCtx.Operation == nil || opCtx.Operation.Operation != ast.Query {
		return responses
	}
	first := true
	return func(ctx context.Context) *graphql.Response {
		if first {
			first = false
			var roots *pendingRoots
			ctx, roots = startRoots(ctx, scope, opCtx)
			defer roots.endAll()
		}
		return responses(ctx)
	}
}

type requestKey struct{ e *Extension }

// Middleware returns HTTP middleware that opens the scope per HTTP request
// instead of per operation, for applications that set up per-request state
// in HTTP middleware: code that runs in the handler chain after it (loading
// the viewer, a REST handler, the GraphQL handler) shares the request's
// scope, its batches and its cache. Install it after the middleware that
// puts the viewer or tenant into the request context (batches run under the
// scope's context, so values added to the context after the scope opened
// are not seen by them), and keep srv.Use(e) on the gqlgen server: the
// extension still tracks the resolvers and, for a request that the
// middleware scoped, uses its scope instead of opening one. The functions
// given to WithContext run in the middleware, before the scope opens.
//
// Subscriptions still get a scope of their own per event, and every
// operation sent over a websocket (a request that upgrades the connection)
// a scope of its own: a connection that lasts for hours must not cache for
// all of it. The request's scope then holds only what the handler chain
// loaded when the client connected. The scope is closed when the handler
// returns. A batched HTTP request of several operations shares one scope.
//
//	ext := gqlgenloader.New()
//	srv.Use(ext)
//	http.Handle("/query", auth(ext.Middleware(srv)))
func (e *Extension) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, scope := dataloader.NewScope(e.withContexts(r.Context()), e.scopeOpts...)
		defer scope.Close()
		if !isWebsocket(r) {
			ctx = context.WithValue(ctx, requestKey{e}, scope)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// isWebsocket reports whether r asks to upgrade its connection to a
// websocket, whose operations come over it for as long as it lasts.
func isWebsocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// perEvent gives every response of a subscription, that is every event, a
// scope of its own.
func (e *Extension) perEvent(responses graphql.ResponseHandler) graphql.ResponseHandler {
	return func(ctx context.Context) *graphql.Response {
		ctx, scope := dataloader.NewScope(ctx, e.scopeOpts...)
		defer scope.Close()
		return responses(ctx)
	}
}

// MutateOperationContext implements graphql.OperationContextMutator: it
// wraps the operation's field middleware (every FieldInterceptor of the
// server, whatever their order of installation) so that every field that may
// load runs as a tracked worker of the operation's scope (trackField).
//
// The extension is not a graphql.FieldInterceptor: gqlgen's chain of field
// interceptors allocates a closure for every field of every row, plain
// struct fields included (BENCHMARKS.md measures that toll), while this
// wrapper costs a plain field one call and no allocation.
func (e *Extension) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	inner := oc.ResolverMiddleware
	oc.ResolverMiddleware = func(ctx context.Context, next graphql.Resolver) (any, error) {
		return e.trackField(ctx, inner, next)
	}
	return nil
}

// trackField resolves a field through inner (the server's field
// interceptors) and next, as a tracked worker if the field may load.
//
// A field with a gqlgen batch resolver (batch: true in gqlgen.yml) is
// resolved once for the elements of a list: gqlgen still starts the field
// for every element, and all but one wait for that one's call. Only that
// one is tracked; the others wait here, untracked, until it has returned,
// so that they do not hold the scope's batches back while its resolver
// waits in a load.
func (e *Extension) trackField(ctx context.Context, inner graphql.FieldMiddleware, next graphql.Resolver) (any, error) {
	// Most fields are plain struct fields: decide that before looking up
	// the scope through the whole context chain.
	fc := graphql.GetFieldContext(ctx)
	if !mayLoad(fc) {
		return inner(ctx, next)
	}
	scope := dataloader.FromContext(ctx)
	if scope == nil {
		return inner(ctx, next)
	}
	if group := e.batch.group(ctx, fc); group != nil {
		done, first := batchCall(scope, group, fc)
		if !first {
			<-done
			return inner(ctx, next) // gqlgen returns this element's share of the call
		}
		defer close(done)
	}
	root, _ := ctx.Value(rootKey{}).(*rootField)
	var end func()
	if root != nil && root.hold && fc.Parent != nil && fc.Parent.Parent == nil {
		ctx, end = scope.StartRootWorker(ctx) // a root field's resolver, which the hold waits for
	} else {
		ctx, end = scope.StartWorker(ctx)
	}
	defer end() // a panicking resolver ends too; gqlgen recovers it above us
	if root != nil {
		if fc.Parent == nil || fc.Parent.Parent != nil {
			// A field below the root field. In a query of several root
			// fields, the resolvers and methods that run here are the
			// fields a gap waits for.
			if root.hold && fc.Field.Field != nil && (fc.IsResolver || fc.IsMethod) {
				e.learnLoading(fieldKey{fc.Object, fc.Field.Name})
			}
			root.childStarted(fc)
		} else {
			root.handOff() // this root field's resolver now runs as a worker of its own
			defer root.returned(ctx, scope)
		}
	}
	return inner(ctx, next)
}

// Root fields of a query.
//
// gqlgen starts the root fields of a query in goroutines of their own, and
// the first root field may block in a load before the goroutine of the next
// one has started, so the scope would see no running worker and dispatch a
// batch without the next field's keys (a: band(id: 1) b: band(id: 2) would
// be two statements). So before a query runs, one worker per root field is
// reserved on its behalf (dataloader.Scope.Reserve: the watchdog does not
// cut a reservation short, so a goroutine the scheduler starts late on a
// busy machine still joins the batch); each is released when that root
// field's resolver has started its own worker (or when the root field is
// over, if it never does), and all are released when the execution is.
//
// Each root field's result is a load set of its own: with a: bands(first:
// 2) and b: bands(first: 10), the first album load of a's bands would
// dispatch the albums of a's two bands at once, before b's resolver had
// returned its rows, and b's would be a second statement. So a query of
// several root fields holds the scope's sibling sets
// (dataloader.Scope.HoldSiblings) until every root field's resolver has
// returned: the albums of both sets go in one batch, at the tick after.
// Between a root field's return and the start of the fields below it
// gqlgen runs untracked (it marshals the result and starts the fields'
// goroutines), and that tick would come too early: under a hold that gap
// counts as a running worker too, a root worker like the root fields'
// resolvers (dataloader.Scope.StartRootWorker: while only root workers run,
// the hold waits for them up to 4 watchdogs, as a busy machine starts the
// fields' goroutines late). The gap lasts until each field of
// the root field's value that may load has started once (a: bands { label
// members }: label and members; the first load of each enqueues its whole
// set): when it ended at the first of them, a busy scheduler started
// members after the tick, and members was a second batch. Which fields may
// load the extension learns from those it tracked there before: resolvers
// and methods, which gqlgen runs in goroutines of their own (a field that
// has not run yet is not waited for). A field of the root field's value that
// gqlgen resolves in line and that the extension tracks (one with a
// directive other than @include and @skip, which gqlgen applies itself)
// ends the gap: gqlgen starts the element's resolvers only after such
// fields, and it may load. Fields further below
// are not waited for: one below a null, an empty list or a failed field
// never starts. Without such fields, the gap ends when any field below the
// root field starts. A root field's resolver that waits, outside loaders,
// for a batch that the hold keeps (a lookup that the root fields share
// behind a sync.Once, goroutines started with Scope.Go and waited for)
// costs the 4 watchdogs once per operation.

type rootKey struct{}

// rootField is what the fields of a root field find in their context: the
// release of its reservation, what to call when its resolver has returned,
// and the worker that covers the gap before the first field below it
// starts.
type rootField struct {
	handOff, resolved func()
	hold              bool // the operation holds sibling sets; never changes
	gapOver           atomic.Bool
	mu                sync.Mutex // protects gapEnd and expect
	gapEnd            func()     // ends the gap's worker; nil if it is not running
	// expect holds the aliases of the fields of the root field's value
	// that the gap waits for (expectFields). Empty: the gap ends when any
	// field below the root field starts.
	expect map[string]struct{}
}

// returned reports the root field's resolver as returned; under a hold it
// first starts the gap's worker, once (an interceptor may call the resolver
// twice), which runs until a field below the root field starts.
func (r *rootField) returned(ctx context.Context, scope *dataloader.Scope) {
	if r.hold {
		r.mu.Lock()
		if r.gapEnd == nil && !r.gapOver.Load() {
			_, r.gapEnd = scope.StartRootWorker(ctx)
		}
		r.mu.Unlock()
	}
	r.resolved()
}

// childStarted ends the gap's worker, if any, once every expected field
// below the root field has run as a worker (fc, when not nil, is a field
// that runs; nil: the root field is over); once the gap is over it is one
// atomic load.
func (r *rootField) childStarted(fc *graphql.FieldContext) {
	if !r.hold || r.gapOver.Load() {
		return
	}
	r.mu.Lock()
	if fc != nil && len(r.expect) > 0 {
		alias, ok := childOfRoot(fc)
		if ok && !fc.IsResolver && !fc.IsMethod {
			// A field of the root field's value that gqlgen resolves in
			// line (one with a directive): the element's resolvers start
			// only after it, and it may load. The gap ends with it.
			clear(r.expect)
		}
		delete(r.expect, alias)
		if len(r.expect) > 0 {
			r.mu.Unlock()
			return
		}
	}
	end := r.gapEnd
	r.gapEnd = nil
	r.gapOver.Store(true)
	r.mu.Unlock()
	if end != nil {
		end()
	}
}

// childOfRoot returns fc's alias if fc is a field of the root field's value
// (of an element of it, for a list): its nearest field ancestor is the root
// field, the field whose parent has no parent.
func childOfRoot(fc *graphql.FieldContext) (alias string, ok bool) {
	if fc.Field.Field == nil {
		return "", false
	}
	p := fc.Parent
	for p != nil && p.Index != nil {
		p = p.Parent // list elements
	}
	if p == nil || p.Parent == nil || p.Parent.Parent != nil {
		return "", false
	}
	return fc.Field.Alias, true
}

// expectFields adds to out the aliases of the fields of sels, on type typ,
// that are tracked in every query (Extension.loading, learned from earlier
// ones): the fields of the root field's value that a gap waits for. Fields
// further below are not waited for: one below a null, an empty list or a
// failed field never starts. Fields of fragments on other types than typ,
// and deferred fields (they run after the response), are not either.
func (e *Extension) expectFields(opCtx *graphql.OperationContext, sels ast.SelectionSet, typ string, out map[string]struct{}) {
	for _, f := range graphql.CollectFields(opCtx, sels, []string{typ}) {
		if f.Definition == nil || !f.IsNonDeferrable && len(f.Deferrables) > 0 {
			continue
		}
		if _, loads := e.loading.Load(fieldKey{typ, f.Name}); loads {
			out[f.Alias] = struct{}{}
		}
	}
}

// pendingRoots holds the reservations of root fields that have not started
// yet, and the hold of sibling sets until their resolvers have returned.
type pendingRoots struct {
	mu         sync.Mutex // protects the fields below
	ends       []func()
	unresolved int    // root fields whose resolvers have not returned
	release    func() // of the hold; nil if there is none
}

func startRoots(ctx context.Context, scope *dataloader.Scope, opCtx *graphql.OperationContext) (context.Context, *pendingRoots) {
	p := &pendingRoots{}
	for _, f := range graphql.CollectFields(opCtx, opCtx.Operation.SelectionSet, nil) {
		if !strings.HasPrefix(f.Name, "__") { // introspection runs before the root fields, in line
			p.ends = append(p.ends, scope.Reserve())
		}
	}
	if len(p.ends) > 1 {
		p.unresolved, p.release = len(p.ends), scope.HoldSiblings()
	}
	return context.WithValue(ctx, pendingKey{}, p), p
}

// resolvedOnce returns the function that reports one root field's resolver
// as returned; calls after the first do nothing. The last one releases the
// hold of sibling sets.
func (p *pendingRoots) resolvedOnce() func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			p.unresolved--
			release := p.unresolved == 0 && p.release != nil
			p.mu.Unlock()
			if release {
				p.release()
			}
		})
	}
}

type pendingKey struct{}

// take returns the end function of one pending root worker, or nil.
func (p *pendingRoots) take() func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ends) == 0 {
		return nil
	}
	end := p.ends[len(p.ends)-1]
	p.ends = p.ends[:len(p.ends)-1]
	return end
}

func (p *pendingRoots) endAll() {
	for end := p.take(); end != nil; end = p.take() {
		end()
	}
	if p.release != nil {
		p.release()
	}
}

// InterceptRootField implements graphql.RootFieldInterceptor: it hands the
// root field's pending worker (see startRoots) to the field's resolver.
func (e *Extension) InterceptRootField(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	p, _ := ctx.Value(pendingKey{}).(*pendingRoots)
	if p == nil || strings.HasPrefix(graphql.GetRootFieldContext(ctx).Field.Name, "__") {
		return next(ctx)
	}
	end := p.take()
	if end == nil {
		return next(ctx)
	}
	root := &rootField{handOff: end, resolved: p.resolvedOnce(), hold: p.release != nil}
	if root.hold {
		f := graphql.GetRootFieldContext(ctx).Field
		if f.Definition != nil && len(f.Selections) > 0 {
			root.expect = make(map[string]struct{})
			e.expectFields(graphql.GetOperationContext(ctx), f.Selections, f.Definition.Type.Name(), root.expect)
		}
	}
	defer root.childStarted(nil) // the field is over
	defer root.resolved()        // a root field without a tracked resolver
	defer end()                  // the field is over; end calls after the first do nothing
	return next(context.WithValue(ctx, rootKey{}, root))
}

// mayLoad reports whether resolving the field runs code that may call a
// loader: a resolver, a method of the model, or a directive (runsCode).
// Reading a struct field cannot, and tracking it would only cost time.
func mayLoad(fc *graphql.FieldContext) bool {
	if fc == nil || fc.IsResolver || fc.IsMethod {
		return true
	}
	f := fc.Field
	if f.Definition != nil && runsCode(f.Definition.Directives) {
		return true
	}
	return runsCode(f.Directives)
}

// runsCode reports whether a directive of ds runs code of the
// application's: any but the built-in @include, @skip and @deprecated
// (gqlgen applies the first two when it collects the fields; the last is
// documentation).
func runsCode(ds ast.DirectiveList) bool {
	for _, d := range ds {
		if d.Name != "include" && d.Name != "skip" && d.Name != "deprecated" {
			return true
		}
	}
	return false
}
