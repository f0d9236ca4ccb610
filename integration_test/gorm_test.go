package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	gormexample "github.com/ormloader/ormloader/examples/gorm-gqlgen/server"
	"github.com/ormloader/ormloader/internal/testdb"
)

// gormSize is small: 8 bands (the seventh has no label) with 4, 3 or 2
// albums of 3 or 2 tracks, 2 members each out of 16 people.
var gormSize = gormexample.Size{Labels: 3, Bands: 8, Albums: 4, Tracks: 3, Members: 2}

// startGORM seeds db and serves it twice: with ormloader, and with the
// naive resolvers.
func startGORM(t *testing.T, db testdb.DB) (orm, naive *server) {
	t.Helper()
	gdb, closeDB, err := gormexample.Open(db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeDB() })
	if _, err := gormexample.Seed(context.Background(), gdb, gormSize); err != nil {
		t.Fatal(err)
	}
	orm = startServer(t, "ormloader", gormexample.Handler(gdb, gormexample.Options{SQL: true}))
	naive = startServer(t, "naive", gormexample.Handler(gdb, gormexample.Options{Naive: true, SQL: true}))
	return orm, naive
}

func TestGORM(t *testing.T) {
	for _, db := range testdb.All(t) {
		t.Run(db.Dialect, func(t *testing.T) {
			orm, naive := startGORM(t, db)
			t.Run("reads", func(t *testing.T) { testGORMReads(t, orm, naive) })
			t.Run("defer", func(t *testing.T) { testGORMDefer(t, orm, naive) })
			t.Run("errors", func(t *testing.T) { testGORMErrors(t, orm, naive) })
			t.Run("bad queries", func(t *testing.T) { testBadQueries(t, orm) })
			t.Run("mutation then read", func(t *testing.T) {
				orm, _ := startGORM(t, freshDB(t, db.Dialect))
				_, naive := startGORM(t, freshDB(t, db.Dialect))
				testGORMMutation(t, orm, naive)
			})
		})
	}
}

// testGORMReads: ormloader answers like the naive resolvers, with one
// statement per relation (and per variant of a relation) per level.
func testGORMReads(t *testing.T, orm, naive *server) {
	for _, c := range []struct {
		name       string
		query      string
		vars       map[string]any
		statements int // ormloader's: root query + one per relation and variant per level
		// primed, if not 0, is the count when a to-one load finds its row
		// primed by a batch of the same level that ended first (timing)
		primed int
	}{{
		name: "nested lists, depth 4",
		query: `{ labels { name bands { name albums(first: 10) { totalCount edges { cursor node { title year
			tracks { position name } } } } } } }`,
		statements: 4, // labels, bands, album pages with their counts, tracks
	}, {
		name:       "belongs-to, many-to-many both ways",
		query:      `{ bands(first: 100) { id name label { name } members { name bands { name } } } }`,
		statements: 4, // bands, labels, members, their bands
	}, {
		name:  "belongs-to back up",
		query: `{ people(first: 4) { name bands { name albums { edges { node { tracks(first: 1) { name album { title band { name } } } } } } } } }`,
		// people, bands, albums, tracks (limit); the tracks' albums and their
		// bands are rows loads fetched above: primed, no statement
		statements: 4,
	}, {
		name: "aliases with different arguments",
		query: `query ($after: ID) { bands(first: 100) { name
			first: albums(first: 1) { edges { node { title } } }
			next: albums(first: 2, after: $after) { pageInfo { hasNextPage endCursor } edges { cursor node { title } } }
			all: albums(first: 100) { totalCount edges { node { id } } } } }`,
		vars:       map[string]any{"after": "2"},
		statements: 4, // bands, three album pages (each with its count)
	}, {
		name:       "pagination of one band",
		query:      `{ band(id: 1) { albums(first: 2, after: "1") { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { title } } } } }`,
		statements: 2, // band, the albums page after the cursor with the count
	}, {
		name:       "pagination with offset and an empty page",
		query:      `{ bands(first: 3, offset: 2) { name albums(first: 0) { totalCount pageInfo { hasNextPage endCursor } edges { cursor } } } }`,
		statements: 2, // bands, album pages (first+1 = 1 row per band, to know hasNextPage, with the count)
	}, {
		name: "fragments on a union and an interface",
		query: `{ search(text: "O", first: 3) { __typename ... on Node { id } ...bandFields
			... on Album { title band { name } } ... on Track { name album { title } } } }
			fragment bandFields on Band { name label { name } albums(first: 1) { totalCount } }`,
		statements: 7, // 3 searches, labels, album pages (first+1 rows, with the count), albums' bands, tracks' albums
		primed:     6, // a track's album is a page's row, and the page came back first
	}, {
		name:       "aliased root fields",
		query:      `{ a: band(id: 1) { name albums { totalCount } } b: band(id: 2) { name albums { totalCount } } }`,
		statements: 2, // both bands in one ByID batch, both pages (with their counts) in one
	}} {
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

// testGORMDefer: deferred fragments resolve after the initial response, in
// the operation's scope: the albums of every band are still one statement.
func testGORMDefer(t *testing.T, orm, naive *server) {
	const query = `{ bands(first: 100) { name ... @defer(label: "albums") { albums(first: 2) { totalCount edges { node { title } } } } } }`
	got, want := orm.postDeferred(t, query), naive.postDeferred(t, query)
	wantNoErrors(t, got.initial)
	sameDeferred(t, got, want)
	if len(got.incremental) != gormSize.Bands {
		t.Errorf("%d incremental payloads, want one per band (%d)", len(got.incremental), gormSize.Bands)
	}
	if got.statements != 2 { // bands, album pages with their counts
		t.Errorf("%d statements, want 2", got.statements)
	}
	t.Logf("statements: ormloader %d, naive %d", got.statements, want.statements)
}

// testGORMErrors: resolver errors and missing rows look the same with and
// without ormloader.
func testGORMErrors(t *testing.T, orm, naive *server) {
	checkErrors(t, orm, naive, []errorCase{
		{"argument out of range", `{ bands(first: 3) { name albums(first: -1) { totalCount } } }`, "first must be between 0 and 1000, got -1"},
		{"nested argument out of range", `{ bands(first: 2) { albums { edges { node { tracks(first: 5000) { name } } } } } }`, "first must be between 0 and 1000, got 5000"},
		{"missing row", `{ band(id: 999) { name } }`, ""},
		{"mutation on a missing row", `mutation { addMember(bandID: 999, personID: 1) { name } }`, "addMember: no band with id 999: not found"},
	})
}

// testBadQueries: queries that fail to parse or validate run no statement.
func testBadQueries(t *testing.T, orm *server) {
	checkBadQueries(t, orm, []errorCase{
		{"syntax", `{ bands { name `, "Expected Name, found <EOF>"},
		{"unknown field", `{ bands { nope } }`, `Cannot query field "nope" on type "Band".`},
		{"wrong argument type", `{ bands(first: "ten") { name } }`, "Int cannot represent non-integer value"},
		{"fragment on a type outside the union", `{ search(text: "a") { ... on Label { name } } }`, `Fragment cannot be spread here as objects of type "SearchResult" can never be of type "Label".`},
		{"missing variable", `query ($id: ID!) { band(id: $id) { name } }`, "must be defined"},
	})
}

// testGORMMutation: root mutation fields run one after the other, and a read
// after a write in the same operation sees the write (gormloader clears the
// operation's cached results of the tables written). orm and naive have
// databases of their own with the same data.
func testGORMMutation(t *testing.T, orm, naive *server) {
	const query = `mutation ($person: ID!) {
		before: addMember(bandID: 1, personID: 9) { members { id name } albums(first: 100) { totalCount edges { node { title } } } }
		createAlbum(input: {bandID: 1, title: "New Album", year: 2024, tracks: ["One", "Two"]}) {
			id title year tracks { position name } band { name albums(first: 100) { totalCount } }
		}
		after: addMember(bandID: 1, personID: $person) { members { id name } albums(first: 100) { totalCount edges { node { title } } } }
	}`
	vars := map[string]any{"person": "10"}
	got, want := orm.post(t, query, vars), naive.post(t, query, vars)
	wantNoErrors(t, got)
	sameResponse(t, got, want)
	var data struct {
		Before, After struct {
			Members []struct{ ID string }
			Albums  struct{ TotalCount int }
		}
	}
	if err := jsonUnmarshal(got.Data, &data); err != nil {
		t.Fatal(err)
	}
	if b, a := data.Before, data.After; a.Albums.TotalCount != b.Albums.TotalCount+1 || len(a.Members) != len(b.Members)+1 {
		t.Fatalf("the read after the writes does not see them: before %+v, after %+v", b, a)
	}
	// And the next operation reads the same from a new scope.
	const read = `{ band(id: 1) { members { id } albums(first: 100) { totalCount } } }`
	sameResponse(t, orm.post(t, read, nil), naive.post(t, read, nil))
}

func jsonUnmarshal(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s: %w", raw, err)
	}
	return nil
}
