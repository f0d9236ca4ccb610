// Package sqlhook wraps a database/sql driver so that a function runs before
// every statement: it wraps the driver's connector, connections and prepared
// statements and calls a [Hook] with the statement's context and SQL text
// before the driver runs it. The hook can let the statement run, fail it,
// block or panic. internal/sqlcount (counting statements per request) and
// internal/faultdb (injecting faults) are built on it.
//
// The hook is called exactly once per statement, before the driver runs it:
//   - a query or exec run directly on a connection (driver.QueryerContext,
//     driver.ExecerContext). If the driver answers driver.ErrSkip,
//     database/sql prepares the statement on the same connection and runs
//     it once; that execution is the same statement and is not hooked again;
//   - every execution of a prepared statement (not its preparation).
//
// Transactions' BEGIN, COMMIT and ROLLBACK, pings and session resets are not
// statements.
//
// The wrappers implement the optional driver interfaces database/sql looks
// for by delegating to the driver's, and fall back as database/sql would
// without them where the driver lacks one, so the wrapped driver behaves as
// the bare one does. It works with pgx, go-sqlite3 and go-sql-driver/mysql.
package sqlhook

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"sync/atomic"
)

// Hook is called once for every statement, before the driver runs it, with
// the context the statement runs under and its SQL text. It may be called
// from many goroutines at once.
//
// If it returns an error, the statement fails with that error and the
// driver never sees it. It may block (the caller waits) or panic: the panic
// goes up through database/sql to the caller, as a driver's own would.
// database/sql does not recover panics and never puts the connection of a
// panicking call back into its pool, so before the panic goes on the wrapper
// closes that driver connection; otherwise its resources (a socket, MySQL's
// watcher goroutine) would outlive the *sql.DB. The pool still counts the
// connection as open, as it would after a driver's own panic.
type Hook func(ctx context.Context, query string) error

// Connector returns the connector sql.Open would use for the registered
// driver driverName and dsn. Like sql.Open, it does not connect.
func Connector(driverName, dsn string) (driver.Connector, error) {
	probe, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, err
	}
	d := probe.Driver()
	if err := probe.Close(); err != nil {
		return nil, err
	}
	if dc, ok := d.(driver.DriverContext); ok { // pgx, mysql; go-sqlite3 has none
		return dc.OpenConnector(dsn)
	}
	return dsnConnector{dsn, d}, nil
}

// dsnConnector is the connector database/sql makes for a driver without
// driver.DriverContext.
type dsnConnector struct {
	dsn string
	d   driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }

// Wrap returns a connector that opens base's connections with hook called
// before every statement run on them. Open a *sql.DB on it with sql.OpenDB;
// closing the DB closes base if base is an io.Closer.
func Wrap(base driver.Connector, hook Hook) driver.Connector {
	return connector{base, hook}
}

// connector wraps every connection of base.
type connector struct {
	base driver.Connector
	hook Hook
}

var _ io.Closer = connector{}

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: cn, hook: c.hook}, nil
}

func (c connector) Driver() driver.Driver { return c.base.Driver() }

// Close closes base if it is an io.Closer, as sql.DB.Close does for the
// connector it was opened with.
func (c connector) Close() error {
	if cl, ok := c.base.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// conn hooks the statements run on a driver connection. It implements the
// optional interfaces by delegating, and returns driver.ErrSkip where the
// driver lacks one, so database/sql falls back as it would without us (a
// driver without QueryerContext gets its statements hooked when the
// prepared statement runs instead).
//
// database/sql never uses a connection concurrently, so skipped needs no
// lock: it is set by a hooked call that the driver answered with
// driver.ErrSkip, and consumed by the PrepareContext database/sql calls
// next on the same connection (still held by the same call) to run the
// statement as a prepared one.
type conn struct {
	driver.Conn
	hook    Hook
	skipped bool        // the next prepared statement is the fallback of a hooked call
	broken  atomic.Bool // closed after the hook panicked
}

var (
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
)

// before runs the hook, closing the driver connection if it panics (see
// Hook).
func (c *conn) before(ctx context.Context, query string) error {
	defer func() {
		if r := recover(); r != nil {
			c.broken.Store(true)
			c.Conn.Close()
			panic(r)
		}
	}()
	return c.hook(ctx, query)
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	if err := c.before(ctx, query); err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, query, args)
	c.skipped = err == driver.ErrSkip // database/sql compares, so do we
	return rows, err
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	if err := c.before(ctx, query); err != nil {
		return nil, err
	}
	res, err := e.ExecContext(ctx, query, args)
	c.skipped = err == driver.ErrSkip
	return res, err
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	hooked := c.skipped
	c.skipped = false
	var s driver.Stmt
	var err error
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		s, err = p.PrepareContext(ctx, query)
	} else {
		s, err = c.Conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &stmt{Stmt: s, conn: c, query: query, hooked: hooked}, nil
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	// What database/sql does for a driver without ConnBeginTx.
	if opts.Isolation != driver.IsolationLevel(sql.LevelDefault) {
		return nil, errors.New("sql: driver does not support non-default isolation level")
	}
	if opts.ReadOnly {
		return nil, errors.New("sql: driver does not support read-only transactions")
	}
	return c.Conn.Begin()
}

func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *conn) ResetSession(ctx context.Context) error {
	if c.broken.Load() {
		return driver.ErrBadConn
	}
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *conn) IsValid() bool {
	if c.broken.Load() {
		return false
	}
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *conn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// Close closes the driver connection, unless the wrapper closed it already
// after a panic.
func (c *conn) Close() error {
	if c.broken.Load() {
		return nil
	}
	return c.Conn.Close()
}

// stmt hooks the executions of a prepared statement.
type stmt struct {
	driver.Stmt
	conn   *conn
	query  string
	hooked bool // the statement's first execution was hooked already (see conn)
}

var (
	_ driver.StmtExecContext   = (*stmt)(nil)
	_ driver.StmtQueryContext  = (*stmt)(nil)
	_ driver.NamedValueChecker = (*stmt)(nil)
)

// before runs the hook unless the execution was hooked already.
func (s *stmt) before(ctx context.Context) error {
	if s.hooked {
		s.hooked = false
		return nil
	}
	return s.conn.before(ctx, s.query)
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		if err := s.before(ctx); err != nil {
			return nil, err
		}
		return e.ExecContext(ctx, args)
	}
	v, err := values(args)
	if err != nil {
		return nil, err // never reached the driver: not a statement
	}
	if err := s.before(ctx); err != nil {
		return nil, err
	}
	return s.Stmt.Exec(v)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		if err := s.before(ctx); err != nil {
			return nil, err
		}
		return q.QueryContext(ctx, args)
	}
	v, err := values(args)
	if err != nil {
		return nil, err // never reached the driver: not a statement
	}
	if err := s.before(ctx); err != nil {
		return nil, err
	}
	return s.Stmt.Query(v)
}

// CheckNamedValue is the statement's checker if the driver's statement has
// one, else the connection's: database/sql asks the statement first and
// the connection only if the statement has none, so a statement wrapper
// that answered driver.ErrSkip would hide the connection's (pgx's accepts
// any Go value; the default checker does not).
func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return s.conn.CheckNamedValue(nv)
}

// values converts args for a driver without the context interfaces, as
// database/sql does: such a driver takes no named arguments.
func values(args []driver.NamedValue) ([]driver.Value, error) {
	v := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, errors.New("sql: driver does not support the use of Named Parameters")
		}
		v[i] = a.Value
	}
	return v, nil
}
