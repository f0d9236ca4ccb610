package gormloader

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"gorm.io/gorm"

	"github.com/ormloader/ormloader/relations"
)

// Collations: see relations.Collation. On MySQL the loader reads the
// collation of each compared string column once, and groups rows and
// parents by their keys folded the way the column compares them (or, for a
// batch with strings that a fold may not compare as the database does, by
// their weights): a row goes to every parent that the database matched it
// with, in the statement's order. Other dialects compare strings as Go
// does.

// folder folds keys the way the compared columns compare them; the zero
// folder (or a nil one) folds nothing.
type folder struct {
	parts []relations.Collation // per key part
	// weights, per part, of the strings of one batch's keys (weigh); nil
	// for a folder that is not a batch's
	weights []map[string]string
}

// collation is a lazily computed folder.
type collation struct {
	mu   sync.Mutex // protects the fields below; never held during a read
	done bool
	f    *folder
}

// folder returns the folder of the columns cols of table, asking the
// database once, through the connection of the batch's partition conn (a
// transaction's batch on the transaction's, holding its lock, so that it
// never waits for the pool) and cancelled with ctx but without its values:
// it is not one of the request's statements. nil if no column needs folding
// (or not on MySQL); an error if the database did not answer, which fails
// the batch rather than compare keys as the database did not.
func (c *collation) folder(ctx context.Context, l *Loader, conn any, table string, cols []string) (*folder, error) {
	if l.db.Dialector.Name() != "mysql" {
		return nil, nil
	}
	c.mu.Lock()
	f, done := c.f, c.done
	c.mu.Unlock()
	if done {
		return f, nil
	}
	// Read without the lock: a batch on a transaction that holds the pool's
	// last connection must not wait for another request's first read,
	// which waits for that connection. Concurrent first reads read alike.
	f, err := l.readCollations(ctx, conn, table, cols)
	if err != nil {
		return nil, fmt.Errorf("gormloader: reading the collations of %s: %w", table, err)
	}
	c.mu.Lock()
	c.f, c.done = f, true
	c.mu.Unlock()
	return f, nil
}

// readCollations reads the collations of cols.
func (l *Loader) readCollations(ctx context.Context, conn any, table string, cols []string) (*folder, error) {
	f := &folder{parts: make([]relations.Collation, len(cols))}
	folds := false
	for i, col := range cols {
		var err error
		f.parts[i], err = relations.ReadCollation(ctx, table, col, func(ctx context.Context, q string, args []any, read func(relations.Rows) error) error {
			return l.readDetached(ctx, conn, q, args, read)
		})
		if err != nil {
			return nil, err
		}
		folds = folds || f.parts[i].Folds()
	}
	if !folds {
		return nil, nil
	}
	return f, nil
}

// weigh returns f for the statements of one batch, whose keys (the
// parents' and the rows', or the counted spellings) are keys: with the
// weights of a part's strings where its collation may compare some of them
// in ways that no fold reproduces (relations.Collation.Weigh: one more
// statement, under ctx, on the connection of the batch's partition conn).
// f itself if there are none.
func (f *folder) weigh(ctx context.Context, l *Loader, conn any, keys ...[]relations.Key) (*folder, error) {
	if f == nil {
		return nil, nil
	}
	var w *folder
	for i, c := range f.parts {
		if !c.Weighs(func() bool { return plainPart(i, keys) }) {
			continue
		}
		var strs []string
		for _, ks := range keys {
			for _, k := range ks {
				if s, ok := partString(k, i); ok {
					strs = append(strs, s)
				}
			}
		}
		weights, err := c.Weigh(ctx, strs, func(ctx context.Context, q string, args []any, read func(relations.Rows) error) error {
			return l.raw(ctx, conn, q, args, read)
		})
		if err != nil {
			return nil, fmt.Errorf("gormloader: %w", err)
		}
		if w == nil {
			w = &folder{parts: f.parts, weights: make([]map[string]string, len(f.parts))}
		}
		w.weights[i] = weights
	}
	if w == nil {
		return f, nil
	}
	return w, nil
}

// partString returns part i of k if it is a string.
func partString(k relations.Key, i int) (string, bool) {
	if i >= k.Len() {
		return "", false
	}
	s, ok := k.At(i).(string)
	return s, ok
}

// plainPart reports whether part i of every key of keys is relations.Plain
// (or not a string).
func plainPart(i int, keys [][]relations.Key) bool {
	for _, ks := range keys {
		for _, k := range ks {
			if s, ok := partString(k, i); ok && !relations.Plain(s) {
				return false
			}
		}
	}
	return true
}

// readDetached runs a statement that is not one of the request's (the
// read of a collation) on the connection of partition conn (holding a
// transaction's lock; the pool if conn is not a connection), under ctx
// without its values (relations.Detach) and past GORM's callbacks, and
// reads its rows with read.
func (l *Loader) readDetached(ctx context.Context, conn any, q string, args []any, read func(relations.Rows) error) error {
	var db queryer
	if pool, ok := conn.(gorm.ConnPool); ok && pool != nil {
		db = pool
		if mu := relations.ConnLock(ctx, conn); mu != nil {
			mu.Lock()
			defer mu.Unlock()
		}
	} else {
		sqlDB, err := l.db.DB()
		if err != nil {
			return err
		}
		db = sqlDB
	}
	ctx, cancel := relations.Detach(ctx)
	defer cancel()
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return read(rows)
}

// raw runs a statement of a batch through GORM (db.Raw, its Row callbacks:
// loggers and tracers see it) on the connection of partition conn, holding
// a transaction's lock until its rows are read with read.
func (l *Loader) raw(ctx context.Context, conn any, q string, args []any, read func(relations.Rows) error) error {
	if mu := relations.ConnLock(ctx, conn); mu != nil {
		mu.Lock()
		defer mu.Unlock()
	}
	rows, err := l.session(ctx, conn).Raw(q, args...).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	return read(rows)
}

// queryer is a transaction's or the pool's connection.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// fold returns k folded part by part; k itself if f is nil.
func (f *folder) fold(k relations.Key) relations.Key {
	if f == nil || k.IsZero() {
		return k
	}
	vals := k.Values()
	for i, v := range vals {
		s, ok := v.(string)
		if !ok || i >= len(f.parts) {
			continue
		}
		var weights map[string]string
		if f.weights != nil {
			weights = f.weights[i]
		}
		vals[i] = f.parts[i].Key(s, weights)
	}
	fk, err := relations.MakeKey(vals...)
	if err != nil {
		return k
	}
	return fk
}

// foldAll folds keys in place.
func (f *folder) foldAll(keys []relations.Key) {
	if f == nil {
		return
	}
	for i, k := range keys {
		keys[i] = f.fold(k)
	}
}

// byParent returns the results of out (keyed by folded keys) for the
// parents asked for, keyed by their own keys; out itself if f is nil.
func (f *folder) byParent(out map[relations.Key]any, parents []relations.Key) map[relations.Key]any {
	if f == nil {
		return out
	}
	res := make(map[relations.Key]any, len(parents))
	for _, p := range parents {
		if v, ok := out[f.fold(p)]; ok {
			res[p] = v
		}
	}
	return res
}

// foldCounts returns counts keyed by folded keys, the counts of equal folds
// added: the count statement groups by the keys' bytes (countColumns), one
// row per spelling.
func (f *folder) foldCounts(out map[relations.Key]any) map[relations.Key]any {
	if f == nil {
		return out
	}
	folded := make(map[relations.Key]any, len(out))
	for k, v := range out {
		fk := f.fold(k)
		if prev, ok := folded[fk]; ok {
			v = prev.(int64) + v.(int64)
		}
		folded[fk] = v
	}
	return folded
}
