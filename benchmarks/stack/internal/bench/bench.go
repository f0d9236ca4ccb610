// Package bench holds what the GORM and ent sides of the whole-stack
// benchmark share: the Variant type, the per-request loader middleware of the
// dataloader libraries users pick instead of ormloader, and the helpers their
// hand-written batch functions and the eager-loading resolvers use.
package bench

import (
	"context"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	gg "github.com/graph-gophers/dataloader/v7"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vikstrous/dataloadgen"
)

// Variant is one way of resolving the benchmark schema's relations: a
// complete GraphQL handler (POST /query) over one ORM.
type Variant struct {
	ORM     string // "gorm" or "ent"
	Name    string // one of the constants below
	Handler http.Handler
}

// The names of the variants, in the order of the table.
const (
	Naive         = "naive"
	Dataloadgen   = "dataloadgen"
	GraphGophers  = "graph-gophers"
	Preload       = "Preload"
	With          = "With..."
	CollectFields = "CollectFields"
	Ormloader     = "ormloader"
	// PreloadIntercepted and WithIntercepted are Preload and With... with
	// a field interceptor that only calls the resolver (NoopInterceptor):
	// what gqlgen's field middleware costs any extension that tracks
	// fields, as gqlgenloader does. The command measures them with
	// -interceptor only.
	PreloadIntercepted = "Preload+interceptor"
	WithIntercepted    = "With...+interceptor"
)

// NoopInterceptor is a gqlgen field interceptor that only calls the
// resolver.
type NoopInterceptor struct{}

// ExtensionName implements graphql.HandlerExtension.
func (NoopInterceptor) ExtensionName() string { return "noop" }

// Validate implements graphql.HandlerExtension.
func (NoopInterceptor) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptField implements graphql.FieldInterceptor.
func (NoopInterceptor) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	return next(ctx)
}

// Loader is a loader's Load, whichever library it comes from.
type Loader[K comparable, V any] func(ctx context.Context, key K) (V, error)

// Fetch is a hand-written batch function: the values of keys, in the order
// of keys (dataloadgen's form; graph-gophers gets it through GraphGophersLoader).
type Fetch[K comparable, V any] func(ctx context.Context, keys []K) ([]V, []error)

// DataloadgenLoader returns a new dataloadgen loader over fetch, set up as
// gqlgen's documentation does: created per request, with a 1 ms wait.
func DataloadgenLoader[K comparable, V any](fetch Fetch[K, V]) Loader[K, V] {
	return dataloadgen.NewLoader(fetch, dataloadgen.WithWait(time.Millisecond)).Load
}

// GraphGophersLoader returns a new graph-gophers/dataloader loader over
// fetch, with the library's defaults (a 16 ms wait, an in-memory cache).
func GraphGophersLoader[K comparable, V any](fetch Fetch[K, V]) Loader[K, V] {
	l := gg.NewBatchedLoader(func(ctx context.Context, keys []K) []*gg.Result[V] {
		values, errs := fetch(ctx, keys)
		results := make([]*gg.Result[V], len(keys))
		for i := range keys {
			results[i] = &gg.Result[V]{Data: values[i]}
			if errs != nil {
				results[i].Error = errs[i]
			}
		}
		return results
	})
	return func(ctx context.Context, key K) (V, error) { return l.Load(ctx, key)() }
}

// Align returns the values of byKey in the order of keys, for a batch
// function; a key without a value gets V's zero value (no album, no label).
// A failed query fails every key.
func Align[K comparable, V any](keys []K, byKey map[K]V, err error) ([]V, []error) {
	if err != nil {
		errs := make([]error, len(keys))
		for i := range errs {
			errs[i] = err
		}
		return make([]V, len(keys)), errs
	}
	values := make([]V, len(keys))
	for i, k := range keys {
		values[i] = byKey[k]
	}
	return values, nil
}

type loadersKey[T any] struct{}

// WithLoaders is the HTTP middleware of gqlgen's dataloader documentation:
// it puts a new set of loaders (newLoaders()) into every request's context,
// where the resolvers find it with Loaders.
func WithLoaders[T any](h http.Handler, newLoaders func() T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), loadersKey[T]{}, newLoaders())
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Loaders returns the loaders WithLoaders put into ctx.
func Loaders[T any](ctx context.Context) T {
	return ctx.Value(loadersKey[T]{}).(T)
}

// Selected returns the paths of the object fields selected below the
// field being resolved ("albums", "albums.tracks", "label"): what a root
// resolver that loads eagerly must load with it.
func Selected(ctx context.Context) map[string]bool {
	op := graphql.GetOperationContext(ctx)
	paths := make(map[string]bool)
	var walk func(prefix string, set ast.SelectionSet)
	walk = func(prefix string, set ast.SelectionSet) {
		for _, f := range graphql.CollectFields(op, set, nil) {
			if len(f.Selections) > 0 {
				paths[prefix+f.Name] = true
				walk(prefix+f.Name+".", f.Selections)
			}
		}
	}
	walk("", graphql.GetFieldContext(ctx).Field.Selections)
	return paths
}

// NewServer returns the gqlgen server every variant uses: POST and a query
// cache, plus the variant's extensions (gqlgenloader for ormloader).
func NewServer(es graphql.ExecutableSchema, exts ...graphql.HandlerExtension) *handler.Server {
	srv := handler.New(es)
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](100))
	for _, e := range exts {
		srv.Use(e)
	}
	return srv
}
