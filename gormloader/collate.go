package gormloader

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"gorm.io/gorm"

	"github.com/ormloader/ormloader/relations"
)

// Collations: see relations.Fold. On MySQL the loader reads the collation
// of each compared string column once, and groups rows and parents by their
// keys folded the way the column compares them: a row goes to every parent
// that the database matched it with, in the statement's order. Other
// dialects compare strings as Go does.

// folder folds keys the way the compared columns compare them; the zero
// folder (or a nil one) folds nothing.
type folder struct {
	parts []relations.Fold // per key part
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
	var q queryer
	if pool, ok := conn.(gorm.ConnPool); ok && pool != nil {
		q = pool
		if mu := relations.ConnLock(ctx, conn); mu != nil {
			mu.Lock()
			defer mu.Unlock()
		}
	} else {
		sqlDB, err := l.db.DB()
		if err != nil {
			return nil, err
		}
		q = sqlDB
	}
	rctx, cancel := relations.Detach(ctx)
	defer cancel()
	f := &folder{parts: make([]relations.Fold, len(cols))}
	folds := false
	for i, col := range cols {
		fold, err := readCollation(rctx, q, table, col)
		if err != nil {
			return nil, err
		}
		f.parts[i] = fold
		folds = folds || fold != 0
	}
	if !folds {
		return nil, nil
	}
	return f, nil
}

// queryer is a transaction's or the pool's connection.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readCollation reads how column col of table compares.
func readCollation(ctx context.Context, q queryer, table, col string) (relations.Fold, error) {
	rows, err := q.QueryContext(ctx, relations.CollationQuery, table, col)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	return relations.FoldOfRows(rows)
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
		vals[i] = f.parts[i].Apply(s)
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
