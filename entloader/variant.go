package entloader

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"weak"

	"entgo.io/ent/dialect/sql"
)

// Variant selects a variant of a to-many edge load: extra filters, an order,
// and a limit that applies to each parent (ROW_NUMBER() OVER (PARTITION BY
// ...)), not to the whole batch. The generated code declares an alias per
// type, e.g.
//
//	type AlbumVariant = entloader.Variant[predicate.Album, album.OrderOption]
//
// and a method per edge:
//
//	albums, err := band.AlbumsWith(ctx, ent.AlbumVariant{
//		Order: []album.OrderOption{album.ByYear(sql.OrderDesc())},
//		Limit: 3,
//	})
//
// Loads of the same variant are batched together: two Variant values are the
// same variant when their filters and order render to the same SQL and
// arguments. The zero Variant is the plain load.
//
// A page (the <Edge>Page methods, [Page]) counts the rows of Where and
// returns the first Limit of them that also match After, a cursor such as
// album.IDGT(last); other loads AND After with Where.
type Variant[P, O ~func(*sql.Selector)] struct {
	Where []P // conditions on the target rows, ANDed
	After []P // a page's cursor: conditions on the rows it returns, not on those it counts
	Order []O // order of each parent's rows; with a Limit and no Order, by primary key
	Limit int // rows per parent; 0 keeps all (a page's size: 0 returns only its count)
}

// IsZero reports whether v is the plain load.
func (v Variant[P, O]) IsZero() bool {
	return len(v.Where) == 0 && len(v.After) == 0 && len(v.Order) == 0 && v.Limit == 0
}

// Page is one parent's page of a to-many edge, loaded with its count in one
// statement for every parent of the batch (the generated <Edge>Page
// methods): at most the variant's Limit rows after its cursor, in its order.
type Page[N any] struct {
	Nodes       []N  // the page's rows
	HasNextPage bool // more rows follow the page
	TotalCount  int  // the rows that match the variant's Where, cursor and limit aside
}

// Spec is an interned Variant: equal variants share one *Spec, which is
// therefore usable in a comparable loader key. Specs are held weakly: one
// lives as long as a cache entry or a caller uses it.
type Spec struct {
	key       string
	where     []func(*sql.Selector)
	after     []func(*sql.Selector)
	orderBy   []func(*sql.Selector)
	order     string // the rendered ORDER BY list, for the window function
	orderArgs []any
	params    int // bind parameters of filters and order
	Limit     int
}

// Filter applies the variant's conditions, Where and After, to sel.
func (s *Spec) Filter(sel *sql.Selector) {
	s.Counted(sel)
	for _, p := range s.after {
		p(sel)
	}
}

// Counted applies the conditions of the rows a page counts (Where) to sel.
func (s *Spec) Counted(sel *sql.Selector) {
	for _, p := range s.where {
		p(sel)
	}
}

// cursor returns the condition of After on the rows of sel's table, or nil.
func (s *Spec) cursor(dialectName, table string) *sql.Predicate {
	if len(s.after) == 0 {
		return nil
	}
	sel := sql.Dialect(dialectName).Select().From(sql.Table(table))
	for _, p := range s.after {
		p(sel)
	}
	return sel.P()
}

// OrderBy applies the variant's order to s.
func (s *Spec) OrderBy(sel *sql.Selector) {
	for _, o := range s.orderBy {
		o(sel)
	}
}

// HasOrder reports whether the variant orders the rows.
func (s *Spec) HasOrder() bool { return s != nil && len(s.orderBy) > 0 }

// Params returns the number of bind parameters the variant adds to a
// statement (0 for nil).
func (s *Spec) Params() int {
	if s == nil {
		return 0
	}
	return s.params + 1
}

func (s *Spec) label() string {
	if s == nil {
		return ""
	}
	return " (variant " + s.key + ")"
}

var specs sync.Map // string -> weak.Pointer[Spec]

// ErrVariant is matched by errors about a Variant that cannot be loaded.
var ErrVariant = errors.New("entloader: invalid variant")

// Intern returns the *Spec of v for a target table on a dialect, or nil for
// the zero Variant.
func Intern[P, O ~func(*sql.Selector)](dialectName, table string, v Variant[P, O]) (*Spec, error) {
	if v.IsZero() {
		return nil, nil
	}
	if v.Limit < 0 {
		return nil, fmt.Errorf("%w: negative limit %d", ErrVariant, v.Limit)
	}
	builder := sql.Dialect(dialectName)
	sel := builder.Select("*").From(builder.Table(table))
	for _, p := range v.Where {
		p(sel)
	}
	whereSQL, whereArgs := sel.Query()
	sel = builder.Select("*").From(builder.Table(table))
	for _, p := range v.After {
		p(sel)
	}
	afterSQL, afterArgs := sel.Query()
	base, _ := builder.Select("*").From(builder.Table(table)).Query()
	sel = builder.Select("*").From(builder.Table(table))
	for _, o := range v.Order {
		o(sel)
	}
	orderSQL, orderArgs := sel.Query()
	order := ""
	if len(v.Order) > 0 {
		rest, ok := strings.CutPrefix(orderSQL, base+" ORDER BY ")
		if !ok {
			// An order that joins other tables (ordering by an edge count or
			// a neighbour's field) cannot be moved into the window function.
			return nil, fmt.Errorf("%w: a per-parent Limit or Order on %s must order by %s's own columns; this order reads other tables (an edge count or a neighbour's field): order the rows after loading them, or load them without the variant", ErrVariant, table, table)
		}
		order = rest
	}
	key := fmt.Sprintf("%s %#v | after %s %#v | %s %#v | limit %d", whereSQL, whereArgs, afterSQL, afterArgs, order, orderArgs, v.Limit)
	mk := func() *Spec {
		// A page states its filter and its order up to three times (a
		// count, the page, the row carrying the count), its cursor twice.
		params := 3*len(whereArgs) + 2*len(afterArgs) + 3*len(orderArgs)
		s := &Spec{key: key, order: order, orderArgs: orderArgs, params: params, Limit: v.Limit}
		for _, p := range v.Where {
			s.where = append(s.where, p)
		}
		for _, p := range v.After {
			s.after = append(s.after, p)
		}
		for _, o := range v.Order {
			s.orderBy = append(s.orderBy, o)
		}
		return s
	}
	for {
		if old, ok := specs.Load(key); ok {
			if s := old.(weak.Pointer[Spec]).Value(); s != nil {
				return s, nil
			}
			s := mk()
			wp := weak.Make(s)
			if specs.CompareAndSwap(key, old, wp) {
				runtime.AddCleanup(s, func(wp weak.Pointer[Spec]) { specs.CompareAndDelete(key, wp) }, wp)
				return s, nil
			}
			continue
		}
		s := mk()
		wp := weak.Make(s)
		if _, loaded := specs.LoadOrStore(key, wp); !loaded {
			runtime.AddCleanup(s, func(wp weak.Pointer[Spec]) { specs.CompareAndDelete(key, wp) }, wp)
			return s, nil
		}
	}
}
