package gormloader_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"gorm.io/gorm"

	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/gormloader/internal/music"
)

// sorted returns rows ordered by their JSON form (which follows pointers,
// unlike %v), for comparing results of statements that ask for no order.
func sorted[T any](rows []T) []T {
	out := slices.Clone(rows)
	key := func(v T) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return string(b)
	}
	slices.SortFunc(out, func(a, b T) int {
		sa, sb := key(a), key(b)
		switch {
		case sa < sb:
			return -1
		case sa > sb:
			return 1
		}
		return 0
	})
	return out
}

// relCase checks one relation of parent model P with target T against GORM's
// Preload: one statement for a loop over all parents, equal rows.
type relCase struct {
	name string
	run  func(t *testing.T, e *env)
}

func manyCase[P, T any](field string) relCase {
	return relCase{name: reflect.TypeFor[P]().Name() + "." + field, run: func(t *testing.T, e *env) {
		var want []P
		must(t, e.db.Preload(field).Find(&want).Error)
		ctx := scope(t)
		var parents []P
		must(t, e.db.WithContext(ctx).Find(&parents).Error)
		got := make([][]T, len(parents))
		e.count.expect(t, 1, "loop over "+field, func() {
			for i := range parents {
				rows, err := gormloader.Load[T](ctx, e.db, &parents[i], field)
				must(t, err)
				got[i] = rows
			}
		})
		nonEmpty := 0
		for i := range parents {
			w := reflect.ValueOf(want[i]).FieldByName(field).Interface().([]T)
			if len(w) > 0 {
				nonEmpty++
			}
			if !reflect.DeepEqual(sorted(got[i]), sorted(w)) && (len(got[i]) > 0 || len(w) > 0) {
				t.Errorf("parent %d: got %+v, Preload gives %+v", i, got[i], w)
			}
		}
		if nonEmpty == 0 {
			t.Errorf("seed data gives no parent any %s", field)
		}
	}}
}

func oneCase[P, T any](field string) relCase {
	return relCase{name: reflect.TypeFor[P]().Name() + "." + field, run: func(t *testing.T, e *env) {
		var want []P
		must(t, e.db.Preload(field).Find(&want).Error)
		ctx := scope(t)
		var parents []P
		must(t, e.db.WithContext(ctx).Find(&parents).Error)
		got := make([]*T, len(parents))
		e.count.expect(t, 1, "loop over "+field, func() {
			for i := range parents {
				row, err := gormloader.LoadOne[T](ctx, e.db, &parents[i], field)
				must(t, err)
				got[i] = row
			}
		})
		nils := 0
		for i := range parents {
			w := reflect.ValueOf(want[i]).FieldByName(field).Interface().(*T)
			if w == nil {
				nils++
			}
			if !reflect.DeepEqual(got[i], w) {
				t.Errorf("parent %d: got %+v, Preload gives %+v", i, got[i], w)
			}
		}
		if nils == len(parents) {
			t.Errorf("seed data gives no parent a %s", field)
		}
	}}
}

func TestRelationsMatchPreload(t *testing.T) {
	cases := []relCase{
		manyCase[music.Label, music.Band]("Bands"),          // has-many
		oneCase[music.Band, music.Label]("Label"),           // belongs-to, NULL foreign keys, shared targets
		oneCase[music.Band, music.Label]("Distributor"),     // belongs-to on custom foreignKey/references
		manyCase[music.Band, music.Person]("Members"),       // many2many, shared targets
		manyCase[music.Person, music.Band]("Bands"),         // many2many, other side
		manyCase[music.Band, music.Album]("Albums"),         // has-many with soft-deleted rows
		oneCase[music.Band, music.Profile]("Profile"),       // has-one
		manyCase[music.Band, music.Comment]("Comments"),     // polymorphic has-many
		manyCase[music.Album, music.Comment]("Comments"),    // polymorphic, other owner type
		manyCase[music.Band, music.Band]("Influences"),      // self-referencing many2many
		oneCase[music.Album, music.Band]("Band"),            // belongs-to
		manyCase[music.Album, music.Track]("Tracks"),        // has-many
		manyCase[music.Album, music.Release]("Releases"),    // has-many into a composite-key table
		manyCase[music.Release, music.ChartEntry]("Charts"), // has-many on a composite key
		oneCase[music.ChartEntry, music.Release]("Release"), // belongs-to on a composite key
	}
	forEachDB(t, func(t *testing.T, e *env) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { c.run(t, e) })
		}
	})
}

// TestNestedLoads: bands -> albums -> tracks, comments; one statement per
// relation per level, sequentially and with a goroutine per parent.
func TestNestedLoads(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		for _, mode := range []string{"sequential", "concurrent"} {
			t.Run(mode, func(t *testing.T) {
				ctx := scope(t)
				var bands []music.Band
				must(t, e.db.WithContext(ctx).Find(&bands).Error)
				var want []music.Band
				must(t, e.db.Preload("Albums.Tracks").Preload("Albums.Comments").Preload("Profile").Find(&want).Error)
				type result struct {
					albums   []music.Album
					tracks   [][]music.Track
					comments [][]music.Comment
					profile  *music.Profile
				}
				results := make([]result, len(bands))
				work := func(ctx context.Context, i int) {
					b := bands[i] // a copy: load sets find rows by primary key
					albums, err := gormloader.Load[music.Album](ctx, e.db, &b, "Albums")
					must(t, err)
					p, err := gormloader.LoadOne[music.Profile](ctx, e.db, &b, "Profile")
					must(t, err)
					r := result{albums: albums, profile: p}
					r.tracks = make([][]music.Track, len(albums))
					r.comments = make([][]music.Comment, len(albums))
					for j := range albums {
						r.tracks[j], err = gormloader.Load[music.Track](ctx, e.db, &albums[j], "Tracks")
						must(t, err)
						r.comments[j], err = gormloader.Load[music.Comment](ctx, e.db, &albums[j], "Comments")
						must(t, err)
					}
					results[i] = r
				}
				e.count.expect(t, 4, "albums, profile, tracks, comments", func() {
					if mode == "sequential" {
						for i := range bands {
							work(ctx, i)
						}
						return
					}
					done := make(chan struct{}, len(bands))
					for i := range bands {
						go func() { work(ctx, i); done <- struct{}{} }()
					}
					for range bands {
						<-done
					}
				})
				for i, w := range want {
					r := results[i]
					if !reflect.DeepEqual(r.profile, w.Profile) {
						t.Errorf("band %d profile %+v, want %+v", i, r.profile, w.Profile)
					}
					if len(r.albums) != len(w.Albums) {
						t.Fatalf("band %d: %d albums, want %d", i, len(r.albums), len(w.Albums))
					}
					for j, wa := range w.Albums {
						ga := r.albums[j]
						if !reflect.DeepEqual(sorted(r.tracks[j]), sorted(wa.Tracks)) && len(wa.Tracks)+len(r.tracks[j]) > 0 {
							t.Errorf("album %d tracks %+v, want %+v", ga.ID, r.tracks[j], wa.Tracks)
						}
						if !reflect.DeepEqual(sorted(r.comments[j]), sorted(wa.Comments)) && len(wa.Comments)+len(r.comments[j]) > 0 {
							t.Errorf("album %d comments %+v, want %+v", ga.ID, r.comments[j], wa.Comments)
						}
					}
				}
			})
		}
	})
}

// TestPerParentLimit: two albums per band by year, one statement, equal to
// Preload with the same order cut per band.
func TestPerParentLimit(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		var want []music.Band
		must(t, e.db.Preload("Albums", func(db *gorm.DB) *gorm.DB { return db.Order("year DESC, id") }).
			Preload("Members", func(db *gorm.DB) *gorm.DB { return db.Order("name") }).Find(&want).Error)
		ctx := scope(t)
		var bands []music.Band
		must(t, e.db.WithContext(ctx).Find(&bands).Error)
		e.count.expect(t, 1, "albums limit 2 by year", func() {
			for i := range bands {
				got, err := gormloader.Load[music.Album](ctx, e.db, &bands[i], "Albums", gormloader.Limit(2), gormloader.Order("year DESC, id"))
				must(t, err)
				w := want[i].Albums[:min(2, len(want[i].Albums))]
				if !reflect.DeepEqual(got, w) && len(got)+len(w) > 0 {
					t.Errorf("band %d: got %+v, want %+v", i, got, w)
				}
			}
		})
		e.count.expect(t, 1, "first member by name (many2many)", func() {
			for i := range bands {
				got, err := gormloader.Load[music.Person](ctx, e.db, &bands[i], "Members", gormloader.Limit(1), gormloader.Order("name"))
				must(t, err)
				w := want[i].Members[:min(1, len(want[i].Members))]
				if !reflect.DeepEqual(got, w) && len(got)+len(w) > 0 {
					t.Errorf("band %d: got %+v, want %+v", i, got, w)
				}
			}
		})
		e.count.expect(t, 1, "ordered, no limit", func() {
			for i := range bands {
				got, err := gormloader.Load[music.Album](ctx, e.db, &bands[i], "Albums", gormloader.Order("year DESC, id"))
				must(t, err)
				if !reflect.DeepEqual(got, want[i].Albums) && len(got)+len(want[i].Albums) > 0 {
					t.Errorf("band %d: got %+v, want %+v", i, got, want[i].Albums)
				}
			}
		})
		// the unlimited load is a different variant: not served from the limited cache
		e.count.expect(t, 1, "plain load after variants", func() {
			for i := range bands {
				got, err := gormloader.Load[music.Album](ctx, e.db, &bands[i], "Albums")
				must(t, err)
				if len(got) != len(want[i].Albums) {
					t.Errorf("band %d: %d albums, want %d", i, len(got), len(want[i].Albums))
				}
			}
		})
	})
}

func TestFilterAndCount(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		var want []music.Band
		must(t, e.db.Preload("Albums").Preload("Members").Preload("Comments").Find(&want).Error)
		ctx := scope(t)
		var bands []music.Band
		must(t, e.db.WithContext(ctx).Find(&bands).Error)
		for _, rel := range []string{"Albums", "Members", "Comments"} {
			e.count.expect(t, 1, "count "+rel, func() {
				for i := range bands {
					n, err := gormloader.Count(ctx, e.db, &bands[i], rel)
					must(t, err)
					w := reflect.ValueOf(want[i]).FieldByName(rel).Len()
					if n != int64(w) {
						t.Errorf("band %d: %s count %d, want %d", i, rel, n, w)
					}
				}
			})
		}
		for _, year := range []int{1995, 2000} {
			e.count.expect(t, 1, fmt.Sprintf("albums after %d", year), func() {
				for i := range bands {
					got, err := gormloader.Load[music.Album](ctx, e.db, &bands[i], "Albums", gormloader.Where("year > ?", year))
					must(t, err)
					var w []music.Album
					for _, a := range want[i].Albums {
						if a.Year > year {
							w = append(w, a)
						}
					}
					if !reflect.DeepEqual(sorted(got), sorted(w)) && len(got)+len(w) > 0 {
						t.Errorf("band %d: got %+v, want %+v", i, got, w)
					}
				}
			})
		}
	})
}
