package entloader

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"unsafe"

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
	folds sync.Map // [2]string{table, column} -> relations.Fold
}

// Fold folds the keys of one key column; a nil *Fold compares keys exactly.
type Fold[ID comparable] struct {
	fold relations.Fold
}

// KeyFold returns how the database compares keys of type ID in column
// table.column: nil unless ID is a string type, the dialect is MySQL and
// the column's collation folds case or trailing spaces. The collation is
// read once per client and column, through drv (the batch's own driver, so
// that a transaction's batch reads it on the transaction's connection and
// never waits for the pool), cancelled with ctx but without its values (it
// is not one of the request's statements); a batch that cannot read it
// fails with the error rather than compare keys as the database did not.
func KeyFold[ID comparable](ctx context.Context, c *Collations, drv dialect.Driver, table, column string) (*Fold[ID], error) {
	if reflect.TypeFor[ID]().Kind() != reflect.String || drv.Dialect() != dialect.MySQL {
		return nil, nil
	}
	col := [2]string{table, column}
	v, ok := c.folds.Load(col)
	if !ok {
		// Read without a lock: a batch on a transaction that holds the
		// pool's last connection must not wait for another request's
		// first read, which waits for that connection. Concurrent first
		// reads read alike.
		rctx, cancel := relations.Detach(ctx) // not one of the request's statements
		defer cancel()
		f, err := readFold(rctx, drv, table, column)
		if err != nil {
			return nil, fmt.Errorf("reading the collation of %s.%s: %w", table, column, err)
		}
		v, _ = c.folds.LoadOrStore(col, f)
	}
	f := v.(relations.Fold)
	if f == 0 {
		return nil, nil
	}
	return &Fold[ID]{fold: f}, nil
}

// readFold reads the collation of table.column.
func readFold(ctx context.Context, drv dialect.Driver, table, column string) (relations.Fold, error) {
	rows := &sql.Rows{}
	if err := drv.Query(ctx, relations.CollationQuery, []any{table, column}, rows); err != nil {
		return 0, err
	}
	defer rows.Close()
	return relations.FoldOfRows(rows)
}

// key returns id folded. ID's kind is string (KeyFold), so an ID is laid
// out as a string: no reflection or allocation per row.
func (f *Fold[ID]) key(id ID) ID {
	s := (*string)(unsafe.Pointer(&id))
	*s = f.fold.Apply(*s)
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
