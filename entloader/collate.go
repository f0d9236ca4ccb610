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
// batched statements (see relations.Collation): on MySQL and MariaDB a
// string key column's collation may match the parent "ab" with the row
// whose key is "AB" or "ab ", or "fe" with "fé", and the rows are handed to
// the parents the database matched them with. The generated client holds
// one; its zero value is ready.
type Collations struct {
	colls sync.Map // [2]string{table, column} -> relations.Collation
}

// Fold is how the database compares the keys of one key column, for the
// statements of one batch; a nil *Fold compares keys exactly.
type Fold[ID comparable] struct {
	coll relations.Collation
	drv  dialect.Driver // the batch's: the weights of its keys are read through it
}

// KeyFold returns how the database compares keys of type ID in column
// table.column: nil unless ID is a string type, the dialect is MySQL and
// the column's collation compares some different strings as equal. The
// collation is read once per client and column, through drv (the batch's
// own driver, so that a transaction's batch reads it on the transaction's
// connection and never waits for the pool), cancelled with ctx but without
// its values (it is not one of the request's statements); a batch that
// cannot read it fails with the error rather than compare keys as the
// database did not.
func KeyFold[ID comparable](ctx context.Context, c *Collations, drv dialect.Driver, table, column string) (*Fold[ID], error) {
	if reflect.TypeFor[ID]().Kind() != reflect.String || drv.Dialect() != dialect.MySQL {
		return nil, nil
	}
	col := [2]string{table, column}
	v, ok := c.colls.Load(col)
	if !ok {
		// Read without a lock: a batch on a transaction that holds the
		// pool's last connection must not wait for another request's
		// first read, which waits for that connection. Concurrent first
		// reads read alike.
		rctx, cancel := relations.Detach(ctx) // not one of the request's statements
		defer cancel()
		coll, err := relations.ReadCollation(rctx, table, column, queryOn(drv))
		if err != nil {
			return nil, fmt.Errorf("reading the collation of %s.%s: %w", table, column, err)
		}
		v, _ = c.colls.LoadOrStore(col, coll)
	}
	coll := v.(relations.Collation)
	if !coll.Folds() {
		return nil, nil
	}
	return &Fold[ID]{coll: coll, drv: drv}, nil
}

// queryOn returns the function that runs a statement on drv and reads its
// rows.
func queryOn(drv dialect.Driver) relations.QueryFunc {
	return func(ctx context.Context, q string, args []any, read func(relations.Rows) error) error {
		rows := &sql.Rows{}
		if err := drv.Query(ctx, q, args, rows); err != nil {
			return err
		}
		defer rows.Close()
		return read(rows)
	}
}

// keyer returns the function that keys the ids of one statement, the
// batch's keys and the rows' (ids): folded, or, if they include a string
// that a fold may not compare as the database does, by the weights the
// database gives them (relations.Collation.Weigh: one more statement, run
// under ctx, the batch's). ID's kind is string (KeyFold), so an ID is laid
// out as a string: no reflection or allocation per key.
func (f *Fold[ID]) keyer(ctx context.Context, ids ...[]ID) (func(ID) ID, error) {
	var weights map[string]string
	if f.coll.Weighs(func() bool { return allPlain(ids) }) {
		var strs []string
		for _, l := range ids {
			for _, id := range l {
				strs = append(strs, *(*string)(unsafe.Pointer(&id)))
			}
		}
		var err error
		if weights, err = f.coll.Weigh(ctx, strs, queryOn(f.drv)); err != nil {
			return nil, err
		}
	}
	return func(id ID) ID {
		s := (*string)(unsafe.Pointer(&id))
		*s = f.coll.Key(*s, weights)
		return id
	}, nil
}

// allPlain reports whether every id is relations.Plain.
func allPlain[ID comparable](ids [][]ID) bool {
	for _, l := range ids {
		for _, id := range l {
			if !relations.Plain(*(*string)(unsafe.Pointer(&id))) {
				return false
			}
		}
	}
	return true
}

// parents returns, for each key of keys (keyed by key), the keys that key
// alike, without duplicates, in the order of keys.
func parents[ID comparable](keys []ID, key func(ID) ID) map[ID][]ID {
	out := make(map[ID][]ID, len(keys))
	seen := make(map[ID]struct{}, len(keys))
	for _, k := range keys {
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		fk := key(k)
		out[fk] = append(out[fk], k)
	}
	return out
}

// Index puts each node of nodes (the rows of a primary-key batch for keys)
// in out under every key of keys that the database matched it with: its own
// id if f is nil, else every key that compares as equal to it (which may
// take a statement: see keyer).
func Index[ID comparable, N any](ctx context.Context, f *Fold[ID], keys []ID, nodes []N, id func(N) ID, out map[ID]N) error {
	if f == nil {
		for _, n := range nodes {
			out[id(n)] = n
		}
		return nil
	}
	ids := make([]ID, len(nodes))
	for i, n := range nodes {
		ids[i] = id(n)
	}
	key, err := f.keyer(ctx, keys, ids)
	if err != nil {
		return err
	}
	ps := parents(keys, key)
	for i, n := range nodes {
		for _, k := range ps[key(ids[i])] {
			if _, ok := out[k]; !ok {
				out[k] = n
			}
		}
	}
	return nil
}
