package gormloader_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/gormloader/internal/music"
)

// The models of the examples.
type Band struct {
	ID     uint
	Name   string
	Albums []Album
}

type Album struct {
	ID     uint
	BandID uint
	Title  string
	Year   int
}

// exampleDB opens an in-memory SQLite database with three bands.
func exampleDB(name string) *gorm.DB {
	db, err := gorm.Open(sqlite.Open("file:"+name+"?mode=memory&cache=shared"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		log.Fatal(err)
	}
	if err := db.AutoMigrate(&Band{}, &Album{}); err != nil {
		log.Fatal(err)
	}
	db.Create(&[]Band{
		{Name: "Can", Albums: []Album{{Title: "Tago Mago", Year: 1971}, {Title: "Ege Bamyasi", Year: 1972}, {Title: "Future Days", Year: 1973}}},
		{Name: "Neu!", Albums: []Album{{Title: "Neu!", Year: 1972}}},
		{Name: "Faust"},
	})
	return db
}

func closeDB(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}

// The quick start: install the plugin once, open a scope per request, and
// load relations in a plain loop. The bands' albums take one statement.
func Example() {
	db := exampleDB("quickstart")
	defer closeDB(db)
	if err := db.Use(gormloader.New()); err != nil {
		log.Fatal(err)
	}

	// Per request: a scope (the gqlgen integration opens one per operation).
	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()

	var bands []Band
	if err := db.WithContext(ctx).Find(&bands).Error; err != nil { // recorded as a load set
		log.Fatal(err)
	}
	for _, b := range bands {
		albums, err := gormloader.Load[Album](ctx, db, &b, "Albums")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %d albums\n", b.Name, len(albums))
	}
	fmt.Println("batches:", scope.Stats().Batches)
	// Output:
	// Can: 3 albums
	// Neu!: 1 albums
	// Faust: 0 albums
	// batches: 1
}

// Per-parent limit and order: the latest two albums of every band, in one
// statement (ROW_NUMBER() OVER (PARTITION BY band_id ORDER BY year DESC)).
func ExampleLimit() {
	db := exampleDB("limit")
	defer closeDB(db)
	if err := db.Use(gormloader.New()); err != nil {
		log.Fatal(err)
	}
	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()

	var bands []Band
	db.WithContext(ctx).Find(&bands)
	for _, b := range bands {
		latest, err := gormloader.Load[Album](ctx, db, &b, "Albums", gormloader.Limit(2), gormloader.Order("year DESC"))
		if err != nil {
			log.Fatal(err)
		}
		n, err := gormloader.Count(ctx, db, &b, "Albums")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s (%d):", b.Name, n)
		for _, a := range latest {
			fmt.Printf(" %s (%d)", a.Title, a.Year)
		}
		fmt.Println()
	}
	fmt.Println("batches:", scope.Stats().Batches)
	// Output:
	// Can (3): Future Days (1973) Ege Bamyasi (1972)
	// Neu! (1): Neu! (1972)
	// Faust (0):
	// batches: 2
}

// A page per parent: the rows after a cursor, whether more follow, and the
// count of all the parent's rows, in one statement for every band (a Relay
// connection's edges, hasNextPage and totalCount).
func ExampleLoadPage() {
	db := exampleDB("page")
	defer closeDB(db)
	if err := db.Use(gormloader.New()); err != nil {
		log.Fatal(err)
	}
	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()

	var bands []Band
	db.WithContext(ctx).Find(&bands)
	for _, b := range bands {
		// The page after the album of 1971, one album long, by year.
		page, err := gormloader.LoadPage[Album](ctx, db, &b, "Albums", 1, gormloader.Order("year"), gormloader.After("year > ?", 1971))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %d albums, more after this page: %v:", b.Name, page.TotalCount, page.HasNextPage)
		for _, a := range page.Rows {
			fmt.Printf(" %s (%d)", a.Title, a.Year)
		}
		fmt.Println()
	}
	fmt.Println("batches:", scope.Stats().Batches)
	// Output:
	// Can: 3 albums, more after this page: true: Ege Bamyasi (1972)
	// Neu!: 1 albums, more after this page: false: Neu! (1972)
	// Faust: 0 albums, more after this page: false:
	// batches: 1
}

// Loads given a transaction run in it and see its writes.
func ExampleWithDB_transaction() {
	db := exampleDB("tx")
	defer closeDB(db)
	if err := db.Use(gormloader.New()); err != nil {
		log.Fatal(err)
	}
	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()

	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var faust Band
		if err := tx.Where("name = ?", "Faust").First(&faust).Error; err != nil {
			return err
		}
		if err := tx.Create(&Album{BandID: faust.ID, Title: "Faust IV", Year: 1973}).Error; err != nil {
			return err
		}
		albums, err := gormloader.Load[Album](gormloader.WithDB(ctx, tx), nil, &faust, "Albums")
		if err != nil {
			return err
		}
		fmt.Println(faust.Name, "in the transaction:", albums[0].Title)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// Faust in the transaction: Faust IV
}

// ByID batches primary-key lookups; a missing row matches ErrNotFound.
func ExampleByID() {
	db := exampleDB("byid")
	defer closeDB(db)
	if err := db.Use(gormloader.New()); err != nil {
		log.Fatal(err)
	}
	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()

	b, err := gormloader.ByID[Band](ctx, db, 2)
	fmt.Println(b.Name, err)
	_, err = gormloader.ByID[Band](ctx, db, 42)
	fmt.Println(errors.Is(err, gormloader.ErrNotFound), errors.Is(err, gorm.ErrRecordNotFound))
	// Output:
	// Neu! <nil>
	// true true
}

// With generated methods (gormloader-gen) a resolver needs only ctx: the
// *gorm.DB comes from the context.
func ExampleWithDB() {
	db, err := gorm.Open(sqlite.Open("file:generated?mode=memory&cache=shared"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		log.Fatal(err)
	}
	defer closeDB(db)
	if err := db.AutoMigrate(music.Models()...); err != nil {
		log.Fatal(err)
	}
	db.Create(&[]music.Band{{Name: "Can", Albums: []music.Album{{Title: "Tago Mago"}}}, {Name: "Faust"}})
	if err := db.Use(gormloader.New()); err != nil {
		log.Fatal(err)
	}

	// Where the request scope is opened (an HTTP middleware, the gqlgen handler):
	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()
	ctx = gormloader.WithDB(ctx, db)

	var bands []music.Band
	db.WithContext(ctx).Find(&bands)
	for _, b := range bands {
		albums, err := b.LoadAlbums(ctx) // generated into package music
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(b.Name, len(albums))
	}
	// Output:
	// Can 1
	// Faust 0
}
