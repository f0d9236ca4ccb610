package gormloader_test

// Found by the differential test on generated schemas (internal/difftest;
// its doc lists what it found).

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/internal/testdb"
)

// openModels returns a fresh database of dialect ("postgres" or "mysql") with
// models migrated, or skips.
func openModels(t *testing.T, dialect string, models ...any) *gorm.DB {
	t.Helper()
	return openModelsCollated(t, dialect, "", models...)
}

// openModelsCollated is openModels with coll as the MySQL database's
// default collation (unless ""), and without foreign key constraints: a key
// that one collation equates with its parent's another does not.
func openModelsCollated(t *testing.T, dialect, coll string, models ...any) *gorm.DB {
	t.Helper()
	var dial gorm.Dialector
	switch dialect {
	case "postgres":
		d, ok := testdb.Postgres(t)
		if !ok {
			t.Skip()
		}
		dial = postgres.Open(d.DSN)
	case "mysql":
		d, ok := testdb.MySQL(t)
		if !ok {
			t.Skip()
		}
		dial = mysql.Open(d.DSN)
	}
	db, err := gorm.Open(dial, &gorm.Config{Logger: logger.Discard, DisableForeignKeyConstraintWhenMigrating: coll != ""})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	t.Cleanup(func() { sqlDB.Close() })
	if coll != "" {
		must(t, db.Exec("ALTER DATABASE CHARACTER SET utf8mb4 COLLATE "+coll).Error)
	}
	if err := db.AutoMigrate(models...); err != nil {
		t.Fatal(err)
	}
	return db
}

type Owner struct {
	Code string `gorm:"primaryKey;size:8"`
	Pets []Pet  `gorm:"foreignKey:OwnerCode"`
}

type Pet struct {
	ID        uint
	OwnerCode string `gorm:"size:8"`
	Rank      int
	Owner     *Owner `gorm:"foreignKey:OwnerCode"`
}

// TestCollationEqualKeys: under MySQL's and MariaDB's default collations
// (case-insensitive, PAD SPACE), "AB" and "ab " equal the key "ab": the
// statement returns the rows and GORM's association finds them; gormloader
// dropped them when it grouped the rows by their Go key values (fixed by
// collate).
func TestCollationEqualKeys(t *testing.T) {
	db := openModels(t, "mysql", &Owner{}, &Pet{})
	must(t, db.Create(&Owner{Code: "ab"}).Error)
	must(t, db.Create(&[]Pet{{ID: 1, OwnerCode: "AB"}, {ID: 2, OwnerCode: "ab "}}).Error)
	must(t, db.Use(gormloader.New()))
	ctx, sc := dataloader.NewScope(context.Background())
	defer sc.Close()

	var pets []Pet
	must(t, db.WithContext(ctx).Order("id").Find(&pets).Error)
	for i := range pets {
		got, err := gormloader.LoadOne[Owner](ctx, db, &pets[i], "Owner")
		must(t, err)
		var want []Owner
		must(t, db.Model(&pets[i]).Association("Owner").Find(&want))
		if len(want) != 1 || got == nil {
			t.Errorf("pet %d (owner %q): LoadOne gives %v, the association %v", pets[i].ID, pets[i].OwnerCode, got, want)
		}
	}
	var owners []Owner
	must(t, db.WithContext(ctx).Find(&owners).Error)
	got, err := gormloader.Load[Pet](ctx, db, &owners[0], "Pets")
	must(t, err)
	var want []Pet
	must(t, db.Model(&owners[0]).Association("Pets").Find(&want))
	if len(got) != len(want) {
		t.Errorf("owner %q: Load gives %d pets, the association %d", owners[0].Code, len(got), len(want))
	}
}

type Rack struct {
	Code    string   `gorm:"primaryKey;size:16"`
	Volumes []Volume `gorm:"foreignKey:RackCode"`
	Tags    []Tag    `gorm:"many2many:rack_tags"`
}

type Volume struct {
	ID       uint
	RackCode string `gorm:"size:16"`
	Rack     *Rack  `gorm:"foreignKey:RackCode"`
}

type Tag struct {
	ID   uint
	Name string
}

// TestCollationAccentsAndExpansions: utf8mb4_general_ci equates 'fé', 'FÉ '
// and 'fe', utf8mb4_unicode_ci also 'straße' and 'STRASSE', which no fold
// in Go reproduces: the loader left such rows out of their parent's rows,
// count and page, and out of many-to-many and by-key results (and, with
// the count grouped by the collation, had lost a whole group's count when
// the group was keyed by "fé"). Now a batch with such keys asks the
// database for their weights (one more statement) and matches by them:
// every result equals what GORM's associations and First return.
func TestCollationAccentsAndExpansions(t *testing.T) {
	// (and three whose weights have levels, which equal strings need not
	// share: MariaDB's uca1400 ones that tell accents or case apart, and
	// thai_520_w2; their keys are grouped by the database's =)
	for _, coll := range []string{"utf8mb4_general_ci", "utf8mb4_unicode_ci", "utf8mb4_uca1400_as_ci", "utf8mb4_uca1400_ai_cs", "utf8mb4_thai_520_w2"} {
		t.Run(coll, func(t *testing.T) {
			db := openModelsCollated(t, "mysql", coll, &Rack{}, &Volume{}, &Tag{})
			codes := []string{"fe", "strasse", "ab", "zz"}
			for _, c := range codes {
				must(t, db.Create(&Rack{Code: c}).Error)
			}
			// (a trailing no-break or ideographic space pads as a space
			// does under unicode_ci, not under general_ci)
			for i, c := range []string{"fé", "fe", "FÉ ", "straße", "STRASSE", "ab", "áb", "zz", "ZZ", "ab\u00a0", "zz\u3000"} {
				must(t, db.Create(&Volume{ID: uint(i + 1), RackCode: c}).Error)
			}
			must(t, db.Create(&[]Tag{{ID: 1, Name: "one"}, {ID: 2, Name: "two"}}).Error)
			for i, link := range []string{"fé", "straße", "ab"} {
				must(t, db.Exec("INSERT INTO rack_tags (rack_code, tag_id) VALUES (?, ?)", link, i%2+1).Error)
			}
			must(t, db.Use(gormloader.New()))
			var c counter
			c.register(t, db)
			ctx, sc := dataloader.NewScope(context.Background())
			defer sc.Close()
			volumeIDs := func(bs []Volume) []uint {
				ids := make([]uint, len(bs))
				for i, b := range bs {
					ids[i] = b.ID
				}
				slices.Sort(ids)
				return ids
			}

			var racks []Rack
			must(t, db.WithContext(ctx).Order("code").Find(&racks).Error)
			type want struct {
				volumes []uint
				count   int64
				tags    int
			}
			wants := map[string]want{}
			for i := range racks {
				var vs []Volume
				must(t, db.Model(&racks[i]).Association("Volumes").Find(&vs))
				var ts []Tag
				must(t, db.Model(&racks[i]).Association("Tags").Find(&ts))
				wants[racks[i].Code] = want{volumes: volumeIDs(vs), count: db.Model(&racks[i]).Association("Volumes").Count(), tags: len(ts)}
			}
			c.reset()
			for i := range racks {
				r, w := &racks[i], wants[racks[i].Code]
				got, err := gormloader.Load[Volume](ctx, db, r, "Volumes")
				must(t, err)
				if !slices.Equal(volumeIDs(got), w.volumes) {
					t.Errorf("rack %q: volumes %v, the association %v", r.Code, volumeIDs(got), w.volumes)
				}
				n, err := gormloader.Count(ctx, db, r, "Volumes")
				must(t, err)
				if n != w.count {
					t.Errorf("rack %q: count %d, the association %d", r.Code, n, w.count)
				}
				page, err := gormloader.LoadPage[Volume](ctx, db, r, "Volumes", 2, gormloader.Order("id"))
				must(t, err)
				if !slices.Equal(volumeIDs(page.Rows), w.volumes[:min(2, len(w.volumes))]) || page.TotalCount != int64(len(w.volumes)) || page.HasNextPage != (len(w.volumes) > 2) {
					t.Errorf("rack %q: page %v of %d (more %v), the association's %v", r.Code, volumeIDs(page.Rows), page.TotalCount, page.HasNextPage, w.volumes)
				}
				tags, err := gormloader.Load[Tag](ctx, db, r, "Tags")
				must(t, err)
				if len(tags) != w.tags {
					t.Errorf("rack %q: %d tags, the association %d", r.Code, len(tags), w.tags)
				}
			}
			// four batches (rows, count, page, tags), each with the weights
			// of its keys if they are not all ASCII (under an
			// accent-sensitive collation some batches' are)
			weighs := 0
			c.mu.Lock()
			for _, q := range c.stmts {
				if strings.Contains(q, "WEIGHT_STRING(") || strings.Contains(q, "AS i, CONVERT(") {
					weighs++
				}
			}
			c.mu.Unlock()
			if want := 4; c.n()-weighs != want || weighs > want || !strings.Contains(coll, "_as_") && weighs != want {
				t.Errorf("%d statements, %d of them weights; want 4 batches and a statement of weights each:%s", c.n(), weighs, &c)
			}
			checkRackOfVolumes(t, ctx, db)
			for _, key := range []string{"FÉ", "STRAßE", "Áb", "xx", "ab\u00a0", "zz\u3000 "} {
				got, err := gormloader.ByID[Rack](ctx, db, key)
				var want Rack
				werr := db.First(&want, "code = ?", key).Error
				if (err == nil) != (werr == nil) || err == nil && got.Code != want.Code {
					t.Errorf("ByID(%q) = %v, %v; First: %v, %v", key, got, err, want, werr)
				}
			}
		})
	}
}

// checkRackOfVolumes compares each volume's rack (LoadOne, in one batch)
// with GORM's association.
func checkRackOfVolumes(t *testing.T, ctx context.Context, db *gorm.DB) {
	t.Helper()
	var volumes []Volume
	must(t, db.WithContext(ctx).Order("id").Find(&volumes).Error)
	for i := range volumes {
		got, err := gormloader.LoadOne[Rack](ctx, db, &volumes[i], "Rack")
		must(t, err)
		var want []Rack
		must(t, db.Model(&volumes[i]).Association("Rack").Find(&want))
		if (got == nil) != (len(want) == 0) || got != nil && got.Code != want[0].Code {
			t.Errorf("volume %d (rack %q): rack %v, the association %v", volumes[i].ID, volumes[i].RackCode, got, want)
		}
	}
}

// TestCollationTailoredComparesASCII: a language's collation compares even
// printable ASCII in ways that no fold reproduces (utf8mb4_turkish_ci: 'I'
// and 'i' differ, so "IT" and "it" are two racks; utf8mb4_czech_ci: 'ch' is
// one letter, and 'CH' and 'cH' differ): the fold handed each rack the
// other's volumes. Under such a collation every batch is matched by the
// database's weights.
func TestCollationTailoredComparesASCII(t *testing.T) {
	for coll, codes := range map[string][]string{
		"utf8mb4_turkish_ci":            {"it", "IT", "ab"},
		"utf8mb4_czech_ci":              {"CH", "cH", "ab"},
		"utf8mb4_uca1400_turkish_as_ci": {"it", "IT", "ab"},
	} {
		t.Run(coll, func(t *testing.T) {
			db := openModelsCollated(t, "mysql", coll, &Rack{}, &Volume{}, &Tag{})
			for i, c := range codes {
				must(t, db.Create(&Rack{Code: c}).Error)
				must(t, db.Create(&[]Volume{{ID: uint(2*i + 1), RackCode: c}, {ID: uint(2*i + 2), RackCode: strings.ToLower(c)}}).Error)
			}
			must(t, db.Use(gormloader.New()))
			ctx, sc := dataloader.NewScope(context.Background())
			defer sc.Close()
			var racks []Rack
			must(t, db.WithContext(ctx).Find(&racks).Error)
			for i := range racks {
				got, err := gormloader.Load[Volume](ctx, db, &racks[i], "Volumes")
				must(t, err)
				var want []Volume
				must(t, db.Model(&racks[i]).Association("Volumes").Find(&want))
				if len(got) != len(want) {
					t.Errorf("rack %q: %d volumes, the association %d", racks[i].Code, len(got), len(want))
				}
			}
			checkRackOfVolumes(t, ctx, db)
		})
	}
}

// petsOnOneConnection opens the owner "ab" and the pets "AB" and "ab " on
// MySQL, with gormloader, on a pool of one connection.
func petsOnOneConnection(t *testing.T) *gorm.DB {
	db := openModels(t, "mysql", &Owner{}, &Pet{})
	must(t, db.Create(&Owner{Code: "ab"}).Error)
	must(t, db.Create(&[]Pet{{ID: 1, OwnerCode: "AB"}, {ID: 2, OwnerCode: "ab "}}).Error)
	sqlDB, err := db.DB()
	must(t, err)
	sqlDB.SetMaxOpenConns(1)
	must(t, db.Use(gormloader.New()))
	return db
}

// TestCollationReadInATransaction: the collation is read on the batch's
// connection. With a pool of one connection, which a transaction holds, a
// read on the pool waited for its timeout (2 s) and the batch then compared
// keys exactly: the owner of the pet "AB" was nil.
func TestCollationReadInATransaction(t *testing.T) {
	db := petsOnOneConnection(t)
	ctx, sc := dataloader.NewScope(context.Background())
	defer sc.Close()
	tx := db.WithContext(ctx).Begin()
	defer tx.Rollback()
	var pets []Pet
	must(t, tx.Order("id").Find(&pets).Error)
	start := time.Now()
	for i := range pets {
		got, err := gormloader.LoadOne[Owner](ctx, tx, &pets[i], "Owner")
		must(t, err)
		if got == nil || got.Code != "ab" {
			t.Errorf("pet %d (owner %q): owner %v, want ab", pets[i].ID, pets[i].OwnerCode, got)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the loads took %v", d)
	}
}

// TestCollationFirstReadsDoNotWaitForEachOther: a first read of the
// collation on the pool (request B's count) waits for the pool's only
// connection, which a transaction of request A holds. A's own batch reads
// through the transaction and must not wait for B's read: with B's read
// holding the relation's lock, A waited until B's context ended (3 s here,
// forever without a deadline).
func TestCollationFirstReadsDoNotWaitForEachOther(t *testing.T) {
	db := petsOnOneConnection(t)
	var owner Owner
	must(t, db.First(&owner).Error)

	ctxA, scA := dataloader.NewScope(context.Background())
	defer scA.Close()
	tx := db.WithContext(ctxA).Begin() // the only connection
	defer tx.Rollback()
	bctx, cancelB := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancelB()
	ctxB, scB := dataloader.NewScope(bctx)
	defer scB.Close()
	bdone := make(chan error, 1)
	go func() {
		_, err := gormloader.Count(ctxB, db, &owner, "Pets") // waits for the pool
		bdone <- err
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	pets, err := gormloader.Load[Pet](ctxA, tx, &owner, "Pets")
	must(t, err)
	if d := time.Since(start); d > time.Second || len(pets) != 2 {
		t.Errorf("in the transaction: %d pets after %v; want 2 at once", len(pets), d)
	}
	must(t, tx.Rollback().Error) // frees the connection for B
	if err := <-bdone; err != nil {
		t.Errorf("B's count: %v", err)
	}
}

type Author struct {
	ID    uint
	Books []Book
	Posts []Post
}

type Book struct {
	ID       uint
	AuthorID uint
}

type Post struct {
	ID       uint
	AuthorID uint
}

// TestTransactionConcurrentRelations: two relations of the same rows loaded
// from concurrent goroutines (sibling GraphQL fields) in a transaction run
// their batches at the same time on the transaction's one connection, which
// failed with (fixed by relations.ConnLock):
// "conn busy" (pgx), "invalid connection" or "bad connection" (MySQL).
func TestTransactionConcurrentRelations(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			db := openModels(t, dialect, &Author{}, &Book{}, &Post{})
			for i := uint(1); i <= 20; i++ {
				must(t, db.Create(&Author{ID: i, Books: []Book{{ID: i}}, Posts: []Post{{ID: i}}}).Error)
			}
			must(t, db.Use(gormloader.New()))
			failed := 0
			for range 20 {
				func() {
					ctx, sc := dataloader.NewScope(context.Background())
					defer sc.Close()
					tx := db.WithContext(ctx).Begin()
					defer tx.Rollback()
					var authors []Author
					must(t, tx.Find(&authors).Error)
					var mu sync.Mutex
					var wg sync.WaitGroup
					for i := range authors {
						for _, rel := range []string{"Books", "Posts"} {
							wg.Go(func() {
								var err error
								if rel == "Books" {
									_, err = gormloader.Load[Book](ctx, tx, &authors[i], rel)
								} else {
									_, err = gormloader.Load[Post](ctx, tx, &authors[i], rel)
								}
								if err != nil {
									mu.Lock()
									failed++
									mu.Unlock()
								}
							})
						}
					}
					wg.Wait()
				}()
			}
			if failed > 0 {
				t.Errorf("%d of %d loads failed in 20 transactions", failed, 20*2*20)
			}
		})
	}
}

type Item struct {
	ID       uint
	ParentID *uint
	Parent   *Item
	Children []Item `gorm:"foreignKey:ParentID"`
}

// TestTransactionSequentialSelfRelation: a plain loop, no goroutines, in a
// transaction. On a relation of a model to itself the first load's results
// are recorded as a load set that takes over the next rows of the loop (a
// tie goes to the latest set); the next row's load claims it and dispatches
// a batch for its new keys in the background, since its own key is cached,
// and returns. That batch then ran on the transaction's connection while
// the loop's next statement did: "conn busy" or "invalid connection" (fixed:
// a load whose own key is cached enqueues no siblings, see
// dataloader.Loader.LoadWith).
func TestTransactionSequentialSelfRelation(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			db := openModels(t, dialect, &Item{})
			for i := uint(1); i <= 11; i++ { // a chain 1 <- 2 <- ... <- 11
				it := Item{ID: i}
				if i > 1 {
					p := i - 1
					it.ParentID = &p
				}
				must(t, db.Create(&it).Error)
			}
			must(t, db.Use(gormloader.New()))
			failed := 0
			for range 20 {
				func() {
					ctx, sc := dataloader.NewScope(context.Background())
					defer sc.Close()
					tx := db.WithContext(ctx).Begin()
					defer tx.Rollback()
					var items []Item
					must(t, tx.Where("id <= ?", 10).Order("id").Find(&items).Error)
					for i := range items {
						if _, err := gormloader.Load[Item](ctx, tx, &items[i], "Children"); err != nil {
							failed++
						}
						if _, err := gormloader.LoadOne[Item](ctx, tx, &items[i], "Parent"); err != nil {
							failed++
						}
					}
				}()
			}
			if failed > 0 {
				t.Errorf("%d of %d loads failed in 20 transactions of sequential loads", failed, 20*2*10)
			}
		})
	}
}

// TestCollationKeepsOrder: the pet whose key matches "ab" only under the
// collation comes after the exact match, whatever the Order.
func TestCollationKeepsOrder(t *testing.T) {
	db := openModels(t, "mysql", &Owner{}, &Pet{})
	must(t, db.Create(&Owner{Code: "ab"}).Error)
	must(t, db.Create(&[]Pet{{ID: 1, OwnerCode: "ab", Rank: 2}, {ID: 2, OwnerCode: "AB", Rank: 1}}).Error)
	must(t, db.Use(gormloader.New()))
	ctx, sc := dataloader.NewScope(context.Background())
	defer sc.Close()
	var o Owner
	must(t, db.WithContext(ctx).First(&o).Error)
	got, err := gormloader.Load[Pet](ctx, db, &o, "Pets", gormloader.Order("`rank`"))
	must(t, err)
	var want []Pet
	must(t, db.Model(&o).Order("`rank`").Association("Pets").Find(&want))
	if len(got) != 2 || len(want) != 2 || got[0].ID != want[0].ID {
		t.Errorf("Order(rank): gormloader %+v, the association %+v", got, want)
	}
	first, err := gormloader.LoadOne[Pet](ctx, db, &o, "Pets", gormloader.Order("`rank`"))
	must(t, err)
	if first == nil || first.ID != 2 {
		t.Errorf("LoadOne with Order(rank) = %+v, want pet 2 (rank 1)", first)
	}
}

// TestCollationBothKeysInOneBatch: pets 1 and 2 belong to owner "ab" under
// the collation; in one batch, the exact key won and "AB" got nothing
// (LoadOne nil, Count 0).
func TestCollationBothKeysInOneBatch(t *testing.T) {
	db := openModels(t, "mysql", &Owner{}, &Pet{})
	must(t, db.Create(&Owner{Code: "ab"}).Error)
	must(t, db.Create(&[]Pet{{ID: 1, OwnerCode: "ab"}, {ID: 2, OwnerCode: "AB"}}).Error)
	must(t, db.Use(gormloader.New()))
	ctx, sc := dataloader.NewScope(context.Background())
	defer sc.Close()
	var pets []Pet
	must(t, db.WithContext(ctx).Order("id").Find(&pets).Error)
	for i := range pets {
		got, err := gormloader.LoadOne[Owner](ctx, db, &pets[i], "Owner")
		must(t, err)
		var want []Owner
		must(t, db.Model(&pets[i]).Association("Owner").Find(&want))
		if got == nil || len(want) != 1 {
			t.Errorf("pet %d (owner %q): LoadOne = %v, the association %v", pets[i].ID, pets[i].OwnerCode, got, want)
		}
		n, err := gormloader.Count(ctx, db, &pets[i], "Owner")
		must(t, err)
		if n != 1 {
			t.Errorf("pet %d (owner %q): Count = %d, want 1", pets[i].ID, pets[i].OwnerCode, n)
		}
	}
}

var otherOwnerTable, otherPetTable string

type OtherOwner struct {
	Code string     `gorm:"primaryKey;size:8"`
	Pets []OtherPet `gorm:"foreignKey:OwnerCode"`
}

func (OtherOwner) TableName() string { return otherOwnerTable }

type OtherPet struct {
	ID        uint
	OwnerCode string `gorm:"size:8"`
}

func (OtherPet) TableName() string { return otherPetTable }

// TestCollationOfATableInAnotherDatabase: the collation of a table named
// with its database ("other.pets") is read from that database; it was looked
// for in the connection's, not found, and keys compared exactly (the pets
// "AB", "ab " and "áb" of the owner "ab" were left out).
func TestCollationOfATableInAnotherDatabase(t *testing.T) {
	db := openModels(t, "mysql")
	other := fmt.Sprintf("ormloader_other_%d", os.Getpid())
	must(t, db.Exec("CREATE DATABASE "+other+" CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci").Error)
	t.Cleanup(func() { db.Exec("DROP DATABASE " + other) })
	otherOwnerTable, otherPetTable = other+".owners", other+".pets"
	must(t, db.AutoMigrate(&OtherOwner{}, &OtherPet{}))
	must(t, db.Create(&OtherOwner{Code: "ab"}).Error)
	must(t, db.Create(&[]OtherPet{{ID: 1, OwnerCode: "AB"}, {ID: 2, OwnerCode: "ab "}, {ID: 3, OwnerCode: "áb"}, {ID: 4, OwnerCode: "ab"}}).Error)
	must(t, db.Use(gormloader.New()))
	ctx, sc := dataloader.NewScope(context.Background())
	defer sc.Close()
	var o OtherOwner
	must(t, db.WithContext(ctx).First(&o).Error)
	got, err := gormloader.Load[OtherPet](ctx, db, &o, "Pets")
	must(t, err)
	var want []OtherPet
	must(t, db.Model(&o).Association("Pets").Find(&want))
	if len(want) != 4 || len(got) != len(want) {
		t.Errorf("owner ab: %d pets, the association %d (want 4)", len(got), len(want))
	}
}
