// Package repro holds minimal reproductions of the failures the
// differential test (internal/difftest) found and that are not fixed yet,
// kept out of go test ./... (this is testdata). Each test asserts the
// behaviour gormloader promises, so it fails until the bug is fixed:
//
//	ORMLOADER_TEST_MYSQL_DSN=... go test ./internal/difftest/testdata/repro
package repro

import (
	"context"
	"testing"

	"gorm.io/driver/mysql"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/internal/testdb"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func scope(t *testing.T) context.Context {
	ctx, sc := dataloader.NewScope(context.Background())
	t.Cleanup(sc.Close)
	return ctx
}

type Owner struct {
	Code string `gorm:"primaryKey;size:8"`
	Pets []Pet  `gorm:"foreignKey:OwnerCode"`
}

type Pet struct {
	ID        uint
	OwnerCode string `gorm:"size:8"`
	Rank      int
	Owner     *Owner `gorm:"foreignKey:OwnerCode"`
}

// openMySQL returns a fresh MySQL/MariaDB database (default collation:
// case-insensitive, PAD SPACE) with Owner and Pet, or skips.
func openMySQL(t *testing.T) *gorm.DB {
	t.Helper()
	d, ok := testdb.MySQL(t)
	if !ok {
		t.Skip()
	}
	db, err := gorm.Open(mysql.Open(d.DSN), &gorm.Config{Logger: logger.Discard})
	must(t, err)
	sqlDB, _ := db.DB()
	t.Cleanup(func() { sqlDB.Close() })
	must(t, db.AutoMigrate(&Owner{}, &Pet{}))
	return db
}

// TestCollationKeepsOrder: the pet whose key matches "ab" only under the
// collation comes after the exact match, whatever the Order.
func TestCollationKeepsOrder(t *testing.T) {
	db := openMySQL(t)
	must(t, db.Create(&Owner{Code: "ab"}).Error)
	must(t, db.Create(&[]Pet{{ID: 1, OwnerCode: "ab", Rank: 2}, {ID: 2, OwnerCode: "AB", Rank: 1}}).Error)
	must(t, db.Use(gormloader.New()))
	ctx := scope(t)
	var o Owner
	must(t, db.WithContext(ctx).First(&o).Error)
	got, err := gormloader.Load[Pet](ctx, db, &o, "Pets", gormloader.Order("`rank`"))
	must(t, err)
	var want []Pet
	must(t, db.Model(&o).Order("`rank`").Association("Pets").Find(&want))
	if len(got) != 2 || len(want) != 2 || got[0].ID != want[0].ID {
		t.Errorf("Order(rank): gormloader %+v, the association %+v", got, want)
	}
	first, err := gormloader.LoadOne[Pet](ctx, db, &o, "Pets", gormloader.Order("`rank`"))
	must(t, err)
	if first == nil || first.ID != 2 {
		t.Errorf("LoadOne with Order(rank) = %+v, want pet 2 (rank 1)", first)
	}
}

// TestCollationBothKeysInOneBatch: pets 1 and 2 belong to owner "ab" under
// the collation; in one batch, the exact key wins and "AB" gets nothing
// (LoadOne nil, Count 0).
func TestCollationBothKeysInOneBatch(t *testing.T) {
	db := openMySQL(t)
	must(t, db.Create(&Owner{Code: "ab"}).Error)
	must(t, db.Create(&[]Pet{{ID: 1, OwnerCode: "ab"}, {ID: 2, OwnerCode: "AB"}}).Error)
	must(t, db.Use(gormloader.New()))
	ctx := scope(t)
	var pets []Pet
	must(t, db.WithContext(ctx).Order("id").Find(&pets).Error)
	for i := range pets {
		got, err := gormloader.LoadOne[Owner](ctx, db, &pets[i], "Owner")
		must(t, err)
		var want []Owner
		must(t, db.Model(&pets[i]).Association("Owner").Find(&want))
		if got == nil || len(want) != 1 {
			t.Errorf("pet %d (owner %q): LoadOne = %v, the association %v", pets[i].ID, pets[i].OwnerCode, got, want)
		}
		n, err := gormloader.Count(ctx, db, &pets[i], "Owner")
		must(t, err)
		if n != 1 {
			t.Errorf("pet %d (owner %q): Count = %d, want 1", pets[i].ID, pets[i].OwnerCode, n)
		}
	}
}

type Node struct {
	ID       uint
	ParentID *uint
	Children []Node `gorm:"foreignKey:ParentID"`
}

// TestSelfRelationThenVariant: two loads over the same two rows, the
// second with a filter. The first's results (nodes 3 and 2) are a set as
// large as the root query's (2 and 1) and later, so node 2 moves to it;
// the filtered load of node 2 claims that set, the one of node 1 the root
// set: two statements for one relation and variant over one level.
func TestSelfRelationThenVariant(t *testing.T) {
	db, err := gorm.Open(sqlite.Open("file:"+t.TempDir()+"/x.db"), &gorm.Config{Logger: logger.Discard})
	must(t, err)
	sqlDB, _ := db.DB()
	t.Cleanup(func() { sqlDB.Close() })
	must(t, db.AutoMigrate(&Node{}))
	one, two := uint(1), uint(2)
	must(t, db.Create(&[]Node{{ID: 1}, {ID: 2, ParentID: &one}, {ID: 3, ParentID: &two}}).Error)
	must(t, db.Use(gormloader.New()))
	var stmts []string
	must(t, db.Callback().Query().After("gorm:query").Register("count", func(tx *gorm.DB) {
		stmts = append(stmts, tx.Statement.SQL.String())
	}))
	ctx := scope(t)
	var nodes []Node
	must(t, db.WithContext(ctx).Where("id <= 2").Order("id DESC").Find(&nodes).Error) // 2, 1
	for i := range nodes {
		_, err := gormloader.Load[Node](ctx, db, &nodes[i], "Children")
		must(t, err)
	}
	stmts = nil
	for i := range nodes {
		_, err := gormloader.Load[Node](ctx, db, &nodes[i], "Children", gormloader.Where("id > ?", 0))
		must(t, err)
	}
	if len(stmts) != 1 {
		t.Errorf("%d statements for Children with a Where over one level, want 1:\n%q", len(stmts), stmts)
	}
}
