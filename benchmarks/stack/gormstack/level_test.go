package gormstack

import (
	"context"
	"testing"

	"github.com/ormloader/ormloader/benchmarks/stack/internal/bench"
	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/examples/gorm-gqlgen/models"
	gormserver "github.com/ormloader/ormloader/examples/gorm-gqlgen/server"
	"github.com/ormloader/ormloader/gormloader"
)

// BenchmarkTracksLevel isolates the last level of the benchmark's depth-3
// query on SQLite: the tracks of every album (about 8 500 rows for 900
// albums), without GraphQL. Find: one plain GORM query; FindInScope: the
// same query on the database with the gormloader plugin, inside a scope,
// which records the rows as a load set; Preload: the albums with their
// tracks (GORM's eager loading); LoadTracks: the albums, then the tracks of
// the first album, which loads those of the whole load set.
//
//	go test -run '^$' -bench TracksLevel -benchmem ./benchmarks/stack/gormstack
func BenchmarkTracksLevel(b *testing.B) {
	sqlDB, dialect, closeDB, err := bench.OpenDB("", "level")
	if err != nil {
		b.Fatal(err)
	}
	defer closeDB()
	plain, loaded, err := Open(sqlDB, dialect)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := gormserver.Seed(ctx, plain, gormserver.Size{Labels: 10, Bands: 100, Albums: 10, Tracks: 10, Members: 4}); err != nil {
		b.Fatal(err)
	}
	var ids []uint
	if err := plain.Model(&models.Album{}).Pluck("id", &ids).Error; err != nil {
		b.Fatal(err)
	}
	find := func(b *testing.B, ctx context.Context) {
		var tracks []models.Track
		if err := loaded.WithContext(ctx).Where("album_id IN ?", ids).Find(&tracks).Error; err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Find", func(b *testing.B) {
		for b.Loop() {
			var tracks []models.Track
			if err := plain.Where("album_id IN ?", ids).Find(&tracks).Error; err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("FindInScope", func(b *testing.B) {
		for b.Loop() {
			ctx, scope := dataloader.NewScope(ctx)
			find(b, ctx)
			scope.Close()
		}
	})
	b.Run("Preload", func(b *testing.B) {
		for b.Loop() {
			var albums []models.Album
			if err := plain.Preload("Tracks").Find(&albums).Error; err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("LoadTracks", func(b *testing.B) {
		for b.Loop() {
			ctx, scope := dataloader.NewScope(gormloader.WithDB(ctx, loaded))
			var albums []models.Album
			if err := loaded.WithContext(ctx).Find(&albums).Error; err != nil {
				b.Fatal(err)
			}
			if _, err := albums[0].LoadTracks(ctx); err != nil {
				b.Fatal(err)
			}
			scope.Close()
		}
	})
}
