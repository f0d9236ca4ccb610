package difftest

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"

	"gorm.io/gorm/schema"

	"github.com/ormloader/ormloader/gormloader"
)

// method is the gormloader function a step calls.
type method int

const (
	callLoad method = iota
	callLoadOne
	callCount
	callPage // LoadPage, of v.limit rows
)

func (m method) String() string {
	return [...]string{"Load", "LoadOne", "Count", "LoadPage"}[m]
}

// variant is a load's options, kept as data to build both the gormloader
// options and the naive query.
type variant struct {
	where string
	args  []any
	order string // a total order (it ends with the primary key) or ""
	limit int
}

func (v variant) options() []gormloader.LoadOption {
	opts := v.pageOptions()
	if v.limit > 0 {
		opts = append(opts, gormloader.Limit(v.limit))
	}
	return opts
}

// pageOptions are the options of a LoadPage of v.limit rows.
func (v variant) pageOptions() []gormloader.LoadOption {
	var opts []gormloader.LoadOption
	if v.where != "" {
		opts = append(opts, gormloader.Where(v.where, v.args...))
	}
	if v.order != "" {
		opts = append(opts, gormloader.Order(v.order))
	}
	return opts
}

func (v variant) String() string {
	var parts []string
	if v.where != "" {
		parts = append(parts, fmt.Sprintf("Where(%q, %s)", v.where, formatArgs(v.args)))
	}
	if v.order != "" {
		parts = append(parts, fmt.Sprintf("Order(%q)", v.order))
	}
	if v.limit > 0 {
		parts = append(parts, fmt.Sprintf("Limit(%d)", v.limit))
	}
	return strings.Join(parts, ", ")
}

func formatArgs(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = fmt.Sprintf("%#v", a)
	}
	return strings.Join(parts, ", ")
}

// crossJoinTwice makes a query return each of its rows twice.
const crossJoinTwice = "CROSS JOIN (SELECT 1 AS dt_n UNION ALL SELECT 2) AS dt_twice"

// step loads one relation for every row of the previous level.
type step struct {
	rel      *relMeta
	call     method
	v        variant
	children []*step
}

func (s *step) String() string {
	opts := s.v.String()
	if opts != "" {
		opts = ", " + opts
	}
	return fmt.Sprintf("%s[%s](%q%s)", s.call, s.rel.target.name(), s.rel.full, opts)
}

// tree is a root query and the relation steps below it.
type tree struct {
	root  *modelMeta
	v     variant // the root query's Where, Order and Limit
	steps []*step
	// concurrent loads each row of a level in a goroutine of its own, else
	// a plain loop; copies passes a copy of each row instead of a pointer
	// into the level's slice; dbMode picks the *gorm.DB given to loads
	// (see run.db).
	concurrent bool
	copies     bool
	dbMode     int
	// write, if not 0, seeds a write after which the tree runs again in
	// the same scope (see run.write).
	write uint64
	// twice makes the root query return every row twice (a cross join
	// with two rows), so that load sets hold duplicates.
	twice bool
}

func (t *tree) String() string {
	var b strings.Builder
	mode := "sequential"
	if t.concurrent {
		mode = "concurrent"
	}
	twice := ""
	if t.twice {
		twice = fmt.Sprintf(" Joins(%q)", crossJoinTwice)
	}
	fmt.Fprintf(&b, "root: Find(&[]%s{})%s %s (%s, copies=%v, db mode %d)", t.root.name(), twice, t.v, mode, t.copies, t.dbMode)
	var walk func(steps []*step, depth int)
	walk = func(steps []*step, depth int) {
		for _, s := range steps {
			fmt.Fprintf(&b, "\n%s%s", strings.Repeat("  ", depth), s)
			walk(s.children, depth+1)
		}
	}
	walk(t.steps, 1)
	return b.String()
}

// treeGen makes random query trees over a schema.
type treeGen struct {
	r  *rand.Rand
	mt *meta
}

func (g *treeGen) chance(p float64) bool { return g.r.Float64() < p }

// tree returns a random tree: a root query on a model with relations, then
// paths of depth 1 to 4, branching now and then.
func (g *treeGen) tree() *tree {
	var roots []*modelMeta
	for _, m := range g.mt.models {
		if len(m.rels) > 0 {
			roots = append(roots, m)
		}
	}
	if len(roots) == 0 {
		return nil
	}
	t := &tree{
		root:       roots[g.r.IntN(len(roots))],
		concurrent: g.chance(0.5),
		copies:     g.chance(0.3),
		dbMode:     g.r.IntN(4),
	}
	t.v = g.variant(t.root, false)
	if g.chance(0.3) {
		t.v.limit = 1 + g.r.IntN(8)
	}
	t.twice = g.chance(0.15)
	t.steps = g.level(t.root, 1+g.r.IntN(4))
	if g.chance(0.4) {
		t.write = g.r.Uint64() | 1
	}
	return t
}

// level returns the steps below rows of m, depth levels deep at most.
func (g *treeGen) level(m *modelMeta, depth int) []*step {
	if depth == 0 || len(m.rels) == 0 {
		return nil
	}
	n := 1
	if g.chance(0.35) {
		n = 2 + g.r.IntN(2)
	}
	var steps []*step
	for i := range n {
		rel := m.rels[g.r.IntN(len(m.rels))]
		s := &step{rel: rel}
		switch {
		case g.chance(0.15):
			s.call = callCount
		case rel.many() && rel.pageable() && g.chance(0.15):
			s.call = callPage
		case !rel.many() && g.chance(0.8), rel.many() && g.chance(0.1):
			s.call = callLoadOne
		}
		s.v = g.variant(rel.target, rel.kind() == schema.Many2Many)
		switch {
		case s.call == callCount:
			s.v.order = ""
		case s.call == callPage:
			s.v.limit = g.r.IntN(4) // the page's size, 0 too
			if i == 0 || g.chance(0.5) {
				s.children = g.level(rel.target, depth-1)
			}
		default:
			if g.chance(0.3) {
				s.v.limit = 1 + g.r.IntN(3)
			}
			if i == 0 || g.chance(0.5) {
				s.children = g.level(rel.target, depth-1)
			}
		}
		steps = append(steps, s)
	}
	return steps
}

// variant returns a random filter and order on m's columns. Columns are
// qualified with the table name sometimes, always in a joined statement.
func (g *treeGen) variant(m *modelMeta, joined bool) variant {
	var v variant
	cols := m.dataCols
	col := func(f *schema.Field) string {
		if joined || g.chance(0.5) {
			return m.s.Table + "." + f.DBName
		}
		return f.DBName
	}
	if g.chance(0.45) && len(cols) > 0 {
		f := cols[g.r.IntN(len(cols))]
		v.where, v.args = g.condition(f, col(f))
	}
	if g.chance(0.5) {
		var parts []string
		for range g.r.IntN(3) {
			f := cols[g.r.IntN(len(cols))]
			if f.PrimaryKey {
				continue
			}
			parts = append(parts, col(f)+direction(g))
		}
		// The primary key last: a total order, so that results compare as
		// sequences.
		for _, f := range m.s.PrimaryFields {
			parts = append(parts, col(f)+direction(g))
		}
		v.order = strings.Join(parts, ", ")
	}
	return v
}

func direction(g *treeGen) string {
	if g.chance(0.4) {
		return " DESC"
	}
	return ""
}

// condition returns a filter on column c (field f) with its arguments.
func (g *treeGen) condition(f *schema.Field, c string) (string, []any) {
	k := kindOf(f)
	if k.nullable && g.chance(0.3) {
		if g.chance(0.5) {
			return c + " IS NULL", nil
		}
		return c + " IS NOT NULL", nil
	}
	switch k.base {
	case reflect.Int64:
		if f.PrimaryKey {
			return c + " > ?", []any{g.r.IntN(8)}
		}
		if g.chance(0.5) {
			return c + " >= ?", []any{int64(g.r.IntN(4))}
		}
		return c + " <> ?", []any{g.r.IntN(4)}
	case reflect.String:
		if f.PrimaryKey || isUnique(f) {
			return c + " >= ?", []any{fmt.Sprintf("%c", 'a'+rune(g.r.IntN(5)))}
		}
		if g.chance(0.5) {
			return c + " IN (?, ?)", []any{"a", "ab"}
		}
		return c + " <> ?", []any{"b"}
	case reflect.Bool:
		return c + " = ?", []any{g.chance(0.5)}
	case reflect.Float64:
		return c + " > ?", []any{0.5}
	default:
		return c + " < ?", []any{stamps[0]}
	}
}
