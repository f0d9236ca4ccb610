package gormloader_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/gormloader/internal/music"
)

// shadowAlbums creates, on conn only, a temporary table albums that hides
// the real one with a single row for band, and returns the SQL that drops it.
func shadowAlbums(t *testing.T, dialect string, conn *gorm.DB, band uint) (drop string) {
	t.Helper()
	switch dialect {
	case "sqlite":
		must(t, conn.Exec("CREATE TEMP TABLE albums AS SELECT * FROM main.albums WHERE 0").Error)
		drop = "DROP TABLE temp.albums"
	case "postgres":
		must(t, conn.Exec("CREATE TEMP TABLE albums (LIKE albums INCLUDING DEFAULTS)").Error)
		drop = "DROP TABLE pg_temp.albums"
	case "mysql":
		var name string
		must(t, conn.Raw("SELECT DATABASE()").Scan(&name).Error)
		must(t, conn.Exec("CREATE TEMPORARY TABLE albums SELECT * FROM `"+name+"`.albums WHERE 1 = 0").Error)
		drop = "DROP TEMPORARY TABLE albums"
	}
	must(t, conn.Exec("INSERT INTO albums (id, band_id, title, year) VALUES (?, ?, ?, ?)", 100000, band, "only on this connection", 1).Error)
	return drop
}

// A load runs on the connection of the *gorm.DB it is given, also when that
// is a dedicated connection rather than a transaction (db.Connection; e.g.
// PostgreSQL row-level security keyed on SET app.tenant), and never shares a
// batch or a cached result with loads on another connection. (Before, only a
// transaction was honoured: a dedicated connection's loads ran on the pool.)
func TestLoadsRunOnTheirConnection(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := scope(t)
		var bands []music.Band
		must(t, e.db.WithContext(ctx).Order("id").Find(&bands).Error)
		band := &bands[1]
		onPool, err := gormloader.Load[music.Album](ctx, e.db, band, "Albums")
		must(t, err)
		if len(onPool) == 0 {
			t.Fatal("seed: band 1 has no albums")
		}
		err = e.db.WithContext(ctx).Connection(func(conn *gorm.DB) error {
			drop := shadowAlbums(t, e.dialect, conn, band.ID)
			defer func() { must(t, conn.Exec(drop).Error) }()
			got, err := gormloader.Load[music.Album](ctx, conn, band, "Albums")
			must(t, err)
			if len(got) != 1 || got[0].Title != "only on this connection" {
				t.Errorf("on the dedicated connection: %+v, want its one album", got)
			}
			// Concurrent loads on the pool and on the connection: one
			// statement each, each with its own rows. (A raw Exec clears
			// the scope first.)
			must(t, conn.Exec("UPDATE albums SET year = year").Error)
			var wg sync.WaitGroup
			var pool, own []music.Album
			e.count.expect(t, 2, "one statement per connection", func() {
				wg.Go(func() {
					var err error
					pool, err = gormloader.Load[music.Album](ctx, e.db, &bands[2], "Albums")
					must(t, err)
				})
				wg.Go(func() {
					var err error
					own, err = gormloader.Load[music.Album](ctx, conn, &bands[2], "Albums")
					must(t, err)
				})
				wg.Wait()
			})
			if len(own) != 0 || len(pool) == 0 {
				t.Errorf("band 2: %d albums on the pool (want some), %d on the connection (want 0)", len(pool), len(own))
			}
			return nil
		})
		must(t, err)
		again, err := gormloader.Load[music.Album](ctx, e.db, band, "Albums")
		must(t, err)
		if len(again) != len(onPool) {
			t.Errorf("on the pool after: %d albums, want %d", len(again), len(onPool))
		}
	})
}

// A write in a transaction clears the scope when it is made and again when
// the transaction commits: a load outside the transaction between the write
// and the commit read the rows as they were, and must not be served after
// the commit. A rollback leaves the rows as they were outside.
func TestCommitClearsLoadsMadeOutside(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		for _, how := range []string{"Begin", "Transaction", "PrepareStmt session"} {
			t.Run(how, func(t *testing.T) {
				ctx := scope(t)
				var band music.Band
				must(t, e.db.WithContext(ctx).Where("name = ?", "band 05").First(&band).Error)
				count := func(db *gorm.DB) int {
					t.Helper()
					albums, err := gormloader.Load[music.Album](ctx, db, &band, "Albums")
					must(t, err)
					return len(albums)
				}
				before := count(e.db)
				write := func(tx *gorm.DB) {
					must(t, tx.Create(&music.Album{BandID: band.ID, Title: "in a transaction (" + how + ")"}).Error)
					if got := count(tx); got != before+1 {
						t.Errorf("inside: %d albums, want %d", got, before+1)
					}
					if got := count(e.db); got != before {
						t.Errorf("outside before the commit: %d albums, want %d", got, before)
					}
				}
				switch how {
				case "Begin":
					tx := e.db.WithContext(ctx).Begin()
					must(t, tx.Error)
					write(tx)
					must(t, tx.Commit().Error)
				case "Transaction":
					must(t, e.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { write(tx); return nil }))
				case "PrepareStmt session":
					tx := e.db.WithContext(ctx).Session(&gorm.Session{PrepareStmt: true}).Begin()
					must(t, tx.Error)
					write(tx)
					must(t, tx.Commit().Error)
				}
				if got := count(e.db); got != before+1 {
					t.Errorf("after the commit: %d albums, want %d", got, before+1)
				}
				// A rolled-back write: outside, the rows stay as they were.
				before++
				tx := e.db.WithContext(ctx).Begin()
				must(t, tx.Error)
				must(t, tx.Create(&music.Album{BandID: band.ID, Title: "rolled back"}).Error)
				if got := count(e.db); got != before {
					t.Errorf("outside a transaction that will roll back: %d albums, want %d", got, before)
				}
				must(t, tx.Rollback().Error)
				if got := count(e.db); got != before {
					t.Errorf("after the rollback: %d albums, want %d", got, before)
				}
			})
		}
		// The wrapped pool is still the db's *sql.DB.
		sqlDB, err := e.db.DB()
		must(t, err)
		must(t, sqlDB.Ping())
		tx := e.db.Begin()
		if txDB, err := tx.DB(); err != nil || txDB != sqlDB {
			t.Errorf("tx.DB() = %v, %v; want the pool's *sql.DB", txDB, err)
		}
		must(t, tx.Rollback().Error)
	})
}

// A write made while a batch of the relation is in flight: the batch's
// waiters get the rows it read, but they are not cached, and the next load
// reads the write.
func TestWriteDuringBatchInFlight(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		var hold sync.Mutex
		var held, release chan struct{}
		must(t, e.db.Callback().Query().After("gorm:query").Register("test:hold_albums", func(db *gorm.DB) {
			hold.Lock()
			h, r := held, release
			held = nil
			hold.Unlock()
			if db.Statement.Table == "albums" && h != nil {
				close(h) // the batch has read its rows
				<-r
			}
		}))
		ctx := scope(t)
		var band music.Band
		must(t, e.db.WithContext(ctx).Where("name = ?", "band 06").First(&band).Error)
		hold.Lock()
		held, release = make(chan struct{}), make(chan struct{})
		h, r := held, release
		hold.Unlock()
		done := make(chan int)
		go func() {
			albums, err := gormloader.Load[music.Album](ctx, e.db, &band, "Albums")
			if err != nil {
				t.Error(err)
			}
			done <- len(albums)
		}()
		select {
		case <-h:
		case <-time.After(10 * time.Second):
			t.Fatal("the batch did not start")
		}
		must(t, e.db.WithContext(ctx).Create(&music.Album{BandID: band.ID, Title: "written while the batch ran"}).Error)
		close(r)
		before := <-done
		albums, err := gormloader.Load[music.Album](ctx, e.db, &band, "Albums")
		must(t, err)
		if len(albums) != before+1 {
			t.Errorf("after the write: %d albums, want %d (the in-flight batch's rows must not be cached)", len(albums), before+1)
		}
	})
}

// ByID converts its values to the key's type (a GraphQL ID is a string) and
// rejects, before any statement, one that the key cannot hold or the
// database cannot bind; the valid loads of the same batch still load. (One
// bad id used to fail the whole batch with a driver conversion error, and a
// string for an integer key ran the query and reported not-found.)
func TestByIDConvertsAndRejectsIDs(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := scope(t)
		var band music.Band
		must(t, e.db.Where("name = ?", "band 03").First(&band).Error)
		for _, id := range []any{band.ID, int64(band.ID), fmt.Sprint(band.ID), float64(band.ID), ptr(band.ID)} {
			b, err := gormloader.ByID[music.Band](ctx, e.db, id)
			if err != nil || b.ID != band.ID {
				t.Errorf("ByID(%T %v) = %+v, %v", id, id, b, err)
			}
		}
		ids := []struct {
			id   any
			good bool
		}{
			{fmt.Sprint(band.ID + 1), true}, {band.ID + 2, true},
			{-1, false}, {"-1", false}, {"abc", false}, {1.5, false}, {"", false}, {nil, false}, {[]int{1}, false},
			{uint64(1) << 63, e.dialect == "mysql"}, // MySQL binds unsigned values above MaxInt64 (and finds no row)
		}
		// Concurrent good and bad ids, started as gqlgen starts resolvers
		// (tracked workers): the good ones share one statement.
		e.count.expect(t, 1, "good and bad ids of one tick", func() {
			var wg sync.WaitGroup
			s := dataloader.FromContext(ctx)
			wctx, end := s.StartWorker(ctx)
			for _, c := range ids {
				wg.Add(1)
				s.Go(wctx, func(ctx context.Context) {
					defer wg.Done()
					b, err := gormloader.ByID[music.Band](ctx, e.db, c.id)
					switch {
					case !c.good && !errors.Is(err, gormloader.ErrInvalidID):
						t.Errorf("ByID(%#v): %v, want ErrInvalidID", c.id, err)
					case c.good && c.id != uint64(1)<<63 && (err != nil || b == nil):
						t.Errorf("ByID(%#v) = %v, %v", c.id, b, err)
					}
				})
			}
			end()
			wg.Wait()
		})
		if _, err := gormloader.ByIDs[music.Band](ctx, e.db, band.ID, "x"); !errors.Is(err, gormloader.ErrInvalidID) {
			t.Errorf("ByIDs with a bad id: %v, want ErrInvalidID", err)
		}
		bands, err := gormloader.ByIDs[music.Band](ctx, e.db, "1", 2)
		if err != nil || len(bands) != 2 || bands[0] == nil || bands[0].ID != 1 || bands[1] == nil || bands[1].ID != 2 {
			t.Errorf("ByIDs(\"1\", 2) = %v, %v", bands, err)
		}
	})
}

// Load accepts a pointer element type, as gqlgen-bound models hold ([]*T),
// and hands out pointers to the caller's own copies. (It compiled and failed
// at run time with ErrTypeMismatch.)
func TestLoadPointerElements(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := scope(t)
		var bands []music.Band
		must(t, e.db.WithContext(ctx).Order("id").Find(&bands).Error)
		band := &bands[1]
		rows, err := gormloader.Load[music.Album](ctx, e.db, band, "Albums", gormloader.Order("id"))
		must(t, err)
		ptrs, err := gormloader.Load[*music.Album](ctx, e.db, band, "Albums", gormloader.Order("id"))
		must(t, err)
		if len(rows) == 0 || len(ptrs) != len(rows) {
			t.Fatalf("%d rows by value, %d by pointer", len(rows), len(ptrs))
		}
		for i := range rows {
			if !reflect.DeepEqual(*ptrs[i], rows[i]) {
				t.Errorf("row %d: %+v by pointer, %+v by value", i, *ptrs[i], rows[i])
			}
		}
		ptrs[0].Title = "changed by the caller"
		again, err := gormloader.Load[*music.Album](ctx, e.db, band, "Albums", gormloader.Order("id"))
		must(t, err)
		if again[0].Title == "changed by the caller" || again[0] == ptrs[0] {
			t.Error("a caller's change reached the cache: pointers must be to copies")
		}
		label, err := gormloader.Load[*music.Label](ctx, e.db, &bands[0], "Label")
		must(t, err)
		if len(label) != 1 || label[0] == nil || label[0].ID != *bands[0].LabelID {
			t.Errorf("to-one by pointer: %+v", label)
		}
	})
}
