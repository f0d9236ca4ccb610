package entloader_test

import (
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/ormloader/ormloader/dataloader"
)

// TestEntGQLEdgeMethods: the ent package is generated with entgql, whose
// gql_edge.go edge methods entloader replaces: they return entgql's
// alias-named eager loads (field collection) when present and go through the
// loader otherwise, instead of entgql's per-row query.
func TestEntGQLEdgeMethods(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		seed(t, e.client)
		ctx, scope := dataloader.NewScope(context.Background())
		defer scope.Close()
		field := func(ctx context.Context, alias string) context.Context {
			return graphql.WithFieldContext(ctx, &graphql.FieldContext{
				Field: graphql.CollectedField{Field: &ast.Field{Alias: alias, Name: "albums"}},
			})
		}

		// Field collection loaded the edge under the alias: no statement.
		named, err := e.client.Band.Query().WithNamedAlbums("records").All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e.count.reset()
		n := 0
		for _, b := range named {
			as, err := b.Albums(field(ctx, "records"))
			if err != nil {
				t.Fatal(err)
			}
			n += len(as)
		}
		e.count.expect(t, "alias-named eager load", 0)
		if n != 10 {
			t.Errorf("%d albums under the alias, want 10", n)
		}

		// Another alias, not collected: the loader, one statement.
		for _, b := range named {
			if _, err := b.Albums(field(ctx, "other")); err != nil {
				t.Fatal(err)
			}
		}
		e.count.expect(t, "alias not collected: batched", 1)

		// Unique edges.
		for _, b := range named {
			if _, err := b.Profile(field(ctx, "profile")); err != nil {
				t.Fatal(err)
			}
		}
		e.count.expect(t, "unique edge", 1)
	})
}
