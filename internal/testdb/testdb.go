// Package testdb gives tests a fresh database on every dialect that is
// available: SQLite always (a file in the test's temporary directory), and
// PostgreSQL and MariaDB/MySQL when ORMLOADER_TEST_POSTGRES_DSN and
// ORMLOADER_TEST_MYSQL_DSN are set. Each call creates a uniquely named
// schema (PostgreSQL) or database (MySQL) and drops it when the test ends, so
// test packages running in parallel against the same servers never meet.
//
// A DSN that is set but unreachable fails the test; an unset one skips that
// dialect and says so in the test log.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "github.com/mattn/go-sqlite3"    // registers "sqlite3"
)

// Environment variables naming the servers; .ci/run sets both.
const (
	PostgresEnv = "ORMLOADER_TEST_POSTGRES_DSN"
	MySQLEnv    = "ORMLOADER_TEST_MYSQL_DSN"
)

// DB is a fresh, empty database.
type DB struct {
	Dialect    string // "sqlite", "postgres" or "mysql"
	DriverName string // database/sql driver: "sqlite3", "pgx" or "mysql"
	DSN        string // for sql.Open(DriverName, DSN)
}

// All returns a fresh database for every available dialect, SQLite first.
func All(t testing.TB) []DB {
	t.Helper()
	dbs := []DB{SQLite(t)}
	if pg, ok := Postgres(t); ok {
		dbs = append(dbs, pg)
	}
	if my, ok := MySQL(t); ok {
		dbs = append(dbs, my)
	}
	return dbs
}

// SQLite returns a fresh SQLite database file with foreign keys on.
func SQLite(t testing.TB) DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	return DB{
		Dialect:    "sqlite",
		DriverName: "sqlite3",
		DSN:        "file:" + path + "?_fk=1&_busy_timeout=10000&_journal_mode=WAL",
	}
}

// Postgres returns a fresh schema on the server named by PostgresEnv; ok is
// false if the variable is unset.
func Postgres(t testing.TB) (db DB, ok bool) {
	t.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		t.Logf("testdb: %s is not set: skipping PostgreSQL", PostgresEnv)
		return DB{}, false
	}
	name := uniqueName()
	admin := open(t, "pgx", dsn, PostgresEnv)
	exec(t, admin, "CREATE SCHEMA "+name)
	t.Cleanup(func() {
		exec(t, admin, "DROP SCHEMA "+name+" CASCADE")
		admin.Close()
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	if !strings.Contains(dsn, "://") {
		// keyword/value form
		return DB{Dialect: "postgres", DriverName: "pgx", DSN: dsn + " search_path=" + name}, true
	}
	return DB{Dialect: "postgres", DriverName: "pgx", DSN: dsn + sep + "search_path=" + name}, true
}

// MySQL returns a fresh database on the server named by MySQLEnv; ok is
// false if the variable is unset.
func MySQL(t testing.TB) (db DB, ok bool) {
	t.Helper()
	dsn := os.Getenv(MySQLEnv)
	if dsn == "" {
		t.Logf("testdb: %s is not set: skipping MySQL/MariaDB", MySQLEnv)
		return DB{}, false
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("testdb: %s=%q is not a MySQL DSN: %v", MySQLEnv, dsn, err)
	}
	name := uniqueName()
	admin := open(t, "mysql", dsn, MySQLEnv)
	exec(t, admin, "CREATE DATABASE "+name)
	t.Cleanup(func() {
		exec(t, admin, "DROP DATABASE "+name)
		admin.Close()
	})
	cfg.DBName = name
	cfg.ParseTime = true
	return DB{Dialect: "mysql", DriverName: "mysql", DSN: cfg.FormatDSN()}, true
}

func open(t testing.TB, driver, dsn, env string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("testdb: %s is set but cannot be opened: %v", env, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		t.Fatalf("testdb: %s is set but the server does not answer: %v", env, err)
	}
	return db
}

func exec(t testing.TB, db *sql.DB, stmt string) {
	t.Helper()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatalf("testdb: %s: %v", stmt, err)
	}
}

// uniqueName returns a schema or database name no other test uses.
func uniqueName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("ormtest_%d_%s", os.Getpid(), hex.EncodeToString(b[:]))
}
