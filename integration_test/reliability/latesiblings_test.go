package reliability

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/ormloader/ormloader/dataloader"
	entexample "github.com/ormloader/ormloader/examples/ent-gqlgen/server"
	"github.com/ormloader/ormloader/examples/gorm-gqlgen/models"
	gormexample "github.com/ormloader/ormloader/examples/gorm-gqlgen/server"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/internal/faultdb"
	"github.com/ormloader/ormloader/internal/testdb"
)

// TestLateSiblingsOfAFailedBatch: in one scope, a loop loads the albums of
// 8 bands found by one query (one load set) while the albums table fails.
// The first load's batch, for the whole set, fails; each later turn of the
// loop gets that failure instead of running the set's statement again: 1
// statement, not 8 (it was 8 before d46e1a8).
func TestLateSiblingsOfAFailedBatch(t *testing.T) {
	db := testdb.SQLite(t)
	albums := faultdb.Rule{Match: faultdb.Table("albums"), Fault: faultdb.Fail(faultdb.ErrInjected)}
	t.Run("gorm", func(t *testing.T) {
		inj := faultdb.New()
		gdb, closeDB, err := gormexample.Open(db.DSN, inj.Wrap)
		if err != nil {
			t.Fatal(err)
		}
		defer closeDB()
		if _, err := gormexample.Seed(context.Background(), gdb, exampleSize); err != nil {
			t.Fatal(err)
		}
		ctx, scope := dataloader.NewScope(gormloader.WithDB(context.Background(), gdb))
		defer scope.Close()
		var bands []models.Band
		if err := gdb.WithContext(ctx).Find(&bands).Error; err != nil {
			t.Fatal(err)
		}
		r := inj.Inject(albums)
		for i := range bands {
			if _, err := bands[i].LoadAlbums(ctx); !errors.Is(err, faultdb.ErrInjected) {
				t.Fatalf("band %d: err %v, want the failure", i, err)
			}
		}
		if n := len(r.Faulted()); n != 1 {
			t.Errorf("%d statements for the albums of %d bands, want 1", n, len(bands))
		}
	})
	t.Run("ent", func(t *testing.T) {
		inj := faultdb.New()
		client, closeDB, err := entexample.Open(testdb.SQLite(t).DSN, inj.Wrap)
		if err != nil {
			t.Fatal(err)
		}
		defer closeDB()
		if _, err := entexample.Seed(context.Background(), client, exampleSize); err != nil {
			t.Fatal(err)
		}
		ctx, scope := dataloader.NewScope(context.Background())
		defer scope.Close()
		bands, err := client.Band.Query().All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r := inj.Inject(albums)
		for i, b := range bands {
			if _, err := b.Albums(ctx); !errors.Is(err, faultdb.ErrInjected) {
				t.Fatalf("band %d: err %v, want the failure", i, err)
			}
		}
		if n := len(r.Faulted()); n != 1 {
			t.Errorf("%d statements for the albums of %d bands, want 1", n, len(bands))
		}
	})
}

// TestConcurrentLoadsOfAFailedSet is the smallest case of the late
// siblings of a failed batch running concurrently: the tracks of 25 albums found by one batch (one load
// set) are loaded by 25 concurrent workers of the scope, as gqlgen's
// resolvers would, while the tracks table fails. All of them should get
// the failure of the set's one statement; some run it again.
func TestConcurrentLoadsOfAFailedSet(t *testing.T) {
	tracks := faultdb.Rule{Match: faultdb.Table("tracks"), Fault: faultdb.Fail(faultdb.ErrInjected)}
	// concurrently calls load(i) for i < n in workers of the scope of ctx.
	concurrently := func(ctx context.Context, n int, load func(ctx context.Context, i int) error) []error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			dataloader.FromContext(ctx).Go(ctx, func(ctx context.Context) {
				defer wg.Done()
				errs[i] = load(ctx, i)
			})
		}
		wg.Wait()
		return errs
	}
	check := func(t *testing.T, r *faultdb.Injection, errs []error) {
		t.Helper()
		for i, err := range errs {
			if !errors.Is(err, faultdb.ErrInjected) {
				t.Fatalf("album %d: err %v, want the failure", i, err)
			}
		}
		if n := len(r.Faulted()); n != 1 {
			t.Errorf("%d statements for the tracks of %d albums, want 1", n, len(errs))
		}
	}
	t.Run("gorm", func(t *testing.T) {
		inj := faultdb.New()
		gdb, closeDB, err := gormexample.Open(testdb.SQLite(t).DSN, inj.Wrap)
		if err != nil {
			t.Fatal(err)
		}
		defer closeDB()
		if _, err := gormexample.Seed(context.Background(), gdb, exampleSize); err != nil {
			t.Fatal(err)
		}
		for range 10 {
			ctx, scope := dataloader.NewScope(gormloader.WithDB(context.Background(), gdb))
			var albums []models.Album
			if err := gdb.WithContext(ctx).Find(&albums).Error; err != nil {
				t.Fatal(err)
			}
			r := inj.Inject(tracks)
			check(t, r, concurrently(ctx, len(albums), func(ctx context.Context, i int) error {
				_, err := albums[i].LoadTracks(ctx)
				return err
			}))
			r.Remove()
			scope.Close()
		}
	})
	t.Run("ent", func(t *testing.T) {
		inj := faultdb.New()
		client, closeDB, err := entexample.Open(testdb.SQLite(t).DSN, inj.Wrap)
		if err != nil {
			t.Fatal(err)
		}
		defer closeDB()
		if _, err := entexample.Seed(context.Background(), client, exampleSize); err != nil {
			t.Fatal(err)
		}
		for range 10 {
			ctx, scope := dataloader.NewScope(context.Background())
			albums, err := client.Album.Query().All(ctx)
			if err != nil {
				t.Fatal(err)
			}
			r := inj.Inject(tracks)
			check(t, r, concurrently(ctx, len(albums), func(ctx context.Context, i int) error {
				_, err := albums[i].Tracks(ctx)
				return err
			}))
			r.Remove()
			scope.Close()
		}
	})
}
