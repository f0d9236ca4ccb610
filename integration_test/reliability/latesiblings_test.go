package reliability

import (
	"context"
	"errors"
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
