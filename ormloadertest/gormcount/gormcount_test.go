package gormcount_test

import (
	"context"
	"strings"
	"testing"

	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ormloader/ormloader/internal/testdb"
	"github.com/ormloader/ormloader/ormloadertest"
	"github.com/ormloader/ormloader/ormloadertest/gormcount"
)

type Band struct {
	ID     uint
	Name   string
	Albums []Album
}

type Album struct {
	ID     uint
	BandID uint
	Title  string
}

func open(t *testing.T, d testdb.DB) *gorm.DB {
	t.Helper()
	var dialector gorm.Dialector
	switch d.Dialect {
	case "sqlite":
		dialector = sqlite.Open(d.DSN)
	case "postgres":
		dialector = postgres.Open(d.DSN)
	case "mysql":
		dialector = mysql.Open(d.DSN)
	}
	db, err := gorm.Open(dialector, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	if err := db.AutoMigrate(&Band{}, &Album{}); err != nil {
		t.Fatal(err)
	}
	return db
}

// Every kind of GORM call reports each statement it sends once, and nothing
// else (no dry run, no BEGIN or COMMIT).
func TestRegisterCountsEveryStatement(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			db := open(t, d)
			var c ormloadertest.Counter
			if err := gormcount.Register(db, &c); err != nil {
				t.Fatal(err)
			}
			if err := gormcount.Register(db.Session(&gorm.Session{}), &c); err == nil || !strings.Contains(err.Error(), "reports to a counter already") {
				t.Errorf("a second Register: %v", err)
			}
			for _, tc := range []struct {
				name string
				want int
				run  func(db *gorm.DB) error
			}{
				{"Create", 1, func(db *gorm.DB) error { return db.Create(&Band{Name: "a"}).Error }},
				{"Create with associations", 2, func(db *gorm.DB) error {
					return db.Create(&Band{Name: "b", Albums: []Album{{Title: "x"}, {Title: "y"}}}).Error
				}},
				{"Find", 1, func(db *gorm.DB) error { return db.Find(&[]Band{}).Error }},
				{"First", 1, func(db *gorm.DB) error { return db.First(&Band{}).Error }},
				{"Count", 1, func(db *gorm.DB) error { var n int64; return db.Model(&Band{}).Count(&n).Error }},
				{"Preload", 2, func(db *gorm.DB) error { return db.Preload("Albums").Find(&[]Band{}).Error }},
				{"Raw Scan", 1, func(db *gorm.DB) error { var n int; return db.Raw("SELECT count(*) FROM bands").Scan(&n).Error }},
				{"Row", 1, func(db *gorm.DB) error {
					var n int
					return db.Model(&Band{}).Select("count(*)").Row().Scan(&n)
				}},
				{"Rows", 1, func(db *gorm.DB) error {
					rows, err := db.Model(&Band{}).Rows()
					if err != nil {
						return err
					}
					return rows.Close()
				}},
				{"Exec", 1, func(db *gorm.DB) error { return db.Exec("UPDATE bands SET name = name").Error }},
				{"Update", 1, func(db *gorm.DB) error { return db.Model(&Band{}).Where("name = ?", "a").Update("name", "c").Error }},
				{"Delete", 1, func(db *gorm.DB) error { return db.Where("title = ?", "y").Delete(&Album{}).Error }},
				{"Transaction", 2, func(db *gorm.DB) error {
					return db.Transaction(func(tx *gorm.DB) error {
						if err := tx.Create(&Band{Name: "d"}).Error; err != nil {
							return err
						}
						return tx.Find(&[]Band{}).Error
					})
				}},
				{"Failed statement", 1, func(db *gorm.DB) error {
					if db.Exec("SELECT * FROM no_such_table").Error == nil {
						t.Error("a statement on a missing table succeeded")
					}
					return nil
				}},
				{"DryRun", 0, func(db *gorm.DB) error { return db.Session(&gorm.Session{DryRun: true}).Find(&[]Band{}).Error }},
			} {
				rep := ormloadertest.Statements(t, &c, tc.want, func(ctx context.Context) {
					if err := tc.run(db.WithContext(ctx)); err != nil {
						t.Errorf("%s: %v", tc.name, err)
					}
				})
				if rep.Statements != tc.want {
					t.Errorf("%s: %d statements, want %d:\n%s", tc.name, rep.Statements, tc.want, rep)
				}
			}

			// Without the block's context (no WithContext), still counted.
			rep := ormloadertest.Statements(t, &c, 1, func(context.Context) {
				if err := db.Find(&[]Band{}).Error; err != nil {
					t.Error(err)
				}
			})
			if rep.Statements != 1 {
				t.Errorf("a query without the block's context: %d statements, want 1", rep.Statements)
			}
		})
	}
}

// A failing Register registers nothing: a statement is still reported once.
func TestRegisterOnARegisteredDBAddsNothing(t *testing.T) {
	db := open(t, testdb.SQLite(t))
	var a, b ormloadertest.Counter
	if err := gormcount.Register(db, &a); err != nil {
		t.Fatal(err)
	}
	if err := gormcount.Register(db, &b); err == nil {
		t.Fatal("registered twice")
	}
	rep := ormloadertest.Statements(t, &b, 1, func(ctx context.Context) {
		if err := db.WithContext(ctx).Find(&[]Band{}).Error; err != nil {
			t.Error(err)
		}
	})
	if rep.Statements != 1 { // reported by a's callbacks, to b's block through its context
		t.Fatalf("%d statements", rep.Statements)
	}
}
