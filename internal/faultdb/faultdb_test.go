package faultdb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ormloader/ormloader/internal/faultdb"
	"github.com/ormloader/ormloader/internal/sqlhook"
	"github.com/ormloader/ormloader/internal/testdb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type markKey struct{}

// open opens d through a new injector and creates tables a and b with a row
// each.
func open(t *testing.T, d testdb.DB) (*sql.DB, *faultdb.Injector) {
	t.Helper()
	c, err := sqlhook.Connector(d.DriverName, d.DSN)
	if err != nil {
		t.Fatal(err)
	}
	inj := faultdb.New()
	db := sql.OpenDB(inj.Wrap(c))
	t.Cleanup(func() { db.Close() })
	for _, q := range []string{"CREATE TABLE a (id INTEGER PRIMARY KEY)", "CREATE TABLE b (id INTEGER PRIMARY KEY)", "INSERT INTO a (id) VALUES (1)", "INSERT INTO b (id) VALUES (1)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return db, inj
}

// query runs a one-argument query (a prepared statement on MySQL, which
// answers direct queries with arguments with driver.ErrSkip) and returns its
// error.
func query(ctx context.Context, db *sql.DB, d testdb.DB, table string) error {
	ph := "?"
	if d.Dialect == "postgres" {
		ph = "$1"
	}
	var id int
	return db.QueryRowContext(ctx, fmt.Sprintf(`SELECT id FROM %s WHERE id = %s`, table, ph), 1).Scan(&id)
}

// TestRules: which statements each kind of rule picks, counted once per
// statement on every dialect.
func TestRules(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			db, inj := open(t, d)
			bg := context.Background()
			marked := context.WithValue(bg, markKey{}, true)
			isMarked := func(ctx context.Context) bool { return ctx.Value(markKey{}) != nil }
			for _, c := range []struct {
				name string
				rule faultdb.Rule
				ctxs []context.Context // one statement each, on a then b alternately
				fail []bool
			}{
				{"every statement", faultdb.Rule{}, []context.Context{bg, bg}, []bool{true, true}},
				{"the third", faultdb.Rule{Nth: 3}, []context.Context{bg, bg, bg, bg}, []bool{false, false, true, false}},
				{"the second on b", faultdb.Rule{Match: faultdb.Table("b"), Nth: 2}, []context.Context{bg, bg, bg, bg}, []bool{false, false, false, true}},
				{"the first two on a", faultdb.Rule{Match: faultdb.Contains("FROM A "), Times: 2}, []context.Context{bg, bg, bg, bg, bg, bg}, []bool{true, false, true, false, false, false}},
				{"marked contexts on b", faultdb.Rule{Match: faultdb.All(faultdb.Context(isMarked), faultdb.Table("b"))}, []context.Context{marked, marked, bg, bg}, []bool{false, true, false, false}},
			} {
				t.Run(c.name, func(t *testing.T) {
					c.rule.Fault = faultdb.Fail(faultdb.ErrInjected)
					r := inj.Inject(c.rule)
					defer r.Remove()
					var wantFaulted []string
					for i, ctx := range c.ctxs {
						table := []string{"a", "b"}[i%2]
						err := query(ctx, db, d, table)
						if failed := errors.Is(err, faultdb.ErrInjected); failed != c.fail[i] || (!failed && err != nil) {
							t.Fatalf("statement %d: err %v, want failed=%v", i+1, err, c.fail[i])
						}
						if c.fail[i] {
							wantFaulted = append(wantFaulted, table)
						}
					}
					var got []string
					for _, q := range r.Faulted() {
						got = append(got, strings.Fields(q)[3])
					}
					if fmt.Sprint(got) != fmt.Sprint(wantFaulted) {
						t.Errorf("faulted statements on %v, want %v", got, wantFaulted)
					}
				})
			}
			if err := query(bg, db, d, "a"); err != nil {
				t.Fatalf("after every rule was removed: %v", err)
			}
		})
	}
}

// TestBlocks: BlockUntilDone returns at the statement's deadline; a Gate
// holds statements whatever their context, until released.
func TestBlocks(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			db, inj := open(t, d)
			r := inj.Inject(faultdb.Rule{Match: faultdb.Table("a"), Fault: faultdb.BlockUntilDone()})
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if err := query(ctx, db, d, "a"); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("blocked statement: err %v", err)
			}
			if took := time.Since(start); took < 50*time.Millisecond || took > 2*time.Second {
				t.Errorf("blocked statement returned after %v, want its 50ms deadline", took)
			}
			r.Remove()

			g := faultdb.NewGate()
			inj.Inject(faultdb.Rule{Match: faultdb.Table("b"), Fault: g.Fault()})
			ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			done := make(chan error, 2)
			go func() { done <- query(ctx, db, d, "b") }()
			go func() { done <- query(context.Background(), db, d, "b") }()
			wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
			defer stop()
			if err := g.WaitBlocked(wait, 2); err != nil {
				t.Fatal(err)
			}
			<-ctx.Done()
			time.Sleep(20 * time.Millisecond)
			select {
			case err := <-done:
				t.Fatalf("a statement passed the closed gate: %v", err)
			default:
			}
			if err := query(context.Background(), db, d, "a"); err != nil {
				t.Fatalf("statement on another table: %v", err)
			}
			g.Release()
			var ok int
			for range 2 {
				if err := <-done; err == nil {
					ok++
				}
			}
			if ok == 0 || g.Blocked() != 0 {
				t.Errorf("after the release %d statements succeeded (want the one without deadline at least), %d still blocked", ok, g.Blocked())
			}
		})
	}
}

// TestPanic: the statement's caller panics, and the database goes on
// serving (the panicking connection is closed; see TestMain).
func TestPanic(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			db, inj := open(t, d)
			inj.Inject(faultdb.Rule{Match: faultdb.Table("a"), Times: 1, Fault: faultdb.Panic("driver bug")})
			func() {
				defer func() {
					if r := recover(); r != "driver bug" {
						t.Errorf("recovered %v, want the injected panic", r)
					}
				}()
				query(context.Background(), db, d, "a")
			}()
			for range 3 {
				if err := query(context.Background(), db, d, "a"); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
