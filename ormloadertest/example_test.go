package ormloadertest_test

import (
	"context"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/ent/viewer"
	"github.com/ormloader/ormloader/examples/gorm-gqlgen/models"
	gormserver "github.com/ormloader/ormloader/examples/gorm-gqlgen/server"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/ormloadertest"
	"github.com/ormloader/ormloader/ormloadertest/gormcount"
)

// A test that sends a query to the server, with its middleware, and fails
// on an N+1: by default every relation must load in one batch per GraphQL
// path; Statements bounds the total too. (Not run here: it needs the
// test's *testing.T.)
func ExampleOperation() {
	var t *testing.T // func TestBandsPage(t *testing.T) {

	db, closeDB, err := gormserver.Open("") // the server's *gorm.DB, on a temporary SQLite file
	if err != nil {
		t.Fatal(err)
	}
	defer closeDB()
	var counter ormloadertest.Counter
	if err := gormcount.Register(db, &counter); err != nil {
		t.Fatal(err)
	}
	// ... seed the database ...

	ormloadertest.Operation(t, &counter, gormserver.Handler(db, gormserver.Options{}), ormloadertest.Request{
		Query: `{ bands(first: 20) { name albums(first: 3) { edges { node { title tracks { name } } } } } }`,
	}, ormloadertest.Budget{Statements: 3})
}

// A test of code outside GraphQL: the block may run two statements, one
// for the bands and one for all their albums. (Not run here: it needs the
// test's *testing.T.)
func ExampleStatements() {
	var t *testing.T                        // func TestAlbumsOfBands(t *testing.T) {
	db, closeDB, err := gormserver.Open("") // with gormloader installed
	if err != nil {
		t.Fatal(err)
	}
	defer closeDB()
	var counter ormloadertest.Counter
	if err := gormcount.Register(db, &counter); err != nil {
		t.Fatal(err)
	}

	ormloadertest.Statements(t, &counter, 2, func(ctx context.Context) {
		ctx, scope := dataloader.NewScope(gormloader.WithDB(ctx, db))
		defer scope.Close()
		var bands []models.Band
		if err := db.WithContext(ctx).Find(&bands).Error; err != nil {
			t.Fatal(err)
		}
		for i := range bands {
			if _, err := bands[i].LoadAlbums(ctx); err != nil { // one statement for all bands
				t.Fatal(err)
			}
		}
	})
}

// The development mode: the Guard logs every N+1 once, with its GraphQL
// path and call site (the attributes are trimmed here). The server is the
// GORM example's naive one, whose resolvers query once per parent.
func ExampleGuard() {
	dir, err := os.MkdirTemp("", "guard")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, closeDB, err := gormserver.Open("file:" + filepath.Join(dir, "music.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer closeDB()
	var counter ormloadertest.Counter // the Guard counts through the hook's callbacks
	if err := gormcount.Register(db, &counter); err != nil {
		log.Fatal(err)
	}
	if _, err := gormserver.Seed(context.Background(), db, gormserver.Size{Labels: 2, Bands: 5, Albums: 3, Tracks: 2}); err != nil {
		log.Fatal(err)
	}

	keep := map[string]bool{"msg": true, "relation": true, "path": true, "batches": true}
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if !keep[a.Key] {
			return slog.Attr{}
		}
		return a
	}}))
	guard := ormloadertest.NewGuard(ormloadertest.WithLogger(logger))
	h := guard.Middleware(gormserver.Handler(db, gormserver.Options{Naive: true}))

	for range 2 { // the second request logs nothing new
		body := `{"query": "{ bands(first: 5) { name albums(first: 2) { edges { node { tracks { name } } } } } }"}`
		req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	// Output:
	// msg="ormloadertest: N+1" relation=Album.tracks path=bands[*].albums.edges[*].node.tracks batches=9
	// msg="ormloadertest: N+1" relation=AlbumConnection.edges path=bands[*].albums.edges batches=5
}

// A Guard that also reports loads whose caller's context has a viewer that
// the batches of its scope lack (set after the scope opened, so privacy
// rules would not see it).
func ExampleCheckContext() {
	guard := ormloadertest.NewGuard(ormloadertest.CheckContext("viewer", viewer.FromContext))
	_ = guard.Middleware(http.NotFoundHandler()) // your GraphQL handler
}
