package gormloader_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/gormloader/internal/music"
	"github.com/ormloader/ormloader/internal/testdb"
	"github.com/ormloader/ormloader/relations"
)

func TestNullKeysAndDuplicates(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := scope(t)
		var unlabelled []music.Band
		must(t, e.db.WithContext(ctx).Where("label_id IS NULL").Find(&unlabelled).Error)
		if len(unlabelled) == 0 {
			t.Fatal("seed has no band without a label")
		}
		e.count.expect(t, 0, "belongs-to with NULL foreign keys only", func() {
			for i := range unlabelled {
				l, err := gormloader.LoadOne[music.Label](ctx, e.db, &unlabelled[i], "Label")
				if err != nil || l != nil {
					t.Errorf("band %d: got %v, %v; want nil, nil", unlabelled[i].ID, l, err)
				}
			}
		})
		var bands []music.Band
		must(t, e.db.WithContext(ctx).Find(&bands).Error)
		distinct := map[uint]bool{}
		for _, b := range bands {
			if b.LabelID != nil {
				distinct[*b.LabelID] = true
			}
		}
		e.count.expect(t, 1, "labels of all bands", func() {
			for i := range bands {
				_, err := gormloader.LoadOne[music.Label](ctx, e.db, &bands[i], "Label")
				must(t, err)
			}
		})
		if e.count.keys[0] != len(distinct) {
			t.Errorf("the statement binds %d keys, want the %d distinct label ids: %s", e.count.keys[0], len(distinct), e.count)
		}
		// a parent without children gets an empty result, not an error
		var lonely music.Label
		must(t, e.db.WithContext(ctx).Where("code = ?", "C").First(&lonely).Error)
		bs, err := gormloader.Load[music.Band](ctx, e.db, &lonely, "Bands")
		if err != nil || len(bs) != 0 {
			t.Errorf("label without bands: %v, %v", bs, err)
		}
	})
}

func TestSoftDelete(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := scope(t)
		var deleted music.Album
		must(t, e.db.Unscoped().Where("deleted_at IS NOT NULL").First(&deleted).Error)
		band := music.Band{ID: deleted.BandID}
		albums, err := gormloader.Load[music.Album](ctx, e.db, &band, "Albums")
		must(t, err)
		for _, a := range albums {
			if a.ID == deleted.ID {
				t.Fatalf("soft-deleted album %d loaded", a.ID)
			}
		}
		n, err := gormloader.Count(ctx, e.db, &band, "Albums")
		must(t, err)
		if n != int64(len(albums)) {
			t.Errorf("count %d, loaded %d", n, len(albums))
		}
		// belongs-to from a track of the deleted album: the album is not found
		track := music.Track{AlbumID: deleted.ID}
		_ = track
		if _, err := gormloader.ByID[music.Album](ctx, e.db, deleted.ID); !errors.Is(err, gormloader.ErrNotFound) || !errors.Is(err, gorm.ErrRecordNotFound) {
			t.Errorf("ByID of a soft-deleted album: %v", err)
		}
	})
}

// TestLoopOverBands: a plain sequential for loop calling the generated
// LoadAlbums on 100 bands issues one statement.
func TestLoopOverBands(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			e := open(t, d)
			seed(t, e.db, 100)
			ctx := gormloader.WithDB(scope(t), e.db)
			var bands []music.Band
			must(t, e.db.WithContext(ctx).Find(&bands).Error)
			if len(bands) != 100 {
				t.Fatalf("%d bands", len(bands))
			}
			total := 0
			e.count.expect(t, 1, "LoadAlbums over 100 bands", func() {
				for _, b := range bands { // b is a copy
					albums, err := b.LoadAlbums(ctx)
					must(t, err)
					total += len(albums)
				}
			})
			var want int64
			must(t, e.db.Model(&music.Album{}).Count(&want).Error)
			if int64(total) != want {
				t.Errorf("loaded %d albums, want %d", total, want)
			}
			e.count.expect(t, 0, "second loop is cached", func() {
				for _, b := range bands {
					_, err := b.LoadAlbums(ctx)
					must(t, err)
				}
			})
		})
	}
}

// TestManyParents: 40 000 parents take the fewest statements the bind limit
// allows: two on SQLite (32 766), one on PostgreSQL and MySQL (65 535).
func TestManyParents(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts 40 000 rows")
	}
	const n = 40000
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			e := open(t, d)
			bands := make([]music.Band, n)
			for i := range bands {
				bands[i].Name = fmt.Sprintf("band %d", i)
			}
			must(t, e.db.CreateInBatches(&bands, 2000).Error)
			albums := []music.Album{{BandID: bands[0].ID, Title: "first"}, {BandID: bands[n-1].ID, Title: "last"}}
			must(t, e.db.Create(&albums).Error)
			want := map[string]int{"sqlite": 2, "postgres": 1, "mysql": 1}[d.Dialect]
			limit := e.loader.BindLimit()
			if fewest := (n + limit - 1) / limit; fewest != want {
				t.Fatalf("bind limit %d: fewest is %d statements, want %d", limit, fewest, want)
			}
			ctx := scope(t)
			var loaded []music.Band
			must(t, e.db.WithContext(ctx).Find(&loaded).Error)
			var first, last []music.Album
			e.count.expect(t, want, fmt.Sprintf("albums of %d bands", n), func() {
				var err error
				first, err = gormloader.Load[music.Album](ctx, e.db, &loaded[0], "Albums")
				must(t, err)
				last, err = gormloader.Load[music.Album](ctx, e.db, &loaded[n-1], "Albums")
				must(t, err)
			})
			if len(first) != 1 || first[0].Title != "first" || len(last) != 1 || last[0].Title != "last" {
				t.Errorf("first %+v, last %+v", first, last)
			}
			e.count.expect(t, want, fmt.Sprintf("counts of %d bands", n), func() {
				_, err := gormloader.Count(ctx, e.db, &loaded[5], "Albums")
				must(t, err)
			})
		})
	}
}

func TestWriteThenLoad(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := scope(t)
		db := e.db.WithContext(ctx)
		var band music.Band
		must(t, db.Where("name = ?", "band 01").First(&band).Error)
		albums, err := band.LoadAlbums(gormloader.WithDB(ctx, e.db))
		must(t, err)
		before := len(albums)

		must(t, db.Create(&music.Album{BandID: band.ID, Title: "new", Year: 2024}).Error)
		albums, err = gormloader.Load[music.Album](ctx, e.db, &band, "Albums")
		must(t, err)
		if len(albums) != before+1 {
			t.Fatalf("after create: %d albums, want %d", len(albums), before+1)
		}
		must(t, db.Model(&albums[len(albums)-1]).Update("title", "renamed").Error)
		albums, err = gormloader.Load[music.Album](ctx, e.db, &band, "Albums")
		must(t, err)
		if albums[len(albums)-1].Title != "renamed" {
			t.Fatalf("after update: %+v", albums)
		}
		must(t, db.Delete(&albums[len(albums)-1]).Error)
		albums, err = gormloader.Load[music.Album](ctx, e.db, &band, "Albums")
		must(t, err)
		if len(albums) != before {
			t.Fatalf("after delete: %d albums, want %d", len(albums), before)
		}
		// many2many through an association
		members, err := gormloader.Load[music.Person](ctx, e.db, &band, "Members")
		must(t, err)
		p := music.Person{Name: "newcomer"}
		must(t, db.Create(&p).Error)
		must(t, db.Model(&band).Association("Members").Append(&p))
		after, err := gormloader.Load[music.Person](ctx, e.db, &band, "Members")
		must(t, err)
		if len(after) != len(members)+1 {
			t.Fatalf("after Append: %d members, want %d", len(after), len(members)+1)
		}
		// belongs-to: moving a band to another label
		lbl, err := gormloader.LoadOne[music.Label](ctx, e.db, &band, "Label")
		must(t, err)
		var other music.Label
		must(t, db.Where("id <> ?", lbl.ID).First(&other).Error)
		must(t, db.Model(&band).Update("label_id", other.ID).Error)
		lbl, err = gormloader.LoadOne[music.Label](ctx, e.db, &band, "Label")
		must(t, err)
		if lbl.ID != other.ID {
			t.Fatalf("after update of the foreign key: label %d, want %d", lbl.ID, other.ID)
		}
	})
}

func TestTransaction(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := scope(t)
		var band music.Band
		must(t, e.db.WithContext(ctx).Where("name = ?", "band 02").First(&band).Error)
		outside, err := gormloader.Load[music.Album](ctx, e.db, &band, "Albums")
		must(t, err)
		tx := e.db.WithContext(ctx).Begin()
		must(t, tx.Error)
		defer tx.Rollback()
		must(t, tx.Create(&music.Album{BandID: band.ID, Title: "in tx"}).Error)
		inside, err := gormloader.Load[music.Album](ctx, tx, &band, "Albums")
		must(t, err)
		if len(inside) != len(outside)+1 {
			t.Fatalf("in the transaction: %d albums, want %d", len(inside), len(outside)+1)
		}
		// through the context, as the generated methods do
		viaCtx, err := band.LoadAlbums(gormloader.WithDB(ctx, tx))
		must(t, err)
		if len(viaCtx) != len(inside) {
			t.Fatalf("WithDB(tx): %d albums, want %d", len(viaCtx), len(inside))
		}
		if e.dialect != "sqlite" { // SQLite: one writer; a read outside would see its own snapshot anyway
			again, err := gormloader.Load[music.Album](ctx, e.db, &band, "Albums")
			must(t, err)
			if len(again) != len(outside) {
				t.Fatalf("outside the transaction: %d albums, want %d", len(again), len(outside))
			}
		}
		// concurrent loads in and out of the transaction never share a batch
		var other music.Band
		must(t, e.db.Where("name = ?", "band 05").First(&other).Error)
		e.count.expect(t, 2, "one statement per partition", func() {
			var wg sync.WaitGroup
			for _, db := range []*gorm.DB{e.db, tx} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := gormloader.Load[music.Track](ctx, db, &music.Album{ID: 1}, "Tracks")
					must(t, err)
				}()
			}
			wg.Wait()
		})
	})
}

func TestByID(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		// The count of the concurrent loads must not depend on the 5 ms
		// watchdog firing on a loaded machine before every worker started.
		ctx, s := dataloader.NewScope(context.Background(), dataloader.WithMaxWait(time.Minute))
		defer s.Close()
		var ids []uint
		must(t, e.db.Model(&music.Band{}).Order("id").Pluck("id", &ids).Error)
		got := make([]*music.Band, len(ids))
		e.count.expect(t, 1, "concurrent ByID", func() {
			// as gqlgen does: a running (tracked) resolver starts its children
			var wg sync.WaitGroup
			wg.Add(1)
			s := dataloader.FromContext(ctx)
			s.Go(ctx, func(context.Context) {
				defer wg.Done()
				for i, id := range ids {
					wg.Add(1)
					s.Go(ctx, func(ctx context.Context) {
						defer wg.Done()
						b, err := gormloader.ByID[music.Band](ctx, e.db, id)
						must(t, err)
						got[i] = b
					})
				}
			})
			wg.Wait()
		})
		for i, b := range got {
			if b == nil || b.ID != ids[i] {
				t.Fatalf("ByID(%d) = %+v", ids[i], b)
			}
		}
		e.count.expect(t, 1, "ByIDs: two cached rows and one unknown id", func() {
			bands, err := gormloader.ByIDs[music.Band](ctx, e.db, ids[0], ids[1], 987654)
			must(t, err)
			if len(bands) != 3 || bands[0].ID != ids[0] || bands[1].ID != ids[1] {
				t.Fatalf("ByIDs = %+v", bands)
			}
			if bands[2] != nil {
				t.Fatalf("ByIDs of a missing id = %+v, want nil", bands[2])
			}
		})
		var rel music.Release
		must(t, e.db.First(&rel).Error)
		r, err := gormloader.ByID[music.Release](ctx, e.db, rel.AlbumID, rel.Country)
		must(t, err)
		if r.AlbumID != rel.AlbumID || r.Country != rel.Country {
			t.Fatalf("composite ByID: %+v, want %+v", r, rel)
		}
		if _, err := gormloader.ByID[music.Band](ctx, e.db, 987654); !errors.Is(err, gormloader.ErrNotFound) {
			t.Fatalf("missing id: %v", err)
		}
		if _, err := gormloader.ByID[music.Release](ctx, e.db, 1); !errors.Is(err, gormloader.ErrInvalidID) {
			t.Fatalf("one value for a two-column key: %v", err)
		}
	})
}

// TestConcurrentScopes runs many requests at once, each fanning out with a
// goroutine per band and per album: results stay per scope, statements per
// request stay at one per relation and level.
func TestConcurrentScopes(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		var wantTracks int64
		must(t, e.db.Model(&music.Track{}).Joins("JOIN albums ON albums.id = tracks.album_id AND albums.deleted_at IS NULL").Count(&wantTracks).Error)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, s := dataloader.NewScope(context.Background())
				reqCtx := ctx
				defer s.Close()
				var bands []music.Band
				if err := e.db.WithContext(ctx).Find(&bands).Error; err != nil {
					t.Error(err)
					return
				}
				var mu sync.Mutex
				var tracks int64
				var inner sync.WaitGroup
				for i := range bands {
					inner.Add(1)
					s.Go(ctx, func(ctx context.Context) {
						defer inner.Done()
						albums, err := gormloader.Load[music.Album](ctx, e.db, &bands[i], "Albums")
						if err != nil {
							t.Error(err)
							return
						}
						for j := range albums {
							inner.Add(1)
							s.Go(reqCtx, func(ctx context.Context) {
								defer inner.Done()
								ts, err := gormloader.Load[music.Track](ctx, e.db, &albums[j], "Tracks")
								if err != nil {
									t.Error(err)
									return
								}
								mu.Lock()
								tracks += int64(len(ts))
								mu.Unlock()
							})
						}
					})
				}
				inner.Wait()
				if tracks != wantTracks {
					t.Errorf("loaded %d tracks, want %d", tracks, wantTracks)
				}
				if st := s.Stats(); st.Batches != 2 {
					t.Errorf("%d batches in a request, want 2 (albums, tracks): %+v", st.Batches, st)
				}
			}()
		}
		wg.Wait()
	})
}

type unsupported struct {
	ID            uint
	Wide          []wideChild `gorm:"foreignKey:A,B,C,D,E;references:A,B,C,D,E"`
	A, B, C, D, E int
}

type wideChild struct {
	ID            uint
	A, B, C, D, E int
}

func TestMisuse(t *testing.T) {
	e := open(t, testdb.SQLite(t))
	seed(t, e.db, 4)
	ctx := scope(t)
	var band music.Band
	must(t, e.db.First(&band).Error)
	var nilBand *music.Band
	plain, err := gorm.Open(sqlite.Open("file:misuse?mode=memory&cache=shared"), &gorm.Config{Logger: logger.Discard})
	must(t, err)
	sqlDB, _ := plain.DB()
	defer sqlDB.Close()

	tests := []struct {
		name     string
		call     func() error
		want     error
		contains []string
		absent   []string // nonsense hints the message must not give
	}{
		{"unknown relation", func() error {
			_, err := gormloader.Load[music.Album](ctx, e.db, &band, "Albumz")
			return err
		}, gormloader.ErrUnknownRelation, []string{"Albumz", "music.Band", "Albums"}, nil},
		{"column, not a relation", func() error {
			_, err := gormloader.Load[music.Album](ctx, e.db, &band, "Name")
			return err
		}, gormloader.ErrUnknownRelation, []string{"Name", "column"}, nil},
		{"non-pointer parent", func() error {
			_, err := gormloader.Load[music.Album](ctx, e.db, band, "Albums")
			return err
		}, gormloader.ErrInvalidParent, []string{"music.Band", "&row"}, nil},
		{"nil parent", func() error {
			_, err := gormloader.Load[music.Album](ctx, e.db, nil, "Albums")
			return err
		}, gormloader.ErrNilParent, []string{"Albums"}, nil},
		{"typed nil parent", func() error {
			_, err := gormloader.Load[music.Album](ctx, e.db, nilBand, "Albums")
			return err
		}, gormloader.ErrNilParent, []string{"*music.Band"}, nil},
		{"generated method on nil", func() error {
			_, err := nilBand.LoadAlbums(gormloader.WithDB(ctx, e.db))
			return err
		}, gormloader.ErrNilParent, nil, nil},
		{"pointer to a non-struct", func() error {
			n := 1
			_, err := gormloader.Load[music.Album](ctx, e.db, &n, "Albums")
			return err
		}, gormloader.ErrInvalidParent, nil, nil},
		{"non-struct parent", func() error {
			_, err := gormloader.Load[music.Album](ctx, e.db, 7, "Albums")
			return err
		}, gormloader.ErrInvalidParent, []string{"got int", "pointer to the row"}, []string{"&int"}},
		{"LoadOne of a pointer type", func() error {
			_, err := gormloader.LoadOne[*music.Label](ctx, e.db, &band, "Label")
			return err
		}, gormloader.ErrTypeMismatch, []string{"LoadOne[music.Label]"}, nil},
		{"ByID of a pointer type", func() error {
			_, err := gormloader.ByID[*music.Band](ctx, e.db, band.ID)
			return err
		}, gormloader.ErrTypeMismatch, []string{"ByID[music.Band]", "returns *music.Band"}, nil},
		{"ByID of a non-struct type", func() error {
			_, err := gormloader.ByID[int](ctx, e.db, 1)
			return err
		}, gormloader.ErrTypeMismatch, []string{"ByID[int]", "model struct type"}, []string{"parent"}},
		{"wrong type parameter", func() error {
			_, err := gormloader.Load[music.Track](ctx, e.db, &band, "Albums")
			return err
		}, gormloader.ErrTypeMismatch, []string{"Band.Albums", "music.Album", "music.Track"}, nil},
		{"no db", func() error {
			_, err := band.LoadAlbums(ctx)
			return err
		}, gormloader.ErrNoDB, []string{"WithDB"}, nil},
		{"plugin not installed", func() error {
			_, err := gormloader.Load[music.Album](ctx, plain, &band, "Albums")
			return err
		}, gormloader.ErrNotInstalled, []string{"db.Use"}, nil},
		{"negative limit", func() error {
			_, err := gormloader.Load[music.Album](ctx, e.db, &band, "Albums", gormloader.Limit(-1))
			return err
		}, gormloader.ErrInvalidOption, nil, nil},
		{"count with limit", func() error {
			_, err := gormloader.Count(ctx, e.db, &band, "Albums", gormloader.Limit(2))
			return err
		}, gormloader.ErrInvalidOption, nil, nil},
		{"filter arguments that are not comparable", func() error {
			_, err := gormloader.Load[music.Album](ctx, e.db, &band, "Albums", gormloader.Where("year IN ?", []int{1, 2}))
			return err
		}, gormloader.ErrInvalidOption, []string{"[]int"}, nil},
		{"unsupported shape at registration", func() error {
			return e.loader.Register(&unsupported{})
		}, gormloader.ErrUnsupportedRelation, []string{"unsupported", "Wide", "5 key columns"}, nil},
		{"unknown relation at registration", func() error {
			return e.loader.Register(&music.Band{}, "Albums", "Nope")
		}, gormloader.ErrUnknownRelation, []string{"Nope", "music.Band"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("panic: %v", p)
					}
				}()
				err = tt.call()
			}()
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q mentions %q", err, s)
				}
			}
		})
	}
	if err := e.loader.Register(&music.Band{}); err != nil {
		t.Errorf("Register(&Band{}) = %v", err)
	}
	rel, err := e.loader.Relation(&music.Band{}, "Influences")
	must(t, err)
	if rel.Kind != relations.ManyToMany || rel.Join.Name != "band_influences" || rel.Keys[0].To != "band_id" || rel.Join.TargetKeys[0].From != "influence_id" {
		t.Errorf("Band.Influences = %+v %+v", rel, rel.Join)
	}
}

func TestWithoutLoadSets(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  gormloader.PluginOption
	}{
		{"all", gormloader.WithoutLoadSets()},
		{"one relation", gormloader.WithoutLoadSetsFor("Band.Albums")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := open(t, testdb.SQLite(t), tt.opt)
			seed(t, e.db, 5)
			ctx := scope(t)
			var bands []music.Band
			must(t, e.db.WithContext(ctx).Find(&bands).Error)
			e.count.expect(t, len(bands), "a sequential loop without load sets", func() {
				for i := range bands {
					_, err := gormloader.Load[music.Album](ctx, e.db, &bands[i], "Albums")
					must(t, err)
				}
			})
		})
	}
}

// TestCallersChangeRows: callers may change the structs a query returned,
// also through a pointer field, while other resolvers load relations through
// their load set (the set reads its own copy, or for a pointer key the values
// it read at the query: -race checks it); a load uses the keys of the struct
// it is given, so a changed foreign key loads what it now points to.
func TestCallersChangeRows(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			e := open(t, d)
			seed(t, e.db, 20)
			var labels []music.Label
			must(t, e.db.Order("id").Find(&labels).Error)
			ctx := gormloader.WithDB(scope(t), e.db)
			var bands []music.Band
			must(t, e.db.WithContext(ctx).Order("id").Find(&bands).Error)
			var wg sync.WaitGroup
			for i := range bands {
				wg.Add(1)
				go func() {
					defer wg.Done()
					b := &bands[i]
					switch {
					case i%3 == 0: // a new foreign key
						b.LabelID = &labels[i%len(labels)].ID
					case i%3 == 1 && b.LabelID != nil: // a write through the pointer GORM scanned
						*b.LabelID = labels[i%len(labels)].ID
					}
					label, err := b.LoadLabel(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					if (label == nil) != (b.LabelID == nil) || (label != nil && label.ID != *b.LabelID) {
						t.Errorf("band %d: label %+v for label id %v", b.ID, label, b.LabelID)
					}
				}()
			}
			wg.Wait()
		})
	}
}

// TestLoadSetShapes: a result of pointers is a load set like a result of
// structs, and a row found again with First still loads with its list.
func TestLoadSetShapes(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			e := open(t, d)
			seed(t, e.db, 20)
			ctx := gormloader.WithDB(scope(t), e.db)
			var bands []*music.Band
			must(t, e.db.WithContext(ctx).Order("id").Find(&bands).Error)
			e.count.expect(t, 1, "LoadAlbums over a []*Band", func() {
				for _, b := range bands {
					_, err := b.LoadAlbums(ctx)
					must(t, err)
				}
			})
			var first music.Band
			must(t, e.db.WithContext(ctx).Order("id").First(&first).Error)
			e.count.expect(t, 1, "LoadProfile of a row found with First", func() {
				_, err := first.LoadProfile(ctx)
				must(t, err)
			})
		})
	}
}

// TestHugeLimit: a per-parent limit larger than any result is no limit (it
// must not size anything from it).
func TestHugeLimit(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			e := open(t, d)
			seed(t, e.db, 4)
			ctx := gormloader.WithDB(scope(t), e.db)
			var bands []music.Band
			must(t, e.db.WithContext(ctx).Order("id").Find(&bands).Error)
			for _, b := range bands {
				got, err := gormloader.Load[music.Album](ctx, nil, &b, "Albums", gormloader.Limit(math.MaxInt), gormloader.Order("id"))
				must(t, err)
				var want []music.Album
				must(t, e.db.Where("band_id = ?", b.ID).Order("id").Find(&want).Error)
				if len(got) != len(want) {
					t.Errorf("band %d: %d albums, want %d", b.ID, len(got), len(want))
				}
			}
		})
	}
}
