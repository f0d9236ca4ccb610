package gormloader_test

import (
	"testing"

	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/gormloader/internal/music"
	"github.com/ormloader/ormloader/internal/testdb"
)

// BenchmarkCachedLoad is the cost of one load whose result the scope has
// cached: the to-one parent of many children (every album's band, loaded
// once for the whole set). "field" is what returning a preloaded field
// costs; LoadOne hands out a copy of the row, as it always does.
//
//	go test -run '^$' -bench CachedLoad -benchmem ./gormloader
func BenchmarkCachedLoad(b *testing.B) {
	e := open(b, testdb.SQLite(b))
	seed(b, e.db, 12)
	b.Run("field", func(b *testing.B) {
		var albums []music.Album
		must(b, e.db.Preload("Band").Find(&albums).Error)
		for i := 0; b.Loop(); i++ {
			if albums[i%len(albums)].Band == nil {
				b.Fatal("no band")
			}
		}
	})
	b.Run("LoadOne", func(b *testing.B) {
		ctx := scope(b)
		var albums []music.Album
		must(b, e.db.WithContext(ctx).Find(&albums).Error)
		if _, err := gormloader.LoadOne[music.Band](ctx, e.db, &albums[0], "Band"); err != nil {
			b.Fatal(err) // loads the bands of every album
		}
		for i := 0; b.Loop(); i++ {
			if _, err := gormloader.LoadOne[music.Band](ctx, e.db, &albums[i%len(albums)], "Band"); err != nil {
				b.Fatal(err)
			}
		}
	})
	// A variant (a filter and a per-parent limit) is part of the batch key:
	// a cached load of one builds and interns it (relations.NewPart).
	b.Run("Load with a variant", func(b *testing.B) {
		ctx := scope(b)
		var bands []music.Band
		must(b, e.db.WithContext(ctx).Find(&bands).Error)
		opts := func() []gormloader.LoadOption {
			return []gormloader.LoadOption{gormloader.Where("year > ?", 1990), gormloader.Limit(2)}
		}
		if _, err := gormloader.Load[music.Album](ctx, e.db, &bands[0], "Albums", opts()...); err != nil {
			b.Fatal(err) // loads the albums of every band
		}
		for i := 0; b.Loop(); i++ {
			if _, err := gormloader.Load[music.Album](ctx, e.db, &bands[i%len(bands)], "Albums", opts()...); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestCachedLoadAllocations: a cached to-one load allocates the caller's
// copy of the row and the boxed foreign key GORM's field accessor returns,
// nothing else (no claim, no reflection on the connection pool).
func TestCachedLoadAllocations(t *testing.T) {
	e := open(t, testdb.SQLite(t))
	seed(t, e.db, 12)
	ctx := scope(t)
	var albums []music.Album
	must(t, e.db.WithContext(ctx).Find(&albums).Error)
	if _, err := gormloader.LoadOne[music.Band](ctx, e.db, &albums[0], "Band"); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := gormloader.LoadOne[music.Band](ctx, e.db, &albums[1], "Band"); err != nil {
			t.Fatal(err)
		}
	}); n > 2 {
		t.Errorf("a cached LoadOne allocates %.1f times, want at most 2", n)
	}
}
