package sqlhook_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/ormloader/ormloader/internal/sqlhook"
	"github.com/ormloader/ormloader/internal/testdb"
)

// A connection closed after a panicking hook leaves nothing behind (MySQL's
// watcher goroutine included).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// hooked opens d with hook.
func hooked(t *testing.T, d testdb.DB, hook sqlhook.Hook) *sql.DB {
	t.Helper()
	c, err := sqlhook.Connector(d.DriverName, d.DSN)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(sqlhook.Wrap(c, hook))
	t.Cleanup(func() { db.Close() })
	return db
}

// TestHook: the hook sees every statement once before the driver runs it
// (on MySQL a statement with arguments is answered with driver.ErrSkip and
// prepared: still once), a hook error keeps the statement from the driver,
// and a panicking hook panics the caller and closes its connection, which
// the pool never uses again.
func TestHook(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			var (
				mu   sync.Mutex
				seen []string
				fail = errors.New("refused")
			)
			db := hooked(t, d, func(_ context.Context, query string) error {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, query)
				switch {
				case strings.Contains(query, "refuse"):
					return fail
				case strings.Contains(query, "panic"):
					panic("hook panic")
				}
				return nil
			})
			ph := "?"
			if d.Dialect == "postgres" {
				ph = "$1"
			}
			ctx := context.Background()
			if _, err := db.ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY)"); err != nil {
				t.Fatal(err)
			}
			insert := "INSERT INTO t (id) VALUES (" + ph + ")"
			if _, err := db.ExecContext(ctx, insert, 1); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, insert+" /* refuse */", 2); !errors.Is(err, fail) {
				t.Fatalf("refused insert: err %v", err)
			}
			func() {
				defer func() {
					if r := recover(); r != "hook panic" {
						t.Errorf("recovered %v, want the hook's panic", r)
					}
				}()
				db.QueryRowContext(ctx, "SELECT 1 /* panic */")
			}()
			var ids []int
			rows, err := db.QueryContext(ctx, "SELECT id FROM t WHERE id > "+ph+" ORDER BY id", 0)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id int
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			if err := rows.Close(); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(ids) != "[1]" {
				t.Errorf("rows %v, want [1]: the refused insert reached the driver", ids)
			}
			want := []string{"CREATE TABLE t (id INTEGER PRIMARY KEY)", insert, insert + " /* refuse */", "SELECT 1 /* panic */", "SELECT id FROM t WHERE id > " + ph + " ORDER BY id"}
			if fmt.Sprint(seen) != fmt.Sprint(want) {
				t.Errorf("hooked %q, want %q", seen, want)
			}
			if s := db.Stats(); s.InUse != 1 {
				t.Errorf("%d connections in use, want 1: the one whose statement panicked, which database/sql never releases", s.InUse)
			}
		})
	}
}
