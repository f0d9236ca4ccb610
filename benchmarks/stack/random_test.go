package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ormloader/ormloader/benchmarks/stack/internal/bench"
)

var (
	randomQueries = flag.Int("queries", randomQueriesDefault, "TestRandomQueries: how many random queries per dialect")
	randomFirst   = flag.Uint64("first-query", 1, "TestRandomQueries: the seed of the first random query")
)

// TestRandomQueries sends random queries over the benchmark's schema —
// up to three root fields with different page sizes, relations reached
// again through the schema's cycles, aliases, fields repeated in inline
// fragments, up to five relation levels — to the naive and the ormloader
// variant of both ORMs, 3 requests one after the other and 3 from each of
// floorClients clients. Every ormloader response must equal the naive one
// (lists compared in ID order). The floor (floorOf, read from the
// response) is one statement per root field and, level by level, one per
// relation with a key that no earlier level loaded:
//
//   - a query of one root field must run at the floor in every request,
//     sequential and concurrent;
//   - a query of several root fields must be at the floor in 90 % of its
//     sequential requests, and never run more than one batch per root field
//     for a relation and level: the root fields' results are separate load
//     sets, merged by the tick after the last root field has returned
//     (gqlgenloader, dataloader.Scope.HoldSiblings), which a goroutine that
//     the scheduler starts late can still miss.
//
// Run more with -queries N and -first-query S; a failure names the query's
// seed (seedN/orm).
func TestRandomQueries(t *testing.T) {
	for dialect, dsn := range dialects() {
		t.Run(dialect, func(t *testing.T) {
			var merged, at mergeCount
			err := withVariants(t.Context(), dsn, small, func(variants []bench.Variant) error {
				byName := make(map[string]bench.Variant)
				for _, v := range variants {
					byName[v.ORM+"/"+v.Name] = v
				}
				for seed := *randomFirst; seed < *randomFirst+uint64(*randomQueries); seed++ {
					q := randomQuery(seed)
					for _, orm := range []string{"gorm", "ent"} {
						t.Run(fmt.Sprintf("seed%d/%s", seed, orm), func(t *testing.T) {
							checkRandomQuery(t, q, byName[orm+"/"+bench.Naive], byName[orm+"/"+bench.Ormloader], &merged, &at)
						})
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("queries of several root fields at the floor of the whole query: %d of %d sequential requests, %d of %d concurrent",
				merged.seq.Load(), at.seq.Load(), merged.conc.Load(), at.conc.Load())
			if n := at.seq.Load(); n > 0 && merged.seq.Load()*10 < n*9 {
				t.Errorf("only %d of %d sequential requests of several root fields at the floor of the whole query, want 90 %%", merged.seq.Load(), n)
			}
		})
	}
}

// mergeCount counts requests of queries of several root fields.
type mergeCount struct{ seq, conc atomic.Int64 }

// checkRandomQuery runs q on naive and on ormloader, 3 requests one after
// the other and 3 from each of floorClients clients. For a query of several
// root fields it counts the requests (at) and those at the floor of the
// whole query (merged).
func checkRandomQuery(t *testing.T, q *randQuery, naive, ormloader bench.Variant, merged, at *mergeCount) {
	text := q.String()
	body := bench.Body(text)
	out, err := bench.Request(naive.Handler, body)
	if err != nil {
		t.Fatalf("naive: %v\n%s", err, text)
	}
	want, err := bench.Canonical(out)
	if err != nil {
		t.Fatal(err)
	}
	primedRoots := ormloader.ORM == "ent"
	floor, err := q.floorOf(out, q.roots, primedRoots)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	// The most statements a request may run: with several root fields,
	// each level's batch of a relation may split into one per root field
	// (a late root field's rows missed by the tick), and the sets of a split
	// batch split the levels below it the same way.
	roots := len(q.roots)
	bound := roots + (floor-roots)*roots
	check := func(round string, out []byte, sql []string, count *atomic.Int64, mergedCount *atomic.Int64) {
		got, err := bench.Canonical(out)
		if err != nil {
			t.Error(err)
			return
		}
		if got != want {
			t.Errorf("%s: ormloader's response differs from naive's\nquery: %s\n got: %.2000s\nwant: %.2000s", round, text, got, want)
		}
		if len(sql) > bound {
			t.Errorf("%s: %d statements, at most %d (the floor: %d)\nquery: %s\n  %s", round, len(sql), bound, floor, text, strings.Join(sql, "\n  "))
		}
		if len(q.roots) > 1 {
			count.Add(1)
			if len(sql) <= floor {
				mergedCount.Add(1)
			}
		}
	}
	for range 3 {
		out, sql, err := bench.RequestStatements(ormloader.Handler, body)
		if err != nil {
			t.Fatalf("ormloader: %v\n%s", err, text)
		}
		check("sequential", out, sql, &at.seq, &merged.seq)
	}
	var wg sync.WaitGroup
	for range floorClients {
		wg.Go(func() {
			for range 3 {
				out, sql, err := bench.RequestStatements(ormloader.Handler, body)
				if err != nil {
					t.Errorf("ormloader, %d clients: %v\n%s", floorClients, err, text)
					return
				}
				check(fmt.Sprintf("%d clients", floorClients), out, sql, &at.conc, &merged.conc)
			}
		})
	}
	wg.Wait()
}

// relation is a relation field of the schema.
type relation struct {
	owner, field, target string
	toOne                bool // the key is the target's ID; else the owner's
}

func (r relation) String() string { return r.owner + "." + r.field }

var (
	scalarsOf = map[string][]string{
		"Band": {"name"}, "Album": {"title", "year"}, "Track": {"position", "title"},
		"Label": {"name"}, "Person": {"name"},
	}
	relationsOf = map[string][]relation{
		"Band":  {{"Band", "label", "Label", true}, {"Band", "members", "Person", false}, {"Band", "albums", "Album", false}},
		"Album": {{"Album", "band", "Band", true}, {"Album", "tracks", "Track", false}},
		"Track": {{"Track", "album", "Album", true}},
	}
)

// randQuery is a random operation: root fields bands(first: n).
type randQuery struct {
	seed  uint64
	roots []*selection
}

// selection is a field with a selection set: a root field (rel is zero) or
// a relation. Its children with the same key (one of them in an inline
// fragment) are one field of the response.
type selection struct {
	key      string // the response key: the field's name or its alias
	rel      relation
	typ      string
	first    int // root fields: the page size
	scalars  []string
	children []*selection
	inline   []bool // per child: written inside "... on typ { }"
}

func randomQuery(seed uint64) *randQuery {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	q := &randQuery{seed: seed}
	firsts := []int{1, 2, 3, 5, 8, 12, 100}
	for i := range 1 + r.IntN(3) {
		root := &selection{key: fmt.Sprintf("r%d", i), typ: "Band", first: firsts[r.IntN(len(firsts))]}
		names := 0
		fill(r, root, 1, &names)
		q.roots = append(q.roots, root)
	}
	return q
}

// fill gives s random scalars and relations, to depth 5.
func fill(r *rand.Rand, s *selection, depth int, names *int) {
	for _, f := range scalarsOf[s.typ] {
		if r.IntN(2) == 0 {
			s.scalars = append(s.scalars, f)
		}
	}
	if depth > 5 {
		return
	}
	for _, rel := range relationsOf[s.typ] {
		// fewer relations deeper down: about 2/3, 1/2, 2/5, 1/3, 2/7
		if r.IntN(depth+2) >= 2 {
			continue
		}
		for n := range 1 + r.IntN(2) {
			c := &selection{key: rel.field, rel: rel, typ: rel.target}
			inline := false
			if n > 0 {
				if r.IntN(2) == 0 {
					*names++
					c.key = fmt.Sprintf("%s%d", rel.field, *names) // an alias: another response field
				} else {
					inline = true // the same response field, selected again in a fragment
				}
			}
			fill(r, c, depth+1, names)
			s.children = append(s.children, c)
			s.inline = append(s.inline, inline)
		}
	}
}

func (q *randQuery) String() string {
	var b strings.Builder
	b.WriteString("{")
	for _, root := range q.roots {
		fmt.Fprintf(&b, " %s: bands(first: %d)", root.key, root.first)
		root.write(&b)
	}
	b.WriteString(" }")
	return b.String()
}

func (s *selection) write(b *strings.Builder) {
	b.WriteString(" { id")
	for _, f := range s.scalars {
		b.WriteString(" " + f)
	}
	for i, c := range s.children {
		if s.inline[i] {
			fmt.Fprintf(b, " ... on %s {", s.typ)
		}
		if c.key != c.rel.field {
			b.WriteString(" " + c.key + ":")
		}
		b.WriteString(" " + c.rel.field)
		c.write(b)
		if s.inline[i] {
			b.WriteString(" }")
		}
	}
	b.WriteString(" }")
}

// merged returns s's children merged by response key, as GraphQL merges
// them: the children of fields with the same key are one selection set.
func (s *selection) merged() []*selection {
	var out []*selection
	byKey := make(map[string]*selection)
	for _, c := range s.children {
		if m, ok := byKey[c.key]; ok {
			m.children = append(m.children, c.children...)
			m.inline = append(m.inline, c.inline...)
			continue
		}
		m := &selection{key: c.key, rel: c.rel, typ: c.typ,
			children: append([]*selection(nil), c.children...), inline: append([]bool(nil), c.inline...)}
		byKey[c.key] = m
		out = append(out, m)
	}
	return out
}

// floorOf returns the fewest statements a request for the root fields roots
// of q can run, read from q's response out: one per root field, then, level by level, one per
// relation with a key that no earlier level loaded. A to-one relation's key
// is its target's ID, and the rows every statement fetches are loaded by ID
// for the to-one relations to their model (gormloader primes them, entloader
// primes its primary-key loader with every query result); with primedRoots
// (ent) the root fields' rows are too.
func (q *randQuery) floorOf(out []byte, roots []*selection, primedRoots bool) (int, error) {
	var resp struct {
		Data map[string][]map[string]any `json:"data"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return 0, err
	}
	// keys[d][relation]: the keys the relation is loaded for at level d;
	// rows[d][model]: the IDs of the rows of the model loaded at level d
	var (
		keys []map[relation]map[string]bool
		rows []map[string]map[string]bool
	)
	byID := map[string]map[string]bool{} // model → IDs loaded by ID
	loaded := map[relation]map[string]bool{}
	add := func(m map[string]map[string]bool, k, id string) {
		if m[k] == nil {
			m[k] = map[string]bool{}
		}
		m[k][id] = true
	}
	var walk func(s *selection, objs []map[string]any, depth int) error
	walk = func(s *selection, objs []map[string]any, depth int) error {
		for _, c := range s.merged() {
			for len(keys) <= depth {
				keys = append(keys, map[relation]map[string]bool{})
				rows = append(rows, map[string]map[string]bool{})
			}
			if keys[depth][c.rel] == nil {
				keys[depth][c.rel] = map[string]bool{}
			}
			var next []map[string]any
			for _, o := range objs {
				v, ok := o[c.key]
				if !ok {
					return fmt.Errorf("no %q in %v", c.key, o)
				}
				switch v := v.(type) {
				case nil: // a to-one relation with a NULL key: nothing to load
				case map[string]any:
					keys[depth][c.rel][idOf(v)] = true
					next = append(next, v)
				case []any:
					keys[depth][c.rel][idOf(o)] = true
					for _, e := range v {
						next = append(next, e.(map[string]any))
					}
				}
			}
			for _, o := range next {
				add(rows[depth], c.rel.target, idOf(o))
			}
			if err := walk(c, next, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	floor := 0
	for _, root := range roots {
		floor++
		objs := resp.Data[root.key]
		if primedRoots {
			for _, o := range objs {
				add(byID, "Band", idOf(o))
			}
		}
		if err := walk(root, objs, 1); err != nil {
			return 0, err
		}
	}
	for d, level := range keys {
		for rel, ks := range level {
			known := loaded[rel]
			if rel.toOne {
				known = byID[rel.target]
			}
			for k := range ks {
				if !known[k] {
					floor++
					break
				}
			}
		}
		for rel, ks := range level {
			if loaded[rel] == nil {
				loaded[rel] = map[string]bool{}
			}
			for k := range ks {
				loaded[rel][k] = true
			}
		}
		for model, ids := range rows[d] {
			for id := range ids {
				add(byID, model, id)
			}
		}
	}
	return floor, nil
}

func idOf(o map[string]any) string {
	s, _ := o["id"].(string)
	if _, err := strconv.Atoi(s); err != nil {
		panic(fmt.Sprintf("object without a numeric id: %v", o))
	}
	return s
}
