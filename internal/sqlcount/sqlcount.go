// Package sqlcount counts the SQL statements a *sql.DB runs, at the
// database/sql driver: whatever the ORM or loader above it does, one call to
// the driver is one statement. It wraps the driver's connector, connections
// and prepared statements and reports every statement to a [Func], with the
// statement's context (so a caller can count per request) and its SQL text.
//
// What counts as one statement:
//   - a query or exec run directly on a connection (driver.QueryerContext,
//     driver.ExecerContext), unless the driver answers driver.ErrSkip, in
//     which case database/sql prepares the statement and its execution is
//     counted instead, so that nothing is counted twice;
//   - every execution of a prepared statement (not its preparation).
//
// Transactions' BEGIN, COMMIT and ROLLBACK, pings and session resets are not
// counted. A statement the driver runs is counted whether it succeeds or
// fails.
//
// The wrappers implement the optional driver interfaces database/sql looks
// for by delegating to the driver's, and fall back as database/sql would
// without them where the driver lacks one, so the wrapped driver behaves as
// the bare one does. It is used by the whole-stack benchmark
// (benchmarks/stack) and the example servers (examples/internal/demo); it
// works with pgx, go-sqlite3 and go-sql-driver/mysql.
package sqlcount

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
)

// Func is called once for every statement run through a database opened
// with [Open], before the driver returns, with the context the statement ran
// under and its SQL text. It may be called from many goroutines at once.
type Func func(ctx context.Context, query string)

// Open is sql.Open for the registered driver driverName, with every statement
// run through the returned *sql.DB reported to count. Like sql.Open, it does
// not connect; call Ping to check the DSN.
func Open(driverName, dsn string, count Func) (*sql.DB, error) {
	probe, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, err
	}
	d := probe.Driver()
	if err := probe.Close(); err != nil {
		return nil, err
	}
	var base driver.Connector = dsnConnector{dsn, d}
	if dc, ok := d.(driver.DriverContext); ok { // pgx, mysql; go-sqlite3 has none
		if base, err = dc.OpenConnector(dsn); err != nil {
			return nil, err
		}
	}
	return sql.OpenDB(connector{base, count}), nil
}

// dsnConnector is the connector database/sql makes for a driver without
// driver.DriverContext.
type dsnConnector struct {
	dsn string
	d   driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }

// connector wraps every connection of base.
type connector struct {
	base  driver.Connector
	count Func
}

var _ io.Closer = connector{}

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{cn, c.count}, nil
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

// conn counts the statements run on a driver connection. It implements the
// optional interfaces by delegating, and returns driver.ErrSkip where the
// driver lacks one, so database/sql falls back as it would without us (a
// driver that skips QueryContext gets its statement counted when the
// prepared statement runs instead).
type conn struct {
	driver.Conn
	count Func
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

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	rows, err := q.QueryContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		c.count(ctx, query)
	}
	return rows, err
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	res, err := e.ExecContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		c.count(ctx, query)
	}
	return res, err
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
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
	return &stmt{Stmt: s, conn: c, query: query}, nil
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
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *conn) IsValid() bool {
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

// stmt counts the executions of a prepared statement.
type stmt struct {
	driver.Stmt
	conn  *conn
	query string
}

var (
	_ driver.StmtExecContext   = (*stmt)(nil)
	_ driver.StmtQueryContext  = (*stmt)(nil)
	_ driver.NamedValueChecker = (*stmt)(nil)
)

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		s.conn.count(ctx, s.query)
		return e.ExecContext(ctx, args)
	}
	v, err := values(args)
	if err != nil {
		return nil, err // never reached the driver: not counted
	}
	s.conn.count(ctx, s.query)
	return s.Stmt.Exec(v)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		s.conn.count(ctx, s.query)
		return q.QueryContext(ctx, args)
	}
	v, err := values(args)
	if err != nil {
		return nil, err // never reached the driver: not counted
	}
	s.conn.count(ctx, s.query)
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
