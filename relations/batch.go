package relations

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/ormloader/ormloader/dataloader"
)

// Variant selects a variant of a relation load. Its fields are part of the
// batch key ([BatchKey]): loads with different variants never share a batch
// or a cache entry. The zero Variant loads every target row.
//
// Order and Where are SQL fragments written by the application, like GORM's
// Order and Where: never build them from user input. Pass values as Args.
type Variant struct {
	Limit int    // per parent: keep the first Limit rows by Order (ROW_NUMBER); 0 keeps all
	Order string // ORDER BY of the target rows, per parent, e.g. "year DESC, id"
	Where string // extra condition on the target rows, with ? placeholders
	Args  Key    // arguments of Where, then of After (at most MaxKeyColumns); the zero Key for none
	Count bool   // count the target rows per parent instead of loading them
	// Page loads a page per parent: the first Limit-1 rows by Order that
	// match After (a cursor, with ? placeholders), whether another follows
	// them (Limit counts that one), and the count of the rows of Where.
	Page  bool
	After string
}

// WhereArgs returns the arguments of Where.
func (v Variant) WhereArgs() []any { return v.Args.Values()[:strings.Count(v.Where, "?")] }

// AfterArgs returns the arguments of After.
func (v Variant) AfterArgs() []any { return v.Args.Values()[strings.Count(v.Where, "?"):] }

// NewVariant is a helper that normalizes the filter arguments into a Key.
func NewVariant(limit int, order string, count bool, where string, args ...any) (Variant, error) {
	v := Variant{Limit: limit, Order: order, Where: where, Count: count}
	if limit < 0 {
		return Variant{}, fmt.Errorf("relations: negative limit %d", limit)
	}
	if len(args) > 0 {
		if where == "" {
			return Variant{}, errors.New("relations: filter arguments without a condition")
		}
		k, err := MakeKey(args...)
		if err != nil {
			return Variant{}, fmt.Errorf("relations: filter %q: %w", where, err)
		}
		v.Args = k
	}
	if n := strings.Count(where, "?"); n != v.Args.Len() {
		return Variant{}, fmt.Errorf("relations: filter %q has %d placeholders and %d arguments", where, n, v.Args.Len())
	}
	return v, nil
}

// IsZero reports whether v is the plain load of every target row.
func (v Variant) IsZero() bool { return v == Variant{} }

// Params is the number of bind parameters the variant adds to a statement
// (filter arguments, plus one for a limit).
func (v Variant) Params() int {
	n := v.Args.Len()
	if v.Limit > 0 {
		n++
	}
	if v.Page {
		// A page states its cursor up to twice and its filter up to three
		// times (a count, the page, the row carrying the count).
		n += strings.Count(v.After, "?") + 2*strings.Count(v.Where, "?")
	}
	return n
}

func (v Variant) String() string {
	if v.IsZero() {
		return "all"
	}
	var parts []string
	if v.Count {
		parts = append(parts, "count")
	}
	if v.Page {
		parts = append(parts, fmt.Sprintf("page of %d", v.Limit-1))
	}
	if v.After != "" {
		parts = append(parts, fmt.Sprintf("after %q", v.After))
	}
	if v.Where != "" {
		parts = append(parts, fmt.Sprintf("where %q %v", v.Where, v.Args))
	}
	if v.Order != "" {
		parts = append(parts, fmt.Sprintf("order %q", v.Order))
	}
	if v.Limit > 0 {
		parts = append(parts, fmt.Sprintf("limit %d", v.Limit))
	}
	return strings.Join(parts, " ")
}

// Part is a batch partition: keys of different partitions are never fetched
// by the same statement. Make it with [NewPart]; the zero Part is the plain
// load on the adapter's pool.
type Part struct {
	// Conn is the connection the statement runs on, as the adapter identifies
	// it: nil for the adapter's pool, or a transaction (a comparable pointer).
	Conn any
	v    *Variant // nil for the zero Variant; interned by NewPart
}

// NewPart returns the partition of the loads of variant v on conn. In the
// scope of ctx, equal variants share one pointer (the scope holds the
// table, which goes with it), so that a [BatchKey] is a few words to copy,
// compare and hash however long the variant's SQL is. Outside a scope each
// call makes a Part of its own ([Partition] still groups equal variants).
func NewPart(ctx context.Context, conn any, v Variant) Part {
	p := Part{Conn: conn}
	if v.IsZero() {
		return p
	}
	scope := dataloader.FromContext(ctx)
	if scope == nil || v != v { // no scope, or a NaN argument, which no map finds again
		p.v = newVariant(v)
		return p
	}
	t := scope.Local(variantsKey{}, func() any { return &variants{m: map[Variant]*Variant{}} }).(*variants)
	t.mu.Lock()
	defer t.mu.Unlock()
	if p.v = t.m[v]; p.v == nil {
		p.v = newVariant(v)
		t.m[v] = p.v
	}
	return p
}

// newVariant returns a copy of v on the heap: only a new entry of the table
// allocates (taking v's address would move every call's v to the heap).
func newVariant(v Variant) *Variant {
	nv := new(Variant)
	*nv = v
	return nv
}

// String describes the partition: its connection (the pool or a
// transaction) and its variant.
func (p Part) String() string {
	conn := "pool"
	if p.Conn != nil {
		conn = fmt.Sprintf("conn %p", p.Conn)
	}
	return conn + ", " + p.Variant().String()
}

// Variant returns the variant of the partition's loads.
func (p Part) Variant() Variant {
	if p.v == nil {
		return Variant{}
	}
	return *p.v
}

type variantsKey struct{}

// variants is a scope's table of interned variants.
type variants struct {
	mu sync.Mutex // protects m
	m  map[Variant]*Variant
}

// BatchKey is the key of a relation loader: one parent key in one partition.
type BatchKey struct {
	Part
	Parent Key
}

// String describes the key: the parent key and its partition.
func (k BatchKey) String() string { return fmt.Sprintf("%v (%v)", k.Parent, k.Part) }

// Group is one partition of a batch, with its distinct parent keys in the
// order of their first occurrence.
type Group struct {
	Part Part
	Keys []Key
}

// Partition groups a batch's keys by partition and drops duplicate parents.
// Groups come in the order of their first key. Zero parent keys are skipped.
// Parts of equal variants are one partition however they were made.
func Partition(keys []BatchKey) []Group { return partition(samePart(keys)) }

// samePart returns keys with one pointer for equal variants: parts that
// NewPart made apart (outside a scope: a LoadMany without one) then compare
// equal. Within a scope NewPart shares them already, and keys come back
// as they are, not copied.
func samePart(keys []BatchKey) []BatchKey {
	var canon map[Variant]*Variant
	out := keys
	for i, k := range keys {
		if k.v == nil {
			continue
		}
		if canon == nil {
			canon = map[Variant]*Variant{}
		}
		c, ok := canon[*k.v]
		switch {
		case !ok:
			canon[*k.v] = k.v
		case c != k.v:
			if &out[0] == &keys[0] {
				out = slices.Clone(keys)
			}
			out[i].v = c
		}
	}
	return out
}

func partition(keys []BatchKey) []Group {
	var groups []Group
	index := map[Part]int{}
	seen := map[BatchKey]struct{}{}
	for _, k := range keys {
		if k.Parent.IsZero() {
			continue
		}
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		i, ok := index[k.Part]
		if !ok {
			i = len(groups)
			index[k.Part] = i
			groups = append(groups, Group{Part: k.Part})
		}
		groups[i].Keys = append(groups[i].Keys, k.Parent)
	}
	return groups
}

// Fetch is the body of a relation loader's batch function. It partitions keys,
// calls run once per partition with that partition's distinct parent keys
// (never with none), and returns one value per key in the order of keys: the
// value run returned for the parent, or the zero V (no rows) if run left it
// out. If run fails for a partition, the keys of that partition get its error
// (dataloader.NotCached: not cached, a later load retries) and the other
// partitions' keys their values: a failure on one connection (an aborted
// transaction) or of one variant never fails the loads of another.
//
// run is responsible for chunking its keys with [Chunks]; it gets them all so
// it can record all rows of the partition as one load set.
func Fetch[V any](ctx context.Context, keys []BatchKey, run func(ctx context.Context, p Part, parents []Key) (map[Key]V, error)) ([]V, []error, error) {
	keys = samePart(keys)
	results := map[Part]map[Key]V{}
	var failed map[Part]error
	for _, g := range partition(keys) {
		m, err := run(ctx, g.Part, g.Keys)
		if err != nil {
			if failed == nil {
				failed = map[Part]error{}
			}
			failed[g.Part] = dataloader.NotCached(err)
			continue
		}
		results[g.Part] = m
	}
	out := make([]V, len(keys))
	var errs []error
	for i, k := range keys {
		if err, ok := failed[k.Part]; ok {
			if errs == nil {
				errs = make([]error, len(keys))
			}
			errs[i] = err
			continue
		}
		out[i] = results[k.Part][k.Parent]
	}
	return out, errs, nil
}
