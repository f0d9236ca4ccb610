package entloader_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/ent"
	"github.com/ormloader/ormloader/internal/testdb"
)

// BenchmarkTree loads bands(100) → albums(3 each) → tracks(4 each) on
// SQLite, with ent's eager loading and with the edge methods in a scope.
func BenchmarkTree(b *testing.B) {
	e := open(b, testdb.SQLite(b))
	ctx := context.Background()
	for i := range 100 {
		bd := e.client.Band.Create().SetName(fmt.Sprint("band ", i)).SaveX(ctx)
		for k := range 3 {
			a := e.client.Album.Create().SetTitle(fmt.Sprint(k)).SetYear(2000 + k).SetBand(bd).SaveX(ctx)
			for j := range 4 {
				e.client.Track.Create().SetTitle(fmt.Sprint(j)).SetPosition(j).SetAlbum(a).SaveX(ctx)
			}
		}
	}
	count := func(b *testing.B, tracks int) {
		if tracks != 1200 {
			b.Fatalf("%d tracks", tracks)
		}
	}
	b.Run("eager", func(b *testing.B) {
		for b.Loop() {
			bands := e.client.Band.Query().WithAlbums(func(q *ent.AlbumQuery) { q.WithTracks() }).AllX(ctx)
			n := 0
			for _, bd := range bands {
				for _, a := range bd.Edges.Albums {
					n += len(a.Edges.Tracks)
				}
			}
			count(b, n)
		}
	})
	b.Run("entloader", func(b *testing.B) {
		for b.Loop() {
			ctx, scope := dataloader.NewScope(ctx)
			// A tracked worker, as under the gqlgen integration: a batch
			// starts as soon as the worker waits (no window).
			ctx, end := scope.StartWorker(ctx)
			bands := e.client.Band.Query().AllX(ctx)
			n := 0
			for _, bd := range bands {
				albums, err := bd.Albums(ctx)
				if err != nil {
					b.Fatal(err)
				}
				for _, a := range albums {
					tracks, err := a.Tracks(ctx)
					if err != nil {
						b.Fatal(err)
					}
					n += len(tracks)
				}
			}
			end()
			scope.Close()
			count(b, n)
		}
	})
	e.count.reset()
}

// BenchmarkCachedEdge is the cost of one edge call whose result the scope
// has cached: the to-one parent of thousands of children, where each child
// is a different node and the parent's row was loaded once. "field" is
// what returning an eager-loaded edge costs.
//
//	go test -run '^$' -bench CachedEdge -benchmem ./entloader
func BenchmarkCachedEdge(b *testing.B) {
	e := open(b, testdb.SQLite(b))
	ctx := context.Background()
	bd := e.client.Band.Create().SetName("band").SaveX(ctx)
	for k := range 64 {
		e.client.Album.Create().SetTitle(fmt.Sprint(k)).SetYear(2000 + k).SetBand(bd).SaveX(ctx)
	}
	b.Run("field", func(b *testing.B) {
		albums := e.client.Album.Query().WithBand().AllX(ctx)
		for i := 0; b.Loop(); i++ {
			if albums[i%len(albums)].Edges.Band == nil {
				b.Fatal("no band")
			}
		}
	})
	b.Run("entloader", func(b *testing.B) {
		ctx, scope := dataloader.NewScope(ctx)
		defer scope.Close()
		ctx, end := scope.StartWorker(ctx)
		defer end()
		albums := e.client.Album.Query().AllX(ctx)
		if _, err := albums[0].Band(ctx); err != nil { // loads the band for the whole set
			b.Fatal(err)
		}
		// Fresh nodes of the same rows: each call is a cache hit, not the
		// node's own filled edge.
		fresh := make([][]*ent.Album, 64)
		for i := range fresh {
			fresh[i] = e.client.Album.Query().AllX(ctx)
		}
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			a := fresh[(i/len(albums))%len(fresh)][i%len(albums)]
			if _, err := a.Band(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestCachedEdgeAllocatesNothing: an edge call whose result the scope has
// cached allocates nothing (no partition boxed per call, no claim).
func TestCachedEdgeAllocatesNothing(t *testing.T) {
	e := open(t, testdb.SQLite(t))
	ctx := context.Background()
	bd := e.client.Band.Create().SetName("band").SaveX(ctx)
	e.client.Album.Create().SetTitle("a").SetYear(2000).SetBand(bd).SaveX(ctx)
	ctx, scope := dataloader.NewScope(ctx)
	defer scope.Close()
	albums := e.client.Album.Query().AllX(ctx)
	if _, err := albums[0].Band(ctx); err != nil {
		t.Fatal(err)
	}
	fresh := e.client.Album.Query().AllX(ctx)[0] // another node of the same row
	if n := testing.AllocsPerRun(100, func() {
		if _, err := fresh.Band(ctx); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("a cached edge call allocates %.1f times, want 0", n)
	}
}
