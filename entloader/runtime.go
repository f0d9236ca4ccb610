package entloader

import (
	"context"
	stdsql "database/sql"
	"database/sql/driver"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqlgraph"
	"entgo.io/ent/privacy"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/relations"
)

// This file is the runtime that the generated code calls. Application code
// only uses Variant (through the generated <Type>Variant aliases); the rest is
// exported because the generated code lives in the application's ent package.

// Part is the partition of a loader key: loads of different partitions never
// share a batch or a cache entry.
type Part struct {
	// Conn identifies the client the load runs on: the generated code puts the
	// client's configuration and its driver here, so a transactional client
	// (whose driver is its transaction) is a partition of its own.
	Conn any
	// Variant is nil for the plain load of a relation.
	Variant *Spec
}

// Key is the key of a generated loader: a parent key in a partition.
type Key[ID comparable] struct {
	Part Part
	ID   ID
}

// Loader is a generated relation or primary-key loader: a dataloader.Loader
// whose batch function groups the keys by partition and calls fetch once per
// partition with that partition's distinct keys. Keys fetch leaves out of its
// map get the zero V (no rows; nil for a unique edge).
type Loader[ID comparable, V any] struct {
	name string
	dl   *dataloader.Loader[Key[ID], V]
}

// Fetch loads the values of ids in one partition. It is responsible for
// chunking ids by the bind-parameter limit (see Chunks).
type Fetch[ID comparable, V any] func(ctx context.Context, p Part, ids []ID) (map[ID]V, error)

// NewLoader returns the loader definition of one relation (or one type's
// primary key). name appears in errors and traces, e.g. "Band.albums".
func NewLoader[ID comparable, V any](name string, fetch Fetch[ID, V]) *Loader[ID, V] {
	l := &Loader[ID, V]{name: name}
	l.dl = dataloader.New(func(ctx context.Context, keys []Key[ID]) ([]V, []error, error) {
		type group struct {
			part Part
			ids  []ID
		}
		var groups []group
		index := make(map[Part]int)
		seen := make(map[Key[ID]]struct{}, len(keys))
		for _, k := range keys {
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = struct{}{}
			i, ok := index[k.Part]
			if !ok {
				i = len(groups)
				index[k.Part] = i
				groups = append(groups, group{part: k.Part})
			}
			groups[i].ids = append(groups[i].ids, k.ID)
		}
		// A partition whose statement fails fails its own keys only (not
		// cached): a transaction's error never fails loads outside it.
		results := make(map[Part]map[ID]V, len(groups))
		var failed map[Part]error
		for _, g := range groups {
			m, err := fetch(ctx, g.part, g.ids)
			if err != nil {
				if failed == nil {
					failed = make(map[Part]error)
				}
				failed[g.part] = dataloader.NotCached(fmt.Errorf("entloader: loading %s%s for %d keys: %w", name, g.part.Variant.label(), len(g.ids), err))
				continue
			}
			results[g.part] = m
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
			out[i] = results[k.Part][k.ID]
		}
		return out, errs, nil
	}, dataloader.WithName(name))
	return l
}

// Name returns the loader's name.
func (l *Loader[ID, V]) Name() string { return l.name }

// NodeSet is a node's load set: the rows of the query result the node came
// from, recorded in one scope. The generated code keeps a pointer to it in
// every node (Edges.entloaderSet) and accesses it with LoadSet and the
// interceptors' Record.
type NodeSet struct {
	sets *relations.Sets // the registry of the scope that recorded the set
	set  relations.Set
	slot func(row any) **NodeSet // a row's slot: the row's identity in claims
}

// LoadSet returns the load set in slot (nil if none), safe for concurrent use
// with Record.
func LoadSet(slot **NodeSet) *NodeSet {
	return (*NodeSet)(atomic.LoadPointer((*unsafe.Pointer)(unsafe.Pointer(slot))))
}

// Record records nodes, the rows of one query result, as one load set in the
// context's scope: it stores one shared *NodeSet in every node's slot. The
// generated interceptors call it for every query. Sets are kept on the nodes
// (ent's rows are always pointers), so recording costs one allocation per
// query, not one map entry per row.
func Record[N any](ctx context.Context, nodes []N, slot func(N) **NodeSet) {
	if len(nodes) < 2 {
		return // a set of one row has no siblings to batch
	}
	sets := relations.SetsOf(ctx)
	if sets == nil {
		return
	}
	ns := &NodeSet{sets: sets, set: relations.Set{Rows: make([]any, len(nodes))},
		slot: func(row any) **NodeSet { return slot(row.(N)) }}
	for i, n := range nodes {
		ns.set.Rows[i] = n
	}
	for _, n := range nodes {
		atomic.StorePointer((*unsafe.Pointer)(unsafe.Pointer(slot(n))), unsafe.Pointer(ns))
	}
}

// MayPrime reports whether the rows of a query run under ctx may prime the
// primary-key loaders that many-to-one edges use: the generated interceptors
// prime with every query result that selected every field, which is what a
// load would fetch, unless the query ran under a privacy decision
// (privacy.DecisionContext). Batches run under the scope's context, so a row
// read under privacy.Allow (a system query inside a request) may be one the
// viewer's own loads would not return.
func MayPrime(ctx context.Context) bool {
	_, decided := privacy.DecisionFromContext(ctx)
	return !decided
}

// Load loads the value of id in partition p. If the parent node has a load
// set recorded in the context's scope (slot), the first load of this
// relation and partition on that set enqueues the keys of every row of the
// set (sibling returns a row's key, false for none), so a loop over the rows
// of one query result issues one statement. Loads of the same set from other
// goroutines wait until those keys are enqueued and then find theirs. If
// that batch fails, every row of the set gets its error once, and a row that
// loads again fetches the whole set again (relations.Claim.Owed).
func (l *Loader[ID, V]) Load(ctx context.Context, p Part, id ID, slot **NodeSet, sibling func(row any) (ID, bool)) (V, error) {
	key := Key[ID]{Part: p, ID: id}
	if slot == nil || sibling == nil {
		return l.dl.Load(ctx, key)
	}
	// The common case of a wide fan-out: the key is cached.
	if v, ok := l.dl.Cached(ctx, key); ok {
		return v, nil
	}
	ns := LoadSet(slot)
	if ns == nil || ns.sets != relations.SetsOf(ctx) {
		// No set, or one recorded in another scope: its claims belong there.
		return l.dl.Load(ctx, key)
	}
	token := claim{loader: l, part: p}
	// The second case: the key is pending or in flight in a batch another
	// load started (the first row of the set enqueued the others'), or
	// cached with a per-key error. Join it without claiming the set; an
	// error is recorded on the set's claim as its losers record theirs, so
	// that this node is not owed the failure again (relations.Claim.Owed)
	// and its next load fetches. A key pending in a held batch (another
	// root field's set, dataloader.Scope.HoldSiblings) claims this node's
	// set instead, whose keys then join that batch.
	if v, ok, err := l.dl.LoadExistingUnlessHeld(ctx, key); ok {
		if err != nil {
			if c := ns.sets.Claimed(&ns.set, token); c != nil {
				c.Fail(ctx, err, slot)
			}
		}
		return v, err
	}
	c, won := ns.sets.Claim(&ns.set, token)
	for !won {
		if err := c.Wait(ctx); err != nil {
			var zero V
			return zero, err
		}
		// Another load of this relation claimed the set and has enqueued
		// the set's keys: ours is pending, in flight or cached, unless the
		// batch is over and did not keep it (it failed, or a write cleared
		// it).
		if v, ok, err := l.dl.LoadExisting(ctx, key); ok {
			if err != nil {
				c.Fail(ctx, err, slot)
			}
			return v, err
		}
		if err := c.WaitFinished(ctx); err != nil {
			var zero V
			return zero, err
		}
		if err := c.Owed(slot); err != nil {
			var zero V
			return zero, err // the set's batch failed: this node's share
		}
		c, won = ns.sets.Retry(&ns.set, token, c)
	}
	return l.loadSet(ctx, c, key, slot, ns, sibling)
}

// loadSet enqueues key with the keys of every row of ns, then releases the
// claim, so that the other loads of the set find their keys pending (the
// claim is also released if computing the keys panics: waiters never hang).
// A failure is owed to every other row of the set (relations.Claim.Owed),
// which is identified by its slot: rows may share a key (a many-to-one
// edge's target).
func (l *Loader[ID, V]) loadSet(ctx context.Context, c *relations.Claim, key Key[ID], slot **NodeSet, ns *NodeSet, sibling func(any) (ID, bool)) (V, error) {
	defer c.Finish() // after Fail: losers that missed the batch check it
	defer c.Release()
	siblings := make([]Key[ID], 0, len(ns.set.Rows))
	for _, r := range ns.set.Rows {
		if sid, ok := sibling(r); ok {
			siblings = append(siblings, Key[ID]{Part: key.Part, ID: sid})
		}
	}
	wait, joined := l.dl.LoadWithThunk(ctx, key, siblings)
	c.Release()
	if joined {
		// This node's key is in another set's batch (or cached with an
		// error): nothing of this set was enqueued, so the next load of
		// it claims the set again, and that batch's failure is this
		// node's only.
		c.Finish()
		return wait()
	}
	v, err := wait()
	if err != nil {
		owed := make([]any, len(ns.set.Rows))
		for i, r := range ns.set.Rows {
			owed[i] = ns.slot(r)
		}
		c.Fail(ctx, err, slot, owed...)
	}
	return v, err
}

// LoadMany loads ids in one batch.
func (l *Loader[ID, V]) LoadMany(ctx context.Context, p Part, ids []ID) ([]V, []error) {
	keys := make([]Key[ID], len(ids))
	for i, id := range ids {
		keys[i] = Key[ID]{Part: p, ID: id}
	}
	return l.dl.LoadMany(ctx, keys)
}

// PrimeSet caches the nodes of one query result in partition p, each under
// its id, unless the id has an entry: a node cached from a query result of
// fewer rows (a smaller load set: slot, nil for a type without edges, gives
// a node's) is replaced. Many-to-one edges load their parents here, and a
// parent's edges batch with its load set's siblings; so with two root
// fields a: bands(first: 2) and b: bands(first: 100), the albums' bands are
// b's nodes whichever query returned first, and the bands' labels one
// statement (with a's nodes for two of them, the labels of those two were
// a statement of their own whenever their load came first).
func (l *Loader[ID, V]) PrimeSet(ctx context.Context, p Part, nodes []V, id func(V) ID, slot func(V) **NodeSet) {
	size := func(n V) int {
		if slot == nil {
			return 0
		}
		if ns := LoadSet(slot(n)); ns != nil {
			return len(ns.set.Rows)
		}
		return 0
	}
	mine := size(nodes[0])
	smaller := func(old V) bool { return size(old) < mine }
	for _, n := range nodes {
		l.dl.PrimeOrReplace(ctx, Key[ID]{Part: p, ID: id(n)}, n, smaller)
	}
}

// ClearAll forgets every result of the loader in the context's scope.
func (l *Loader[ID, V]) ClearAll(ctx context.Context) { l.dl.ClearAll(ctx) }

// claim is the token a loader claims a load set with.
type claim struct {
	loader any
	part   Part
}

// Clearer is implemented by every Loader; the generated mutation hooks clear
// the loaders a mutation affects.
type Clearer interface {
	ClearAll(ctx context.Context)
}

var _ Clearer = (*Loader[int, int])(nil)

// Clear clears loaders in the context's scope and forgets the load-set claims,
// so the next load of each relation fetches again. The generated mutation
// hooks call it after a successful write.
func Clear(ctx context.Context, loaders []Clearer) {
	if dataloader.FromContext(ctx) == nil {
		return
	}
	for _, l := range loaders {
		l.ClearAll(ctx)
	}
	relations.SetsOf(ctx).Invalidate()
}

// stripes guard the Edges of nodes that loaders fill: a node's Edges may be
// read and filled by concurrent resolvers. The stripes are shared by every
// request of the process, so a stripe is only ever held for a few field
// reads or writes and always released by defer.
var stripes [1 << stripeBits]sync.Mutex

const stripeBits = 8

// Lock locks the stripe of node n and returns it. The generated accessors
// hold it while they read or fill n.Edges, and release it by defer:
//
//	defer entloader.Lock(n).Unlock()
func Lock[T any](n *T) *sync.Mutex {
	// Fibonacci hashing: nodes of one size class are allocated at a fixed
	// stride, which the low address bits alone would map to a few stripes.
	h := uint64(uintptr(unsafe.Pointer(n))) * 0x9E3779B97F4A7C15
	mu := &stripes[h>>(64-stripeBits)]
	mu.Lock()
	return mu
}

// Chunks splits ids into the fewest statements the dialect's bind-parameter
// limit allows, leaving room for reserved other parameters (filters, privacy
// rules). No ids give no chunk: no statement.
func Chunks[ID any](dialectName string, ids []ID, reserved int) ([][]ID, error) {
	return relations.Chunks(ids, relations.BindLimit(dialectName), 1, reserved+defaultReserve)
}

// defaultReserve is the number of bind parameters kept free in every chunk for
// the predicates that interceptors and privacy rules add at query time, which
// are unknown when the keys are chunked.
const defaultReserve = 256

// Values converts ids to statement arguments.
func Values[ID any](ids []ID) []driver.Value {
	out := make([]driver.Value, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// Shape says where a batched statement reads the parent key of each row.
type Shape struct {
	// Table is the target table; TargetPK its primary-key column.
	Table, TargetPK string
	// KeyColumn holds the parent key: a column of Table, or of JoinTable when
	// it is set.
	KeyColumn string
	// JoinTable is joined on JoinTable.JoinColumn = Table.TargetPK: the join
	// table of a many-to-many edge, or the child table of a many-to-one edge
	// whose foreign key is not a field (keyed by the child's primary key).
	JoinTable, JoinColumn string
}

// KeyTable is the table of KeyColumn.
func (s Shape) KeyTable() string {
	if s.JoinTable != "" {
		return s.JoinTable
	}
	return s.Table
}

// Batch is one batched statement: the keys of one chunk, the shape and the
// variant. Its Hook rewrites ent's query spec so that the statement selects
// the parent key of every row first; Rows and Group then hand the rows to
// their parents.
type Batch[ID comparable, N comparable] struct {
	Shape   Shape
	Dialect string
	Keys    []ID
	Variant *Spec
	// Page makes the statement a page per parent (GroupPage): Variant.Limit
	// rows after the cursor, the first of them past the page telling that
	// more follow, and each parent's count.
	Page bool
	// Fold is how the database compares the key column (KeyFold); nil
	// compares keys exactly.
	Fold *Fold[ID]

	rowKeys []ID      // the key of each row, in row order (written by Hook's scan)
	rowPage []pageRow // with Page: the count and position of each row
	rows    []N       // the rows, duplicates replaced by the first node of their ID
	unique  []N       // the rows without duplicates, as Rows returned them
}

const (
	keyAlias   = "entloader_key"
	rankAlias  = "entloader_rn"
	joinAlias  = "entloader_j"
	totalAlias = "entloader_total"
	countAlias = "entloader_c"
	posAlias   = "entloader_pos"
)

// pageRow is what a page statement says of a row besides its columns.
type pageRow struct {
	total int64 // the rows of its parent that the page counts
	pos   int64 // its position among the rows after the cursor; 0 if before it
}

// Hook is a query hook for the generated query's sqlAll.
func (b *Batch[ID, N]) Hook(_ context.Context, spec *sqlgraph.QuerySpec) {
	pred := spec.Predicate
	values, assign := spec.ScanValues, spec.Assign
	// sqlgraph scans row by row (ScanValues, Scan, Assign), and ent's
	// assignValues copies the values out: one key destination and one slice
	// of destinations serve every row.
	var (
		rowKey stdsql.Null[ID]
		row    pageRow
		dest   []any
	)
	skip := 1 // the columns before the node's: the key, and a page's row
	if b.Page {
		skip = 3
	}
	spec.ScanValues = func(columns []string) ([]any, error) {
		v, err := values(columns[skip:])
		if err != nil {
			return nil, err
		}
		dest = append(dest[:0], &rowKey)
		if b.Page {
			dest = append(dest, &row.total, &row.pos)
		}
		dest = append(dest, v...)
		return dest, nil
	}
	spec.Assign = func(columns []string, v []any) error {
		if !rowKey.Valid {
			return fmt.Errorf("entloader: NULL parent key in %s", b.Shape.Table)
		}
		b.rowKeys = append(b.rowKeys, rowKey.V)
		rowKey = stdsql.Null[ID]{}
		if b.Page {
			b.rowPage = append(b.rowPage, row)
		}
		return assign(columns[skip:], v[skip:])
	}
	if b.Variant == nil || b.Variant.Limit <= 0 {
		spec.Predicate = func(s *sql.Selector) {
			if pred != nil {
				pred(s)
			}
			key := b.keyColumn(s)
			s.Where(b.keyIn(key))
			columns := s.SelectedColumns()
			s.Select(key)
			s.AppendSelect(columns...)
		}
		return
	}
	if b.Page && b.Dialect == dialect.Postgres {
		if cast, ok := pgKeyType[ID](); ok {
			if keys, ok := relations.ArrayLiteral(b.Keys); ok {
				b.lateralPage(spec, pred, cast, keys)
				return
			}
		}
	}
	// Per-parent limit: number the rows of each parent in a subquery that has
	// every condition (including privacy filters), keep the first Limit.
	builder := sql.Dialect(b.Dialect)
	inner := builder.Select().From(builder.Table(b.Shape.Table))
	if pred != nil {
		pred(inner)
	}
	key := b.keyColumn(inner)
	inner.Where(b.keyIn(key))
	pk := inner.C(b.Shape.TargetPK)
	order := func(b *sql.Builder) { b.WriteString(pk) }
	if o := b.Variant.order; o != "" {
		args := b.Variant.orderArgs
		order = func(b *sql.Builder) { b.Join(sql.Expr(o, args...)) }
	}
	inner.Select(inner.Columns(spec.Node.Columns...)...)
	inner.AppendSelectAs(key, keyAlias)
	inner.AppendSelectExprAs(sql.ExprFunc(func(b *sql.Builder) {
		b.WriteString("ROW_NUMBER() OVER (PARTITION BY ").WriteString(key).WriteString(" ORDER BY ")
		order(b)
		b.WriteString(")")
	}), rankAlias)
	outer := builder.Select().From(inner.As(b.Shape.Table))
	lead := []string{keyAlias} // the columns the statement selects before the node's
	var total sql.Querier      // a page's count, when the outer statement computes it
	if b.Page {
		if b.Dialect == dialect.SQLite {
			// SQLite buffers each partition for COUNT(*) OVER: a count of
			// the rows the statement returns, through the index, costs
			// half as much on large parents (benchmarks/statements).
			count := builder.Select().From(builder.Table(b.Shape.Table).As(countAlias))
			if pred != nil {
				pred(count)
			}
			count.Where(sql.ExprP(b.keyColumn(count) + " = " + outer.C(keyAlias)))
			count.Select().AppendSelectExprAs(sql.Expr("COUNT(*)"), totalAlias)
			total = count
		} else {
			inner.AppendSelectExprAs(sql.ExprFunc(func(b *sql.Builder) {
				b.WriteString("COUNT(*) OVER (PARTITION BY ").WriteString(key).WriteString(")")
			}), totalAlias)
		}
	}
	switch cursor := b.Variant.cursor(b.Dialect, b.Shape.Table); {
	case !b.Page:
		outer.Where(sql.LTE(outer.C(rankAlias), b.Variant.Limit))
	case cursor == nil:
		// The rows' numbers are their positions; the row past the page
		// (Limit is the page's size + 1) says that more follow, and every
		// parent with rows has one, which carries its count.
		outer.Where(sql.LTE(outer.C(rankAlias), b.Variant.Limit))
		lead = append(lead, totalAlias, rankAlias)
	default:
		// Positions count the rows after the cursor only; the parent's
		// first row comes too, to carry the count when no row follows the
		// cursor.
		again := b.Variant.cursor(b.Dialect, b.Shape.Table)
		inner.AppendSelectExprAs(sql.ExprFunc(func(b *sql.Builder) {
			b.WriteString("CASE WHEN ").Join(cursor).WriteString(" THEN SUM(CASE WHEN ").Join(again)
			b.WriteString(" THEN 1 ELSE 0 END) OVER (PARTITION BY ").WriteString(key).WriteString(" ORDER BY ")
			order(b)
			b.WriteString(" ROWS UNBOUNDED PRECEDING) ELSE 0 END")
		}), posAlias)
		outer.Where(sql.Or(
			sql.And(sql.GTE(outer.C(posAlias), 1), sql.LTE(outer.C(posAlias), b.Variant.Limit)),
			sql.EQ(outer.C(rankAlias), 1),
		))
		lead = append(lead, totalAlias, posAlias)
	}
	outer.OrderBy(outer.C(keyAlias), outer.C(rankAlias))
	spec.From = outer
	spec.Order = nil
	spec.Predicate = func(s *sql.Selector) {
		columns := s.SelectedColumns()
		if total != nil {
			s.Select(s.C(lead[0]))
			s.AppendSelectExprAs(total, totalAlias)
			s.AppendSelect(s.Columns(lead[2:]...)...)
		} else {
			s.Select(s.Columns(lead...)...)
		}
		s.AppendSelect(columns...)
	}
}

// lateralPage is the page statement on PostgreSQL: per parent key, a
// LATERAL subquery that reads the page's rows in order through the index
// and stops at the row past the page, and one that counts; the window form
// reads and sorts every row of every parent (BENCHMARKS.md, statement
// shapes: 3.8 against 19.2 ms, 4.0 against 35.7 with a cursor, when ten
// parents of a hundred have 5 000 rows). The keys are one parameter, an array literal
// (keys): one statement text whatever their number. With a cursor, each
// parent's first row comes too, at position 0, to carry the count when no
// row follows the cursor (without one, the page starts with that row):
//
//	SELECT t.key, n.total, t.pos, t.* FROM unnest(CAST($1 AS bigint[])) AS p(k)
//	CROSS JOIN LATERAL (SELECT COUNT(*) AS total FROM u WHERE <where> AND u.key = p.k) AS n
//	CROSS JOIN LATERAL ((SELECT u.*, u.key, ROW_NUMBER() OVER (ORDER BY o) AS pos FROM u
//	    WHERE <where> AND u.key = p.k AND <cursor> ORDER BY o LIMIT size+1)
//	  [UNION ALL (SELECT u.*, u.key, 0 FROM u WHERE <where> AND u.key = p.k ORDER BY o LIMIT 1)]) AS t
func (b *Batch[ID, N]) lateralPage(spec *sqlgraph.QuerySpec, pred func(*sql.Selector), cast, keys string) {
	const parents, counted = "entloader_p", "entloader_n"
	builder := sql.Dialect(b.Dialect)
	table := b.Shape.Table
	correlated := func() (*sql.Selector, string) {
		s := builder.Select().From(builder.Table(table))
		if pred != nil {
			pred(s)
		}
		key := b.keyColumn(s)
		s.Where(sql.ExprP(key + " = " + builder.Table(parents).C("k")))
		return s, key
	}
	order := func(s *sql.Selector) sql.Querier {
		if o := b.Variant.order; o != "" {
			return sql.Expr(o, b.Variant.orderArgs...)
		}
		return sql.Expr(s.C(b.Shape.TargetPK))
	}
	count, _ := correlated()
	count.Select().AppendSelectExprAs(sql.Expr("COUNT(*)"), totalAlias)
	page, key := correlated()
	cursor := b.Variant.cursor(b.Dialect, table)
	if cursor != nil {
		page.Where(cursor)
	}
	page.Select(page.Columns(spec.Node.Columns...)...)
	page.AppendSelectAs(key, keyAlias)
	page.AppendSelectExprAs(sql.ExprFunc(func(b *sql.Builder) {
		b.WriteString("ROW_NUMBER() OVER (ORDER BY ").Join(order(page)).WriteString(")")
	}), posAlias)
	page.OrderExpr(order(page)).Limit(b.Variant.Limit)
	var first *sql.Selector
	if cursor != nil {
		var key string
		first, key = correlated()
		first.Select(first.Columns(spec.Node.Columns...)...)
		first.AppendSelectAs(key, keyAlias)
		first.AppendSelectExprAs(sql.Expr("0"), posAlias)
		first.OrderExpr(order(first)).Limit(1)
	}
	from := sql.ExprFunc(func(b *sql.Builder) {
		b.WriteString("unnest(CAST(").Arg(keys).WriteString(" AS " + cast + "[])) AS ").Ident(parents).WriteString("(k)")
		b.WriteString(" CROSS JOIN LATERAL (").Join(count).WriteString(") AS ").Ident(counted)
		b.WriteString(" CROSS JOIN LATERAL ((").Join(page).WriteString(")")
		if first != nil {
			b.WriteString(" UNION ALL (").Join(first).WriteString(")")
		}
		b.WriteString(") AS ").Ident(table)
	})
	outer := builder.Select().FromExpr(from).As(table)
	outer.OrderBy(outer.C(keyAlias), outer.C(posAlias))
	lead := []string{outer.C(keyAlias), builder.Table(counted).C(totalAlias), outer.C(posAlias)}
	spec.From = outer
	spec.Order = nil
	spec.Predicate = func(s *sql.Selector) {
		columns := s.SelectedColumns()
		s.Select(lead...)
		s.AppendSelect(columns...)
	}
}

// keyIn is the condition that key is one of the batch's keys: on
// PostgreSQL, for at least relations.ArrayMinKeys integer, string or UUID
// keys, "key = ANY($1)" with the keys as one array literal (which
// PostgreSQL types as an array of key's type), so that an edge has one
// statement text for every large batch (pgx prepares each new text);
// otherwise an IN list.
func (b *Batch[ID, N]) keyIn(key string) *sql.Predicate {
	if b.Dialect == dialect.Postgres && len(b.Keys) >= relations.ArrayMinKeys {
		if lit, ok := relations.ArrayLiteral(b.Keys); ok {
			return sql.P(func(sb *sql.Builder) {
				sb.WriteString(key + " = ANY(").Arg(lit).WriteString(")")
			})
		}
	}
	return sql.InValues(key, Values(b.Keys)...)
}

// pgKeyType returns the PostgreSQL type of keys of type ID, if it is sure
// of it.
func pgKeyType[ID any]() (string, bool) {
	var id ID
	// Not strings: a string ID's column may be text, varchar, uuid, ...,
	// and the keys must be cast to it (unnest cannot infer a type).
	switch any(id).(type) {
	case int, int8, int16, int32, int64, uint8, uint16, uint32:
		return "bigint", true
	}
	if t := reflect.TypeFor[ID](); t.Kind() == reflect.Array && t.Len() == 16 && t.Elem().Kind() == reflect.Uint8 {
		return "uuid", true // github.com/google/uuid's UUID and the like
	}
	return "", false
}

// keyColumn joins the join table if the shape has one and returns the
// qualified key column.
func (b *Batch[ID, N]) keyColumn(s *sql.Selector) string {
	if b.Shape.JoinTable == "" {
		return s.C(b.Shape.KeyColumn)
	}
	j := sql.Table(b.Shape.JoinTable).As(joinAlias)
	s.Join(j).On(j.C(b.Shape.JoinColumn), s.C(b.Shape.TargetPK))
	return j.C(b.Shape.KeyColumn)
}

// Rows takes the nodes that sqlAll returned for the statement (one per row,
// aligned with the keys Hook scanned) and returns them without duplicates:
// a node reached from several parents (many-to-many, a shared many-to-one
// target) is one node. id returns a node's identity; nil when rows cannot
// repeat (one-to-many edges, edge schemas with composite keys). Under a
// Fold, matching rows to parents may take a statement, run under ctx.
func (b *Batch[ID, N]) Rows(ctx context.Context, nodes []N, id func(N) any) ([]N, error) {
	b.dedup(nodes, id)
	if b.Fold != nil && len(b.rows) == len(b.rowKeys) {
		if err := b.unfold(ctx); err != nil {
			return nil, err
		}
	}
	if b.Page {
		// Only the pages' rows are the result (and so the load set): not
		// the row past a page, nor the first row that carries a count.
		b.unique = b.inPages(b.unique)
	}
	return b.unique, nil
}

// dedup sets b.rows and b.unique (see Rows).
func (b *Batch[ID, N]) dedup(nodes []N, id func(N) any) {
	b.unique = nodes
	if id == nil || len(nodes) < 2 {
		// The interceptors may filter or sort nodes in place: keep the
		// rows aligned with rowKeys in an array of our own.
		b.rows = slices.Clone(nodes)
		return
	}
	b.rows = nodes
	first := make(map[any]N, len(nodes))
	unique := make([]N, 0, len(nodes))
	for i, n := range nodes {
		k := id(n)
		if f, ok := first[k]; ok {
			b.rows[i] = f
			continue
		}
		first[k] = n
		unique = append(unique, n)
	}
	b.unique = unique
}

// unfold hands the rows to the parents the database matched them with
// (b.Fold): each row is repeated for every key of the batch that compares
// as equal to its own key, with that key as its key, in row order. A row
// whose key equals no key of the batch is dropped. Comparing may take a
// statement (see Fold.keyer), run under ctx.
func (b *Batch[ID, N]) unfold(ctx context.Context) error {
	key, err := b.Fold.keyer(ctx, b.Keys, b.rowKeys)
	if err != nil {
		return err
	}
	ps := parents(b.Keys, key)
	rows := make([]N, 0, len(b.rows))
	keys := make([]ID, 0, len(b.rows))
	var page []pageRow
	for i, n := range b.rows {
		for _, k := range ps[key(b.rowKeys[i])] {
			rows = append(rows, n)
			keys = append(keys, k)
			if b.Page {
				page = append(page, b.rowPage[i])
			}
		}
	}
	b.rows, b.rowKeys, b.rowPage = rows, keys, page
	return nil
}

// inPages returns the nodes of unique that are at a position of a page.
func (b *Batch[ID, N]) inPages(unique []N) []N {
	size := int64(b.Variant.Limit - 1)
	in := make(map[N]struct{}, len(b.rows))
	for i, n := range b.rows {
		if pos := b.rowPage[i].pos; pos >= 1 && pos <= size {
			in[n] = struct{}{}
		}
	}
	out := make([]N, 0, len(in))
	for _, n := range unique {
		if _, ok := in[n]; ok {
			out = append(out, n)
		}
	}
	return out
}

// Group appends the rows to their parents in out, in row order, keeping only
// the nodes in kept (what the interceptors returned).
func (b *Batch[ID, N]) Group(kept []N, out map[ID][]N) error {
	if len(b.rows) != len(b.rowKeys) {
		return fmt.Errorf("entloader: %d rows but %d keys from %s", len(b.rows), len(b.rowKeys), b.Shape.Table)
	}
	alive := b.alive(kept)
	// Count the rows of each parent, then cut every parent's slice from one
	// array: one allocation instead of a growing slice per parent.
	of := make([]int, len(b.rows)) // row -> its parent's group, -1 if dropped
	var groups []ID
	var count []int
	index := make(map[ID]int, len(b.Keys))
	for i, n := range b.rows {
		if alive != nil {
			if _, ok := alive[n]; !ok {
				of[i] = -1
				continue
			}
		}
		k := b.rowKeys[i]
		g, ok := index[k]
		if !ok {
			g = len(groups)
			index[k] = g
			groups = append(groups, k)
			count = append(count, len(out[k])) // rows appended by an earlier chunk
		}
		of[i] = g
		count[g]++
	}
	next := make([]int, len(groups))
	total := 0
	for g, c := range count {
		next[g] = total
		total += c
	}
	all := make([]N, total)
	for g, k := range groups {
		next[g] += copy(all[next[g]:], out[k])
	}
	for i, n := range b.rows {
		if g := of[i]; g >= 0 {
			all[next[g]] = n
			next[g]++
		}
	}
	for g, k := range groups {
		end := next[g]
		out[k] = all[end-count[g] : end : end]
	}
	return nil
}

// GroupPage is Group for a page statement (Batch.Page): each parent's page,
// the rows at positions 1 to the page's size (Variant.Limit - 1), whether
// a row follows them, and its count. Parents without rows get no entry.
func (b *Batch[ID, N]) GroupPage(kept []N, out map[ID]Page[N]) error {
	if len(b.rows) != len(b.rowKeys) || len(b.rows) != len(b.rowPage) {
		return fmt.Errorf("entloader: %d rows but %d keys from %s", len(b.rows), len(b.rowKeys), b.Shape.Table)
	}
	alive := b.alive(kept)
	size := int64(b.Variant.Limit - 1)
	for i, n := range b.rows {
		k, r := b.rowKeys[i], b.rowPage[i]
		p := out[k]
		p.TotalCount = int(r.total)
		if r.pos > size {
			p.HasNextPage = true
		} else if _, isAlive := alive[n]; r.pos > 0 && (alive == nil || isAlive) {
			p.Nodes = append(p.Nodes, n)
		}
		out[k] = p
	}
	return nil
}

// GroupOne is Group for unique edges: the first row per parent.
func (b *Batch[ID, N]) GroupOne(kept []N, out map[ID]N) error {
	if len(b.rows) != len(b.rowKeys) {
		return fmt.Errorf("entloader: %d rows but %d keys from %s", len(b.rows), len(b.rowKeys), b.Shape.Table)
	}
	alive := b.alive(kept)
	for i, n := range b.rows {
		if alive != nil {
			if _, ok := alive[n]; !ok {
				continue
			}
		}
		if _, ok := out[b.rowKeys[i]]; !ok {
			out[b.rowKeys[i]] = n
		}
	}
	return nil
}

// alive returns the set of kept rows if the interceptors filtered or replaced
// the rows that Rows returned, or nil if they returned them as they were.
func (b *Batch[ID, N]) alive(kept []N) map[N]struct{} {
	if len(kept) == len(b.unique) && (len(kept) == 0 || &kept[0] == &b.unique[0]) {
		return nil
	}
	alive := make(map[N]struct{}, len(kept))
	for _, n := range kept {
		alive[n] = struct{}{}
	}
	return alive
}

// Count runs the per-parent count of the batch: sel is the generated query's
// selector (its predicates, privacy filters included, are kept).
func (b *Batch[ID, N]) Count(ctx context.Context, drv dialect.Driver, sel *sql.Selector) (map[ID]int, error) {
	sel.ClearOrder()
	key := b.keyColumn(sel)
	sel.Where(b.keyIn(key))
	sel.Select(key)
	group := key
	if b.Fold != nil {
		// Grouped by the keys' bytes, not by the collation: a collation's
		// group is keyed by any one of its spellings, maybe one that no
		// parent's key equals in Go, and the whole group's count would be
		// lost; each spelling's count goes to the parents it matches, as
		// its rows do.
		group = "CAST(" + key + " AS BINARY)"
		sel.Select("MIN(" + key + ")")
	}
	sel.AppendSelectExprAs(sql.Expr("COUNT(*)"), "entloader_count")
	sel.GroupBy(group)
	query, args := sel.Query()
	rows := &sql.Rows{}
	if err := drv.Query(ctx, query, args, rows); err != nil {
		return nil, err
	}
	out, err := b.readCounts(rows)
	// Closed before the weights are read: on a transaction the rows hold
	// its connection (Serialized).
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil || b.Fold == nil {
		return out, err
	}
	// Counts keyed by the parents the database counted them for: one row
	// per spelling (grouped by bytes), the counts of equal keys added.
	spellings := make([]ID, 0, len(out))
	for k := range out {
		spellings = append(spellings, k)
	}
	keyOf, err := b.Fold.keyer(ctx, b.Keys, spellings)
	if err != nil {
		return nil, err
	}
	keyed := make(map[ID]int, len(out))
	for k, n := range out {
		keyed[keyOf(k)] += n
	}
	byParent := make(map[ID]int, len(b.Keys))
	for fk, ks := range parents(b.Keys, keyOf) {
		if n, ok := keyed[fk]; ok {
			for _, k := range ks {
				byParent[k] = n
			}
		}
	}
	return byParent, nil
}

// readCounts reads the rows of a count statement: a key and its count.
func (b *Batch[ID, N]) readCounts(rows *sql.Rows) (map[ID]int, error) {
	out := make(map[ID]int, len(b.Keys))
	for rows.Next() {
		var (
			k stdsql.Null[ID]
			n int
		)
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		if k.Valid {
			out[k.V] += n
		}
	}
	return out, rows.Err()
}

// Serialized returns the driver the batches on drv run on: drv itself,
// unless drv is a transaction's (see IsTx). A transaction is one database
// connection, the batches of one tick run at the same time, and neither
// ent's txDriver nor the database drivers let two statements use one
// connection at once (pgx: "conn busy"): so the statements of the scope's
// batches on it run one at a time, each holding the transaction's lock
// (relations.ConnLock, keyed by the transaction's own driver, so that the
// partitions of its Debug() clients share it) from its execution to the
// close of its rows, not while interceptors or privacy rules run (they may
// load through the same transaction).
func Serialized(ctx context.Context, drv dialect.Driver) dialect.Driver {
	tx, ok := txOf(drv)
	if !ok {
		return drv
	}
	mu := relations.ConnLock(ctx, tx)
	if mu == nil {
		return drv
	}
	return serialDriver{Driver: drv, mu: mu}
}

// IsTx reports whether drv is a transaction's driver (it implements
// dialect.Tx, as the generated txDriver does), also under dialect.Debug
// (a transactional client's Debug()).
func IsTx(drv dialect.Driver) bool {
	_, ok := txOf(drv)
	return ok
}

// txOf returns the transaction's driver under drv's dialect.Debug layers.
func txOf(drv dialect.Driver) (dialect.Driver, bool) {
	for {
		switch d := drv.(type) {
		case dialect.Tx:
			return drv, true
		case *dialect.DebugDriver:
			drv = d.Driver
		default:
			return nil, false
		}
	}
}

type serialDriver struct {
	dialect.Driver
	mu *sync.Mutex
}

func (d serialDriver) Exec(ctx context.Context, query string, args, v any) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.Driver.Exec(ctx, query, args, v)
}

// Query runs the query holding the lock, and keeps holding it until the rows
// are closed.
func (d serialDriver) Query(ctx context.Context, query string, args, v any) error {
	d.mu.Lock()
	err := d.Driver.Query(ctx, query, args, v)
	rows, ok := v.(*sql.Rows)
	if err != nil || !ok || rows.ColumnScanner == nil {
		d.mu.Unlock()
		return err
	}
	rows.ColumnScanner = &unlockOnClose{ColumnScanner: rows.ColumnScanner, unlock: d.mu.Unlock}
	return nil
}

// unlockOnClose releases a serialDriver's lock when its rows are closed.
type unlockOnClose struct {
	sql.ColumnScanner
	once   sync.Once
	unlock func()
}

func (r *unlockOnClose) Close() error {
	err := r.ColumnScanner.Close()
	r.once.Do(r.unlock)
	return err
}
