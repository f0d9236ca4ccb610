package integration

import (
	"context"
	"net/http"
	"testing"

	entexample "github.com/ormloader/ormloader/examples/ent-gqlgen/server"
	"github.com/ormloader/ormloader/internal/testdb"
)

// entSize is the GORM tests' size: 8 bands (the seventh has no label) with
// 4, 3 or 2 albums of 3 or 2 tracks and 2 reviews each, 2 members per band
// out of 16 people; bands 0, 2, 4 and 6 have a profile, band i names band
// i/2 as an influence.
var entSize = entexample.Size{Labels: 3, Bands: 8, Albums: 4, Tracks: 3, Members: 2}

// startEnt seeds db and serves it twice: with ormloader, and with the naive
// resolvers. With a viewer, every request is made as that viewer (the
// example's X-Viewer header), which the Review privacy policy reads.
func startEnt(t *testing.T, db testdb.DB, viewer string) (orm, naive *server) {
	t.Helper()
	client, closeDB, err := entexample.Open(db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeDB() })
	if _, err := entexample.Seed(context.Background(), client, entSize); err != nil {
		t.Fatal(err)
	}
	as := func(h http.Handler) http.Handler {
		if viewer == "" {
			return h
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Set(entexample.ViewerHeader, viewer)
			h.ServeHTTP(w, r)
		})
	}
	orm = startServer(t, "ormloader", as(entexample.Handler(client, entexample.Options{SQL: true})))
	naive = startServer(t, "naive", as(entexample.Handler(client, entexample.Options{Naive: true, SQL: true})))
	return orm, naive
}

func TestEnt(t *testing.T) {
	for _, db := range testdb.All(t) {
		t.Run(db.Dialect, func(t *testing.T) {
			orm, naive := startEnt(t, db, "")
			t.Run("reads", func(t *testing.T) { testEntReads(t, orm, naive) })
			t.Run("defer", func(t *testing.T) { testEntDefer(t, orm, naive) })
			t.Run("errors", func(t *testing.T) { testEntErrors(t, orm, naive) })
			t.Run("bad queries", func(t *testing.T) { testEntBadQueries(t, orm) })
			t.Run("privacy", func(t *testing.T) {
				orm, naive := startEnt(t, freshDB(t, db.Dialect), "alice")
				testEntPrivacy(t, orm, naive)
			})
			t.Run("mutation then read", func(t *testing.T) {
				orm, _ := startEnt(t, freshDB(t, db.Dialect), "")
				_, naive := startEnt(t, freshDB(t, db.Dialect), "")
				testEntMutation(t, orm, naive)
			})
		})
	}
}

// entCase is a query that both ent servers answer alike, with ormloader's
// exact statement count.
type entCase struct {
	name       string
	query      string
	vars       map[string]any
	statements int // ormloader's: root query + one per relation and variant per level
	// primed, if not 0, is the count when a to-one load finds its row
	// primed by a batch of the same level that ended first (timing)
	primed int
}

func runEntCases(t *testing.T, orm, naive *server, cases []entCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, want := orm.post(t, c.query, c.vars), naive.post(t, c.query, c.vars)
			wantNoErrors(t, got)
			sameResponse(t, got, want)
			if n := got.Extensions.Stats.Statements; c.primed == 0 || n != c.primed {
				wantStatements(t, got, c.statements)
			}
			t.Logf("statements: ormloader %d, naive %d", got.Extensions.Stats.Statements, want.Extensions.Stats.Statements)
		})
	}
}

// testEntReads: ormloader answers like the naive resolvers, with one
// statement per relation (and per variant of a relation) per level. The root
// connections (entgql's Paginate) count their rows: one statement more.
func testEntReads(t *testing.T, orm, naive *server) {
	runEntCases(t, orm, naive, []entCase{{
		name: "nested lists, depth 4",
		query: `{ labels { edges { node { name bands(first: 10) { totalCount edges { node { name
			albums { title year tracks { position title } } } } } } } } }`,
		statements: 4, // labels, bands pages with their counts, albums, tracks
	}, {
		name:       "belongs-to, many-to-many both ways",
		query:      `{ bands(first: 100) { edges { node { id name label { name } members { name bands { name } } } } } }`,
		statements: 5, // bands and their count, labels, members, their bands
	}, {
		name:       "one-to-one, many-to-many through an edge schema",
		query:      `{ bands(first: 100) { edges { node { name profile { bio band { name } } influences { name influenced { name } } } } } }`,
		statements: 5, // bands and their count, profiles, influences, the bands they influenced; profiles' bands are cached
	}, {
		name:       "belongs-to back up",
		query:      `{ people(first: 4) { name bands { name albums { tracks { title album { title band { name } } } } } } }`,
		statements: 4, // people, bands, albums, tracks; the way back up is cached
	}, {
		name: "aliases with different arguments",
		query: `query ($after: ID) { bands(first: 100) { edges { node { name
			first: albumPage(first: 1) { albums { title } }
			next: albumPage(first: 2, after: $after) { hasNextPage endCursor albums { id title } }
			all: albumPage(first: 100) { totalCount albums { id } } } } } }`,
		vars:       map[string]any{"after": "2"},
		statements: 5, // bands and their count, three album pages (each with its count)
	}, {
		name: "per-parent connections, forwards and backwards",
		query: `{ labels { edges { node { name
			a: bands(first: 1) { edges { cursor node { name } } }
			b: bands(last: 2, orderBy: {field: NAME, direction: DESC}) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { name } } }
			c: bands(first: 5, where: {nameContains: "e"}) { totalCount edges { node { name } } } } } } }`,
		statements: 4, // labels, three band pages (each with its count)
	}, {
		name:       "pagination of one band",
		query:      `{ band(id: 1) { albumPage(first: 2, after: "1") { totalCount hasNextPage endCursor albums { title } } } }`,
		statements: 2, // band, the albums page after the cursor with the count
	}, {
		name:       "an empty page",
		query:      `{ bands(first: 3, after: null) { edges { node { name albumPage(first: 0) { totalCount hasNextPage endCursor albums { id } } } } } }`,
		statements: 3, // bands and their count, album pages (first+1 = 1 row per band, to know hasNextPage, with the count)
	}, {
		name: "fragments on a union and an interface",
		query: `{ search(text: "O", first: 3) { __typename ... on Node { id } ...bandFields
			... on Album { title band { name } } ... on Track { title album { title } } } }
			fragment bandFields on Band { name label { name } albumPage(first: 1) { totalCount } }`,
		statements: 6, // 3 searches, labels, album pages, tracks' albums; the albums' bands are among the bands found
		primed:     5, // a track's album is a page's row, and the page came back first
	}, {
		name:       "aliased root fields",
		query:      `{ a: band(id: 1) { name albums { title } } b: band(id: 2) { name albums { title } } }`,
		statements: 2, // both bands in one primary-key batch, their albums in one
	}})
}

// testEntPrivacy: the viewer reaches the batched loads, so the Review privacy
// policy filters them as it filters the naive queries.
func testEntPrivacy(t *testing.T, orm, naive *server) {
	const query = `{ bands(first: 100) { edges { node { albums { title reviews { author stars album { title } } } } } } }`
	runEntCases(t, orm, naive, []entCase{{
		name:       "reviews as a viewer",
		query:      query,
		statements: 4, // bands and their count, albums, reviews; their albums are cached
	}})
	got := orm.post(t, query, nil)
	var data struct {
		Bands struct {
			Edges []struct {
				Node struct {
					Albums []struct{ Reviews []struct{ Author string } }
				}
			}
		}
	}
	if err := jsonUnmarshal(got.Data, &data); err != nil {
		t.Fatal(err)
	}
	reviews := 0
	for _, e := range data.Bands.Edges {
		for _, a := range e.Node.Albums {
			for _, r := range a.Reviews {
				reviews++
				if r.Author != "alice" {
					t.Fatalf("viewer alice sees a review by %s", r.Author)
				}
			}
		}
	}
	if reviews == 0 {
		t.Fatal("viewer alice sees none of her reviews")
	}
}

// testEntDefer: deferred fragments resolve after the initial response, in
// the operation's scope: the album pages of every band are still one
// statement.
func testEntDefer(t *testing.T, orm, naive *server) {
	const query = `{ bands(first: 100) { edges { node { name ... @defer(label: "albums") { albumPage(first: 2) { totalCount albums { title } } } } } } }`
	got, want := orm.postDeferred(t, query), naive.postDeferred(t, query)
	wantNoErrors(t, got.initial)
	sameDeferred(t, got, want)
	if len(got.incremental) != entSize.Bands {
		t.Errorf("%d incremental payloads, want one per band (%d)", len(got.incremental), entSize.Bands)
	}
	if got.statements != 3 { // bands and their count, album pages with their counts
		t.Errorf("%d statements, want 3", got.statements)
	}
	t.Logf("statements: ormloader %d, naive %d", got.statements, want.statements)
}

// testEntErrors: resolver errors and missing rows look the same with and
// without ormloader.
func testEntErrors(t *testing.T, orm, naive *server) {
	checkErrors(t, orm, naive, []errorCase{
		{"argument out of range", `{ bands(first: 3) { edges { node { name albumPage(first: -1) { totalCount } } } } }`, "first must be between 0 and 1000, got -1"},
		{"nested argument out of range", `{ labels { edges { node { bands(first: -1) { totalCount } } } } }`, "`first` on a connection cannot be less than zero"},
		{"missing row", `{ band(id: 999) { name } }`, ""},
		{"mutation on a missing row", `mutation { addMember(bandID: 1, personID: 999) { name } }`, "addMember: no person with id 999: not found"},
		{"node lookup", `{ node(id: 1) { id } }`, "node lookups need IDs unique across tables"},
	})
}

// testEntBadQueries: queries that fail to parse or validate run no statement.
func testEntBadQueries(t *testing.T, orm *server) {
	checkBadQueries(t, orm, []errorCase{
		{"syntax", `{ bands { edges `, "Expected Name, found <EOF>"},
		{"unknown field", `{ bands { nope } }`, `Cannot query field "nope" on type "BandConnection".`},
		{"wrong argument type", `{ bands(first: "ten") { totalCount } }`, "Int cannot represent non-integer value"},
		{"fragment on a type outside the union", `{ search(text: "a") { ... on Label { name } } }`, `Fragment cannot be spread here as objects of type "SearchResult" can never be of type "Label".`},
		{"missing variable", `query ($id: ID!) { band(id: $id) { name } }`, "must be defined"},
	})
}

// testEntMutation: root mutation fields run one after the other, and a read
// after a write in the same operation sees the write (entloader's mutation
// hooks clear the operation's cached edges of the types written). orm and
// naive have databases of their own with the same data.
func testEntMutation(t *testing.T, orm, naive *server) {
	const query = `mutation ($person: ID!) {
		before: addMember(bandID: 1, personID: 9) { members { id name } albumPage(first: 100) { totalCount albums { title } } }
		createAlbum(input: {bandID: 1, title: "New Album", year: 2024, tracks: ["One", "Two"]}) {
			id title year tracks { position title } band { name albumPage(first: 100) { totalCount } }
		}
		after: addMember(bandID: 1, personID: $person) { members { id name } albumPage(first: 100) { totalCount albums { title } } }
	}`
	vars := map[string]any{"person": "10"}
	got, want := orm.post(t, query, vars), naive.post(t, query, vars)
	wantNoErrors(t, got)
	sameResponse(t, got, want)
	var data struct {
		Before, After struct {
			Members   []struct{ ID string }
			AlbumPage struct{ TotalCount int }
		}
	}
	if err := jsonUnmarshal(got.Data, &data); err != nil {
		t.Fatal(err)
	}
	if b, a := data.Before, data.After; a.AlbumPage.TotalCount != b.AlbumPage.TotalCount+1 || len(a.Members) != len(b.Members)+1 {
		t.Fatalf("the read after the writes does not see them: before %+v, after %+v", b, a)
	}
	// And the next operation reads the same from a new scope.
	const read = `{ band(id: 1) { members { id } albums { title tracks { title } } albumPage(first: 100) { totalCount } } }`
	sameResponse(t, orm.post(t, read, nil), naive.post(t, read, nil))
}
