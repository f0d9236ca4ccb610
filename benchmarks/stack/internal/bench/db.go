package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "github.com/mattn/go-sqlite3"    // registers "sqlite3"

	"github.com/ormloader/ormloader/internal/sqlcount"
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
// for the process: the benchmark runs one variant at a time. For the
// statements of one request among concurrent ones, see RequestStatements.
func Statements() int64 { return statements.Load() }

// recorder keeps the SQL of the statements run under a context that
// withRecorder returned.
type recorder struct {
	mu  sync.Mutex
	sql []string
}

type recorderKey struct{}

func withRecorder(ctx context.Context, r *recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, r)
}

func countStatement(ctx context.Context, query string) {
	statements.Add(1)
	if r, ok := ctx.Value(recorderKey{}).(*recorder); ok {
		r.mu.Lock()
		r.sql = append(r.sql, query)
		r.mu.Unlock()
	}
}

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
		if dsn, drop, err = NewSchema(dsn, name); err != nil {
			return nil, "", nil, err
		}
	default:
		return nil, "", nil, fmt.Errorf("-dsn %q: want postgres://user@host:5432/db", dsn)
	}
	db, err = sqlcount.Open(driverName, dsn, countStatement)
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

// NewSchema creates a schema named after name (and the process) in the
// PostgreSQL database of dsn, and returns dsn with its search_path set to
// it and the function that drops it.
func NewSchema(dsn, name string) (schemaDSN string, drop func() error, err error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, err
	}
	schema := fmt.Sprintf("ormloader_bench_%s_%d", name, os.Getpid())
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		return "", nil, errors.Join(fmt.Errorf("create schema %s: %w", schema, err), admin.Close())
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() error {
		_, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		return errors.Join(err, admin.Close())
	}, nil
}
