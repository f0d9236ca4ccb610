// Package entstack is the ent side of the whole-stack benchmark: the shared
// schema (../schema.graphqls) bound to the reference ent schema's types
// (package ent, generated with entgql and entloader), and the variants that
// resolve its relations — naive, dataloadgen, graph-gophers/dataloader,
// With..., entgql's CollectFields, ormloader.
package entstack

import (
	"context"
	"database/sql"
	"fmt"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"

	"github.com/ormloader/ormloader/benchmarks/stack/internal/bench"
	"github.com/ormloader/ormloader/ent"
	_ "github.com/ormloader/ormloader/ent/runtime" // the schema's hooks and policies
	"github.com/ormloader/ormloader/gqlgenloader"
)

// Open returns an ent client on sqlDB (opened with bench.OpenDB, which
// counts statements), with the schema created. The client is the same for
// every variant: entloader's interceptors are generated into it, and do
// nothing but look for a scope in the context outside ormloader's variant.
func Open(ctx context.Context, sqlDB *sql.DB, dialect string) (*ent.Client, error) {
	client := ent.NewClient(ent.Driver(entsql.OpenDB(dialect, sqlDB)))
	if err := client.Schema.Create(ctx); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return client, nil
}

// Variants returns the ent variants, in the order of the table.
func Variants(client *ent.Client) []bench.Variant {
	b := batches{client}
	return []bench.Variant{
		variant(bench.Naive, client, naive()),
		{ORM: "ent", Name: bench.Dataloadgen, Handler: bench.WithLoaders(server(client, peers()), b.dataloadgen)},
		{ORM: "ent", Name: bench.GraphGophers, Handler: bench.WithLoaders(server(client, peers()), b.graphGophers)},
		variant(bench.With, client, with()),
		variant(bench.WithIntercepted, client, with(), bench.NoopInterceptor{}),
		variant(bench.CollectFields, client, collectFields()),
		// One dataloader scope per operation; entloader needs nothing in the
		// context (the client travels with the rows).
		variant(bench.Ormloader, client, ormloader(), gqlgenloader.New()),
	}
}

func variant(name string, client *ent.Client, rel Relations, exts ...graphql.HandlerExtension) bench.Variant {
	return bench.Variant{ORM: "ent", Name: name, Handler: server(client, rel, exts...)}
}

func server(client *ent.Client, rel Relations, exts ...graphql.HandlerExtension) *handler.Server {
	return bench.NewServer(NewExecutableSchema(Config{Resolvers: &Resolver{client: client, rel: rel}}), exts...)
}
