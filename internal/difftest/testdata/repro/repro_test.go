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

type Node struct {
	ID       uint
	ParentID *uint
	Children []Node `gorm:"foreignKey:ParentID"`
}

func TestSelfPrefetch(t *testing.T) {
	db, _ := gorm.Open(sqlite.Open("file:"+t.TempDir()+"/x.db"), &gorm.Config{Logger: logger.Discard})
	db.AutoMigrate(&Node{})
	one, two := uint(1), uint(2)
	db.Create(&[]Node{{ID: 1}, {ID: 2, ParentID: &one}, {ID: 3, ParentID: &two}})
	db.Use(gormloader.New())
	var n int
	db.Callback().Query().After("gorm:query").Register("count", func(tx *gorm.DB) { n++; t.Log(tx.Statement.SQL.String(), tx.Statement.Vars) })
	ctx, sc := dataloader.NewScope(context.Background())
	defer sc.Close()
	var nodes []Node
	db.WithContext(ctx).Where("id IN ?", []uint{1, 2}).Find(&nodes)
	n = 0
	for i := range nodes {
		c, err := gormloader.Load[Node](ctx, db, &nodes[i], "Children")
		t.Log(nodes[i].ID, len(c), err)
	}
	t.Logf("%d statements for one level", n)
}
