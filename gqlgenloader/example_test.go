package gqlgenloader_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gqlgenloader"
	"github.com/ormloader/ormloader/gqlgenloader/internal/testserver"
)

type tenantKey struct{}

// Install the extension on a gqlgen server: every operation gets a scope, and
// each level of the query below is one batch (two calls of the batch function,
// with ids 1, 2 and then 101, 102, 201, 202). testserver stands in for the
// package gqlgen generates for your schema.
func ExampleNew() {
	// A loader definition, created once; its state lives in each operation's scope.
	values := dataloader.NewMapped(func(ctx context.Context, ids []int) (map[int]int, error) {
		_ = ctx.Value(tenantKey{}) // batch functions see the operation's context values
		m := make(map[int]int, len(ids))
		for _, id := range ids {
			m[id] = id * 10
		}
		return m, nil
	})

	srv := handler.New(testserver.Executable(&testserver.Resolver{Values: values, Store: &testserver.Store{}}))
	srv.AddTransport(transport.POST{})
	srv.Use(gqlgenloader.New(gqlgenloader.WithContext(func(ctx context.Context) context.Context {
		return context.WithValue(ctx, tenantKey{}, "acme") // gormloader.WithDB(ctx, db) for GORM
	})))

	req := httptest.NewRequest("POST", "/query", strings.NewReader(`{"query": "{ items(n: 2) { value children(n: 2) { value } } }"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	fmt.Println(rec.Body.String())
	// Output:
	// {"data":{"items":[{"value":10,"children":[{"value":1010},{"value":1020}]},{"value":20,"children":[{"value":2010},{"value":2020}]}]}}
}

type viewerCtxKey struct{}

// Open the scope in HTTP middleware instead, when the application sets up
// per-request state there: the viewer goes into the context BEFORE the
// scope opens (batches run under the scope's context, so a value added to a
// resolver's context later is not seen by them), and everything after the
// middleware shares the request's scope. The extension stays installed to
// track resolvers.
func ExampleExtension_Middleware() {
	names := dataloader.NewMapped(func(ctx context.Context, ids []int) (map[int]int, error) {
		viewer, _ := ctx.Value(viewerCtxKey{}).(string)
		fmt.Printf("batch %v for %s\n", slices.Sorted(slices.Values(ids)), viewer)
		m := make(map[int]int, len(ids))
		for _, id := range ids {
			m[id] = id * 10
		}
		return m, nil
	})
	srv := handler.New(testserver.Executable(&testserver.Resolver{Values: names, Store: &testserver.Store{}}))
	srv.AddTransport(transport.POST{})
	ext := gqlgenloader.New()
	srv.Use(ext)

	auth := func(next http.Handler) http.Handler { // your authentication
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := context.WithValue(r.Context(), viewerCtxKey{}, "alice")
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
	h := auth(ext.Middleware(srv)) // the viewer first, then the scope

	req := httptest.NewRequest("POST", "/query", strings.NewReader(`{"query": "{ a: item(id: 1) { value } b: item(id: 2) { value } }"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Body.String())
	// Output:
	// batch [1 2] for alice
	// {"data":{"a":{"value":10},"b":{"value":20}}}
}
