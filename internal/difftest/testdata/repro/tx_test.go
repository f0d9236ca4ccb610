package repro

import (
	"context"
	"os"
	"sync"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/internal/testdb"
)

type Author struct {
	ID    uint
	Books []Book
	Posts []Post
}

type Book struct {
	ID       uint
	AuthorID uint
}

type Post struct {
	ID       uint
	AuthorID uint
}

func TestConcurrentTx(t *testing.T) {
	if os.Getenv(testdb.PostgresEnv) == "" {
		t.Skip()
	}
	d, _ := testdb.Postgres(t)
	db, _ := gorm.Open(postgres.Open(d.DSN), &gorm.Config{Logger: logger.Discard})
	db.AutoMigrate(&Author{}, &Book{}, &Post{})
	for i := 1; i <= 50; i++ {
		db.Create(&Author{ID: uint(i)})
		db.Create(&Book{ID: uint(i), AuthorID: uint(i)})
		db.Create(&Post{ID: uint(i), AuthorID: uint(i)})
	}
	db.Use(gormloader.New())
	for round := range 20 {
		func() {
			ctx, sc := dataloader.NewScope(context.Background())
			defer sc.Close()
			tx := db.WithContext(ctx).Begin()
			defer tx.Rollback()
			var authors []Author
			tx.Find(&authors)
			var wg sync.WaitGroup
			for i := range authors {
				wg.Go(func() {
					if _, err := gormloader.Load[Book](ctx, tx, &authors[i], "Books"); err != nil {
						t.Errorf("round %d Books: %v", round, err)
					}
				})
				wg.Go(func() {
					if _, err := gormloader.Load[Post](ctx, tx, &authors[i], "Posts"); err != nil {
						t.Errorf("round %d Posts: %v", round, err)
					}
				})
			}
			wg.Wait()
		}()
	}
}
