package gormcount_test

import (
	"fmt"
	"log"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"github.com/ormloader/ormloader/ormloadertest"
	"github.com/ormloader/ormloader/ormloadertest/gormcount"
)

// Register once per *gorm.DB, right after gorm.Open (and db.Use of
// gormloader, if the application installs it); ormloadertest.Statements,
// Operation and Guard then see every statement of the db.
func ExampleRegister() {
	db, err := gorm.Open(sqlite.Open("file::memory:"), &gorm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	var counter ormloadertest.Counter
	if err := gormcount.Register(db, &counter); err != nil {
		log.Fatal(err)
	}
	fmt.Println(gormcount.Register(db, &counter))
	// Output:
	// gormcount: the *gorm.DB reports to a counter already (ormloadertest:count is registered)
}
