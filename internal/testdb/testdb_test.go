package testdb_test

import (
	"database/sql"
	"testing"

	"github.com/ormloader/ormloader/internal/testdb"
)

// TestAllGivesIsolatedDatabases creates a table with the same name in two
// fresh databases of each dialect: they must not see each other's rows.
func TestAllGivesIsolatedDatabases(t *testing.T) {
	first, second := testdb.All(t), testdb.All(t)
	for i := range first {
		t.Run(first[i].Dialect, func(t *testing.T) {
			a := openDB(t, first[i])
			b := openDB(t, second[i])
			for _, db := range []*sql.DB{a, b} {
				if _, err := db.Exec("CREATE TABLE items (id INTEGER PRIMARY KEY)"); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := a.Exec("INSERT INTO items (id) VALUES (1)"); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := b.QueryRow("SELECT COUNT(*) FROM items").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Fatalf("second database sees %d rows of the first", n)
			}
		})
	}
}

func openDB(t *testing.T, d testdb.DB) *sql.DB {
	t.Helper()
	db, err := sql.Open(d.DriverName, d.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
