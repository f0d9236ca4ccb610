package entloader_test

import (
	"context"
	"fmt"
	"log"

	"entgo.io/contrib/entgql"
	entdialect "entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
	_ "github.com/mattn/go-sqlite3"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/ent"
	"github.com/ormloader/ormloader/ent/album"
	"github.com/ormloader/ormloader/ent/band"
	"github.com/ormloader/ormloader/ent/predicate"
	"github.com/ormloader/ormloader/entloader"
)

// The extension goes into entc.go (run by go generate), here with entgql.
func ExampleNewExtension() {
	gqlExt, err := entgql.NewExtension()
	if err != nil {
		log.Fatal(err)
	}
	loaders, err := entloader.NewExtension()
	if err != nil {
		log.Fatal(err)
	}
	if err := entc.Generate("./schema", &gen.Config{}, entc.Extensions(gqlExt, loaders)); err != nil {
		log.Fatal(err)
	}
}

// exampleClient opens an in-memory SQLite database with two bands.
func exampleClient(name string) (*ent.Client, *counter) {
	drv, err := sql.Open(entdialect.SQLite, "file:"+name+"?mode=memory&cache=shared&_fk=1")
	if err != nil {
		log.Fatal(err)
	}
	c := &counter{Driver: drv}
	client := ent.NewClient(ent.Driver(c))
	ctx := context.Background()
	if err := client.Schema.Create(ctx); err != nil {
		log.Fatal(err)
	}
	for _, b := range []struct {
		name   string
		albums map[string]int
	}{
		{"Can", map[string]int{"Monster Movie": 1969, "Tago Mago": 1971, "Ege Bamyasi": 1972}},
		{"Neu!", map[string]int{"Neu!": 1972, "Neu! 2": 1973}},
	} {
		bd := client.Band.Create().SetName(b.name).SaveX(ctx)
		for title, year := range b.albums {
			client.Album.Create().SetTitle(title).SetYear(year).SetBand(bd).SaveX(ctx)
		}
	}
	c.reset()
	return client, c
}

// A loop over a query result loads an edge of every row with one statement.
func Example() {
	client, stmts := exampleClient("example")
	defer client.Close()

	ctx, scope := dataloader.NewScope(context.Background()) // one per request
	defer scope.Close()

	bands, err := client.Band.Query().Order(band.ByName()).All(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, b := range bands {
		albums, err := b.Albums(ctx) // batched: all bands of the result at once
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(b.Name, len(albums))
	}
	fmt.Println("statements:", stmts.n())
	// Output:
	// Can 3
	// Neu! 2
	// statements: 2
}

// Variants filter, order and limit per parent; counts serve a connection's
// totalCount. Each is one statement for the whole load set.
func ExampleVariant() {
	client, stmts := exampleClient("variant")
	defer client.Close()

	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()

	bands, err := client.Band.Query().Order(band.ByName()).All(ctx)
	if err != nil {
		log.Fatal(err)
	}
	latest := ent.AlbumVariant{Order: []album.OrderOption{album.ByYear(sql.OrderDesc())}, Limit: 2}
	for _, b := range bands {
		albums, err := b.AlbumsWith(ctx, latest) // ROW_NUMBER() per band
		if err != nil {
			log.Fatal(err)
		}
		total, err := b.AlbumsCount(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %d of %d:", b.Name, len(albums), total)
		for _, a := range albums {
			fmt.Printf(" %s (%d)", a.Title, a.Year)
		}
		fmt.Println()
	}
	fmt.Println("statements:", stmts.n())
	// Output:
	// Can: 2 of 3: Ege Bamyasi (1972) Tago Mago (1971)
	// Neu!: 2 of 2: Neu! 2 (1973) Neu! (1972)
	// statements: 3
}

// A page per parent: the rows after a cursor, whether more follow, and the
// count of all the parent's rows, in one statement for the whole load set
// (a Relay connection's edges, hasNextPage and totalCount).
func ExamplePage() {
	client, stmts := exampleClient("page")
	defer client.Close()

	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()

	bands, err := client.Band.Query().Order(band.ByName()).All(ctx)
	if err != nil {
		log.Fatal(err)
	}
	page := ent.AlbumVariant{
		After: []predicate.Album{album.YearGT(1971)}, // the cursor: after the 1971 album
		Order: []album.OrderOption{album.ByYear()},
		Limit: 1,
	}
	for _, b := range bands {
		p, err := b.AlbumsPage(ctx, page)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %d albums, more after this page: %v:", b.Name, p.TotalCount, p.HasNextPage)
		for _, a := range p.Nodes {
			fmt.Printf(" %s (%d)", a.Title, a.Year)
		}
		fmt.Println()
	}
	fmt.Println("statements:", stmts.n())
	// Output:
	// Can: 3 albums, more after this page: false: Ege Bamyasi (1972)
	// Neu!: 2 albums, more after this page: true: Neu! (1972)
	// statements: 2
}

// Client.Load is the per-type primary-key loader: lookups in one scope are
// batched and cached.
func ExampleLoader() {
	client, stmts := exampleClient("pk")
	defer client.Close()

	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()

	albums, err := client.Album.Query().Order(album.ByYear(), album.ByTitle()).All(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range albums {
		b, err := a.Band(ctx) // M2O with an edge field: the Band loader, keyed by band_id
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(a.Title, "-", b.Name)
	}
	can, err := client.Band.Load(ctx, albums[0].BandID) // cached
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(can.Name, "statements:", stmts.n())
	// Output:
	// Monster Movie - Can
	// Tago Mago - Can
	// Ege Bamyasi - Can
	// Neu! - Neu!
	// Neu! 2 - Neu!
	// Can statements: 2
}
