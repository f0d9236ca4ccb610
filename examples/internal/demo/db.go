package demo

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "github.com/mattn/go-sqlite3"    // registers "sqlite3"

	"github.com/ormloader/ormloader/internal/sqlcount"
	"github.com/ormloader/ormloader/internal/sqlhook"
)

// Dialects returned by OpenDB, as GORM and ent name them.
const (
	SQLite   = "sqlite3"
	Postgres = "postgres"
	MySQL    = "mysql"
)

// MaxOpenConns bounds the pool of a database opened by [OpenDB].
const MaxOpenConns = 10

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
//
// Each wrap, if any, wraps the driver's connector, the first one innermost,
// below the counting: a statement that a wrapper fails is still counted.
// The reliability tests inject faults this way (internal/faultdb).
//
// The pool holds at most [MaxOpenConns] connections, as a server's pool
// should: without a bound, the naive resolvers open one connection per
// concurrent field and a busy PostgreSQL refuses them ("too many clients").
func OpenDB(dsn string, wrap ...func(driver.Connector) driver.Connector) (db *sql.DB, dialect string, closeDB func() error, err error) {
	driverName, dialect, dsn, cleanup, err := parseDSN(dsn)
	if err != nil {
		return nil, "", nil, err
	}
	db, err = openCounting(driverName, dsn, wrap)
	if err != nil {
		cleanup()
		return nil, "", nil, err
	}
	db.SetMaxOpenConns(MaxOpenConns)
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

// openCounting is sql.Open for a registered driver, with its connector
// wrapped by wrap and every statement counted into the [Stats] of its
// context (by internal/sqlcount).
func openCounting(driverName, dsn string, wrap []func(driver.Connector) driver.Connector) (*sql.DB, error) {
	c, err := sqlhook.Connector(driverName, dsn)
	if err != nil {
		return nil, err
	}
	for _, w := range wrap {
		c = w(c)
	}
	return sql.OpenDB(sqlcount.Wrap(c, count)), nil
}
