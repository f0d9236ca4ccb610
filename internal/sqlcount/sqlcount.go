// Package sqlcount counts the SQL statements a *sql.DB runs, at the
// database/sql driver: whatever the ORM or loader above it does, one call to
// the driver is one statement. It reports every statement to a [Func], with
// the statement's context (so a caller can count per request) and its SQL
// text, through the driver wrapper of internal/sqlhook.
//
// What counts as one statement (sqlhook's statements):
//   - a query or exec run directly on a connection (driver.QueryerContext,
//     driver.ExecerContext), once even if the driver answers driver.ErrSkip
//     and database/sql runs it as a prepared statement instead;
//   - every execution of a prepared statement (not its preparation).
//
// Transactions' BEGIN, COMMIT and ROLLBACK, pings and session resets are not
// counted. A statement is counted before the driver runs it, whether it
// then succeeds or fails.
//
// It is used by the whole-stack benchmark (benchmarks/stack) and the example
// servers (examples/internal/demo); it works with pgx, go-sqlite3 and
// go-sql-driver/mysql.
package sqlcount

import (
	"context"
	"database/sql"
	"database/sql/driver"

	"github.com/ormloader/ormloader/internal/sqlhook"
)

// Func is called once for every statement run through a database opened
// with [Open], before the driver runs it, with the context the statement
// runs under and its SQL text. It may be called from many goroutines at
// once.
type Func func(ctx context.Context, query string)

// Open is sql.Open for the registered driver driverName, with every statement
// run through the returned *sql.DB reported to count. Like sql.Open, it does
// not connect; call Ping to check the DSN.
func Open(driverName, dsn string, count Func) (*sql.DB, error) {
	c, err := sqlhook.Connector(driverName, dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(Wrap(c, count)), nil
}

// Wrap returns a connector that opens base's connections with every
// statement reported to count; open a *sql.DB on it with sql.OpenDB.
func Wrap(base driver.Connector, count Func) driver.Connector {
	return sqlhook.Wrap(base, func(ctx context.Context, query string) error {
		count(ctx, query)
		return nil
	})
}
