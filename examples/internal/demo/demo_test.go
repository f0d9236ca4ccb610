package demo

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/ormloader/ormloader/dataloader"
)

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct{ dsn, driver, dialect string }{
		{"file:music.db?_fk=1", "sqlite3", SQLite},
		{"/tmp/music.sqlite", "sqlite3", SQLite},
		{"postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "pgx", Postgres},
		{"host=127.0.0.1 user=postgres dbname=test", "pgx", Postgres},
		{"root@tcp(127.0.0.1:3306)/test?parseTime=true", "mysql", MySQL},
		{"mysql://root@tcp(127.0.0.1:3306)/test", "mysql", MySQL},
	} {
		driverName, dialect, _, cleanup, err := parseDSN(tc.dsn)
		if err != nil || driverName != tc.driver || dialect != tc.dialect {
			t.Errorf("parseDSN(%q) = %s, %s, %v; want %s, %s", tc.dsn, driverName, dialect, err, tc.driver, tc.dialect)
			continue
		}
		cleanup()
	}
	if _, _, _, _, err := parseDSN("music"); err == nil {
		t.Error("parseDSN accepted a DSN of no known form")
	}
}

func TestCountsStatementsPerContext(t *testing.T) {
	db, dialect, closeDB, err := OpenDB("")
	if err != nil {
		t.Fatal(err)
	}
	defer closeDB()
	if dialect != SQLite {
		t.Fatalf("dialect %s", dialect)
	}
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY)"); err != nil { // not counted: no Stats
		t.Fatal(err)
	}
	ctx, st := WithStats(context.Background())
	if _, err := db.ExecContext(ctx, "INSERT INTO t (id) VALUES (?), (?)", 1, 2); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM t WHERE id > ?", 0).Scan(&n); err != nil || n != 2 {
		t.Fatal(n, err)
	}
	stmt, err := db.PrepareContext(ctx, "SELECT id FROM t WHERE id = ?")
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	for id := range 2 {
		if err := stmt.QueryRowContext(ctx, id+1).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	if s := st.Snapshot(true); s.Statements != 4 || s.SQL[0] != "INSERT INTO t (id) VALUES (?), (?)" {
		t.Fatalf("counted %d statements (%q), want 4", s.Statements, s.SQL)
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := Generate(DefaultSize), Generate(DefaultSize)
	if len(a.Bands) != 100 || a.Bands[42].Name != b.Bands[42].Name || a.Bands[99].Albums[0].Tracks[3] != b.Bands[99].Albums[0].Tracks[3] {
		t.Fatal("two data sets of the same size differ")
	}
	if len(a.Bands[0].Albums) != 10 || len(a.Bands[1].Albums) != 9 || a.Bands[6].Label != -1 {
		t.Fatal("the shape of the data set changed; the examples' docs describe it")
	}
}

func TestLogRequests(t *testing.T) {
	db, _, closeDB, err := OpenDB("")
	if err != nil {
		t.Fatal(err)
	}
	defer closeDB()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		for range 2 {
			if _, err := db.ExecContext(ctx, "SELECT 1"); err != nil {
				t.Error(err)
			}
		}
		BatchCounter{}.TraceBatchStart(ctx, dataloader.BatchStartData{}) // as a scope's tracer would
	})
	var logs bytes.Buffer
	LogRequests(h, slog.New(slog.NewTextHandler(&logs, nil))).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/query", nil))
	if !regexp.MustCompile(`msg=graphql statements=2 batches=1 time=\S+\n$`).Match(logs.Bytes()) {
		t.Fatalf("log line %q", logs.String())
	}
}
