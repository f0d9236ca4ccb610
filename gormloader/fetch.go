package gormloader

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ormloader/ormloader/relations"
)

// paramsMargin is kept free of the bind limit in every statement for the
// parameters that GORM's query clauses may add (a soft-delete flag, a tenant
// scope); it never changes the number of statements of a batch that is not
// within a few keys of a multiple of the limit.
const paramsMargin = 8

// Aliases used in the statements.
const (
	aliasKey    = "ol_k"     // ol_k0, ol_k1...: the parent key of a joined row
	aliasRowNum = "ol_rn"    // ROW_NUMBER() of the per-parent limit
	aliasCount  = "ol_count" // COUNT(*) of the count variant
	aliasWindow = "ol_w"     // the derived table of the per-parent limit
)

// fetchBatch returns the batch function of r's loader: one statement per
// partition (transaction, variant) and chunk of the bind limit.
func (r *relation) fetchBatch(l *Loader) func(ctx context.Context, keys []relations.BatchKey) ([]any, []error, error) {
	return func(ctx context.Context, keys []relations.BatchKey) ([]any, []error, error) {
		sets := relations.SetsOf(ctx) // batches run under the scope's context
		return relations.Fetch(ctx, keys, func(ctx context.Context, p relations.Part, parents []relations.Key) (map[relations.Key]any, error) {
			m, err := l.fetchRelation(ctx, sets, r, p, parents)
			if err != nil {
				return nil, fmt.Errorf("gormloader: loading %s (%v) for %d parents: %w", r.Name, p.Variant(), len(parents), err)
			}
			return m, nil
		})
	}
}

func (l *Loader) isSQLite() bool {
	n := l.db.Dialector.Name()
	return n == "sqlite" || n == "sqlite3"
}

// inExpr returns "cols IN (...)" for keys, with cols quoted on table.
func (l *Loader) inExpr(table string, cols []string, keys []relations.Key) clause.Expr {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = l.quote(table, c)
	}
	vars := make([]any, 0, len(keys)*len(cols))
	for _, k := range keys {
		vars = k.AppendValues(vars)
	}
	return clause.Expr{SQL: relations.InSQL(quoted, len(keys), len(cols) > 1 && l.isSQLite()), Vars: vars}
}

// keyIn returns the condition that the parent key of r's rows (its
// columns on table) is one of keys: on PostgreSQL, for a single-column key
// of integers or strings and at least relations.ArrayMinKeys keys, "col =
// ANY(?)" with the keys as one array literal (which PostgreSQL types as an
// array of col's type), so that a relation has one statement text for every
// large batch (pgx prepares each new text); otherwise an IN list.
func (l *Loader) keyIn(r *relation, table string, keys []relations.Key) clause.Expr {
	if len(keys) >= relations.ArrayMinKeys && len(r.MatchColumns()) == 1 && l.db.Dialector.Name() == "postgres" {
		if lit, ok := relations.ArrayLiteral(firstParts(keys)); ok {
			return clause.Expr{SQL: l.quote(table, r.MatchColumns()[0]) + " = ANY(?)", Vars: []any{lit}}
		}
	}
	return l.inExpr(table, r.MatchColumns(), keys)
}

// firstParts returns the first part of each key.
func firstParts(keys []relations.Key) []any {
	parts := make([]any, len(keys))
	for i, k := range keys {
		parts[i] = k.At(0)
	}
	return parts
}

func (l *Loader) quoteAll(table string, cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = l.quote(table, c)
	}
	return strings.Join(q, ", ")
}

// filtered applies the polymorphic type condition and the variant's filter.
func (l *Loader) filtered(q *gorm.DB, r *relation, v relations.Variant) *gorm.DB {
	if p := r.Polymorphic; p != nil {
		q = q.Where(clause.Eq{Column: clause.Column{Table: r.Target.Name, Name: p.TypeColumn}, Value: p.Value})
	}
	if v.Where != "" {
		q = q.Where(v.Where, v.WhereArgs()...)
	}
	return q
}

// countColumns returns what a count statement selects and groups by: the
// key columns cols of table, except that a column the folder folds is
// grouped by its bytes (and selected as one of its group's values, all
// alike), not by its collation: a collation's group is keyed by any one of
// its spellings, maybe one that compares as no parent's key does in Go,
// and the whole group's count would be lost; each spelling's count goes to
// the parents it matches, as its rows do.
func (l *Loader) countColumns(table string, cols []string, f *folder) (sel, group string) {
	s, g := make([]string, len(cols)), make([]string, len(cols))
	for i, c := range cols {
		s[i] = l.quote(table, c)
		g[i] = s[i]
		if f != nil && i < len(f.parts) && f.parts[i].Folds() {
			g[i] = "CAST(" + s[i] + " AS BINARY)"
			s[i] = "MIN(" + s[i] + ")"
		}
	}
	return strings.Join(s, ", "), strings.Join(g, ", ")
}

// fetchRelation loads r for the distinct parents of one partition and returns
// the result per parent: []T for a to-many relation, *T for a to-one
// relation, int64 for a count. All rows are recorded as one load set.
func (l *Loader) fetchRelation(ctx context.Context, sets *relations.Sets, r *relation, p relations.Part, parents []relations.Key) (map[relations.Key]any, error) {
	v := p.Variant()
	reserved := v.Params() + paramsMargin
	if r.Polymorphic != nil {
		reserved++
	}
	chunks, err := relations.Chunks(parents, l.limit, r.Width(), reserved)
	if err != nil {
		return nil, err
	}
	if v.Page {
		return l.fetchPages(ctx, sets, r, p, parents, chunks)
	}
	if v.Count {
		f, err := r.collation.folder(ctx, l, p.Conn, r.MatchTable(), r.MatchColumns())
		if err != nil {
			return nil, err
		}
		out := make(map[relations.Key]any, len(parents))
		for _, chunk := range chunks {
			if err := l.fetchCounts(ctx, r, p, chunk, f, out); err != nil {
				return nil, err
			}
		}
		if f, err = f.weigh(ctx, l, p.Conn, parents, slices.Collect(maps.Keys(out))); err != nil {
			return nil, err
		}
		return f.byParent(f.foldCounts(out), parents), nil
	}
	all := reflect.MakeSlice(reflect.SliceOf(r.target.ModelType), 0, 0)
	var keys []relations.Key
	for i, chunk := range chunks {
		rows, rowKeys, err := l.fetchChunk(ctx, r, p, chunk)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			all, keys = rows, rowKeys
			continue
		}
		all = reflect.AppendSlice(all, rows)
		keys = append(keys, rowKeys...)
	}
	if tm, err := l.model(r.target.ModelType); err == nil {
		l.recordRows(ctx, sets, tm, all, true)
		l.prime(ctx, tm, p.Conn, all, true)
	}
	f, err := r.collation.folder(ctx, l, p.Conn, r.MatchTable(), r.MatchColumns())
	if err == nil {
		f, err = f.weigh(ctx, l, p.Conn, parents, keys)
	}
	if err != nil {
		return nil, err
	}
	f.foldAll(keys)
	return f.byParent(groupRows(all, keys, r.Kind.Many(), len(parents)), parents), nil
}

// groupRows returns the rows (a []T) of each parent key (keys[i] is row i's;
// the zero Key belongs to no parent): a []T for a to-many relation, a *T to
// the first row for a to-one relation. The results are slices of rows, or of
// one copy of them where a parent's rows are not contiguous, and point into
// it: they are read-only, as every cached result (loads hand out copies).
func groupRows(rows reflect.Value, keys []relations.Key, many bool, parents int) map[relations.Key]any {
	group := make(map[relations.Key]int, parents) // parent -> group number
	var first, count []int                        // per group: its first row, its number of rows
	of := make([]int, len(keys))                  // row -> group, -1 for none
	contiguous := true
	for i, k := range keys {
		if k.IsZero() {
			of[i] = -1
			continue
		}
		g, ok := group[k]
		if !ok {
			g = len(first)
			group[k] = g
			first = append(first, i)
			count = append(count, 0)
		} else if of[i-1] != g {
			contiguous = false
		}
		of[i] = g
		count[g]++
	}
	out := make(map[relations.Key]any, len(group))
	if !many {
		for k, g := range group {
			out[k] = rows.Index(first[g]).Addr().Interface()
		}
		return out
	}
	if !contiguous {
		rows, first = regroup(rows, of, count)
	}
	for k, g := range group {
		out[k] = rows.Slice3(first[g], first[g]+count[g], first[g]+count[g]).Interface()
	}
	return out
}

// regroup copies rows into a new slice where the rows of each group are
// contiguous, in their order, and returns it with each group's first index.
func regroup(rows reflect.Value, of, count []int) (reflect.Value, []int) {
	start := make([]int, len(count))
	n := 0
	for g, c := range count {
		start[g] = n
		n += c
	}
	grouped := reflect.MakeSlice(rows.Type(), n, n)
	next := slices.Clone(start)
	for i := 0; i < len(of); {
		g, j := of[i], i+1
		for j < len(of) && of[j] == g {
			j++
		}
		if g >= 0 {
			reflect.Copy(grouped.Slice(next[g], next[g]+j-i), rows.Slice(i, j))
			next[g] += j - i
		}
		i = j
	}
	return grouped, start
}

// fetchChunk runs one statement and returns the rows (a []T value) and, per
// row, the parent key it belongs to.
func (l *Loader) fetchChunk(ctx context.Context, r *relation, p relations.Part, chunk []relations.Key) (reflect.Value, []relations.Key, error) {
	if r.Kind == relations.ManyToMany {
		return l.fetchJoined(ctx, r, p, chunk)
	}
	v := p.Variant()
	t := r.target.ModelType
	tx := l.session(ctx, p.Conn)
	q := l.filtered(tx.Model(reflect.New(t).Interface()).Where(l.keyIn(r, r.Target.Name, chunk)), r, v)
	dest := reflect.New(reflect.SliceOf(t))
	switch {
	case v.Limit > 0:
		window := relations.RowNumberSQL([]string{l.quoteAll(r.Target.Name, r.MatchColumns())}, l.limitOrder(r, v.Order))
		inner := q.Select(l.db.Statement.Quote(clause.Table{Name: r.Target.Name}) + ".*, " + window + " AS " + aliasRowNum)
		q = l.session(ctx, p.Conn).Table("(?) AS "+aliasWindow, inner).
			Where(aliasRowNum+" <= ?", v.Limit).Order(aliasRowNum)
	case v.Order != "":
		q = q.Order(v.Order)
	}
	dest.Elem().Set(r.rowsSlice(len(chunk), v.Limit))
	if err := q.Find(dest.Interface()).Error; err != nil {
		return reflect.Value{}, nil, err
	}
	rows := dest.Elem()
	r.observeRows(len(chunk), rows.Len())
	keys := make([]relations.Key, rows.Len())
	for i := range rows.Len() {
		k, err := fieldsKey(ctx, r.matchFields, rows.Index(i))
		if err != nil && !errors.Is(err, relations.ErrNullKey) {
			return reflect.Value{}, nil, err
		}
		keys[i] = k
	}
	return rows, keys, nil
}

// fetchJoined loads a many-to-many relation with one joined statement:
// SELECT target.*, join.owner_fk AS ol_k0 FROM target JOIN join ON ... WHERE
// join.owner_fk IN (...). GORM's Preload uses two statements. The statement
// runs through the Query callbacks and GORM scans the target rows (hooks,
// serializers and all); the join keys are taken aside (see keyedRows).
func (l *Loader) fetchJoined(ctx context.Context, r *relation, p relations.Part, chunk []relations.Key) (reflect.Value, []relations.Key, error) {
	v := p.Variant()
	t := r.target.ModelType
	sel, joinCols := l.joinSelect(r)
	q := l.session(ctx, p.Conn).Model(reflect.New(t).Interface())
	q = l.filtered(l.join(q, r).Where(l.keyIn(r, r.joinRef, chunk)), r, v)
	switch {
	case v.Limit > 0:
		window := relations.RowNumberSQL([]string{joinCols}, l.limitOrder(r, v.Order))
		inner := q.Select(sel + ", " + window + " AS " + aliasRowNum)
		q = l.session(ctx, p.Conn).Table("(?) AS "+aliasWindow, inner).
			Where(aliasRowNum+" <= ?", v.Limit).Order(aliasRowNum)
	case v.Order != "":
		q = q.Select(sel).Order(l.qualifyOrder(r.Target.Name, v.Order))
	default:
		q = q.Select(sel)
	}
	return l.scanKeyed(ctx, r, q, len(chunk), v.Limit, r.keyTypes())
}

// scanKeyed runs q for chunk keys of r (at most limit rows each, 0 for no
// limit) and returns the target rows and,
// per row, the key of its ol_k0, ol_k1, ... columns (of the types given),
// which GORM's scan of the model does not see: keyedRows takes them aside
// and matches them to the rows by primary key after the Query callbacks.
func (l *Loader) scanKeyed(ctx context.Context, r *relation, q *gorm.DB, chunk, limit int, types []reflect.Type) (reflect.Value, []relations.Key, error) {
	t := r.target.ModelType
	tm, err := l.model(t)
	if err != nil {
		return reflect.Value{}, nil, err
	}
	dest := reflect.New(reflect.SliceOf(t))
	dest.Elem().Set(r.rowsSlice(chunk, limit))
	var kr *keyedRows
	err = runOwn(q, dest.Interface(), func(db *gorm.DB, rows *sql.Rows) {
		cols, err := rows.Columns()
		if err != nil {
			db.AddError(err)
			return
		}
		at, err := keyColumns(cols, len(types))
		if err != nil {
			db.AddError(err)
			return
		}
		pkAt, err := pkColumns(cols, tm.pkCols)
		if err != nil {
			db.AddError(err)
			return
		}
		kr = &keyedRows{Rows: rows, at: at, types: types, pkAt: pkAt}
		gorm.Scan(kr, db, 0)
		db.AddError(kr.err)
	})
	if err != nil {
		return reflect.Value{}, nil, err
	}
	if kr == nil {
		return reflect.Value{}, nil, ErrQueryReplaced
	}
	rows := dest.Elem()
	keys, err := kr.keysOf(ctx, tm, rows)
	if err != nil {
		return reflect.Value{}, nil, fmt.Errorf("gormloader: %s: %w", r.Name, err)
	}
	r.observeRows(chunk, rows.Len())
	return rows, keys, nil
}

// pkColumns returns the columns of pk among cols (the first of each name:
// the target's own, which the select list puts first); none if pk is empty.
func pkColumns(cols, pk []string) ([]int, error) {
	at := make([]int, len(pk))
	for i, name := range pk {
		at[i] = slices.IndexFunc(cols, func(c string) bool { return strings.EqualFold(c, name) })
		if at[i] < 0 {
			return nil, fmt.Errorf("gormloader: the statement's rows have no %s column", name)
		}
	}
	return at, nil
}

// limitOrder is the order of a per-parent limit: order, or the target's
// primary key, so that which rows a limit keeps is defined.
func (l *Loader) limitOrder(r *relation, order string) string {
	if order == "" {
		return l.quoteAll(r.Target.Name, r.Target.PrimaryKey)
	}
	return l.qualifyOrder(r.Target.Name, order)
}

// qualifyOrder qualifies the columns of order with table, for statements
// that join another table (where "name" could be either's): order is a list
// of plain column names, each optionally followed by ASC or DESC. Any other
// fragment (expressions, qualified names) is the application's SQL and is
// left as it is.
func (l *Loader) qualifyOrder(table, order string) string {
	parts := strings.Split(order, ",")
	for i, p := range parts {
		f := strings.Fields(p)
		if len(f) == 0 || len(f) > 2 || !isIdent(f[0]) ||
			(len(f) == 2 && !strings.EqualFold(f[1], "ASC") && !strings.EqualFold(f[1], "DESC")) {
			return order
		}
		f[0] = l.quote(table, f[0])
		parts[i] = strings.Join(f, " ")
	}
	return strings.Join(parts, ", ")
}

func isIdent(s string) bool {
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// joinSelect returns the select list of a joined statement and the quoted
// join-table key columns.
func (l *Loader) joinSelect(r *relation) (sel, joinCols string) {
	cols := make([]string, len(r.Keys))
	for i, k := range r.Keys {
		cols[i] = l.quote(r.joinRef, k.To)
	}
	return l.keySelect(r, cols), strings.Join(cols, ", ")
}

// join joins r's join table to q (a statement of r's target rows). A join
// model of the application's own (SetupJoinTable) is joined as a subquery
// of that model, which goes through GORM's Query callbacks and the model's
// query clauses as GORM's Preload reads the join table: its soft delete,
// and a tenant condition that a callback adds for the model, apply (a
// deleted or another tenant's link links nothing), and an error that a
// callback adds fails the statement. The subquery is named as the table
// (without its schema), so that Where and Order options may name the join
// table's columns. PostgreSQL 15, MariaDB 10.11 and SQLite merge the
// subquery into the join (their EXPLAIN shows one index scan of the join
// table, filtered, as for the table itself).
func (l *Loader) join(q *gorm.DB, r *relation) *gorm.DB {
	conds := make([]string, len(r.Join.TargetKeys))
	for i, k := range r.Join.TargetKeys {
		conds[i] = l.quote(r.joinRef, k.From) + " = " + l.quote(r.Target.Name, k.To)
	}
	on := " ON " + strings.Join(conds, " AND ")
	if !r.joinModel {
		return q.Joins("JOIN " + l.db.Statement.Quote(clause.Table{Name: r.Join.Name}) + on)
	}
	// Built now, not when q is (GORM drops the errors of a subquery it
	// builds as an argument): the callbacks run once, and their error is q's.
	sub := l.session(q.Statement.Context, nil).Session(&gorm.Session{DryRun: true}).
		Model(reflect.New(r.joinSchema.ModelType).Interface()).
		Find(reflect.New(reflect.SliceOf(r.joinSchema.ModelType)).Interface())
	if sub.Error != nil {
		q.AddError(sub.Error)
	}
	return q.Joins("JOIN (?) AS "+l.db.Statement.Quote(r.joinRef)+on, sub)
}

// fetchCounts counts the target rows per parent of one chunk into out.
func (l *Loader) fetchCounts(ctx context.Context, r *relation, p relations.Part, chunk []relations.Key, f *folder, out map[relations.Key]any) error {
	t := r.target.ModelType
	q := l.session(ctx, p.Conn).Model(reflect.New(t).Interface())
	var table string
	var keyTypes []reflect.Type
	if r.Kind == relations.ManyToMany {
		table = r.joinRef
		q = l.join(q, r).Where(l.keyIn(r, r.joinRef, chunk))
		for _, f := range r.joinFields {
			keyTypes = append(keyTypes, f.FieldType)
		}
	} else {
		table = r.Target.Name
		q = q.Where(l.keyIn(r, r.Target.Name, chunk))
		for _, f := range r.matchFields {
			keyTypes = append(keyTypes, f.FieldType)
		}
	}
	selectCols, groupCols := l.countColumns(table, r.MatchColumns(), f)
	q = l.filtered(q, r, p.Variant()).Select(selectCols + ", COUNT(*) AS " + aliasCount).Group(groupCols)
	// Through the Query callbacks, as GORM's own Count; the destination stays
	// empty (the counts are scanned into out).
	return runOwn(q, reflect.New(reflect.SliceOf(t)).Interface(), func(db *gorm.DB, rows *sql.Rows) {
		vals := make([]any, len(keyTypes)+1)
		for rows.Next() {
			for i, kt := range keyTypes {
				vals[i] = reflect.New(reflect.PointerTo(kt)).Interface()
			}
			var n int64
			vals[len(keyTypes)] = &n
			if err := rows.Scan(vals...); err != nil {
				db.AddError(err)
				return
			}
			db.RowsAffected++
			if k, err := relations.MakeKey(vals[:len(keyTypes)]...); err == nil {
				out[k] = n
			}
		}
		db.AddError(rows.Err())
	})
}

// fetchByID returns the batch function of m's primary-key loader.
func (m *model) fetchByID(l *Loader) func(ctx context.Context, keys []relations.BatchKey) ([]any, []error, error) {
	return func(ctx context.Context, keys []relations.BatchKey) ([]any, []error, error) {
		sets := relations.SetsOf(ctx)
		return relations.Fetch(ctx, keys, func(ctx context.Context, p relations.Part, ids []relations.Key) (map[relations.Key]any, error) {
			chunks, err := relations.Chunks(ids, l.limit, len(m.pkCols), paramsMargin)
			if err != nil {
				return nil, err
			}
			all := reflect.MakeSlice(reflect.SliceOf(m.typ), 0, 0)
			for i, chunk := range chunks {
				dest := reflect.New(reflect.SliceOf(m.typ))
				dest.Elem().Set(reflect.MakeSlice(reflect.SliceOf(m.typ), 0, len(chunk)))
				q := l.session(ctx, p.Conn).Where(l.inExpr(m.schema.Table, m.pkCols, chunk))
				if err := q.Find(dest.Interface()).Error; err != nil {
					return nil, fmt.Errorf("gormloader: loading %v by primary key (%d keys): %w", m.typ, len(chunk), err)
				}
				if i == 0 {
					all = dest.Elem()
				} else {
					all = reflect.AppendSlice(all, dest.Elem())
				}
			}
			l.recordRows(ctx, sets, m, all, true)
			l.prime(ctx, m, p.Conn, all, false)
			// Results point into all: read-only, as every cached result.
			keys := make([]relations.Key, all.Len())
			for i := range all.Len() {
				if k, err := m.pkKey(ctx, all.Index(i)); err == nil {
					keys[i] = k
				}
			}
			f, err := m.collation.folder(ctx, l, p.Conn, m.schema.Table, m.pkCols)
			if err == nil {
				f, err = f.weigh(ctx, l, p.Conn, ids, keys)
			}
			if err != nil {
				return nil, err
			}
			out := make(map[relations.Key]any, all.Len())
			for i, k := range keys {
				if !k.IsZero() {
					out[f.fold(k)] = all.Index(i).Addr().Interface()
				}
			}
			return f.byParent(out, ids), nil
		})
	}
}
