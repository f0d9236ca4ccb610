package bench

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "github.com/mattn/go-sqlite3"    // registers "sqlite3"
)

// Dialects, as GORM and ent name them.
const (
	SQLite   = "sqlite3"
	Postgres = "postgres"
)

// MaxConns is the connection pool of every database: the same for every
// variant, and enough for 8 clients and the naive resolvers' concurrent
// queries without exhausting PostgreSQL's connections.
const MaxConns = 16

var statements atomic.Int64

// Statements returns the number of statements run so far through the
// databases OpenDB opened, counted at the database/sql driver: whatever the
// ORM or loader does, one call to the driver is one statement. One counter
// for the process: the benchmark runs one variant at a time.
func Statements() int64 { return statements.Load() }

// OpenDB opens a new, empty database and returns it with its dialect and a
// function that closes it and removes it. An empty dsn is a temporary SQLite
// file; a postgres:// URL is a new schema named after name in that database,
// dropped by the returned function.
func OpenDB(dsn, name string) (db *sql.DB, dialect string, closeDB func() error, err error) {
	var driverName string
	drop := func() error { return nil }
	switch {
	case dsn == "":
		dir, err := os.MkdirTemp("", "ormloader-bench-")
		if err != nil {
			return nil, "", nil, err
		}
		drop = func() error { return os.RemoveAll(dir) }
		driverName, dialect = "sqlite3", SQLite
		dsn = "file:" + filepath.Join(dir, name+".db") + "?_fk=1&_busy_timeout=10000&_journal_mode=WAL"
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		driverName, dialect = "pgx", Postgres
		schema := fmt.Sprintf("ormloader_bench_%s_%d", name, os.Getpid())
		if drop, err = createSchema(dsn, schema); err != nil {
			return nil, "", nil, err
		}
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, "", nil, errors.Join(err, drop())
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		dsn = u.String()
	default:
		return nil, "", nil, fmt.Errorf("-dsn %q: want postgres://user@host:5432/db", dsn)
	}
	db, err = openCounting(driverName, dsn)
	if err == nil {
		err = db.Ping()
	}
	if err != nil {
		return nil, "", nil, errors.Join(err, drop())
	}
	db.SetMaxOpenConns(MaxConns)
	db.SetMaxIdleConns(MaxConns)
	return db, dialect, func() error { return errors.Join(db.Close(), drop()) }, nil
}

// createSchema creates schema in the PostgreSQL database of dsn, and returns
// the function that drops it.
func createSchema(dsn, schema string) (drop func() error, err error) {
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		return nil, errors.Join(fmt.Errorf("create schema %s: %w", schema, err), admin.Close())
	}
	return func() error {
		_, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		return errors.Join(err, admin.Close())
	}, nil
}

// openCounting is sql.Open with every statement counted.
func openCounting(driverName, dsn string) (*sql.DB, error) {
	probe, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, err
	}
	d := probe.Driver()
	if err := probe.Close(); err != nil {
		return nil, err
	}
	var c driver.Connector = dsnConnector{dsn, d}
	if dc, ok := d.(driver.DriverContext); ok { // pgx; go-sqlite3 has none
		if c, err = dc.OpenConnector(dsn); err != nil {
			return nil, err
		}
	}
	return sql.OpenDB(connector{c}), nil
}

type dsnConnector struct {
	dsn string
	d   driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }

type connector struct{ driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{cn}, nil
}

// conn counts the statements of a connection of pgx or go-sqlite3, which
// both implement the context interfaces it delegates to; database/sql
// falls back to a prepared statement when a driver skips one, and those
// are counted when they run.
type conn struct{ driver.Conn }

var (
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
)

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		statements.Add(1)
	}
	return rows, err
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		statements.Add(1)
	}
	return res, err
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return stmt{s}, nil
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
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

// stmt counts the executions of a prepared statement.
type stmt struct{ driver.Stmt }

func (s stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	statements.Add(1)
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	statements.Add(1)
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}
