package entcount_test

import (
	"database/sql"
	"log"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	_ "github.com/mattn/go-sqlite3"

	"github.com/ormloader/ormloader/ent"
	"github.com/ormloader/ormloader/ormloadertest"
	"github.com/ormloader/ormloader/ormloadertest/entcount"
)

// Open the client of the code under test on the counting driver;
// ormloadertest.Statements, Operation and Guard then see every statement of
// the client, entloader's batches included.
func ExampleDriver() {
	db, err := sql.Open("sqlite3", "file:music?mode=memory&cache=shared&_fk=1")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	var counter ormloadertest.Counter
	client := ent.NewClient(ent.Driver(entcount.Driver(entsql.OpenDB(dialect.SQLite, db), &counter)))
	defer client.Close()
}
