package gqlgenloader_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"go.uber.org/goleak"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gqlgenloader"
	"github.com/ormloader/ormloader/gqlgenloader/internal/testserver"
)

// batch is one call of the test loader's batch function.
type batch struct {
	ctx  context.Context
	keys []int
}

// harness runs operations against the test schema with the extension
// installed, and records the batches of its Values loader.
type harness struct {
	t     *testing.T
	exec  *executor.Executor
	store *testserver.Store

	mu      sync.Mutex
	batches []batch
}

type viewerKey struct{}

// tickOptions make the tests independent of the machine's load. A stalled
// worker, or a fall-back to window mode, would cost a minute (the test would
// time out). The quiet period bridges the gap between a parent resolver's end
// and the start of its children's goroutines, which gqlgen starts afterwards:
// dataloader's default, 20 µs, is measured in BENCHMARKS.md; under the race
// detector on a busy machine a goroutine has been seen to start more than
// 2 ms late, so these tests, which count batches exactly, use 20 ms.
var tickOptions = []dataloader.ScopeOption{
	dataloader.WithMaxWait(time.Minute),
	dataloader.WithWindow(time.Minute),
	dataloader.WithQuietPeriod(20 * time.Millisecond),
}

func newHarness(t *testing.T, opts ...gqlgenloader.Option) *harness {
	t.Helper()
	return newHarnessWith(t, nil, nil, opts...)
}

// newHarnessWith is newHarness with before and after, if not nil,
// installed before and after the extension. A field interceptor runs inside
// the extension's tracking of every field wherever it is installed; an
// outerField installed after the extension runs around it.
func newHarnessWith(t *testing.T, before, after graphql.HandlerExtension, opts ...gqlgenloader.Option) *harness {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
	h := &harness{t: t, store: &testserver.Store{}}
	values := dataloader.New(func(ctx context.Context, keys []int) ([]int, []error, error) {
		h.mu.Lock()
		h.batches = append(h.batches, batch{ctx: ctx, keys: slices.Sorted(slices.Values(keys))})
		h.mu.Unlock()
		vals := make([]int, len(keys))
		for i, k := range keys {
			vals[i] = h.store.Value(k)
		}
		return vals, nil, nil
	}, dataloader.WithName("values"), dataloader.WithStrict())
	h.exec = executor.New(testserver.Executable(&testserver.Resolver{Values: values, Store: h.store}))
	opts = append([]gqlgenloader.Option{
		gqlgenloader.WithScopeOptions(tickOptions...),
		gqlgenloader.WithContext(func(ctx context.Context) context.Context {
			return context.WithValue(ctx, viewerKey{}, "viewer")
		}),
	}, opts...)
	h.exec.Use(extension.Introspection{})
	if before != nil {
		h.exec.Use(before)
	}
	h.exec.Use(gqlgenloader.New(opts...))
	if after != nil {
		h.exec.Use(after)
	}
	h.exec.SetRecoverFunc(func(_ context.Context, err any) error { return fmt.Errorf("panic: %v", err) })
	return h
}

// run executes query and returns every response, reading until the end of
// the stream (several for @defer and subscriptions).
func (h *harness) run(ctx context.Context, query string) []*graphql.Response {
	h.t.Helper()
	return h.runN(ctx, query, -1)
}

// runN is run that stops after n responses (n < 0: all).
func (h *harness) runN(ctx context.Context, query string, n int) []*graphql.Response {
	h.t.Helper()
	ctx = graphql.StartOperationTrace(ctx)
	opCtx, errs := h.exec.CreateOperationContext(ctx, &graphql.RawParams{Query: query})
	if errs != nil {
		return []*graphql.Response{h.exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), errs)}
	}
	responses, ctx := h.exec.DispatchOperation(ctx, opCtx)
	var out []*graphql.Response
	for n < 0 || len(out) < n {
		resp := responses(ctx)
		if resp == nil {
			break
		}
		out = append(out, resp)
	}
	return out
}

// only returns the single response's data, failing on errors.
func (h *harness) only(resps []*graphql.Response) string {
	h.t.Helper()
	if len(resps) != 1 {
		h.t.Fatalf("got %d responses, want 1", len(resps))
	}
	if len(resps[0].Errors) > 0 {
		h.t.Fatalf("errors: %v", resps[0].Errors)
	}
	return string(resps[0].Data)
}

func (h *harness) takeBatches() []batch {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := h.batches
	h.batches = nil
	return b
}

// sizes returns the number of keys of each batch, in call order.
func sizes(bs []batch) []int {
	var n []int
	for _, b := range bs {
		n = append(n, len(b.keys))
	}
	return n
}

// scopes returns the distinct scopes the batches ran in.
func scopes(bs []batch) []*dataloader.Scope {
	var s []*dataloader.Scope
	for _, b := range bs {
		if sc := dataloader.FromContext(b.ctx); !slices.Contains(s, sc) {
			s = append(s, sc)
		}
	}
	return s
}

// closed reports whether the scope of b has been closed: Close cancels the
// context batch functions run under.
func closed(b batch) bool { return b.ctx.Err() != nil }

func TestOneBatchPerLevel(t *testing.T) {
	h := newHarness(t)
	data := h.only(h.run(t.Context(), `{ items(n: 3) { value children(n: 2) { value children(n: 2) { value } } } }`))
	want := `{"items":[` +
		`{"value":10,"children":[{"value":1010,"children":[{"value":101010},{"value":101020}]},{"value":1020,"children":[{"value":102010},{"value":102020}]}]},` +
		`{"value":20,"children":[{"value":2010,"children":[{"value":201010},{"value":201020}]},{"value":2020,"children":[{"value":202010},{"value":202020}]}]},` +
		`{"value":30,"children":[{"value":3010,"children":[{"value":301010},{"value":301020}]},{"value":3020,"children":[{"value":302010},{"value":302020}]}]}]}`
	if data != want {
		t.Fatalf("data:\n%s\nwant:\n%s", data, want)
	}
	bs := h.takeBatches()
	if got := sizes(bs); !slices.Equal(got, []int{3, 6, 12}) {
		t.Fatalf("batch sizes %v, want one batch per level: [3 6 12]", got)
	}
	if s := scopes(bs); len(s) != 1 {
		t.Fatalf("batches ran in %d scopes, want 1", len(s))
	}
	if !closed(bs[0]) {
		t.Fatal("scope still open after the operation's response")
	}
}

func TestScopePerOperation(t *testing.T) {
	h := newHarness(t)
	for range 2 {
		h.only(h.run(t.Context(), `{ a: item(id: 1) { value } b: item(id: 2) { value } }`))
	}
	bs := h.takeBatches()
	// The second operation loads again: nothing is cached across operations.
	if got := sizes(bs); !slices.Equal(got, []int{2, 2}) {
		t.Fatalf("batch sizes %v, want [2 2]", got)
	}
	if s := scopes(bs); len(s) != 2 {
		t.Fatalf("two operations ran in %d scopes, want 2", len(s))
	}
}

// Root fields start in goroutines of their own; the extension holds the batch
// until each has started its resolver, so aliased lookups are one batch even
// with a quiet period of a nanosecond.
func TestRootFieldsOneBatch(t *testing.T) {
	h := newHarness(t, gqlgenloader.WithScopeOptions(dataloader.WithQuietPeriod(time.Nanosecond)))
	for range 20 {
		h.only(h.run(t.Context(), `{ a: item(id: 1) { value } b: item(id: 2) { value } c: item(id: 3) { value } d: item(id: 4) { value } }`))
		if got := sizes(h.takeBatches()); !slices.Equal(got, []int{4}) {
			t.Fatalf("batch sizes %v, want [4]", got)
		}
	}
	// Skipped root fields and introspection hold nothing back (a root worker
	// left pending would hold the batch for the one-minute watchdog).
	data := h.only(h.run(t.Context(), `{ __typename a: item(id: 1) { value } b: item(id: 2) @skip(if: true) { value } __type(name: "Item") { name } }`))
	if want := `{"__typename":"Query","a":{"value":10},"__type":{"name":"Item"}}`; data != want {
		t.Fatalf("data %s, want %s", data, want)
	}
}

// Each root field's list is a set of siblings of its own (siblingValue
// loads with the ids of its list), and a set's batch normally goes at once:
// without the hold, a's two items went before b had returned its five. The
// extension holds the sets until every root field has returned, so the
// sets make one batch, in whatever order the root fields return.
func TestRootFieldSetsOneBatch(t *testing.T) {
	h := newHarness(t)
	for _, q := range []string{
		`{ a: items(n: 2) { siblingValue } b: items(n: 5) { siblingValue } }`,
		`{ a: items(n: 5) { siblingValue } b: items(n: 2) { siblingValue } c: items(n: 3) { id } }`,
	} {
		for range 10 { // each waits for the tick that ends the hold: 200 ms with tickOptions
			h.only(h.run(t.Context(), q))
			if got := sizes(h.takeBatches()); !slices.Equal(got, []int{5}) {
				t.Fatalf("%s: batch sizes %v, want [5]", q, got)
			}
		}
	}
	// A single root field's set still goes at once: the next level's batch
	// follows it without a tick (sizes [3 6]).
	h.only(h.run(t.Context(), `{ items(n: 3) { siblingValue children(n: 2) { value } } }`))
	if got := sizes(h.takeBatches()); !slices.Equal(got, []int{3, 6}) {
		t.Fatalf("batch sizes %v, want [3 6]", got)
	}
}

// outerField is field middleware that runs around the extension's: the
// extension wraps the field middleware of every operation when gqlgen
// creates its context (so every field interceptor runs inside its
// tracking), and outerField, installed after it, wraps that. It stands for
// what happens to a field before gqlgen hands it to the middleware, such as
// a goroutine that a busy scheduler starts late.
type outerField func(ctx context.Context, next graphql.FieldMiddleware, resolve graphql.Resolver) (any, error)

func (outerField) ExtensionName() string                   { return "outerField" }
func (outerField) Validate(graphql.ExecutableSchema) error { return nil }
func (f outerField) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	inner := oc.ResolverMiddleware
	oc.ResolverMiddleware = func(ctx context.Context, resolve graphql.Resolver) (any, error) {
		return f(ctx, inner, resolve)
	}
	return nil
}

// lateField delays the siblingValue fields of root field b: they start
// late, as field goroutines that a busy scheduler starts late do.
func lateField(delay time.Duration) outerField {
	return func(ctx context.Context, next graphql.FieldMiddleware, resolve graphql.Resolver) (any, error) {
		if fc := graphql.GetFieldContext(ctx); fc.Field.Name == "siblingValue" && strings.HasPrefix(fc.Path().String(), "b[") {
			time.Sleep(delay)
		}
		return next(ctx, resolve)
	}
}

// The gap below a root field lasts until each of the first fields below it
// that may load has started, not only the first of them: b's fail starts
// (and loads nothing), its siblingValue starts late. When the gap ended at
// fail, the tick after it sent a's set alone and b's was a second batch
// (sizes [2 3]). The extension learns which fields load from the fields it
// tracks, so the first request may split.
func TestRootFieldGapWaitsForEveryLoadingField(t *testing.T) {
	h := newHarnessWith(t, nil, lateField(50*time.Millisecond),
		gqlgenloader.WithScopeOptions(dataloader.WithQuietPeriod(time.Millisecond)))
	// id @include(...) and the @deprecated oldID are resolved in line, but
	// their directives run no code: they are not tracked and do not end the
	// gap.
	for _, q := range []string{
		`{ a: items(n: 2) { siblingValue } b: items(n: 5) { fail siblingValue } }`,
		`{ a: items(n: 2) { siblingValue } b: items(n: 5) { id @include(if: true) fail siblingValue } }`,
		`{ a: items(n: 2) { siblingValue } b: items(n: 5) { oldID fail siblingValue } }`,
	} {
		for i := range 4 {
			resps := h.run(t.Context(), q)
			if len(resps) != 1 || len(resps[0].Errors) != 5 { // b's fail, each
				t.Fatalf("responses %v", resps)
			}
			got := sizes(h.takeBatches())
			if i > 0 && !slices.Equal(got, []int{5}) {
				t.Fatalf("%s, request %d: batch sizes %v, want [5]", q, i+1, got)
			}
		}
	}
}

// A gap waits only for fields that every query tracks, and that start
// whenever the root field's value has elements: not for a root field whose
// list is empty, nor for a plain field that one query tracked for a
// directive of the query's (id @include(if: true)), nor for a field below
// the root field's fields. A gap left open holds the batches (its root
// field's fields wait in loads) for up to 4 watchdogs, 2 s each here.
func TestRootFieldGapWaitsOnlyForFieldsThatStart(t *testing.T) {
	h := newHarness(t, gqlgenloader.WithScopeOptions(dataloader.WithMaxWait(2*time.Second)))
	// Learn: b's id was tracked (a directive of the query's), siblingValue and
	// children are resolvers.
	h.run(t.Context(), `{ a: items(n: 1) { id @include(if: true) } b: items(n: 1) { id @include(if: true) siblingValue children(n: 1) { siblingValue } } }`)
	h.takeBatches()
	for _, c := range []struct {
		query, data string
		sizes       []int
	}{
		{`{ a: items(n: 2) { siblingValue children(n: 1) { value } } b: items(n: 0) { siblingValue } }`,
			`{"a":[{"siblingValue":10,"children":[{"value":1010}]},{"siblingValue":20,"children":[{"value":2010}]}],"b":[]}`,
			[]int{2, 2}},
		{`{ a: items(n: 2) { siblingValue } b: items(n: 3) { id siblingValue children(n: 1) { siblingValue } } }`,
			`{"a":[{"siblingValue":10},{"siblingValue":20}],"b":[{"id":1,"siblingValue":10,"children":[{"siblingValue":1010}]},{"id":2,"siblingValue":20,"children":[{"siblingValue":2010}]},{"id":3,"siblingValue":30,"children":[{"siblingValue":3010}]}]}`,
			[]int{3, 3}},
	} {
		start := time.Now()
		data := h.only(h.run(t.Context(), c.query))
		if data != c.data {
			t.Fatalf("%s: data %s, want %s", c.query, data, c.data)
		}
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Fatalf("%s took %v: a gap waited for a field that never started", c.query, d)
		}
		if got := sizes(h.takeBatches()); !slices.Equal(got, c.sizes) {
			t.Fatalf("%s: batch sizes %v, want %v", c.query, got, c.sizes)
		}
	}
}

// A field resolved in line that loads (guardedID, behind a directive that
// loads) holds back the element's resolvers, which the gap below the root
// field waits for: such a field ends the gap, rather than leave it to its
// bound (4 watchdogs, 200 ms here, per query).
func TestRootFieldGapEndsAtAnInlineField(t *testing.T) {
	const maxWait = 50 * time.Millisecond
	h := newHarness(t, gqlgenloader.WithScopeOptions(dataloader.WithMaxWait(maxWait), dataloader.WithQuietPeriod(200*time.Microsecond)))
	h.run(t.Context(), `{ a: items(n: 1) { siblingValue } b: items(n: 1) { siblingValue } }`) // learns siblingValue
	for range 3 {
		start := time.Now()
		data := h.only(h.run(t.Context(), `{ a: items(n: 2) { guardedID siblingValue } b: items(n: 2) { siblingValue } }`))
		if want := `{"a":[{"guardedID":1,"siblingValue":10},{"guardedID":2,"siblingValue":20}],"b":[{"siblingValue":10},{"siblingValue":20}]}`; data != want {
			t.Fatalf("data %s, want %s", data, want)
		}
		if d := time.Since(start); d > 2*maxWait {
			t.Fatalf("the query took %v: the gap waited for fields behind an inline load (watchdog %v)", d, maxWait)
		}
	}
}

// rootRetry is an interceptor that calls the resolver of every root field
// twice, as a retrying middleware would.
type rootRetry struct{}

func (rootRetry) ExtensionName() string                   { return "rootRetry" }
func (rootRetry) Validate(graphql.ExecutableSchema) error { return nil }
func (rootRetry) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	if fc := graphql.GetFieldContext(ctx); fc != nil && fc.Object == "Query" {
		if _, err := next(ctx); err != nil {
			return nil, err
		}
	}
	return next(ctx)
}

// rootRetryOuter is rootRetry around the extension's tracking.
func rootRetryOuter(ctx context.Context, next graphql.FieldMiddleware, resolve graphql.Resolver) (any, error) {
	return rootRetry{}.InterceptField(ctx, func(ctx context.Context) (any, error) { return next(ctx, resolve) })
}

// A root field's resolver that returns twice (a middleware around the
// extension's tracking retries it) covers the gap to its fields once: the
// gap's second worker, never ended, held every batch of the scope back
// until the watchdog (a minute here: the test would time out). A retrying
// field interceptor, which runs inside the tracking, calls it twice in one
// worker.
func TestRootFieldResolvedTwice(t *testing.T) {
	for _, ext := range []graphql.HandlerExtension{outerField(rootRetryOuter), rootRetry{}} {
		t.Run(ext.ExtensionName(), func(t *testing.T) { testRootFieldResolvedTwice(t, ext) })
	}
}

func testRootFieldResolvedTwice(t *testing.T, ext graphql.HandlerExtension) {
	h := newHarnessWith(t, nil, ext)
	done := make(chan string, 1)
	go func() {
		done <- h.only(h.run(t.Context(), `{ a: items(n: 2) { siblingValue } b: items(n: 3) { value children(n: 2) { value } } }`))
	}()
	select {
	case data := <-done:
		want := `{"a":[{"siblingValue":10},{"siblingValue":20}],"b":[{"value":10,"children":[{"value":1010},{"value":1020}]},{"value":20,"children":[{"value":2010},{"value":2020}]},{"value":30,"children":[{"value":3010},{"value":3020}]}]}`
		if data != want {
			t.Fatalf("data %s, want %s", data, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the query stalled: a worker or reservation of the scope was never released")
	}
	if got := sizes(h.takeBatches()); !slices.Equal(got, []int{3, 6}) {
		t.Fatalf("batch sizes %v, want [3 6]", got)
	}
}

// skipValue is a field interceptor that answers b's siblingValue fields
// itself, without calling their resolvers, as a cache or an authorization
// check would.
type skipValue struct{}

func (skipValue) ExtensionName() string                   { return "skipValue" }
func (skipValue) Validate(graphql.ExecutableSchema) error { return nil }
func (skipValue) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	if fc := graphql.GetFieldContext(ctx); fc.Field.Name == "siblingValue" && strings.HasPrefix(fc.Path().String(), "b[") {
		return 7, nil
	}
	return next(ctx)
}

// A field interceptor installed before the extension that returns without
// calling the resolver does not hide the field from the gap below its root
// field, which waits for it: the extension tracks every field around all
// field interceptors, wherever they are installed. (As a field interceptor
// itself, installed after such one, it never saw b's siblingValue start,
// and every query waited for the gap's bound: 4 watchdogs, 8 s here.)
func TestRootFieldGapSeesFieldsAnInterceptorAnswers(t *testing.T) {
	h := newHarnessWith(t, skipValue{}, nil, gqlgenloader.WithScopeOptions(dataloader.WithMaxWait(2*time.Second)))
	h.run(t.Context(), `{ a: items(n: 1) { siblingValue } b: items(n: 1) { value } }`) // learns siblingValue
	h.takeBatches()
	for range 3 {
		start := time.Now()
		data := h.only(h.run(t.Context(), `{ a: items(n: 2) { siblingValue } b: items(n: 3) { siblingValue value } }`))
		if want := `{"a":[{"siblingValue":10},{"siblingValue":20}],"b":[{"siblingValue":7,"value":10},{"siblingValue":7,"value":20},{"siblingValue":7,"value":30}]}`; data != want {
			t.Fatalf("data %s, want %s", data, want)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("the query took %v: the gap waited for a field it did not see start", d)
		}
		if got := sizes(h.takeBatches()); !slices.Equal(got, []int{3}) {
			t.Fatalf("batch sizes %v, want [3]", got)
		}
	}
}

func TestBatchContext(t *testing.T) {
	h := newHarness(t)
	h.only(h.run(t.Context(), `{ item(id: 1) { value } }`))
	b := h.takeBatches()[0]
	if fc := graphql.GetFieldContext(b.ctx); fc != nil {
		t.Errorf("batch ran under the field context of %s.%s", fc.Object, fc.Field.Name)
	}
	if !graphql.HasOperationContext(b.ctx) {
		t.Error("batch context lost the operation context")
	}
	if v := b.ctx.Value(viewerKey{}); v != "viewer" {
		t.Errorf("batch context value from WithContext = %v, want viewer", v)
	}
}

func TestSubscriptionScopePerEvent(t *testing.T) {
	h := newHarness(t)
	resps := h.run(t.Context(), `subscription { watch(id: 4, n: 3) { value } }`)
	if len(resps) != 3 {
		t.Fatalf("got %d events, want 3", len(resps))
	}
	for _, r := range resps {
		if string(r.Data) != `{"watch":{"value":40}}` || len(r.Errors) > 0 {
			t.Fatalf("event %s %v", r.Data, r.Errors)
		}
	}
	bs := h.takeBatches()
	// Every event loads again: no event is served from an earlier one's cache.
	if got := sizes(bs); !slices.Equal(got, []int{1, 1, 1}) {
		t.Fatalf("batch sizes %v, want [1 1 1]", got)
	}
	if s := scopes(bs); len(s) != 3 {
		t.Fatalf("three events ran in %d scopes, want 3", len(s))
	}
	for i, b := range bs {
		if !closed(b) {
			t.Errorf("scope of event %d still open", i)
		}
	}
}

func TestDefer(t *testing.T) {
	h := newHarness(t)
	resps := h.run(t.Context(), `{ items(n: 2) { id ... @defer(label: "v") { value children(n: 2) { value } } } }`)
	if len(resps) != 3 {
		t.Fatalf("got %d responses, want 3 (the initial one and one per deferred item)", len(resps))
	}
	if resps[0].HasNext == nil || !*resps[0].HasNext {
		t.Fatalf("initial response %s has no hasNext: true", resps[0].Data)
	}
	var got []string
	for _, r := range resps[1:] {
		if len(r.Errors) > 0 {
			t.Fatalf("deferred response errors: %v", r.Errors)
		}
		got = append(got, string(r.Data))
	}
	slices.Sort(got)
	want := []string{`{"value":10,"children":[{"value":1010},{"value":1020}]}`, `{"value":20,"children":[{"value":2010},{"value":2020}]}`}
	if !slices.Equal(got, want) {
		t.Fatalf("deferred data %v, want %v", got, want)
	}
	if last := resps[2].HasNext; last == nil || *last {
		t.Fatalf("last response hasNext %v, want false", last)
	}
	bs := h.takeBatches()
	if s := scopes(bs); len(s) != 1 {
		t.Fatalf("deferred batches ran in %d scopes, want the operation's", len(s))
	}
	if !closed(bs[0]) {
		t.Fatal("scope still open after the last deferred response")
	}
}

// A transport that reads only the first response (POST) leaves the deferred
// resolvers running; the scope stays valid for them and closes with the
// operation's context.
func TestDeferTransportStopsEarly(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(t.Context())
	resps := h.runN(ctx, `{ items(n: 2) { id ... @defer { value } } }`, 1)
	if len(resps) != 1 || resps[0].HasNext == nil || !*resps[0].HasNext {
		t.Fatalf("want an initial response with more to come, got %d", len(resps))
	}
	// The deferred resolvers load in the operation's open scope.
	var bs []batch
	for deadline := time.Now().Add(10 * time.Second); len(bs) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("deferred resolvers did not load")
		}
		bs = h.takeBatches()
	}
	cancel()
	select {
	case <-bs[0].ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("scope not closed when the operation's context ended")
	}
}

func TestResolverPanicAndError(t *testing.T) {
	h := newHarness(t)
	resps := h.run(t.Context(), `{ items(n: 3) { boom fail value } }`)
	if len(resps) != 1 {
		t.Fatalf("got %d responses", len(resps))
	}
	// A panicking worker that were not ended would hold the batch for the
	// one-minute watchdog.
	const want = `{"items":[{"boom":null,"fail":null,"value":10},{"boom":null,"fail":null,"value":20},{"boom":null,"fail":null,"value":30}]}`
	if string(resps[0].Data) != want {
		t.Fatalf("data %s\nwant %s", resps[0].Data, want)
	}
	if n := len(resps[0].Errors); n != 6 {
		t.Fatalf("got %d errors, want 6 (3 panics, 3 failures): %v", n, resps[0].Errors)
	}
	if got := sizes(h.takeBatches()); !slices.Equal(got, []int{3}) {
		t.Fatalf("batch sizes %v, want [3]", got)
	}
}

func TestMutationThenRead(t *testing.T) {
	h := newHarness(t)
	// Root mutation fields run one after the other; the second reads the
	// first one's write, because the mutation cleared the cached value.
	data := h.only(h.run(t.Context(), `mutation { a: bump(id: 1) { value } b: bump(id: 1) { value children(n: 2) { value } } }`))
	const want = `{"a":{"value":11},"b":{"value":12,"children":[{"value":1010},{"value":1020}]}}`
	if data != want {
		t.Fatalf("data %s\nwant %s", data, want)
	}
	bs := h.takeBatches()
	if got := sizes(bs); !slices.Equal(got, []int{1, 1, 2}) {
		t.Fatalf("batch sizes %v, want [1 1 2]", got)
	}
	if s := scopes(bs); len(s) != 1 {
		t.Fatalf("mutation ran in %d scopes, want 1", len(s))
	}
}

func TestWorkerLimit(t *testing.T) {
	h := newHarness(t)
	// 40 items, 8 workers (gqlgen.yml): each wave of workers blocks in its
	// loads, which lets the batch go and frees the slots.
	var out struct {
		Items []struct{ Value int }
	}
	if err := json.Unmarshal([]byte(h.only(h.run(t.Context(), `{ items(n: 40) { value } }`))), &out); err != nil {
		t.Fatal(err)
	}
	for i, it := range out.Items {
		if it.Value != (i+1)*10 {
			t.Fatalf("item %d: value %d", i+1, it.Value)
		}
	}
	if n := len(h.takeBatches()); n < 5 || n > 40 {
		t.Fatalf("%d batches for 40 keys in waves of 8", n)
	}
	// Loads that name their siblings (as the ORM adapters' load sets do) are
	// one batch whatever the worker limit.
	h.only(h.run(t.Context(), `{ items(n: 40) { siblingValue } }`))
	if got := sizes(h.takeBatches()); !slices.Equal(got, []int{40}) {
		t.Fatalf("batch sizes %v, want [40]", got)
	}
}

func TestBadQueryOpensNoScope(t *testing.T) {
	h := newHarness(t)
	resps := h.run(t.Context(), `{ items(n: 1) { nope } }`)
	if len(resps) != 1 || len(resps[0].Errors) != 1 {
		t.Fatalf("want one validation error, got %v", resps)
	}
	if bs := h.takeBatches(); len(bs) != 0 {
		t.Fatalf("a query that failed validation ran %d batches", len(bs))
	}
}

// Without the extension every load is unbatched: the baseline the tests
// above beat.
func TestWithoutExtension(t *testing.T) {
	defer goleak.VerifyNone(t)
	var mu sync.Mutex
	var calls int
	values := dataloader.New(func(ctx context.Context, keys []int) ([]int, []error, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		return make([]int, len(keys)), nil, nil
	}, dataloader.WithName("values"))
	exec := executor.New(testserver.Executable(&testserver.Resolver{Values: values, Store: &testserver.Store{}}))
	ctx := graphql.StartOperationTrace(t.Context())
	opCtx, errs := exec.CreateOperationContext(ctx, &graphql.RawParams{Query: `{ items(n: 3) { value } }`})
	if errs != nil {
		t.Fatal(errs)
	}
	responses, ctx := exec.DispatchOperation(ctx, opCtx)
	responses(ctx)
	if calls != 3 {
		t.Fatalf("%d batch calls without a scope, want 3", calls)
	}
}

// A plain struct field costs the extension no allocation: it wraps the
// operation's field middleware instead of being a field interceptor, whose
// chain gqlgen builds with a closure for every field of every row (an
// allocation per field: 600 more for 300 more rows of two plain fields).
func TestPlainFieldsCostNoAllocation(t *testing.T) {
	h := newHarness(t)
	bare := &harness{t: t, store: h.store, exec: executor.New(testserver.Executable(&testserver.Resolver{Store: h.store}))}
	extra := func(n int) float64 {
		query := fmt.Sprintf(`{ items(n: %d) { id oldID } }`, n)
		allocs := func(h *harness) float64 {
			return testing.AllocsPerRun(20, func() { h.only(h.run(t.Context(), query)) })
		}
		return allocs(h) - allocs(bare)
	}
	small, large := extra(100), extra(400)
	if grew := large - small; grew > 30 {
		t.Fatalf("the extension's allocations per operation: %.0f for 100 rows, %.0f for 400: %.2f per plain field, want none", small, large, grew/600)
	}
}
