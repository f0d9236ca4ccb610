package dataloader_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ormloader/ormloader/dataloader"
)

// eventTracer records, in order, the batches and loads it sees as strings:
// "start 1 bands 3" (batch 1 of loader bands, 3 keys), "end 1",
// "load bands 1 k" (a load waiting for or resolved by batch 1, whose
// context carries k under callerKey).
type eventTracer struct {
	name   string // prefixes every event, to tell joined tracers apart
	mu     sync.Mutex
	events []string
}

type callerKey struct{}

func (r *eventTracer) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, r.name+fmt.Sprintf(format, args...))
}

func (r *eventTracer) TraceBatchStart(ctx context.Context, d dataloader.BatchStartData) context.Context {
	r.add("start %d %s %d", d.Batch, d.Loader, d.Keys)
	return ctx
}

func (r *eventTracer) TraceBatchEnd(_ context.Context, d dataloader.BatchEndData) {
	r.add("end %d", d.Batch)
}

func (r *eventTracer) TraceLoad(ctx context.Context, d dataloader.LoadData) {
	r.add("load %s %d %v", d.Loader, d.Batch, ctx.Value(callerKey{}))
}

func (r *eventTracer) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// batchOnly is a Tracer that is not a LoadTracer.
type batchOnly struct{ eventTracer }

func (*batchOnly) TraceLoad() {} // not the LoadTracer method

var _ dataloader.LoadTracer = (*eventTracer)(nil)

func TestLoadTracerSeesEveryLoadWithItsBatch(t *testing.T) {
	tr := &eventTracer{}
	ctx, s := newScope(t, dataloader.WithTracer(tr))
	l := dataloader.New((&recorder{}).fetch, dataloader.WithName("bands"))
	caller := func(name string) context.Context { return context.WithValue(ctx, callerKey{}, name) }

	// LoadWith with siblings: one batch, dispatched at once; the siblings'
	// own loads wait for (or find) that batch.
	if _, err := l.LoadWith(caller("a"), 1, []int{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Load(caller("b"), 2); err != nil {
		t.Fatal(err)
	}
	// LoadMany of a cached key and two new ones: batches 1 and 2.
	if _, errs := l.LoadMany(caller("c"), []int{3, 4, 5}); errs != nil {
		t.Fatal(errs)
	}
	l.Prime(ctx, 9, "primed")
	if v, err := l.LoadThunk(caller("d"), 9)(); v != "primed" || err != nil {
		t.Fatal(v, err)
	}
	if _, ok, err := l.LoadExisting(caller("e"), 4); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if _, ok, _ := l.LoadExisting(caller("f"), 99); ok { // no entry: no load, no event
		t.Fatal("LoadExisting found a key nobody loaded")
	}
	s.Close()

	got := tr.get()
	var loads []string
	for _, e := range got {
		if strings.HasPrefix(e, "load") {
			loads = append(loads, e)
		}
	}
	want := []string{"load bands 1 a", "load bands 1 b", "load bands 1 c", "load bands 2 c", "load bands 0 d", "load bands 2 e"}
	if !slices.Equal(loads, want) {
		t.Errorf("loads:\n%s\nwant:\n%s", strings.Join(loads, "\n"), strings.Join(want, "\n"))
	}
	for _, e := range []string{"start 1 bands 3", "end 1", "start 2 bands 2", "end 2"} {
		if !slices.Contains(got, e) {
			t.Errorf("no event %q in %q", e, got)
		}
	}
}

func TestTracerThatIsNotALoadTracerSeesNoLoads(t *testing.T) {
	tr := &batchOnly{}
	ctx, s := newScope(t, dataloader.WithTracer(tr))
	l := dataloader.New((&recorder{}).fetch, dataloader.WithName("bands"))
	if _, err := l.Load(ctx, 1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if got := tr.get(); !slices.Equal(got, []string{"start 1 bands 1", "end 1"}) {
		t.Fatalf("events %q", got)
	}
}

func TestTraceScopes(t *testing.T) {
	own, outer, inner := &eventTracer{name: "own "}, &eventTracer{name: "outer "}, &eventTracer{name: "inner "}
	l := dataloader.New((&recorder{}).fetch, dataloader.WithName("bands"))

	ctx := dataloader.TraceScopes(context.Background(), outer)
	ctx = dataloader.TraceScopes(context.WithValue(ctx, callerKey{}, "x"), inner)
	if dataloader.TraceScopes(ctx, nil) != ctx {
		t.Error("TraceScopes with a nil tracer changed the context")
	}
	sctx, s := dataloader.NewScope(ctx, dataloader.WithTracer(own))
	if _, err := l.Load(sctx, 1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, tr := range []*eventTracer{own, outer, inner} {
		// The load is traced in its goroutine, the batch in its own: in
		// either order.
		want := []string{tr.name + "end 1", tr.name + "load bands 1 x", tr.name + "start 1 bands 1"}
		if got := tr.get(); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
			t.Errorf("%s tracer: %q, want %q", tr.name, got, want)
		}
	}

	// Starts in order (own, outer, inner), ends in reverse.
	var order []string
	var mu sync.Mutex
	note := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, s)
	}
	ctx = context.Background()
	for _, name := range []string{"outer", "inner"} {
		ctx = dataloader.TraceScopes(ctx, orderTracer{name, note})
	}
	sctx, s = dataloader.NewScope(ctx, dataloader.WithTracer(orderTracer{"own", note}))
	if _, err := l.Load(sctx, 1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if want := []string{"start own", "start outer", "start inner", "end inner", "end outer", "end own"}; !slices.Equal(order, want) {
		t.Errorf("order %q, want %q", order, want)
	}

	// A scope opened without the context is not traced.
	plain := &eventTracer{}
	sctx, s = dataloader.NewScope(context.Background())
	if _, err := l.Load(dataloader.TraceScopes(sctx, plain), 1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if got := plain.get(); len(got) != 0 {
		t.Errorf("a scope opened before TraceScopes reported %q", got)
	}
}

type orderTracer struct {
	name string
	note func(string)
}

func (o orderTracer) TraceBatchStart(ctx context.Context, _ dataloader.BatchStartData) context.Context {
	o.note("start " + o.name)
	return ctx
}

func (o orderTracer) TraceBatchEnd(context.Context, dataloader.BatchEndData) { o.note("end " + o.name) }

type panickyLoadTracer struct{ eventTracer }

func (*panickyLoadTracer) TraceLoad(context.Context, dataloader.LoadData) { panic("tracer bug") }

func TestLoadTracerPanicIsLoggedNotPropagated(t *testing.T) {
	var logs syncBuffer
	ctx, _ := newScope(t, dataloader.WithTracer(&panickyLoadTracer{}), dataloader.WithLogger(newTextLogger(&logs)))
	l := dataloader.New((&recorder{}).fetch, dataloader.WithName("bands"))
	for range 2 { // a miss, then a hit
		if v, err := l.Load(ctx, 1); v != "v1" || err != nil {
			t.Fatal(v, err)
		}
	}
	if n := strings.Count(logs.String(), `msg="dataloader: tracer panicked in TraceLoad" loader=bands panic="tracer bug"`); n != 2 {
		t.Fatalf("%d panics logged:\n%s", n, logs.String())
	}
}

// Loads in a scope without a load tracer allocate nothing more than
// before: a cache hit allocates nothing, with a batch tracer or without.
func TestCacheHitAllocatesNothingWithoutLoadTracer(t *testing.T) {
	for _, opts := range [][]dataloader.ScopeOption{nil, {dataloader.WithTracer(&batchOnly{})}} {
		ctx, _ := newScope(t, opts...)
		l := dataloader.New((&recorder{}).fetch)
		if _, err := l.Load(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = l.Load(ctx, 1) }); n != 0 {
			t.Errorf("a cache hit allocated %v times", n)
		}
	}
}
