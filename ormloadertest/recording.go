package ormloadertest

import (
	"context"
	"path"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql"

	"github.com/ormloader/ormloader/dataloader"
)

// A recording is what one block of code or one HTTP request did: its
// statements, and the loads and batches of the dataloader scopes opened
// under its context (it is their tracer, through dataloader.TraceScopes).
type recording struct {
	// parent is the recording of an enclosing context (an Operation
	// around a Guard's middleware): statements are reported to both.
	// Loads and batches reach both through their own tracers.
	parent *recording
	checks []contextCheck // the Guard's context values

	mu          sync.Mutex // protects the fields below
	operation   string     // the GraphQL operation, once seen
	total       int        // statements
	fields      map[fieldKey]*fieldGroup
	outside     map[string]*sqlCounts // statements outside resolvers and batches, by call site
	batches     map[batchKey]*batchRecord
	loadSites   map[loadKey]string          // the call site of the first load of a loader at a path
	values      []loadValue                 // context values of loads, one per scope, check, loader, path and value
	scopeValues map[scopeCheck]checkedValue // the checks' values in the context of each scope's first batch
}

var _ dataloader.LoadTracer = (*recording)(nil)

// fieldKey identifies the statements that resolvers of one GraphQL field at
// one path ran themselves.
type fieldKey struct{ field, path string }

type fieldGroup struct {
	calls map[*graphql.FieldContext]struct{} // one per resolver call
	sql   sqlCounts
	site  string
}

// batchKey identifies a batch: batches are numbered per scope.
type batchKey struct {
	scope *dataloader.Scope
	id    uint64
}

type batchRecord struct {
	loader  string
	keys    int
	started bool
	paths   []string // GraphQL paths of the loads that waited for it, distinct
	sql     sqlCounts
}

type loadKey struct{ loader, path string }

type scopeCheck struct {
	scope *dataloader.Scope
	check int
}

type checkedValue struct {
	v   any
	has bool
}

// loadValue is a context value that a load's caller had.
type loadValue struct {
	scopeCheck
	v      any
	loader string
	path   string
	site   string
}

// sqlCounts counts statements by SQL text, in the order first seen.
type sqlCounts struct {
	order []string
	n     map[string]int
	total int
}

func (s *sqlCounts) add(query string, times int) {
	query = compactSQL(query)
	if s.n == nil {
		s.n = make(map[string]int)
	}
	if _, ok := s.n[query]; !ok {
		s.order = append(s.order, query)
	}
	s.n[query] += times
	s.total += times
}

func (s *sqlCounts) addAll(o *sqlCounts) {
	for _, q := range o.order {
		s.add(q, o.n[q])
	}
}

// placeholders matches a list of three or more bind parameters.
var placeholders = regexp.MustCompile(`(\?|\$\d+)(\s*,\s*(\?|\$\d+)){2,}`)

// compactSQL writes query on one line with each list of bind parameters
// shortened ("IN (?, …)"), so that the statements of one relation with
// different numbers of keys count as one.
func compactSQL(query string) string {
	return placeholders.ReplaceAllString(strings.Join(strings.Fields(query), " "), "$1, …")
}

type recordingKey struct{}

func recordingFrom(ctx context.Context) *recording {
	r, _ := ctx.Value(recordingKey{}).(*recording)
	return r
}

func newRecording(ctx context.Context, checks []contextCheck) *recording {
	return &recording{
		parent:      recordingFrom(ctx),
		checks:      checks,
		fields:      make(map[fieldKey]*fieldGroup),
		outside:     make(map[string]*sqlCounts),
		batches:     make(map[batchKey]*batchRecord),
		loadSites:   make(map[loadKey]string),
		scopeValues: make(map[scopeCheck]checkedValue),
	}
}

// context returns ctx carrying r: statements under it are r's, and so are
// the loads and batches of the scopes opened under it.
func (r *recording) context(ctx context.Context) context.Context {
	return dataloader.TraceScopes(context.WithValue(ctx, recordingKey{}, r), r)
}

// origin is where a statement comes from, as its context tells: a batch of
// a traced scope, or a resolver (the innermost field context), or neither.
type origin struct {
	batch *batchMark
	fc    *graphql.FieldContext
	path  string // of fc
	site  string // computed when first needed
	sited bool
}

func originOf(ctx context.Context) *origin {
	o := &origin{}
	if m, ok := ctx.Value(batchMarkKey{}).(*batchMark); ok {
		o.batch = m
		return o
	}
	if fc := graphql.GetFieldContext(ctx); fc != nil {
		o.fc, o.path = fc, pathPattern(fc)
	}
	return o
}

// callSite is computed once per statement, for the recordings that need it.
func (o *origin) callSite() string {
	if !o.sited {
		o.site, o.sited = callSite(), true
	}
	return o.site
}

// batchMark is put in a batch function's context by the tracer, so that the
// batch's statements can be told from others.
type batchMark struct {
	key    batchKey
	loader string
}

type batchMarkKey struct{}

func (r *recording) statement(ctx context.Context, o *origin, query string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noteOperationLocked(ctx)
	r.total++
	switch {
	case o.batch != nil:
		r.batchLocked(o.batch.key, o.batch.loader).sql.add(query, 1)
	case o.fc != nil:
		k := fieldKey{o.fc.Object + "." + o.fc.Field.Name, o.path}
		g := r.fields[k]
		if g == nil {
			g = &fieldGroup{calls: make(map[*graphql.FieldContext]struct{}), site: o.callSite()}
			r.fields[k] = g
		}
		g.calls[o.fc] = struct{}{}
		g.sql.add(query, 1)
	default:
		site := o.callSite()
		s := r.outside[site]
		if s == nil {
			s = &sqlCounts{}
			r.outside[site] = s
		}
		s.add(query, 1)
	}
}

func (r *recording) batchLocked(k batchKey, loader string) *batchRecord {
	b := r.batches[k]
	if b == nil {
		b = &batchRecord{loader: loader}
		r.batches[k] = b
	}
	return b
}

// noteOperationLocked remembers the GraphQL operation of the first event
// that has one.
func (r *recording) noteOperationLocked(ctx context.Context) {
	if r.operation != "" || !graphql.HasOperationContext(ctx) {
		return
	}
	oc := graphql.GetOperationContext(ctx)
	switch {
	case oc.OperationName != "":
		r.operation = oc.OperationName
	case oc.Operation != nil && oc.Operation.Name != "":
		r.operation = oc.Operation.Name
	default:
		r.operation = shorten(strings.Join(strings.Fields(oc.RawQuery), " "), 80)
	}
}

// TraceBatchStart implements dataloader.Tracer: it marks the batch's context
// so that its statements are attributed to the batch, and notes the
// scope's values of the Guard's context checks.
func (r *recording) TraceBatchStart(ctx context.Context, d dataloader.BatchStartData) context.Context {
	k := batchKey{dataloader.FromContext(ctx), d.Batch}
	vals := make([]checkedValue, len(r.checks))
	for i, c := range r.checks {
		vals[i].v, vals[i].has = c.value(ctx)
	}
	r.mu.Lock()
	r.noteOperationLocked(ctx)
	b := r.batchLocked(k, d.Loader)
	b.loader, b.keys, b.started = d.Loader, d.Keys, true
	for i, v := range vals {
		sc := scopeCheck{k.scope, i}
		if _, ok := r.scopeValues[sc]; !ok {
			r.scopeValues[sc] = v
		}
	}
	r.mu.Unlock()
	if m, ok := ctx.Value(batchMarkKey{}).(*batchMark); ok && m.key == k {
		return ctx // marked by an enclosing recording
	}
	return context.WithValue(ctx, batchMarkKey{}, &batchMark{k, d.Loader})
}

// TraceBatchEnd implements dataloader.Tracer.
func (*recording) TraceBatchEnd(context.Context, dataloader.BatchEndData) {}

// TraceLoad implements dataloader.LoadTracer: it links the GraphQL path of
// the load's caller to the batch the load waits for, and notes the call
// site of the first load of each loader at each path.
func (r *recording) TraceLoad(ctx context.Context, d dataloader.LoadData) {
	scope := dataloader.FromContext(ctx)
	p := ""
	if fc := graphql.GetFieldContext(ctx); fc != nil {
		p = pathPattern(fc)
	}
	type seen struct {
		v  any
		ok bool
	}
	var vals []seen
	for _, c := range r.checks {
		v, ok := c.value(ctx)
		vals = append(vals, seen{v, ok})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noteOperationLocked(ctx)
	if d.Batch != 0 {
		b := r.batchLocked(batchKey{scope, d.Batch}, d.Loader)
		if !slices.Contains(b.paths, p) {
			b.paths = append(b.paths, p)
		}
	}
	lk := loadKey{d.Loader, p}
	site, ok := r.loadSites[lk]
	if !ok {
		site = callSite()
		r.loadSites[lk] = site
	}
	for i, v := range vals {
		if !v.ok {
			continue
		}
		lv := loadValue{scopeCheck{scope, i}, v.v, d.Loader, p, site}
		if !r.hasValueLocked(lv) {
			r.values = append(r.values, lv)
		}
	}
}

func (r *recording) hasValueLocked(lv loadValue) bool {
	for _, o := range r.values {
		if o.scopeCheck == lv.scopeCheck && o.loader == lv.loader && o.path == lv.path && equal(o.v, lv.v) {
			return true
		}
	}
	return false
}

// equal compares two values of a context check's type T (comparable, but an
// interface type may hold a value that is not: then they differ).
func equal(a, b any) (eq bool) {
	defer func() {
		if recover() != nil {
			eq = false
		}
	}()
	return a == b
}

// pathPattern is fc's GraphQL path, with response names (aliases) and every
// list index written [*]: "bands[*].albums.edges[*].node.tracks".
func pathPattern(fc *graphql.FieldContext) string {
	var parts []string
	for it := fc; it != nil; it = it.Parent {
		switch {
		case it.Index != nil:
			parts = append(parts, "[*]")
		case it.Field.Field != nil:
			parts = append(parts, it.Field.Alias)
		}
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		if parts[i] != "[*]" && b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(parts[i])
	}
	return b.String()
}

// callSite names the code that made the current load or statement: the
// resolver that gqlgen's generated code called (the frame just inside the
// first frame of gqlgen's executionContext), or else the first frame
// outside ormloader, the ORMs, database/sql, gqlgen and the runtime.
// It is "dir/file.go:line (func)", or "" if no frame qualifies.
func callSite() string {
	var pcs [64]uintptr
	n := runtime.Callers(3, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	var prev, fallback runtime.Frame
	for {
		f, more := frames.Next()
		if strings.Contains(f.Function, ".(*executionContext).") && prev.Function != "" {
			return formatFrame(prev)
		}
		if fallback.Function == "" && !libraryFrame(f.Function) {
			fallback = f
		}
		prev = f
		if !more {
			break
		}
	}
	if fallback.Function == "" {
		return ""
	}
	return formatFrame(fallback)
}

// libraryPackages are the packages (and their subpackages) whose frames
// are never a call site.
var libraryPackages = []string{
	"runtime", "testing", "database/sql", "net/http", "context",
	"gorm.io", "entgo.io", "github.com/99designs/gqlgen",
	"github.com/ormloader/ormloader/dataloader", "github.com/ormloader/ormloader/relations",
	"github.com/ormloader/ormloader/gormloader", "github.com/ormloader/ormloader/entloader",
	"github.com/ormloader/ormloader/gqlgenloader", "github.com/ormloader/ormloader/ormloadertest",
}

// libraryFrame reports whether function (a frame's "pkg/path.Func") is in
// one of libraryPackages.
func libraryFrame(function string) bool {
	for _, p := range libraryPackages {
		if rest, ok := strings.CutPrefix(function, p); ok && (strings.HasPrefix(rest, ".") || strings.HasPrefix(rest, "/")) {
			return true
		}
	}
	return false
}

func formatFrame(f runtime.Frame) string {
	fn := f.Function
	if i := strings.LastIndexByte(fn, '/'); i >= 0 {
		fn = fn[i+1:]
	}
	return path.Join(path.Base(path.Dir(f.File)), path.Base(f.File)) + ":" + strconv.Itoa(f.Line) + " (" + fn + ")"
}

// shorten cuts s to at most n runes.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
