package gormloader

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"github.com/ormloader/ormloader/relations"
)

// Page is one parent's page of a to-many relation (LoadPage).
type Page[T any] struct {
	Rows        []T   // the page: at most size rows after the cursor, in the order
	HasNextPage bool  // more rows follow the page
	TotalCount  int64 // the rows of the relation that match Where, cursor and size aside
}

// pageResult is the cached result of a page load: rows is a []T of the
// target (nil for none).
type pageResult struct {
	rows  any
	more  bool
	total int64
}

// After is LoadPage's cursor: a condition on the rows the page returns, like
// Where (an SQL fragment with ? placeholders, never built from user input),
// which the count ignores: e.g. After("id > ?", lastID) with Order("id").
// Where's and After's arguments together are at most
// relations.MaxKeyColumns.
func After(query string, args ...any) LoadOption {
	return func(c *loadConfig) { c.after, c.afterArgs = query, args }
}

// pageOf makes a load LoadPage's, of size rows.
func pageOf(size int) LoadOption {
	return func(c *loadConfig) { c.page, c.pageSize = true, size }
}

// LoadPage loads a page of the to-many relation of parent: at most size
// target rows in the Order option's order (by primary key without one) that
// match the After option's cursor, whether more rows follow them, and how
// many target rows the relation has (with the Where option's filter), all
// in one statement for every parent of the batch (ROW_NUMBER() and COUNT(*)
// OVER (PARTITION BY the foreign key)): a Relay connection's edges,
// hasNextPage and totalCount. Size 0 loads only the count and whether any
// row follows the cursor. The Limit option is an error here.
func LoadPage[T any](ctx context.Context, db *gorm.DB, parent any, relation string, size int, opts ...LoadOption) (Page[T], error) {
	if err := modelParam[T]("LoadPage"); err != nil {
		return Page[T]{}, err
	}
	opts = append(opts[:len(opts):len(opts)], pageOf(size))
	res, r, err := load(ctx, db, parent, relation, reflect.TypeFor[T](), false, opts)
	if err != nil || res == nil {
		return Page[T]{}, err
	}
	pr, ok := res.(*pageResult)
	if !ok {
		return Page[T]{}, fmt.Errorf("gormloader: %s: unexpected result %T", r.Name, res)
	}
	rows, _ := pr.rows.([]T)
	return Page[T]{Rows: slices.Clone(rows), HasNextPage: pr.more, TotalCount: pr.total}, nil
}

// pageVariant is the variant of a LoadPage: Limit is size+1 rows, the one
// past the page telling that more follow.
func pageVariant(c loadConfig) (relations.Variant, error) {
	switch {
	case c.limit > 0:
		return relations.Variant{}, fmt.Errorf("%w: Limit with LoadPage (the page's size is LoadPage's)", ErrInvalidOption)
	case c.pageSize < 0:
		return relations.Variant{}, fmt.Errorf("%w: LoadPage of size %d", ErrInvalidOption, c.pageSize)
	case strings.Count(c.after, "?") != len(c.afterArgs):
		return relations.Variant{}, fmt.Errorf("%w: After(%q) has %d placeholders and %d arguments", ErrInvalidOption, c.after, strings.Count(c.after, "?"), len(c.afterArgs))
	}
	limit := c.pageSize
	if limit+1 > limit {
		limit++ // no row can follow math.MaxInt rows
	}
	v, err := relations.NewVariant(limit, c.order, false, c.where, c.args...)
	if err != nil {
		return relations.Variant{}, fmt.Errorf("%w: %v", ErrInvalidOption, err)
	}
	v.Page, v.After = true, c.after
	if len(c.afterArgs) > 0 {
		if v.Args, err = relations.MakeKey(append(v.Args.Values(), c.afterArgs...)...); err != nil {
			return relations.Variant{}, fmt.Errorf("%w: Where's and After's arguments: %v", ErrInvalidOption, err)
		}
	}
	return v, nil
}

// keyTypes returns the Go types of the parts of r's parent key as the
// statement reads it: the target's foreign key, or the join table's.
func (r *relation) keyTypes() []reflect.Type {
	fields := r.matchFields
	if r.Kind == relations.ManyToMany {
		fields = r.joinFields
	}
	types := make([]reflect.Type, len(fields))
	for i, f := range fields {
		types[i] = f.FieldType
	}
	return types
}

// keyed returns a query of r's target rows for the statement of a page,
// with the join table joined for a many-to-many relation, the polymorphic
// condition and the variant's Where; the table that holds the parent key,
// and its columns, quoted.
func (l *Loader) keyed(ctx context.Context, r *relation, p relations.Part) (q *gorm.DB, table string, cols []string) {
	q = l.session(ctx, p.Conn).Model(reflect.New(r.target.ModelType).Interface())
	table = r.Target.Name
	if r.Kind == relations.ManyToMany {
		q, table = l.join(q, r), r.joinRef
	}
	cols = make([]string, len(r.MatchColumns()))
	for i, c := range r.MatchColumns() {
		cols[i] = l.quote(table, c)
	}
	return l.filtered(q, r, p.Variant()), table, cols
}

// keySelect is the select list of rows read with their parent key: the
// target's columns and the key's columns as ol_k0, ol_k1, ...
func (l *Loader) keySelect(r *relation, cols []string) string {
	var b strings.Builder
	b.WriteString(l.db.Statement.Quote(clause.Table{Name: r.Target.Name}) + ".*")
	for i, c := range cols {
		fmt.Fprintf(&b, ", %s AS %s%d", c, aliasKey, i)
	}
	return b.String()
}

// windowPage is the page statement of the dialects without LATERAL (and of
// keys PostgreSQL's form cannot cast): see fetchPageChunk.
func (l *Loader) windowPage(ctx context.Context, r *relation, p relations.Part, chunk []relations.Key, n int) *gorm.DB {
	v := p.Variant()
	q, table, cols := l.keyed(ctx, r, p)
	q = q.Where(l.keyIn(r, table, chunk))
	over := "OVER (PARTITION BY " + strings.Join(cols, ", ")
	order := " ORDER BY " + l.limitOrder(r, v.Order)
	sel := l.keySelect(r, cols) + fmt.Sprintf(", ROW_NUMBER() %s%s) AS %s", over, order, aliasRowNum)
	outerSel, outerArgs := aliasWindow+".*", []any(nil)
	if l.isSQLite() {
		// SQLite buffers each partition for COUNT(*) OVER: a count of the
		// rows the statement returns, through the index, costs half as
		// much on large parents (benchmarks/statements).
		count, _, _ := l.keyed(ctx, r, p)
		for i, c := range cols {
			count = count.Where(fmt.Sprintf("%s = %s.%s%d", c, aliasWindow, aliasKey, i))
		}
		outerSel, outerArgs = fmt.Sprintf("%s.*, (?) AS %s%d", aliasWindow, aliasKey, n), []any{count.Select("COUNT(*)")}
	} else {
		sel += fmt.Sprintf(", COUNT(*) %s) AS %s%d", over, aliasKey, n)
	}
	var args []any
	outer := aliasRowNum + " <= ?"
	if v.After == "" {
		sel += fmt.Sprintf(", ROW_NUMBER() %s%s) AS %s%d", over, order, aliasKey, n+1)
	} else {
		after := v.AfterArgs()
		args = append(after, after...)
		sel += fmt.Sprintf(", CASE WHEN (%s) THEN SUM(CASE WHEN (%s) THEN 1 ELSE 0 END) %s%s ROWS UNBOUNDED PRECEDING) ELSE 0 END AS %s%d",
			v.After, v.After, over, order, aliasKey, n+1)
		outer = fmt.Sprintf("(%s%d BETWEEN 1 AND ?) OR %s = 1", aliasKey, n+1, aliasRowNum)
	}
	return l.session(ctx, p.Conn).Table("(?) AS "+aliasWindow, q.Select(sel, args...)).Select(outerSel, outerArgs...).Where(outer, v.Limit).Order(aliasRowNum)
}

// lateralPage is the page statement on PostgreSQL, per parent key LATERAL
// subqueries: the page read in order up to the row past it (through an
// index on the foreign key, where the window form sorts every row of every
// parent: see benchmarks/statements), a count, and with a cursor the parent's
// first row, at position 0, to carry the count when no row follows the
// cursor. The keys are one parameter, an array literal: one statement text
// whatever their number.
//
//	SELECT ol_t.* FROM unnest(CAST(? AS bigint[])) AS ol_p(k)
//	CROSS JOIN LATERAL (SELECT COUNT(*) AS c FROM target WHERE <where> AND fk = ol_p.k) AS ol_n
//	CROSS JOIN LATERAL ((SELECT target.*, fk AS ol_k0, ol_n.c AS ol_k1, ROW_NUMBER() OVER (ORDER BY o) AS ol_k2
//	    FROM target WHERE <where> AND fk = ol_p.k AND <cursor> ORDER BY o LIMIT size+1)
//	  [UNION ALL (SELECT target.*, fk, ol_n.c, 0 FROM target WHERE <where> AND fk = ol_p.k ORDER BY o LIMIT 1)]) AS ol_t
func (l *Loader) lateralPage(ctx context.Context, r *relation, p relations.Part, keys, cast string) *gorm.DB {
	v := p.Variant()
	order := l.limitOrder(r, v.Order)
	correlated := func() (*gorm.DB, string) {
		q, _, cols := l.keyed(ctx, r, p)
		return q.Where(cols[0] + " = ol_p.k"), cols[0]
	}
	count, _ := correlated()
	count = count.Select("COUNT(*) AS c")
	page, key := correlated()
	if v.After != "" {
		page = page.Where(v.After, v.AfterArgs()...)
	}
	page = page.Select(l.keySelect(r, []string{key}) + ", ol_n.c AS " + aliasKey + "1, ROW_NUMBER() OVER (ORDER BY " + order + ") AS " + aliasKey + "2").
		Order(order).Limit(v.Limit)
	from := "unnest(CAST(? AS " + cast + "[])) AS ol_p(k) CROSS JOIN LATERAL (?) AS ol_n CROSS JOIN LATERAL ((?)"
	args := []any{keys, count, page}
	if v.After != "" {
		first, _ := correlated()
		from += " UNION ALL (?)"
		args = append(args, first.Select(l.keySelect(r, []string{key})+", ol_n.c, 0").Order(order).Limit(1))
	}
	return l.session(ctx, p.Conn).Table(from+") AS ol_t", args...).Select("ol_t.*").Order(aliasKey + "0, " + aliasKey + "2")
}

// pgKeys returns the PostgreSQL type of r's parent key and keys as an array
// literal for the LATERAL form of a page, or false where that form does not
// apply (another dialect, a composite key, a type it is not sure of).
func (l *Loader) pgKeys(r *relation, keys []relations.Key) (cast, lit string, ok bool) {
	if l.db.Dialector.Name() != "postgres" {
		return "", "", false
	}
	cast, ok = pgKeyType(r)
	if !ok {
		return "", "", false
	}
	lit, ok = relations.ArrayLiteral(firstParts(keys))
	return cast, lit, ok
}

// pgKeyType returns the PostgreSQL type of r's single-column parent key, if
// it is sure of it.
func pgKeyType(r *relation) (string, bool) {
	fields := r.matchFields
	if r.Kind == relations.ManyToMany {
		fields = r.joinFields
	}
	if len(fields) != 1 {
		return "", false
	}
	// Not strings: a string field's column may be text, varchar, uuid, ...,
	// and the keys must be cast to it (unnest cannot infer a type).
	switch fields[0].DataType {
	case schema.Int, schema.Uint:
		return "bigint", true
	case "uuid":
		return "uuid", true
	}
	return "", false
}

// checkPage tells why r cannot be loaded a page at a time, if it cannot.
//
//go:noinline
func (r *relation) checkPage() error {
	if !r.Kind.Many() {
		return fmt.Errorf("%w: LoadPage of %s, a to-one relation", ErrInvalidOption, r.Name)
	}
	if len(r.MatchColumns())+2 > relations.MaxKeyColumns {
		return fmt.Errorf("%w: LoadPage of %s, whose key has more than %d columns", ErrInvalidOption, r.Name, relations.MaxKeyColumns-2)
	}
	return nil
}

// pageRow is what a page statement says of a row besides its columns.
type pageRow struct {
	total int64 // the rows of its parent that the page counts
	pos   int64 // its position among the rows after the cursor; 0 if before it
}

// fetchPages loads the pages of r for the parents of one partition: the rows
// at positions 1 to the page's size, whether a row follows them, and each
// parent's count. Only the pages' rows are recorded as a load set.
func (l *Loader) fetchPages(ctx context.Context, sets *relations.Sets, r *relation, p relations.Part, parents []relations.Key, chunks [][]relations.Key) (map[relations.Key]any, error) {
	t := r.target.ModelType
	kept := reflect.MakeSlice(reflect.SliceOf(t), 0, 0)
	var keys, keptKeys []relations.Key
	var rowsInfo []pageRow
	var all []reflect.Value
	for _, chunk := range chunks {
		rows, k, info, err := l.fetchPageChunk(ctx, r, p, chunk)
		if err != nil {
			return nil, err
		}
		all = append(all, rows)
		keys = append(keys, k...)
		rowsInfo = append(rowsInfo, info...)
	}
	f, err := r.collation.folder(ctx, l, p.Conn, r.MatchTable(), r.MatchColumns())
	if err == nil {
		f, err = f.weigh(ctx, l, p.Conn, parents, keys)
	}
	if err != nil {
		return nil, err
	}
	f.foldAll(keys)
	size := int64(p.Variant().Limit - 1)
	pages := make(map[relations.Key]*pageResult, len(parents))
	i := 0
	for _, rows := range all {
		for j := range rows.Len() {
			k, info := keys[i], rowsInfo[i]
			i++
			if k.IsZero() {
				continue
			}
			pr := pages[k]
			if pr == nil {
				pr = &pageResult{}
				pages[k] = pr
			}
			pr.total = info.total
			switch {
			case info.pos > size:
				pr.more = true
			case info.pos > 0:
				kept = reflect.Append(kept, rows.Index(j))
				keptKeys = append(keptKeys, k)
			}
		}
	}
	if tm, err := l.model(t); err == nil {
		l.recordRows(ctx, sets, tm, kept, true)
		l.prime(ctx, tm, p.Conn, kept, true)
	}
	out := make(map[relations.Key]any, len(pages))
	for k, rows := range groupRows(kept, keptKeys, true, len(parents)) {
		pages[k].rows = rows
	}
	for k, pr := range pages {
		out[k] = pr
	}
	return f.byParent(out, parents), nil
}

// fetchPageChunk runs the page statement of one chunk: on PostgreSQL the
// LATERAL form (lateralPage), elsewhere (windowPage)
//
//	SELECT * FROM (SELECT target.*, fk AS ol_k0, ROW_NUMBER() OVER (PARTITION BY fk ORDER BY o) AS ol_rn,
//	  COUNT(*) OVER (PARTITION BY fk) AS ol_k1, <position> AS ol_k2 FROM target WHERE fk IN (...) AND <where>) AS ol_w
//	WHERE ol_rn <= size+1                                -- without a cursor, the position is ol_rn
//	WHERE (ol_k2 BETWEEN 1 AND size+1) OR ol_rn = 1       -- with one: the rows after it are numbered
//	                                                      -- (a running SUM), the first row carries the count
//
// (a many-to-many relation joins the join table, whose owner key is ol_k0).
// The count and the position are scanned as parts of the row's key, which
// keyedRows takes aside, matched to the rows by primary key after the Query
// callbacks.
func (l *Loader) fetchPageChunk(ctx context.Context, r *relation, p relations.Part, chunk []relations.Key) (reflect.Value, []relations.Key, []pageRow, error) {
	v := p.Variant()
	types := r.keyTypes()
	n := len(types)
	types = append(types, reflect.TypeFor[int64](), reflect.TypeFor[int64]())
	var q *gorm.DB
	if cast, keys, ok := l.pgKeys(r, chunk); ok {
		q = l.lateralPage(ctx, r, p, keys, cast)
	} else {
		q = l.windowPage(ctx, r, p, chunk, n)
	}
	rows, full, err := l.scanKeyed(ctx, r, q, len(chunk), v.Limit, types)
	if err != nil {
		return reflect.Value{}, nil, nil, err
	}
	keys := make([]relations.Key, len(full))
	info := make([]pageRow, len(full))
	for i, k := range full {
		if k.Len() != n+2 {
			continue // a NULL key: no parent
		}
		total, ok1 := k.At(n).(int64)
		pos, ok2 := k.At(n + 1).(int64)
		if !ok1 || !ok2 {
			return reflect.Value{}, nil, nil, fmt.Errorf("gormloader: %s: a page row's count and position are %T and %T, not integers", r.Name, k.At(n), k.At(n+1))
		}
		if keys[i], err = relations.MakeKey(k.Values()[:n]...); err != nil {
			return reflect.Value{}, nil, nil, fmt.Errorf("gormloader: %s: %w", r.Name, err)
		}
		info[i] = pageRow{total: total, pos: pos}
	}
	return rows, keys, info, nil
}
