package gormloader

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/relations"
)

// The loader's statements whose rows carry more than the model's columns (a
// many-to-many batch's join keys, a count's groups) cannot be scanned by
// GORM's own gorm:query callback, but they must run through the Query
// callbacks all the same: GORM's own Preload and Count do, and applications
// scope every query there (a tenant condition added before gorm:query, a
// check after it). So the plugin wraps gorm:query: a statement that carries
// an ownScan in its settings is built and executed as gorm:query would, in
// gorm:query's place in the chain, and handed to the ownScan; every other
// statement goes to the wrapped callback unchanged.

// ownScanKey is the statement setting that carries an *ownScan.
const ownScanKey = "ormloader:own_scan"

// ownScan scans the rows of one of the loader's statements.
type ownScan struct {
	scan func(db *gorm.DB, rows *sql.Rows)
	ran  bool // the wrapped gorm:query saw the statement
}

// connLockKey is the statement setting that carries the lock of the
// connection a statement of the loader runs on, if it is one connection (see
// relations.ConnLock).
const connLockKey = "ormloader:conn_lock"

// wrapQuery returns gorm:query wrapped as described above. A statement of
// the loader's on one connection (a transaction, db.Connection) runs with
// that connection's lock held, from its execution to the end of its rows: no
// other batch of the scope uses the connection meanwhile. Dry runs (the
// subqueries GORM builds inside a statement) execute nothing and lock
// nothing.
func wrapQuery(next func(*gorm.DB)) func(*gorm.DB) {
	return func(db *gorm.DB) {
		if v, ok := db.Get(connLockKey); ok && !db.DryRun {
			mu := v.(*sync.Mutex)
			mu.Lock()
			defer mu.Unlock()
		}
		v, _ := db.Get(ownScanKey)
		own, _ := v.(*ownScan)
		if own == nil {
			// The application's statement: a root field's query under a
			// hold of sibling sets may take the longer wait (see
			// dataloader.Scope.StartStatement).
			if ctx := db.Statement.Context; ctx != nil && !db.DryRun {
				if scope := dataloader.FromContext(ctx); scope != nil {
					defer scope.StartStatement(ctx)()
				}
			}
			next(db)
			return
		}
		own.ran = true
		if db.Error != nil {
			return
		}
		callbacks.BuildQuerySQL(db)
		if db.DryRun || db.Error != nil {
			return
		}
		rows, err := db.Statement.ConnPool.QueryContext(db.Statement.Context, db.Statement.SQL.String(), db.Statement.Vars...)
		if err != nil {
			db.AddError(err)
			return
		}
		defer func() { db.AddError(rows.Close()) }()
		own.scan(db, rows)
	}
}

// runOwn runs q's Find into dest through the Query callbacks with scan as
// the statement's scanner.
func runOwn(q *gorm.DB, dest any, scan func(db *gorm.DB, rows *sql.Rows)) error {
	own := &ownScan{scan: scan}
	if err := q.Set(ownScanKey, own).Find(dest).Error; err != nil {
		return err
	}
	if !own.ran {
		return ErrQueryReplaced
	}
	return nil
}

// keyColumns returns, per key part, the index of its column (ol_k0, ol_k1,
// ...) among cols.
func keyColumns(cols []string, parts int) ([]int, error) {
	at := make([]int, parts)
	for i := range at {
		at[i] = -1
	}
	for i, c := range cols {
		var part int
		if n, _ := fmt.Sscanf(strings.ToLower(c), aliasKey+"%d", &part); n == 1 && part < parts {
			at[part] = i
		}
	}
	for part, i := range at {
		if i < 0 {
			return nil, fmt.Errorf("gormloader: the statement's rows have no %s%d column (columns %v)", aliasKey, part, cols)
		}
	}
	return at, nil
}

// keyedRows are the rows of a many-to-many batch as GORM's scanner sees
// them: it scans the target model's columns, and keyedRows takes the join
// key columns (which the model does not have, so GORM would discard them)
// aside, with the target's primary key of the row: the Query callbacks that
// run after gorm:query may drop or reorder rows, so keys are matched to the
// rows they end up with by primary key, not by position (see keysOf).
type keyedRows struct {
	*sql.Rows
	at    []int          // column of each key part
	types []reflect.Type // Go type of each key part
	pkAt  []int          // columns of the target's primary key; none if it has none
	keys  []relations.Key
	byPK  map[relations.Key][]relations.Key // target primary key -> the keys of its rows, in order
	dest  []any
	err   error // a key that is not a key; reported after the scan
}

var _ gorm.Rows = (*keyedRows)(nil)

func (k *keyedRows) Scan(dest ...any) error {
	k.dest = append(k.dest[:0], dest...)
	for i, col := range k.at {
		k.dest[col] = reflect.New(reflect.PointerTo(k.types[i])).Interface() // a nil pointer for NULL
	}
	if err := k.Rows.Scan(k.dest...); err != nil {
		return err
	}
	key, err := partsKey(k.dest, k.at)
	if err != nil && !errors.Is(err, relations.ErrNullKey) && k.err == nil {
		k.err = err
	}
	// The zero Key (NULL) belongs to no parent.
	if len(k.pkAt) == 0 {
		k.keys = append(k.keys, key)
		return nil
	}
	pk, err := partsKey(dest, k.pkAt) // GORM's own destinations, filled by the scan
	if err != nil {
		if k.err == nil {
			k.err = fmt.Errorf("gormloader: a joined row without a primary key: %w", err)
		}
		return nil
	}
	if k.byPK == nil {
		k.byPK = make(map[relations.Key][]relations.Key)
	}
	k.byPK[pk] = append(k.byPK[pk], key)
	return nil
}

// partsKey makes a key of the scanned values at the columns at.
func partsKey(vals []any, at []int) (relations.Key, error) {
	var parts [relations.MaxKeyColumns]any
	for i, col := range at {
		parts[i] = vals[col]
	}
	return relations.MakeKey(parts[:len(at)]...)
}

// keysOf returns the join key of each of rows (a []T of the target), as the
// callbacks left them.
func (k *keyedRows) keysOf(ctx context.Context, target *model, rows reflect.Value) ([]relations.Key, error) {
	if len(k.pkAt) == 0 {
		if len(k.keys) != rows.Len() {
			return nil, fmt.Errorf("gormloader: %v has no primary key, and the Query callbacks changed the rows: their join keys cannot be matched", target.typ)
		}
		return k.keys, nil
	}
	keys := make([]relations.Key, rows.Len())
	for i := range keys {
		pk, err := target.pkKey(ctx, rows.Index(i))
		if err != nil {
			return nil, err
		}
		queue := k.byPK[pk]
		if len(queue) == 0 {
			return nil, fmt.Errorf("gormloader: a Query callback added a %v row (primary key %v) that the statement did not return", target.typ, pk)
		}
		keys[i], k.byPK[pk] = queue[0], queue[1:]
	}
	return keys, nil
}
