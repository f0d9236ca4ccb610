package entloader

import (
	"context"
	"reflect"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"github.com/ormloader/ormloader/relations"
)

// Collations keeps how the database compares the key columns of a client's
// batched statements (see relations.Fold): on MySQL and MariaDB a string
// key column's collation may match the parent "ab" with the row whose key is
// "AB" or "ab ", and the rows are handed to the parents the database matched
// them with. The generated client holds one; its zero value is ready.
type Collations struct {
	mu    sync.Mutex                   // protects folds
	folds map[[2]string]relations.Fold // table and column -> how it compares
}

// Fold folds the keys of one key column; a nil *Fold compares keys exactly.
type Fold[ID comparable] struct {
	fold relations.Fold
}

// collationTimeout bounds the read of a column's collation: it runs on the
// pool, which a transaction holding its last connection could leave empty.
// Until a read succeeds, keys compare exactly.
const collationTimeout = 2 * time.Second

// KeyFold returns how the database behind drv (a client's own driver, not a
// transaction's) compares keys of type ID in column table.column: nil unless
// ID is a string type, the dialect is MySQL and the column's collation folds
// case or trailing spaces. The collation is read once per client and column,
// outside the request's context.
func KeyFold[ID comparable](c *Collations, drv dialect.Driver, table, column string) *Fold[ID] {
	if reflect.TypeFor[ID]().Kind() != reflect.String || drv.Dialect() != dialect.MySQL {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	col := [2]string{table, column}
	f, ok := c.folds[col]
	if !ok {
		if f, ok = readFold(drv, table, column); !ok {
			return nil
		}
		if c.folds == nil {
			c.folds = make(map[[2]string]relations.Fold)
		}
		c.folds[col] = f
	}
	if f == 0 {
		return nil
	}
	return &Fold[ID]{fold: f}
}

// readFold reads the collation of table.column; ok is false if the database
// did not answer (the next batch asks again).
func readFold(drv dialect.Driver, table, column string) (f relations.Fold, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), collationTimeout)
	defer cancel()
	rows := &sql.Rows{}
	if err := drv.Query(ctx, relations.CollationQuery, []any{table, column}, rows); err != nil {
		return 0, false
	}
	defer rows.Close()
	if rows.Next() {
		var name sql.NullString
		if err := rows.Scan(&name); err != nil {
			return 0, false
		}
		if name.Valid {
			f = relations.FoldOf(name.String)
		}
	}
	return f, rows.Err() == nil
}

// key returns id folded.
func (f *Fold[ID]) key(id ID) ID {
	v := reflect.ValueOf(&id).Elem()
	v.SetString(f.fold.Apply(v.String()))
	return id
}

// parents returns, for each folded key of keys, the keys that fold to it,
// without duplicates, in the order of keys.
func (f *Fold[ID]) parents(keys []ID) map[ID][]ID {
	out := make(map[ID][]ID, len(keys))
	seen := make(map[ID]struct{}, len(keys))
	for _, k := range keys {
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		fk := f.key(k)
		out[fk] = append(out[fk], k)
	}
	return out
}

// Index puts each node of nodes (the rows of a primary-key batch for keys)
// in out under every key of keys that the database matched it with: its own
// id if f is nil, else every key that folds as its id does.
func Index[ID comparable, N any](f *Fold[ID], keys []ID, nodes []N, id func(N) ID, out map[ID]N) {
	if f == nil {
		for _, n := range nodes {
			out[id(n)] = n
		}
		return
	}
	parents := f.parents(keys)
	for _, n := range nodes {
		for _, k := range parents[f.key(id(n))] {
			if _, ok := out[k]; !ok {
				out[k] = n
			}
		}
	}
}
