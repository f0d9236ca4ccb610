package integration

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/ormloader/ormloader/internal/testdb"
)

// The random queries of TestRandomQueries: fields of the example servers'
// schemas, picked and nested at random.

// fieldKind is how a field is selected.
type fieldKind int

const (
	scalarField fieldKind = iota
	objectField           // an object or a list of objects: { selection }
	connField             // a Relay connection: { totalCount edges { cursor node { selection } } pageInfo { ... } }
	pageField             // the ent example's AlbumPage: { totalCount albums { selection } hasNextPage endCursor }
	unionField            // search: { __typename ... on T { selection } } for each member type
)

// fieldSpec is a field of a type, with the arguments a query may give it
// ("" for none).
type fieldSpec struct {
	name   string
	kind   fieldKind
	target string   // the type of the selection (the node type of a connection)
	args   []string // one is picked at random
}

// schemaSpec is what the generator knows of a schema.
type schemaSpec struct {
	roots  []fieldSpec
	types  map[string][]fieldSpec
	unions map[string][]string // union → member types
}

var gormSchema = schemaSpec{
	roots: []fieldSpec{
		{"bands", objectField, "Band", []string{"", "(first: 3)", "(first: 5, offset: 2)", "(first: 100)"}},
		{"band", objectField, "Band", []string{`(id: "2")`, `(id: "7")`, `(id: "999")`}},
		{"labels", objectField, "Label", []string{""}},
		{"people", objectField, "Person", []string{"", "(first: 4)", "(first: 6, offset: 3)"}},
		{"search", unionField, "SearchResult", []string{`(text: "a")`, `(text: "o", first: 3)`}},
	},
	types: map[string][]fieldSpec{
		"Band": {
			{name: "name"},
			{"label", objectField, "Label", []string{""}},
			{"members", objectField, "Person", []string{""}},
			{"albums", connField, "Album", []string{"", "(first: 1)", "(first: 2)", `(first: 2, after: "3")`}},
		},
		"Label":  {{name: "name"}, {"bands", objectField, "Band", []string{""}}},
		"Person": {{name: "name"}, {"bands", objectField, "Band", []string{""}}},
		"Album": {
			{name: "title"}, {name: "year"},
			{"band", objectField, "Band", []string{""}},
			{"tracks", objectField, "Track", []string{"", "(first: 1)", "(first: 2)"}},
		},
		"Track": {{name: "position"}, {name: "name"}, {"album", objectField, "Album", []string{""}}},
	},
	unions: map[string][]string{"SearchResult": {"Band", "Album", "Track"}},
}

var entSchema = schemaSpec{
	roots: []fieldSpec{
		{"bands", connField, "Band", []string{"", "(first: 3)", "(first: 100)"}},
		{"labels", connField, "Label", []string{"", "(first: 2)"}},
		{"band", objectField, "Band", []string{`(id: "2")`, `(id: "7")`, `(id: "999")`}},
		{"people", objectField, "Person", []string{"", "(first: 4)", "(first: 6, offset: 3)"}},
		{"search", unionField, "SearchResult", []string{`(text: "a")`, `(text: "o", first: 3)`}},
	},
	types: map[string][]fieldSpec{
		"Band": {
			{name: "name"}, {name: "formed"},
			{"label", objectField, "Label", []string{""}},
			{"members", objectField, "Person", []string{""}},
			{"albums", objectField, "Album", []string{""}},
			{"profile", objectField, "Profile", []string{""}},
			{"influences", objectField, "Band", []string{""}},
			{"albumPage", pageField, "Album", []string{"", "(first: 1)", "(first: 2)", `(first: 2, after: "3")`}},
		},
		"Label":   {{name: "name"}, {"bands", connField, "Band", []string{"", "(first: 1)", "(first: 2)"}}},
		"Person":  {{name: "name"}, {name: "instrument"}, {"bands", objectField, "Band", []string{""}}},
		"Profile": {{name: "bio"}, {"band", objectField, "Band", []string{""}}},
		"Album": {
			{name: "title"}, {name: "year"},
			{"band", objectField, "Band", []string{""}},
			{"tracks", objectField, "Track", []string{""}},
			{"reviews", objectField, "Review", []string{""}},
		},
		"Track":  {{name: "position"}, {name: "title"}, {"album", objectField, "Album", []string{""}}},
		"Review": {{name: "stars"}, {"album", objectField, "Album", []string{""}}},
	},
	unions: map[string][]string{"SearchResult": {"Band", "Album", "Track"}},
}

// randomQuery returns a random operation of one to three root fields (roots),
// each with relations nested up to four levels, some selected twice (under
// an alias, or again in an inline fragment), and how many relation fields
// (counted once per response field) it selects.
func (sc schemaSpec) randomQuery(seed uint64) (query string, roots, relations int) {
	g := &queryGen{spec: sc, r: rand.New(rand.NewPCG(seed, 0xfeed)), args: map[string]string{}}
	var b strings.Builder
	b.WriteString("{")
	roots = 1 + g.r.IntN(3)
	for i := range roots {
		f := sc.roots[g.r.IntN(len(sc.roots))]
		fmt.Fprintf(&b, " r%d: %s%s", i, f.name, f.args[g.r.IntN(len(f.args))])
		relations += g.selection(&b, f, 1)
	}
	b.WriteString(" }")
	return b.String(), roots, relations
}

// queryGen writes one random query.
type queryGen struct {
	spec schemaSpec
	r    *rand.Rand
	// args holds the arguments given to each response field of a type
	// ("Band.albums1"): GraphQL merges fields of the same response key
	// (under fragments, or the same field selected twice), and their
	// arguments must then be equal.
	args map[string]string
}

// argsOf returns the arguments of response field key of type t, picked at
// random the first time.
func (g *queryGen) argsOf(t, key string, f fieldSpec) string {
	k := t + "." + key
	a, ok := g.args[k]
	if !ok {
		a = f.args[g.r.IntN(len(f.args))]
		g.args[k] = a
	}
	return a
}

// selection writes the selection set of field f at depth and returns the
// relation fields in it, f included.
func (g *queryGen) selection(b *strings.Builder, f fieldSpec, depth int) int {
	switch f.kind {
	case connField:
		b.WriteString(" {")
		if g.r.IntN(2) == 0 {
			b.WriteString(" totalCount")
		}
		b.WriteString(" edges {")
		if g.r.IntN(2) == 0 {
			b.WriteString(" cursor")
		}
		b.WriteString(" node")
		n := g.object(b, f.target, depth)
		b.WriteString(" }")
		if g.r.IntN(2) == 0 {
			b.WriteString(" pageInfo { hasNextPage endCursor }")
		}
		b.WriteString(" }")
		return 1 + n
	case pageField:
		b.WriteString(" { totalCount hasNextPage endCursor albums")
		n := g.object(b, f.target, depth)
		b.WriteString(" }")
		return 1 + n
	case unionField:
		b.WriteString(" { __typename")
		n := 0
		for _, t := range g.spec.unions[f.target] {
			fmt.Fprintf(b, " ... on %s", t)
			n += g.object(b, t, depth)
		}
		b.WriteString(" }")
		return 1 + n
	}
	return 1 + g.object(b, f.target, depth)
}

// object writes { id, some scalars, some relations } for type t.
func (g *queryGen) object(b *strings.Builder, t string, depth int) int {
	b.WriteString(" { id")
	relations := 0
	for _, f := range g.spec.types[t] {
		if f.kind == scalarField {
			if g.r.IntN(2) == 0 {
				b.WriteString(" " + f.name)
			}
			continue
		}
		// fewer relations deeper down: 1/2, 1/3, 1/4, 1/5
		if depth > 4 || g.r.IntN(depth+1) != 0 {
			continue
		}
		args := g.argsOf(t, f.name, f)
		fmt.Fprintf(b, " %s%s", f.name, args)
		relations += g.selection(b, f, depth+1)
		switch g.r.IntN(4) {
		case 0: // again under an alias, with arguments of its own
			key := fmt.Sprintf("%s%d", f.name, 1+g.r.IntN(2))
			fmt.Fprintf(b, " %s: %s%s", key, f.name, g.argsOf(t, key, f))
			relations += g.selection(b, f, depth+1)
		case 1: // again in an inline fragment: the same response field, selections merged
			fmt.Fprintf(b, " ... on %s { %s%s", t, f.name, args)
			relations += g.selection(b, f, depth+1) - 1
			b.WriteString(" }")
		}
	}
	b.WriteString(" }")
	return relations
}

var randomQueries = flag.Int("random-queries", 0, "TestRandomQueries: queries per ORM and database (0: 30, or 10 with -short or -race)")

// TestRandomQueries sends random queries (randomQuery: up to three root
// fields, four relation levels, connections and pages with cursors and
// sizes, per-parent limits, the search union, aliases and fragments) to the
// ormloader and the naive example servers of both ORMs, on every test
// database. The responses must be equal, errors included, one request and
// four concurrent ones alike; and no request may run more statements than
// two per relation field of the query per root field, plus one per root
// field (a page and its count are one statement; the bound is what no N+1
// and no split by load set can stay under), nor more than the naive
// resolvers ran. 30 queries per ORM and database (10 with -short or -race;
// -random-queries N for more).
func TestRandomQueries(t *testing.T) {
	queries := *randomQueries
	if queries == 0 {
		queries = 30
		if testing.Short() || raceDetector {
			queries = 10
		}
	}
	for _, db := range testdb.All(t) {
		t.Run(db.Dialect, func(t *testing.T) {
			gormORM, gormNaive := startGORM(t, db)
			entORM, _ := startEnt(t, freshDB(t, db.Dialect), "")
			_, entNaive := startEnt(t, freshDB(t, db.Dialect), "")
			for _, c := range []struct {
				name       string
				spec       schemaSpec
				orm, naive *server
			}{{"gorm", gormSchema, gormORM, gormNaive}, {"ent", entSchema, entORM, entNaive}} {
				for seed := uint64(1); seed <= uint64(queries); seed++ {
					query, roots, relations := c.spec.randomQuery(seed)
					t.Run(fmt.Sprintf("%s/seed%d", c.name, seed), func(t *testing.T) {
						checkRandomQuery(t, query, roots, relations, c.orm, c.naive)
					})
				}
			}
		})
	}
}

// checkRandomQuery sends query to naive once and to orm once and from 4
// concurrent clients.
func checkRandomQuery(t *testing.T, query string, roots, relations int, orm, naive *server) {
	want := naive.post(t, query, nil)
	if len(want.Data) == 0 || string(want.Data) == "null" {
		t.Fatalf("the naive server answered no data: %+v\nquery: %s", want.Errors, query)
	}
	bound := roots + 2*relations*roots
	check := func(round string, got response) {
		t.Helper()
		sameResponse(t, got, want)
		n := got.Extensions.Stats.Statements
		if n > bound || n > max(want.Extensions.Stats.Statements, roots) {
			t.Errorf("%s: %d statements; at most %d (%d relation fields, %d root fields), and the naive resolvers ran %d\nquery: %s\n  %s",
				round, n, bound, relations, roots, want.Extensions.Stats.Statements, query, strings.Join(got.Extensions.Stats.SQL, "\n  "))
		}
	}
	check("sequential", orm.post(t, query, nil))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { check("concurrent", orm.post(t, query, nil)) })
	}
	wg.Wait()
	if t.Failed() {
		t.Logf("query: %s", query)
	}
}
