// Package entapp is the test-only server of the reliability suite's ent
// privacy test: a gqlgen server over the reference ent schema (package
// ent, with entloader) whose fields reach album reviews through every kind
// of edge above them, with a count and a per-album limit. The Review
// privacy policy shows a viewer only the reviews they wrote; HTTP
// middleware puts the request's viewer (the X-Viewer header) into its
// context before gqlgenloader opens the operation's scope, so the batched
// loads run under it too.
package entapp

import (
	"net/http"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/ormloader/ormloader/ent"
	_ "github.com/ormloader/ormloader/ent/runtime" // the Review privacy policy
	"github.com/ormloader/ormloader/ent/viewer"
	"github.com/ormloader/ormloader/gqlgenloader"
)

// ViewerHeader names the request's viewer. A request without one sees every
// review.
const ViewerHeader = "X-Viewer"

// Handler serves GraphQL at /query over client: with ormloader, or with the
// naive resolvers.
func Handler(client *ent.Client, naive bool) http.Handler {
	srv := handler.New(NewExecutableSchema(Config{Resolvers: &Resolver{client: client, naive: naive}}))
	srv.AddTransport(transport.POST{})
	if !naive {
		srv.Use(gqlgenloader.New())
	}
	mux := http.NewServeMux()
	mux.Handle("/query", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if name := r.Header.Get(ViewerHeader); name != "" {
			ctx = viewer.NewContext(ctx, name)
		}
		srv.ServeHTTP(w, r.WithContext(ctx))
	}))
	return mux
}
