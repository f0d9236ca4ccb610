package demo

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "github.com/mattn/go-sqlite3"    // registers "sqlite3"
)

// Dialects returned by OpenDB, as GORM and ent name them.
const (
	SQLite   = "sqlite3"
	Postgres = "postgres"
	MySQL    = "mysql"
)

// OpenDB opens the database named by dsn and returns it with its dialect
// and a function that closes it (and removes the temporary SQLite file):
//
//   - "" : a new SQLite database in a temporary directory;
//   - file:path.db?... or a path ending in .db, .sqlite or .sqlite3: SQLite;
//   - postgres://... , postgresql://... or key=value pairs with host=: PostgreSQL (pgx);
//   - user:pass@tcp(host:3306)/db?parseTime=true, optionally with a mysql://
//     prefix: MySQL or MariaDB.
//
// Every statement run through the returned *sql.DB with a context that
// carries [Stats] is counted there, at the database/sql driver level:
// whatever the ORM does, one call to the driver is one statement.
func OpenDB(dsn string) (db *sql.DB, dialect string, closeDB func() error, err error) {
	driverName, dialect, dsn, cleanup, err := parseDSN(dsn)
	if err != nil {
		return nil, "", nil, err
	}
	db, err = OpenCounting(driverName, dsn)
	if err != nil {
		cleanup()
		return nil, "", nil, err
	}
	if err := db.Ping(); err != nil {
		db.Close()
		cleanup()
		return nil, "", nil, fmt.Errorf("connect to the %s database: %w (check -dsn)", dialect, err)
	}
	return db, dialect, func() error {
		err := db.Close()
		cleanup()
		return err
	}, nil
}

func parseDSN(dsn string) (driverName, dialect, out string, cleanup func(), err error) {
	cleanup = func() {}
	lower := strings.ToLower(dsn)
	switch {
	case dsn == "":
		dir, err := os.MkdirTemp("", "ormloader-example-")
		if err != nil {
			return "", "", "", nil, err
		}
		path := filepath.Join(dir, "music.db")
		return "sqlite3", SQLite, "file:" + path + "?_fk=1&_busy_timeout=10000&_journal_mode=WAL", func() { os.RemoveAll(dir) }, nil
	case strings.HasPrefix(lower, "file:"), strings.HasSuffix(lower, ".db"), strings.HasSuffix(lower, ".sqlite"), strings.HasSuffix(lower, ".sqlite3"):
		return "sqlite3", SQLite, dsn, cleanup, nil
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"), strings.Contains(lower, "host="):
		return "pgx", Postgres, dsn, cleanup, nil
	}
	if my := strings.TrimPrefix(dsn, "mysql://"); strings.Contains(my, "@tcp(") || strings.Contains(my, "@unix(") || my != dsn {
		if _, err := mysql.ParseDSN(my); err != nil {
			return "", "", "", nil, fmt.Errorf("-dsn looks like MySQL but does not parse: %w", err)
		}
		return "mysql", MySQL, my, cleanup, nil
	}
	return "", "", "", nil, fmt.Errorf("cannot tell the database from -dsn %q: use postgres://user@host:5432/db, user@tcp(host:3306)/db?parseTime=true, or file:music.db (SQLite)", dsn)
}

// OpenCounting is sql.Open for a registered driver, with every statement
// counted into the [Stats] of its context.
func OpenCounting(driverName, dsn string) (*sql.DB, error) {
	probe, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, err
	}
	d := probe.Driver()
	probe.Close()
	var base driver.Connector = dsnConnector{dsn, d}
	if dc, ok := d.(driver.DriverContext); ok {
		if base, err = dc.OpenConnector(dsn); err != nil {
			return nil, err
		}
	}
	return sql.OpenDB(connector{base}), nil
}

type dsnConnector struct {
	dsn string
	d   driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }

type connector struct{ base driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{cn}, nil
}

func (c connector) Driver() driver.Driver { return c.base.Driver() }

// conn counts the statements run on a driver connection. It implements the
// optional interfaces by delegating, and returns driver.ErrSkip where the
// driver lacks one, so database/sql falls back as it would without us (a
// driver that skips QueryContext gets its statement counted when the
// prepared statement runs instead).
type conn struct{ driver.Conn }

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
		count(ctx, query)
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
		count(ctx, query)
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
	return &stmt{Stmt: s, query: query}, nil
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	if opts.Isolation != 0 || opts.ReadOnly {
		return nil, errors.New("demo: the driver supports no transaction options")
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
	query string
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	count(ctx, s.query)
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	return s.Stmt.Exec(values(args))
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	count(ctx, s.query)
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	return s.Stmt.Query(values(args))
}

func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func values(args []driver.NamedValue) []driver.Value {
	v := make([]driver.Value, len(args))
	for i, a := range args {
		v[i] = a.Value
	}
	return v
}
