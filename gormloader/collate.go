package gormloader

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

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
	mu   sync.Mutex // protects the fields below
	done bool
	f    *folder
}

// collationTimeout bounds the read of a column's collation: it runs on the
// pool, which a transaction holding its last connection could leave empty.
// Until it succeeds, keys compare exactly.
const collationTimeout = 2 * time.Second

// folder returns the folder of the columns cols of table, asking the
// database once; nil if no column needs folding (or not on MySQL).
func (c *collation) folder(l *Loader, table string, cols []string) *folder {
	if l.db.Dialector.Name() != "mysql" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.done {
		c.f, c.done = l.readCollations(table, cols)
	}
	return c.f
}

// readCollations reads the collations of cols; ok is false if the database
// did not answer (the next batch asks again).
func (l *Loader) readCollations(table string, cols []string) (f *folder, ok bool) {
	sqlDB, err := l.db.DB()
	if err != nil {
		return nil, true
	}
	// Outside any request's context: no statement of a request's is counted.
	ctx, cancel := context.WithTimeout(context.Background(), collationTimeout)
	defer cancel()
	f = &folder{parts: make([]relations.Fold, len(cols))}
	folds := false
	for i, col := range cols {
		var name sql.NullString
		err := sqlDB.QueryRowContext(ctx, relations.CollationQuery, table, col).Scan(&name)
		switch {
		case errors.Is(err, sql.ErrNoRows) || err == nil && !name.Valid:
			continue // not found, or not a string column: compare exactly
		case err != nil:
			return nil, false
		}
		f.parts[i] = relations.FoldOf(name.String)
		folds = folds || f.parts[i] != 0
	}
	if !folds {
		return nil, true
	}
	return f, true
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

// foldCounts returns counts keyed by folded keys; a database that grouped
// by the collation returns one row per group, so folds do not collide, but
// counts of equal folds are added if they do.
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
