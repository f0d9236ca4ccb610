package entloader_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"entgo.io/contrib/entgql"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/ent"
	"github.com/ormloader/ormloader/ent/label"
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

// TestRelayConnection: an entgql Relay connection edge (Label.bands) loads
// first/last pages without cursors for every label at once, equal to
// entgql's Paginate.
func TestRelayConnection(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		bg := context.Background()
		for i := range 5 {
			l := e.client.Label.Create().SetName(fmt.Sprint("label ", i)).SaveX(bg)
			for k := range i {
				e.client.Band.Create().SetName(fmt.Sprintf("band %c", 'e'-k)).SetLabel(l).SaveX(bg)
			}
		}
		two, one := 2, 1
		byName := &ent.BandOrder{Direction: entgql.OrderDirectionAsc, Field: ent.BandOrderFieldName}
		byNameDesc := &ent.BandOrder{Direction: entgql.OrderDirectionDesc, Field: ent.BandOrderFieldName}
		cases := []struct {
			name        string
			first, last *int
			order       *ent.BandOrder
			where       *ent.BandWhereInput
			stmts       int // the pages with their counts
		}{
			{"first 2 by id", &two, nil, nil, nil, 1},
			{"first 2 by name", &two, nil, byName, nil, 1},
			{"last 1 by name desc", nil, &one, byNameDesc, nil, 1},
			{"all, filtered", nil, nil, byName, &ent.BandWhereInput{NameNEQ: ptr("band e")}, 1},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx, scope := dataloader.NewScope(bg)
				defer scope.Close()
				labels, err := e.client.Label.Query().All(ctx)
				if err != nil {
					t.Fatal(err)
				}
				e.count.reset()
				got := make([]string, len(labels))
				for i, l := range labels {
					conn, err := l.Bands(ctx, nil, tc.first, nil, tc.last, tc.order, tc.where)
					if err != nil {
						t.Fatal(err)
					}
					got[i] = renderConn(conn)
				}
				e.count.expect(t, "page and totalCount for every label", tc.stmts)
				for i, l := range labels {
					opts := []ent.BandPaginateOption{ent.WithBandOrder(tc.order), ent.WithBandFilter(tc.where.Filter)}
					want, err := l.QueryBands().Paginate(bg, nil, tc.first, nil, tc.last, opts...)
					if err != nil {
						t.Fatal(err)
					}
					if w := renderConn(want); got[i] != w {
						t.Errorf("label %d:\n got %s\nwant %s", l.ID, got[i], w)
					}
				}
			})
		}
	})
}

// Pages after or before a cursor are batched too: the pages of every label
// after (or before) the same cursor (a query's argument is the same for
// every parent), with their counts, are one statement, and match entgql's
// Paginate.
func TestRelayConnectionCursors(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		bg := context.Background()
		for i := range 5 {
			l := e.client.Label.Create().SetName(fmt.Sprint("label ", i)).SaveX(bg)
			for k := range i {
				e.client.Band.Create().SetName(fmt.Sprintf("band %c", 'e'-k)).SetLabel(l).SaveX(bg)
			}
		}
		one, two := 1, 2
		byName := &ent.BandOrder{Direction: entgql.OrderDirectionAsc, Field: ent.BandOrderFieldName}
		opts := []ent.BandPaginateOption{ent.WithBandOrder(byName)}
		// The cursor: after "band c" of the label with four bands (b to e).
		l4, err := e.client.Label.Query().Where(label.Name("label 4")).Only(bg)
		if err != nil {
			t.Fatal(err)
		}
		first, err := l4.QueryBands().Paginate(bg, nil, &two, nil, nil, opts...)
		if err != nil {
			t.Fatal(err)
		}
		cursor := first.PageInfo.EndCursor
		for _, tc := range []struct {
			name          string
			after, before bool
			first, last   *int
		}{
			{"first 2 after", true, false, &two, nil},
			{"last 1 before", false, true, nil, &one},
			{"last 2 after", true, false, nil, &two},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ctx, scope := dataloader.NewScope(bg)
				defer scope.Close()
				labels, err := e.client.Label.Query().All(ctx)
				if err != nil {
					t.Fatal(err)
				}
				e.count.reset()
				got := make([]string, len(labels))
				for i, l := range labels {
					var after, before *ent.Cursor
					if tc.after {
						after = cursor
					}
					if tc.before {
						before = cursor
					}
					conn, err := l.Bands(ctx, after, tc.first, before, tc.last, byName, nil)
					if err != nil {
						t.Fatal(err)
					}
					got[i] = renderConn(conn)
				}
				e.count.expect(t, "the pages after or before a cursor of every label", 1)
				for i, l := range labels {
					var after, before *ent.Cursor
					if tc.after {
						after = cursor
					}
					if tc.before {
						before = cursor
					}
					want, err := l.QueryBands().Paginate(bg, after, tc.first, before, tc.last, opts...)
					if err != nil {
						t.Fatal(err)
					}
					if w := renderConn(want); got[i] != w {
						t.Errorf("label %d:\n got %s\nwant %s", l.ID, got[i], w)
					}
				}
			})
		}
	})
}

// TestRelayConnectionHugeFirst: first or last = math.MaxInt (a client asking
// for "everything") is one statement for the pages and counts of every
// label, with the result of asking for no limit. A page after a cursor
// (entgql's Paginate) works too. (Before, the page asked for first+1 rows,
// which overflowed: the batch fell back to Paginate per label, which
// PostgreSQL answered with "LIMIT must not be negative".)
func TestRelayConnectionHugeFirst(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		bg := context.Background()
		for i := range 4 {
			l := e.client.Label.Create().SetName(fmt.Sprint("label ", i)).SaveX(bg)
			for k := range i {
				e.client.Band.Create().SetName(fmt.Sprintf("band %c", 'e'-k)).SetLabel(l).SaveX(bg)
			}
		}
		huge := math.MaxInt
		byName := &ent.BandOrder{Direction: entgql.OrderDirectionAsc, Field: ent.BandOrderFieldName}
		opts := []ent.BandPaginateOption{ent.WithBandOrder(byName)}
		for _, tc := range []struct {
			name        string
			first, last *int
		}{{"first", &huge, nil}, {"last", nil, &huge}} {
			t.Run(tc.name, func(t *testing.T) {
				ctx, scope := dataloader.NewScope(bg)
				defer scope.Close()
				labels, err := e.client.Label.Query().All(ctx)
				if err != nil {
					t.Fatal(err)
				}
				e.count.reset()
				got := make([]string, len(labels))
				for i, l := range labels {
					conn, err := l.Bands(ctx, nil, tc.first, nil, tc.last, byName, nil)
					if err != nil {
						t.Fatal(err)
					}
					got[i] = renderConn(conn)
				}
				e.count.expect(t, "page and totalCount for every label", 1)
				for i, l := range labels {
					want, err := l.QueryBands().Paginate(bg, nil, nil, nil, nil, opts...)
					if err != nil {
						t.Fatal(err)
					}
					if w := renderConn(want); got[i] != w {
						t.Errorf("label %d:\n got %s\nwant %s", l.ID, got[i], w)
					}
				}
			})
		}
		t.Run("after a cursor", func(t *testing.T) {
			ctx, scope := dataloader.NewScope(bg)
			defer scope.Close()
			l, err := e.client.Label.Query().Where(label.Name("label 3")).Only(ctx)
			if err != nil {
				t.Fatal(err)
			}
			one := 1
			page, err := l.Bands(ctx, nil, &one, nil, nil, byName, nil)
			if err != nil || len(page.Edges) != 1 {
				t.Fatalf("first page: %v %v", page, err)
			}
			after := page.PageInfo.EndCursor
			rest, err := l.Bands(ctx, after, &huge, nil, nil, byName, nil)
			if err != nil {
				t.Fatal(err)
			}
			want, err := l.QueryBands().Paginate(bg, after, nil, nil, nil, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got, w := renderConn(rest), renderConn(want); got != w {
				t.Errorf("after the first band:\n got %s\nwant %s", got, w)
			}
		})
	})
}

func ptr[T any](v T) *T { return &v }

func renderConn(c *ent.BandConnection) string {
	var b strings.Builder
	fmt.Fprintf(&b, "total %d next %v prev %v:", c.TotalCount, c.PageInfo.HasNextPage, c.PageInfo.HasPreviousPage)
	for _, e := range c.Edges {
		cur, _ := json.Marshal(e.Cursor)
		fmt.Fprintf(&b, " %s %s", e.Node.Name, cur)
	}
	if c.PageInfo.StartCursor != nil {
		s, _ := json.Marshal(c.PageInfo.StartCursor)
		en, _ := json.Marshal(c.PageInfo.EndCursor)
		fmt.Fprintf(&b, " [%s..%s]", s, en)
	}
	return b.String()
}
