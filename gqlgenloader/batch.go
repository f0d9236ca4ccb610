package gqlgenloader

import (
	"context"
	"reflect"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/ormloader/ormloader/dataloader"
)

// batchFields is the set of fields, "Type.field", that have gqlgen batch
// resolvers. It is written by Validate at start-up and read by every
// operation.
type batchFields struct {
	mu     sync.RWMutex
	fields map[string]bool
}

// group returns the parents that gqlgen resolves the field for with one
// batch resolver call, or nil: the field has no batch resolver, or its
// parent is not an element of a list (gqlgen then calls the batch resolver
// for that parent alone). It decides as gqlgen's generated code does
// (graphql.BatchParentsFor): by the parent group of the field's type in the
// context and an index before the field in its path.
func (b *batchFields) group(ctx context.Context, fc *graphql.FieldContext) *graphql.BatchParentGroup {
	b.mu.RLock()
	batch := b.fields[fc.Object+"."+fc.Field.Name]
	b.mu.RUnlock()
	if !batch {
		return nil
	}
	if _, ok := graphql.BatchParentIndex(ctx); !ok {
		return nil
	}
	return graphql.GetBatchParentGroup(ctx, fc.Object)
}

// add records the batch resolvers of es. gqlgen's generated schema holds
// the application's resolvers in an exported field, Resolvers, whose
// interface type has a method per object type (Item() ItemResolver); a
// batch resolver is a method of that type's interface whose argument after
// the context is a slice of parents, where other field resolvers take one.
// A schema built otherwise has no batch resolvers found, and its batch
// fields are tracked as other resolvers are: their waiting elements then
// hold the scope's batches back until the watchdog (dataloader.WithMaxWait).
func (b *batchFields) add(es graphql.ExecutableSchema) {
	v := reflect.ValueOf(es)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	root, ok := v.Type().FieldByName("Resolvers")
	if !ok || root.Type.Kind() != reflect.Interface {
		return
	}
	schema := es.Schema()
	if schema == nil {
		return
	}
	found := map[string]bool{}
	for i := range root.Type.NumMethod() {
		m := root.Type.Method(i)
		def := schema.Types[m.Name]
		if def == nil || def.Kind != ast.Object || m.Type.NumIn() != 0 || m.Type.NumOut() != 1 || m.Type.Out(0).Kind() != reflect.Interface {
			continue
		}
		resolvers := m.Type.Out(0)
		for j := range resolvers.NumMethod() {
			r := resolvers.Method(j)
			if r.Type.NumIn() < 2 || r.Type.In(1).Kind() != reflect.Slice {
				continue
			}
			for _, f := range def.Fields {
				if goName(f) == strings.ToLower(r.Name) {
					found[def.Name+"."+f.Name] = true
				}
			}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fields == nil {
		b.fields = map[string]bool{}
	}
	for f := range found {
		b.fields[f] = true
	}
}

// goName returns the lower-cased Go name gqlgen gives a field's resolver
// method: the name of an @goField(name: ...) directive, else the field's
// name without underscores (gqlgen capitalises its words and initialisms,
// which lower-casing undoes).
func goName(f *ast.FieldDefinition) string {
	if d := f.Directives.ForName("goField"); d != nil {
		if a := d.Arguments.ForName("name"); a != nil && a.Value != nil && a.Value.Raw != "" {
			return strings.ToLower(a.Value.Raw)
		}
	}
	return strings.ToLower(strings.ReplaceAll(f.Name, "_", ""))
}

// batchCall returns the channel that is closed when the batch resolver
// call of the field for group has returned, and whether the caller is the
// element that makes it: the first to arrive. The others wait for the
// channel before going on, so that the first is the one gqlgen lets call
// the resolver.
func batchCall(scope *dataloader.Scope, group *graphql.BatchParentGroup, fc *graphql.FieldContext) (done chan struct{}, first bool) {
	calls := scope.Local(batchCallsKey{}, func() any { return &batchCalls{m: map[batchCallKey]chan struct{}{}} }).(*batchCalls)
	key := batchCallKey{group, fc.Field.Alias}
	if key.field == "" {
		key.field = fc.Field.Name
	}
	calls.mu.Lock()
	defer calls.mu.Unlock()
	if done, ok := calls.m[key]; ok {
		return done, false
	}
	done = make(chan struct{})
	calls.m[key] = done
	return done, true
}

type batchCallsKey struct{}

// batchCalls are a scope's batch resolver calls, by parent group and
// response key (as gqlgen memoizes them).
type batchCalls struct {
	mu sync.Mutex
	m  map[batchCallKey]chan struct{}
}

type batchCallKey struct {
	group *graphql.BatchParentGroup
	field string
}
