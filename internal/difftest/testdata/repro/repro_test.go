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

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gormloader"
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
