package repro

import (
	"context"
	"os"
	"testing"

	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/internal/testdb"
)

type Item struct {
	ID       uint
	ParentID *uint
	Parent   *Item
	Children []Item `gorm:"foreignKey:ParentID"`
}

func TestSequentialTxSelf(t *testing.T) {
	for _, name := range []string{"postgres", "mysql"} {
		t.Run(name, func(t *testing.T) {
			var dial gorm.Dialector
			switch {
			case name == "postgres" && os.Getenv(testdb.PostgresEnv) != "":
				d, _ := testdb.Postgres(t)
				dial = postgres.Open(d.DSN)
			case name == "mysql" && os.Getenv(testdb.MySQLEnv) != "":
				d, _ := testdb.MySQL(t)
				dial = mysql.Open(d.DSN)
			default:
				t.Skip()
			}
			db, _ := gorm.Open(dial, &gorm.Config{Logger: logger.Discard})
			db.AutoMigrate(&Item{})
			// a chain 1 <- 2 <- 3 <- ... <- 11
			for i := uint(1); i <= 11; i++ {
				it := Item{ID: i}
				if i > 1 {
					p := i - 1
					it.ParentID = &p
				}
				db.Create(&it)
			}
			db.Use(gormloader.New())
			fails := 0
			for range 50 {
				func() {
					ctx, sc := dataloader.NewScope(context.Background())
					defer sc.Close()
					tx := db.WithContext(ctx).Begin()
					defer tx.Rollback()
					var items []Item
					tx.Where("id <= ?", 10).Order("id").Find(&items)
					for i := range items { // sequential
						if _, err := gormloader.Load[Item](ctx, tx, &items[i], "Children"); err != nil {
							fails++
							t.Logf("Children of %d: %v", items[i].ID, err)
						}
						if _, err := gormloader.LoadOne[Item](ctx, tx, &items[i], "Parent"); err != nil {
							fails++
							t.Logf("Parent of %d: %v", items[i].ID, err)
						}
					}
				}()
			}
			if fails > 0 {
				t.Errorf("%d failed loads in 50 sequential requests", fails)
			}
		})
	}
}
