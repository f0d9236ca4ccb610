package sqlcount_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ormloader/ormloader/internal/sqlcount"
	"github.com/ormloader/ormloader/internal/testdb"
)

type tagKey struct{}

// recorder is a sqlcount.Func that keeps the SQL of every statement under
// the tag of its context ("" for none).
type recorder struct {
	mu    sync.Mutex
	byTag map[string][]string
}

func (r *recorder) count(ctx context.Context, query string) {
	tag, _ := ctx.Value(tagKey{}).(string)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byTag == nil {
		r.byTag = make(map[string][]string)
	}
	r.byTag[tag] = append(r.byTag[tag], query)
}

func (r *recorder) get(tag string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.byTag[tag])
}

func tagged(tag string) context.Context {
	return context.WithValue(context.Background(), tagKey{}, tag)
}

// TestCounts runs statements of every kind through a counting database on
// every available dialect (SQLite always) and checks what was counted,
// under which context. On MySQL, a query with arguments is answered with
// driver.ErrSkip and run as a prepared statement: it must still count once.
func TestCounts(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			var rec recorder
			db, err := sqlcount.Open(d.DriverName, d.DSN, rec.count)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Ping(); err != nil {
				t.Fatal(err)
			}
			if got := rec.get(""); len(got) != 0 {
				t.Fatalf("Ping counted %q", got)
			}
			p := func(i int) string { // the i-th placeholder
				if d.Dialect == "postgres" {
					return fmt.Sprintf("$%d", i)
				}
				return "?"
			}
			mustExec(t, db, tagged("setup"), "CREATE TABLE t (id INTEGER PRIMARY KEY)")

			ctx := tagged("a")
			insert := fmt.Sprintf("INSERT INTO t (id) VALUES (%s), (%s)", p(1), p(2))
			mustExec(t, db, ctx, insert, 1, 2)
			countQuery := "SELECT count(*) FROM t WHERE id > " + p(1)
			var n int
			if err := db.QueryRowContext(ctx, countQuery, 0).Scan(&n); err != nil || n != 2 {
				t.Fatal(n, err)
			}
			byID := "SELECT id FROM t WHERE id = " + p(1)
			stmt, err := db.PrepareContext(ctx, byID) // preparing is no statement...
			if err != nil {
				t.Fatal(err)
			}
			defer stmt.Close()
			for id := range 2 { // ...running it is, every time
				if err := stmt.QueryRowContext(ctx, id+1).Scan(&n); err != nil || n != id+1 {
					t.Fatal(n, err)
				}
			}
			tx, err := db.BeginTx(ctx, nil) // BEGIN and COMMIT are not counted
			if err != nil {
				t.Fatal(err)
			}
			del := "DELETE FROM t WHERE id = " + p(1)
			if _, err := tx.ExecContext(ctx, del, 1); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, "SELECT * FROM no_such_table"); err == nil {
				t.Fatal("a query of a missing table succeeded")
			}
			mustExec(t, db, tagged("b"), del, 2)
			if d.Dialect == "postgres" {
				// pgx's connection accepts a Go slice for an array; the
				// prepared statement must still ask it, not the default
				// checker, which rejects []int64.
				arr, err := db.PrepareContext(tagged("b"), "SELECT count(*) FROM t WHERE id = ANY($1)")
				if err != nil {
					t.Fatal(err)
				}
				defer arr.Close()
				n = -1
				if err := arr.QueryRowContext(tagged("b"), []int64{1, 2}).Scan(&n); err != nil || n != 0 { // both deleted by now
					t.Fatal(n, err)
				}
			}

			want := map[string][]string{
				"":      nil,
				"setup": {"CREATE TABLE t (id INTEGER PRIMARY KEY)"},
				"a":     {insert, countQuery, byID, byID, del, "SELECT * FROM no_such_table"},
				"b":     {del},
			}
			if d.Dialect == "postgres" {
				want["b"] = append(want["b"], "SELECT count(*) FROM t WHERE id = ANY($1)")
			}
			for tag, w := range want {
				if got := rec.get(tag); !slices.Equal(got, w) {
					t.Errorf("context %q: counted %d statements %q, want %d: %q", tag, len(got), got, len(w), w)
				}
			}
		})
	}
}

func mustExec(t *testing.T, db *sql.DB, ctx context.Context, query string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(ctx, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// TestConcurrentCounts checks that a Func called from many connections at
// once sees every statement (run with -race).
func TestConcurrentCounts(t *testing.T) {
	d := testdb.SQLite(t)
	var mu sync.Mutex
	perTag := make(map[string]int)
	db, err := sqlcount.Open(d.DriverName, d.DSN, func(ctx context.Context, _ string) {
		tag, _ := ctx.Value(tagKey{}).(string)
		mu.Lock()
		perTag[tag]++
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(4)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			ctx := tagged(fmt.Sprint(g))
			for range 10 + g {
				var n int
				if err := db.QueryRowContext(ctx, "SELECT ?", g).Scan(&n); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for g := range 8 {
		if got := perTag[fmt.Sprint(g)]; got != 10+g {
			t.Errorf("goroutine %d: counted %d statements, want %d", g, got, 10+g)
		}
	}
}

// TestLegacyDriver checks the fallbacks for a driver with none of the
// context interfaces: database/sql is told to prepare every statement, and
// each execution counts once.
func TestLegacyDriver(t *testing.T) {
	var queries []string
	db, err := sqlcount.Open("sqlcount-legacy", "", func(_ context.Context, q string) { queries = append(queries, q) })
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("UPDATE x", 1); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := db.QueryRow("SELECT 1").Scan(&n); err != nil || n != 1 {
		t.Fatal(n, err)
	}
	if _, err := db.Exec("UPDATE x", sql.Named("id", 1)); err == nil || !strings.Contains(err.Error(), "Named Parameters") {
		t.Errorf("named argument: err %v", err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true}); err == nil {
		t.Error("a read-only transaction began on a driver that has none")
	}
	if want := []string{"UPDATE x", "SELECT 1"}; !slices.Equal(queries, want) {
		t.Errorf("counted %q, want %q", queries, want)
	}
}

func init() { sql.Register("sqlcount-legacy", legacyDriver{}) }

// legacyDriver implements only the required driver interfaces.
type legacyDriver struct{}

func (legacyDriver) Open(string) (driver.Conn, error) { return legacyConn{}, nil }

type legacyConn struct{}

func (legacyConn) Prepare(string) (driver.Stmt, error) { return legacyStmt{}, nil }
func (legacyConn) Close() error                        { return nil }
func (legacyConn) Begin() (driver.Tx, error)           { return legacyTx{}, nil }

type legacyTx struct{}

func (legacyTx) Commit() error   { return nil }
func (legacyTx) Rollback() error { return nil }

type legacyStmt struct{}

func (legacyStmt) Close() error                               { return nil }
func (legacyStmt) NumInput() int                              { return -1 }
func (legacyStmt) Exec([]driver.Value) (driver.Result, error) { return driver.RowsAffected(1), nil }
func (legacyStmt) Query([]driver.Value) (driver.Rows, error)  { return &legacyRows{}, nil }

// legacyRows is one row of one column, 1.
type legacyRows struct{ done bool }

func (*legacyRows) Columns() []string { return []string{"n"} }
func (*legacyRows) Close() error      { return nil }
func (r *legacyRows) Next(dest []driver.Value) error {
	if r.done {
		return io.EOF
	}
	r.done = true
	dest[0] = int64(1)
	return nil
}
