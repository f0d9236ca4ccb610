// Package gormcount reports the statements of a *gorm.DB to an
// [ormloadertest.Counter], through GORM callbacks: ormloadertest's
// Statements, Operation and Guard then see them.
//
//	var counter ormloadertest.Counter
//	if err := gormcount.Register(db, &counter); err != nil { // once, after gorm.Open
//		t.Fatal(err)
//	}
//
// A callback runs after each of GORM's own statement callbacks (gorm:create,
// gorm:query, gorm:update, gorm:delete, gorm:row and gorm:raw), so every
// statement GORM sends is reported: Find, First, Count, Preload's queries,
// Row, Rows, Scan, Raw, Exec, creates, updates and deletes, and gormloader's
// batches, which run through the Query callbacks. It reports the statement's
// SQL with the context the query ran under (db.WithContext); a dry run
// sends nothing and reports nothing. Transactions' BEGIN and COMMIT are
// not statements of a callback chain and are not reported.
package gormcount

import (
	"fmt"

	"gorm.io/gorm"

	"github.com/ormloader/ormloader/ormloadertest"
)

// callbackName is the name of the callbacks Register adds.
const callbackName = "ormloadertest:count"

// Register adds the callbacks that report db's statements to c. They are
// shared by every session and transaction of db; register once per
// *gorm.DB, before it is used concurrently (GORM's callbacks are not safe
// to change while queries run). A db that reports to a counter already is
// an error.
func Register(db *gorm.DB, c *ormloadertest.Counter) error {
	count := func(db *gorm.DB) {
		if db.DryRun || db.Statement.SQL.Len() == 0 {
			return // nothing was sent: a dry run, or an error before the SQL was built
		}
		c.Record(db.Statement.Context, db.Statement.SQL.String())
	}
	cb := db.Callback()
	// GORM's processor and callback types are unexported: one closure per
	// chain, registering after the callback that sends the statement.
	chains := []struct {
		get      func(name string) func(*gorm.DB)
		register func(fn func(*gorm.DB)) error
	}{
		{cb.Create().Get, func(fn func(*gorm.DB)) error { return cb.Create().After("gorm:create").Register(callbackName, fn) }},
		{cb.Query().Get, func(fn func(*gorm.DB)) error { return cb.Query().After("gorm:query").Register(callbackName, fn) }},
		{cb.Update().Get, func(fn func(*gorm.DB)) error { return cb.Update().After("gorm:update").Register(callbackName, fn) }},
		{cb.Delete().Get, func(fn func(*gorm.DB)) error { return cb.Delete().After("gorm:delete").Register(callbackName, fn) }},
		{cb.Row().Get, func(fn func(*gorm.DB)) error { return cb.Row().After("gorm:row").Register(callbackName, fn) }},
		{cb.Raw().Get, func(fn func(*gorm.DB)) error { return cb.Raw().After("gorm:raw").Register(callbackName, fn) }},
	}
	for _, ch := range chains {
		if ch.get(callbackName) != nil {
			return fmt.Errorf("gormcount: the *gorm.DB reports to a counter already (%s is registered)", callbackName)
		}
	}
	for _, ch := range chains {
		if err := ch.register(count); err != nil {
			return fmt.Errorf("gormcount: %w", err)
		}
	}
	return nil
}
