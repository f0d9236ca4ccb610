package entloader_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"entgo.io/ent/dialect/sql"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/ent"
	"github.com/ormloader/ormloader/ent/album"
	"github.com/ormloader/ormloader/ent/person"
	"github.com/ormloader/ormloader/ent/predicate"
	"github.com/ormloader/ormloader/relations"
)

// A page per parent (the <Edge>Page methods) is the page, whether more rows
// follow and the count of the rows its filter keeps, all in one statement
// for every parent of the query result: checked against the same page
// computed with plain ent queries (a count and a limited query per band),
// over page sizes, cursors (none, before every row, between rows, past
// the last), filters and orders, on a one-to-many and a many-to-many edge.
func TestPageMatchesPlainQueries(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		w := seed(t, e.client)
		ctx := context.Background()
		type albumCase struct {
			name  string
			where []predicate.Album
			after []predicate.Album
			order []album.OrderOption
		}
		var cases []albumCase
		byYear := []album.OrderOption{album.ByYear(sql.OrderDesc()), album.ByID()}
		for _, cursor := range []int{-1, 0, w.albums[1].ID, w.albums[4].ID, w.albums[len(w.albums)-1].ID} {
			var after []predicate.Album
			if cursor >= 0 {
				after = []predicate.Album{album.IDGT(cursor)}
			}
			cases = append(cases,
				albumCase{fmt.Sprintf("after %d", cursor), nil, after, nil},
				albumCase{fmt.Sprintf("after %d, year > 1990", cursor), []predicate.Album{album.YearGT(1990)}, after, nil},
				albumCase{fmt.Sprintf("after %d, by year", cursor), nil, after, byYear},
			)
		}
		for _, c := range cases {
			for _, size := range []int{0, 1, 2, 5} {
				t.Run(fmt.Sprintf("albums %s, first %d", c.name, size), func(t *testing.T) {
					v := ent.AlbumVariant{Where: c.where, After: c.after, Order: c.order, Limit: size}
					lctx, scope := dataloader.NewScope(ctx)
					defer scope.Close()
					bands, err := e.client.Band.Query().Order(ent.Asc("id")).All(lctx)
					if err != nil {
						t.Fatal(err)
					}
					e.count.reset()
					for _, b := range bands {
						got, err := b.AlbumsPage(lctx, v)
						if err != nil {
							t.Fatal(err)
						}
						total, err := b.QueryAlbums().Where(c.where...).Count(ctx)
						if err != nil {
							t.Fatal(err)
						}
						order := c.order
						if order == nil {
							order = []album.OrderOption{album.ByID()}
						}
						rows, err := b.QueryAlbums().Where(c.where...).Where(c.after...).Order(order...).Limit(size + 1).All(ctx)
						if err != nil {
							t.Fatal(err)
						}
						if want := (size < len(rows)); got.HasNextPage != want {
							t.Errorf("band %d: HasNextPage %v, want %v", b.ID, got.HasNextPage, want)
						}
						rows = rows[:min(size, len(rows))]
						if got.TotalCount != total || !slices.Equal(pageIDs(got.Nodes, albumID), pageIDs(rows, albumID)) {
							t.Errorf("band %d: page %v of %d, want %v of %d", b.ID, pageIDs(got.Nodes, albumID), got.TotalCount, pageIDs(rows, albumID), total)
						}
					}
					// One statement for the bands' pages, less the plain
					// queries the check ran (two per band).
					if n := e.count.n() - 2*len(bands); n != 1 {
						t.Errorf("%d statements for the pages of %d bands, want 1:\n%s", n, len(bands), e.count)
					}
					// The form that costs least on each dialect (see
					// benchmarks/statements): LATERAL on PostgreSQL, a count
					// per returned row on SQLite, COUNT(*) OVER on MariaDB.
					first := e.count.first()
					if strings.Contains(first, "LATERAL") != (e.db.Dialect == "postgres") || strings.Contains(first, "COUNT(*) OVER") != (e.db.Dialect == "mysql") {
						t.Errorf("%s page statement: %s", e.db.Dialect, first)
					}
				})
			}
		}
		t.Run("members, many to many", func(t *testing.T) {
			lctx, scope := dataloader.NewScope(ctx)
			defer scope.Close()
			bands, err := e.client.Band.Query().Order(ent.Asc("id")).All(lctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, size := range []int{0, 1, 2} {
				v := ent.PersonVariant{After: []predicate.Person{person.IDGT(w.people[0].ID)}, Limit: size}
				for _, b := range bands {
					got, err := b.MembersPage(lctx, v)
					if err != nil {
						t.Fatal(err)
					}
					total, err := b.QueryMembers().Count(ctx)
					if err != nil {
						t.Fatal(err)
					}
					rows, err := b.QueryMembers().Where(v.After...).Order(person.ByID()).Limit(size + 1).All(ctx)
					if err != nil {
						t.Fatal(err)
					}
					more := size < len(rows)
					rows = rows[:min(size, len(rows))]
					if got.TotalCount != total || got.HasNextPage != more || !slices.Equal(pageIDs(got.Nodes, personID), pageIDs(rows, personID)) {
						t.Errorf("band %d, first %d: page %v of %d (more %v), want %v of %d (more %v)", b.ID, size,
							pageIDs(got.Nodes, personID), got.TotalCount, got.HasNextPage, pageIDs(rows, personID), total, more)
					}
				}
			}
		})
		t.Run("errors", func(t *testing.T) {
			if _, err := w.bands[0].AlbumsPage(ctx, ent.AlbumVariant{Limit: -1}); err == nil {
				t.Error("a negative page size gave no error")
			}
			var nilBand *ent.Band
			if _, err := nilBand.AlbumsPage(ctx, ent.AlbumVariant{Limit: 1}); err == nil {
				t.Error("a nil band gave no error")
			}
		})
	})
}

// pageIDs returns the IDs of nodes in their order.
func pageIDs[N any](nodes []N, id func(N) int) []int {
	out := make([]int, len(nodes))
	for i, n := range nodes {
		out[i] = id(n)
	}
	return out
}

// A page's rows are its load set; the row past the page and the row that
// carries a count are not: the next level loads for the pages' rows only.
func TestPageLoadSetIsThePage(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		w := seed(t, e.client)
		ctx, scope := dataloader.NewScope(context.Background())
		defer scope.Close()
		bands, err := e.client.Band.Query().Order(ent.Asc("id")).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		v := ent.AlbumVariant{After: []predicate.Album{album.IDGT(w.albums[0].ID)}, Limit: 1}
		var albums []*ent.Album
		for _, b := range bands {
			page, err := b.AlbumsPage(ctx, v)
			if err != nil {
				t.Fatal(err)
			}
			albums = append(albums, page.Nodes...)
		}
		before := scope.Stats().Keys
		for _, a := range albums {
			if _, err := a.Tracks(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if keys := scope.Stats().Keys - before; keys != int64(len(albums)) {
			t.Errorf("the tracks of %d albums of pages loaded %d keys", len(albums), keys)
		}
	})
}

// On PostgreSQL an edge's keys are one parameter from
// relations.ArrayMinKeys keys on (= ANY of an array literal): batches of any
// such size run one statement text, which pgx prepares once per connection.
// Smaller batches, and other dialects, bind an IN list of one parameter each.
func TestKeyListIsOneParameter(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for i := range 2 * relations.ArrayMinKeys {
			e.client.Band.Create().SetName(fmt.Sprint("band ", i)).SaveX(ctx)
		}
		texts := map[int]string{}
		for _, n := range []int{3, relations.ArrayMinKeys, 2 * relations.ArrayMinKeys} {
			ctx, scope := dataloader.NewScope(ctx)
			bands, err := e.client.Band.Query().Order(ent.Asc("id")).Limit(n).All(ctx)
			if err != nil {
				t.Fatal(err)
			}
			e.count.reset()
			if _, err := bands[0].Albums(ctx); err != nil {
				t.Fatal(err)
			}
			texts[n] = e.count.first()
			scope.Close()
		}
		small, large, larger := texts[3], texts[relations.ArrayMinKeys], texts[2*relations.ArrayMinKeys]
		pg := e.db.Dialect == "postgres"
		if strings.Contains(small, "ANY(") || (large == larger) != pg || strings.Contains(large, "= ANY(") != pg {
			t.Errorf("%s: the statements of batches of 3, %d and %d keys:\n%s\n%s\n%s", e.db.Dialect, relations.ArrayMinKeys, 2*relations.ArrayMinKeys, small, large, larger)
		}
	})
}
