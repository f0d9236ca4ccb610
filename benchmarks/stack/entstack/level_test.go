package entstack

import (
	"context"
	"testing"

	"github.com/ormloader/ormloader/benchmarks/stack/internal/bench"
	"github.com/ormloader/ormloader/dataloader"
	entserver "github.com/ormloader/ormloader/examples/ent-gqlgen/server"
)

// BenchmarkTracksLevel isolates the last level of the benchmark's depth-3
// query on SQLite: the tracks of every album (about 8 500 rows for 900
// albums), without GraphQL. Query: every track, one plain ent query;
// QueryInScope: the same inside a scope, where entloader's interceptor
// records the rows as a load set; With: the albums with their tracks
// (ent's eager loading); Tracks: the albums, then the tracks of the first
// album, which loads those of the whole load set.
//
//	go test -run '^$' -bench TracksLevel -benchmem ./benchmarks/stack/entstack
func BenchmarkTracksLevel(b *testing.B) {
	sqlDB, dialect, closeDB, err := bench.OpenDB("", "level")
	if err != nil {
		b.Fatal(err)
	}
	defer closeDB()
	ctx := context.Background()
	client, err := Open(ctx, sqlDB, dialect)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := entserver.Seed(ctx, client, entserver.Size{Labels: 10, Bands: 100, Albums: 10, Tracks: 10, Members: 4}); err != nil {
		b.Fatal(err)
	}
	b.Run("Query", func(b *testing.B) {
		for b.Loop() {
			if _, err := client.Track.Query().All(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("QueryInScope", func(b *testing.B) {
		for b.Loop() {
			ctx, scope := dataloader.NewScope(ctx)
			if _, err := client.Track.Query().All(ctx); err != nil {
				b.Fatal(err)
			}
			scope.Close()
		}
	})
	b.Run("With", func(b *testing.B) {
		for b.Loop() {
			if _, err := client.Album.Query().WithTracks().All(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Tracks", func(b *testing.B) {
		for b.Loop() {
			ctx, scope := dataloader.NewScope(ctx)
			albums, err := client.Album.Query().All(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := albums[0].Tracks(ctx); err != nil {
				b.Fatal(err)
			}
			scope.Close()
		}
	})
}
