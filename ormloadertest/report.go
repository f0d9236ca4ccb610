package ormloadertest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Report is what a block of code ([Statements]) or an operation
// ([Operation]) ran, grouped by relation and GraphQL path.
type Report struct {
	Operation  string // the GraphQL operation's name, or the start of its query; "" outside GraphQL
	Statements int    // every statement, each counted once
	// Relations groups the statements, the most statements first. A batch
	// that served loads at several GraphQL paths counts at each of them.
	Relations []Relation
}

// Relation is the statements of one relation at one GraphQL path.
type Relation struct {
	// Name is the loader's name for the statements of dataloader batches
	// ("Album.tracks" for entloader, "gormloader Band.Albums"), the GraphQL
	// field ("Band.albums") for statements that its resolvers ran
	// themselves, and "" for statements outside both.
	Name string
	// Path is the GraphQL path of the resolvers, with every list index
	// written [*] ("bands[*].albums"); for a batch, that of the loads that
	// waited for it. "" outside resolvers.
	Path    string
	Batched bool // the statements of dataloader batches
	// Batches counts the batches; for statements run by resolvers
	// themselves, the resolver calls that ran any. Keys counts the keys of
	// those batches (one per resolver call).
	Batches, Keys int
	Statements    int
	SQL           []string // the distinct statements, in the order first run, on one line, with lists of bind parameters shortened ("IN (?, …)")
	sqlCounts     []int    // how many times each of SQL ran
	// CallSite is the code that loaded the relation or ran the statements,
	// "dir/file.go:line (func)": the resolver, when gqlgen called it.
	CallSite string
}

// repeated reports whether rel is an N+1: a relation (not the statements
// outside resolvers and batches) loaded in more than maxBatches batches at
// one path, or, under a list, one key at a time.
func (rel *Relation) repeated(maxBatches int) bool {
	if rel.Name == "" {
		return false
	}
	return rel.Batches > maxBatches || (rel.Batches >= 2 && rel.Keys == rel.Batches && strings.Contains(rel.Path, "[*]"))
}

// String is one line: "Band.albums ×100 at bands[*].albums: 100 statements
// in 100 resolver calls, one key each, at graph/naive.go:94 (graph.naiveBand.Albums)".
func (rel *Relation) String() string {
	var b strings.Builder
	if rel.Name == "" {
		fmt.Fprintf(&b, "%s outside resolvers and batches", plural(rel.Statements, "statement"))
	} else {
		fmt.Fprintf(&b, "%s ×%d", rel.Name, rel.Batches)
		if rel.Path != "" {
			fmt.Fprintf(&b, " at %s", rel.Path)
		}
		fmt.Fprintf(&b, ": %s in ", plural(rel.Statements, "statement"))
		unit := "resolver call"
		if rel.Batched {
			unit = "batch"
		}
		switch {
		case rel.Keys == rel.Batches && rel.Batches > 1:
			fmt.Fprintf(&b, "%s, one key each", plural(rel.Batches, unit))
		case rel.Batched:
			fmt.Fprintf(&b, "%s of %s", plural(rel.Batches, unit), plural(rel.Keys, "key"))
		default:
			b.WriteString(plural(rel.Batches, unit))
		}
	}
	if rel.CallSite != "" {
		fmt.Fprintf(&b, ", at %s", rel.CallSite)
	}
	return b.String()
}

// maxSQL is how many distinct statements String shows per relation.
const maxSQL = 2

// String lists the relations, each with its most frequent statements.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", plural(r.Statements, "statement"))
	if r.Operation != "" {
		fmt.Fprintf(&b, " in operation %s", r.Operation)
	}
	b.WriteString(":\n")
	for i := range r.Relations {
		writeRelation(&b, &r.Relations[i])
	}
	return b.String()
}

func writeRelation(b *strings.Builder, rel *Relation) {
	fmt.Fprintf(b, "  %s\n", rel)
	order := make([]int, len(rel.SQL))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return cmp.Compare(rel.sqlCounts[j], rel.sqlCounts[i]) })
	for n, i := range order {
		if n == maxSQL {
			fmt.Fprintf(b, "      … and %s more\n", plural(len(order)-maxSQL, "distinct statement"))
			break
		}
		fmt.Fprintf(b, "      %d× %s\n", rel.sqlCounts[i], shorten(rel.SQL[i], 160))
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	if strings.HasSuffix(unit, "ch") {
		return fmt.Sprintf("%d %ses", n, unit)
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// report groups what r recorded.
func (r *recording) report() *Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &Report{Operation: r.operation, Statements: r.total}
	for k, g := range r.fields {
		rep.Relations = append(rep.Relations, relationOf(Relation{
			Name: k.field, Path: k.path, Batches: len(g.calls), Keys: len(g.calls), CallSite: g.site,
		}, &g.sql))
	}
	type group struct {
		rel Relation
		sql sqlCounts
	}
	batched := make(map[loadKey]*group)
	var order []loadKey
	for _, b := range r.batches {
		if !b.started {
			continue // never ran: its scope closed first
		}
		paths := b.paths
		if len(paths) == 0 {
			paths = []string{""}
		}
		for _, p := range paths {
			k := loadKey{b.loader, p}
			g := batched[k]
			if g == nil {
				g = &group{rel: Relation{Name: b.loader, Path: p, Batched: true, CallSite: r.loadSites[k]}}
				batched[k] = g
				order = append(order, k)
			}
			g.rel.Batches++
			g.rel.Keys += b.keys
			g.sql.addAll(&b.sql)
		}
	}
	for _, k := range order {
		g := batched[k]
		rep.Relations = append(rep.Relations, relationOf(g.rel, &g.sql))
	}
	for site, s := range r.outside {
		rep.Relations = append(rep.Relations, relationOf(Relation{CallSite: site}, s))
	}
	slices.SortFunc(rep.Relations, func(a, b Relation) int {
		return cmp.Or(cmp.Compare(b.Statements, a.Statements), cmp.Compare(b.Batches, a.Batches),
			cmp.Compare(a.Name, b.Name), cmp.Compare(a.Path, b.Path), cmp.Compare(a.CallSite, b.CallSite))
	})
	return rep
}

func relationOf(rel Relation, s *sqlCounts) Relation {
	rel.Statements = s.total
	rel.SQL = slices.Clone(s.order)
	for _, q := range s.order {
		rel.sqlCounts = append(rel.sqlCounts, s.n[q])
	}
	return rel
}

// repeated returns the relations of r that are N+1s (see Relation.repeated).
func (r *Report) repeated(maxBatches int) []*Relation {
	var out []*Relation
	for i := range r.Relations {
		if rel := &r.Relations[i]; rel.repeated(maxBatches) {
			out = append(out, rel)
		}
	}
	return out
}

// relationText is rel's line and its most frequent statements.
func relationText(rel *Relation) string {
	var b strings.Builder
	writeRelation(&b, rel)
	return b.String()
}
