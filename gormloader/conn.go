package gormloader

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ormloader/ormloader/dataloader"
)

// Connections.
//
// A load runs on the connection of the *gorm.DB it was given: the pool the
// plugin was installed on, a transaction, or a dedicated connection
// (db.Connection, whose session state such as PostgreSQL's SET app.tenant
// must apply). Every connection but the pool is a batch partition of its own
// (relations.Part.Conn): loads on it never share a batch or a cached result
// with loads on another.
//
// The plugin wraps the pool (see pool) so that it sees the transactions begun
// on it commit: a write in a transaction clears the scope's cached results
// when it is made, and again when the transaction commits, because loads
// outside the transaction made in between read the rows as they were before
// the write, and after the commit those rows are stale.

// pool wraps the connection pool of the db the plugin is installed on. It
// adds nothing but the hook on transactions (txConn); db.DB() still returns
// the *sql.DB.
type pool struct {
	gorm.ConnPool
	l *Loader
}

var (
	_ gorm.ConnPoolBeginner = (*pool)(nil)
	_ gorm.GetDBConnector   = (*pool)(nil)
)

// BeginTx begins a transaction on the wrapped pool and returns it wrapped in
// a txConn.
func (p *pool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	var (
		tx  gorm.ConnPool
		err error
	)
	switch b := p.ConnPool.(type) {
	case gorm.TxBeginner:
		tx, err = b.BeginTx(ctx, opts)
	case gorm.ConnPoolBeginner:
		tx, err = b.BeginTx(ctx, opts)
	default:
		return nil, gorm.ErrInvalidTransaction
	}
	if err != nil {
		return nil, err
	}
	t, ok := tx.(gorm.Tx)
	if !ok {
		return tx, nil // nothing to hook: its writes are cleared when made only
	}
	return &txConn{Tx: t, l: p.l}, nil
}

// GetDBConn returns the *sql.DB under the pool (for db.DB()).
func (p *pool) GetDBConn() (*sql.DB, error) { return sqlDBOf(p.ConnPool) }

func sqlDBOf(c gorm.ConnPool) (*sql.DB, error) {
	switch c := c.(type) {
	case *sql.DB:
		return c, nil
	case gorm.GetDBConnector:
		return c.GetDBConn()
	}
	return nil, gorm.ErrInvalidDB
}

// txConn is a transaction begun on the plugin's pool. It remembers the
// scopes its writes were made in, and clears them again when it commits.
type txConn struct {
	gorm.Tx
	l *Loader

	mu    sync.Mutex                   // protects dirty
	dirty map[*dataloader.Scope]*dirty // the scopes of its writes
}

// dirty is what a transaction wrote in one scope.
type dirty struct {
	ctx    context.Context // carries the scope
	all    bool            // a raw Exec: any table
	tables map[string]bool
}

var _ gorm.GetDBConnector = (*txConn)(nil)

// wrote records that the transaction wrote table (every table if all) in the
// scope of ctx.
func (t *txConn) wrote(ctx context.Context, s *dataloader.Scope, table string, all bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dirty == nil {
		t.dirty = make(map[*dataloader.Scope]*dirty)
	}
	d := t.dirty[s]
	if d == nil {
		d = &dirty{ctx: ctx, tables: make(map[string]bool)}
		t.dirty[s] = d
	}
	d.all = d.all || all
	d.tables[table] = true
}

// Commit commits the transaction and then clears, in every scope it wrote
// in, what its writes affect.
func (t *txConn) Commit() error {
	err := t.Tx.Commit()
	for _, d := range t.takeDirty() {
		if err == nil {
			for table := range d.tables {
				t.l.clear(d.ctx, table, d.all)
			}
		}
	}
	return err
}

// Rollback rolls the transaction back. Nothing needs clearing: the writes
// cleared the scopes when they were made, and outside the transaction the
// rows are as they were.
func (t *txConn) Rollback() error {
	t.takeDirty()
	return t.Tx.Rollback()
}

func (t *txConn) takeDirty() map[*dataloader.Scope]*dirty {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.dirty
	t.dirty = nil
	return d
}

// GetDBConn returns the *sql.DB of the transaction's pool (for db.DB()).
func (t *txConn) GetDBConn() (*sql.DB, error) { return t.l.db.DB() }

// txOf returns the txConn a connection is, or wraps (a prepared-statement
// session's transaction), or nil.
func txOf(c gorm.ConnPool) *txConn {
	for {
		p, ok := c.(*gorm.PreparedStmtTX)
		if !ok {
			break
		}
		c = p.Tx // prepared-statement sessions can be nested
	}
	t, _ := c.(*txConn)
	return t
}

// connOf returns the partition of a load on db: nil for the plugin's pool,
// else db's own connection (a transaction, a dedicated *sql.Conn), which
// the load runs on.
func (l *Loader) connOf(db *gorm.DB) (any, error) {
	var conn any
	c := db.Statement.ConnPool
	if c != nil && !l.isPool(c) {
		if !reflect.ValueOf(c).Comparable() { // the value: an interface field may hold a slice
			return nil, fmt.Errorf("gormloader: the *gorm.DB's connection (%T) cannot be told apart from others (its value is not comparable); pass a session of the db the plugin is installed on, a transaction or a db.Connection", c)
		}
		conn = c
	}
	return resolverChoiceOf(db, conn)
}

// The settings and the clause in which GORM's read/write splitting plugin
// (gorm.io/plugin/dbresolver, checked with v1.6.2) keeps what a db chose
// with Clauses(dbresolver.Write), Clauses(dbresolver.Read) and
// Clauses(dbresolver.Use(name)). Its query callback reads them from each
// statement; a batch's fresh session has none, and would read from a
// replica of the default resolver: a load that asked for the source (to
// read what the request wrote) or for another resolver's database would
// get another database's rows.
const (
	resolverWrite = "gorm:db_resolver:write"
	resolverRead  = "gorm:db_resolver:read"
	resolverUsing = "gorm:db_resolver:using"
)

// resolverChoice is the partition of a load on a db that chose a dbresolver
// source (write) or resolver (using, the clause.Expression of Use), which
// the partition's batches choose again (see Loader.session). The pool that
// dbresolver picked for the db when the choice was made is not part of it:
// the batch picks again (a random replica, a new prepared-statement pool
// per Clauses call), and loads that chose alike share its batches.
type resolverChoice struct {
	write bool
	using any
}

// resolverChoiceOf returns the partition of a load on db whose connection
// is conn (see connOf): conn, or a resolverChoice if db chose a dbresolver
// source or resolver. A transaction's statements stay on it (dbresolver
// leaves them alone), so it is conn whatever db chose.
func resolverChoiceOf(db *gorm.DB, conn any) (any, error) {
	if _, ok := conn.(gorm.TxCommitter); ok {
		return conn, nil
	}
	var rc resolverChoice
	_, rc.write = db.Statement.Settings.Load(resolverWrite)
	if c, ok := db.Statement.Clauses[resolverUsing]; ok && c.Expression != nil {
		if !reflect.ValueOf(c.Expression).Comparable() {
			return nil, fmt.Errorf("gormloader: the *gorm.DB's dbresolver clause (%T) cannot be told apart from others (its value is not comparable)", c.Expression)
		}
		rc.using = c.Expression
	}
	if rc.write || rc.using != nil {
		return rc, nil
	}
	if conn != nil {
		if _, read := db.Statement.Settings.Load(resolverRead); read {
			return nil, nil // what a query chooses anyway, on the replica it picks
		}
	}
	return conn, nil
}

// choose returns tx, a batch's session, choosing what rc chose.
func (rc resolverChoice) choose(tx *gorm.DB) *gorm.DB {
	if rc.write {
		tx = tx.Set(resolverWrite, struct{}{})
	}
	if rc.using != nil {
		tx = tx.Clauses(rc.using.(clause.Expression))
	}
	return tx
}

// isPool reports whether c is the plugin's pool: the pool itself, what it
// wraps, or a prepared-statement session over either.
func (l *Loader) isPool(c gorm.ConnPool) bool {
	if l.pool == nil {
		return false
	}
	is := func(c gorm.ConnPool) bool { return same(c, l.pool) || same(c, l.pool.ConnPool) }
	if ps, ok := c.(*gorm.PreparedStmtDB); ok && is(ps.ConnPool) {
		return true
	}
	return is(c)
}

// same reports whether a and b are the same connection, without panicking
// on types that are not comparable.
func same(a, b gorm.ConnPool) bool {
	ta := reflect.TypeOf(a)
	if ta == nil || ta != reflect.TypeOf(b) {
		return false
	}
	if ta.Kind() == reflect.Pointer {
		return a == b // the usual case, on every load: no reflection on the values
	}
	return reflect.ValueOf(a).Comparable() && reflect.ValueOf(b).Comparable() && a == b
}
