package entloader_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/entloader/internal/plainent"
	"github.com/ormloader/ormloader/entloader/internal/plainent/city"
	"github.com/ormloader/ormloader/entloader/internal/plainent/country"
	"github.com/ormloader/ormloader/entloader/internal/plainent/migrate"
	"github.com/ormloader/ormloader/internal/testdb"
)

// TestStringKeysUnderCollation: on MySQL and MariaDB a string key column
// compares under its collation — utf8mb4_bin (ent's default) without
// trailing spaces, utf8mb4_general_ci without case too — so the statement
// for the country "fr" returns the cities whose country_code is "FR" or
// "fr ". Every load (one-to-many, its count and page, many-to-many, the
// many-to-one edge and Load by key) must return what the naive per-parent
// query returns, in one statement per relation. Before the loaders folded
// keys, such rows were dropped (the city's country was nil, Load "not
// found").
func TestStringKeysUnderCollation(t *testing.T) {
	for _, db := range testdb.All(t) {
		collations := []string{""}
		if db.Dialect == "mysql" {
			// and two whose weights differ from any fold: unicode_ci (a
			// trailing no-break space pads as a space does) and turkish_ci
			// ('I' and 'i' differ)
			collations = []string{"utf8mb4_bin", "utf8mb4_general_ci", "utf8mb4_unicode_ci", "utf8mb4_turkish_ci"}
		}
		for _, coll := range collations {
			t.Run(strings.TrimSuffix(db.Dialect+"/"+coll, "/"), func(t *testing.T) {
				if coll != "" && coll != collations[0] {
					var ok bool
					if db, ok = testdb.MySQL(t); !ok {
						t.Skip("no MySQL")
					}
				}
				checkStringKeys(t, db, coll)
			})
		}
	}
}

func checkStringKeys(t *testing.T, db testdb.DB, coll string) {
	// Without foreign keys: a city may name its country in another
	// spelling, and a MySQL column in a foreign key cannot change collation.
	client, c, sqldb := openPlainDB(t, db, migrate.WithForeignKeys(false))
	bg := context.Background()
	caseFolds := strings.Contains(coll, "_ci")
	if coll != "" {
		for _, table := range []string{country.Table, city.Table, country.TagsTable} {
			if _, err := sqldb.Exec("ALTER TABLE " + table + " CONVERT TO CHARACTER SET utf8mb4 COLLATE " + coll); err != nil {
				t.Fatal(err)
			}
		}
	}
	codes := []string{"fr", "DE", "es", "fe", "it"}
	if !caseFolds {
		// countries of their own unless case and accents fold
		// (utf8mb4_general_ci: 'fé' = 'fe')
		codes = append(codes, "FR", "fé")
	}
	if coll == "utf8mb4_turkish_ci" {
		codes = append(codes, "IT") // a country of its own: 'I' is not 'i' there
	}
	for _, code := range codes {
		client.Country.Create().SetID(code).SetName("country " + code).ExecX(bg)
	}
	for i, code := range []string{"fr", "FR", "fr ", "de", "DE", "es", "es  ", "xx", "Fr", "fé", "fe", "FÉ ", "fe\u00a0", "IT", "it"} {
		client.City.Create().SetName(fmt.Sprint("city", i)).SetCountryCode(code).ExecX(bg)
	}
	tags := client.Tag.CreateBulk(client.Tag.Create().SetName("t0"), client.Tag.Create().SetName("t1"),
		client.Tag.Create().SetName("t2")).SaveX(bg)
	for i, link := range []string{"fr", "FR ", "de", "es", "fé"} {
		if _, err := sqldb.Exec(rebind(db.Dialect, "INSERT INTO "+country.TagsTable+" ("+country.TagsPrimaryKey[0]+", "+
			country.TagsPrimaryKey[1]+") VALUES (?, ?)"), link, tags[i%len(tags)].ID); err != nil {
			t.Fatal(err)
		}
	}

	// What the naive per-parent queries return.
	ids := func(ns []*plainent.City) []int {
		out := make([]int, 0, len(ns))
		for _, n := range ns {
			out = append(out, n.ID)
		}
		slices.Sort(out)
		return out
	}
	countries := client.Country.Query().Order(country.ByID()).AllX(bg)
	type want struct {
		cities, page []int
		count        int
		more         bool
		tags         int
	}
	wants := map[string]want{}
	for _, co := range countries {
		all := client.City.Query().Where(city.CountryCode(co.ID)).AllX(bg)
		page := client.City.Query().Where(city.CountryCode(co.ID)).Order(city.ByID()).Limit(2).AllX(bg)
		wants[co.ID] = want{cities: ids(all), page: ids(page), count: len(all), more: len(all) > 2,
			tags: len(co.QueryTags().AllX(bg))}
	}
	cities := client.City.Query().Order(city.ByID()).AllX(bg)
	owners := map[int]string{}
	for _, ci := range cities {
		if co, err := client.Country.Query().Where(country.ID(ci.CountryCode)).Only(bg); err == nil {
			owners[ci.ID] = co.ID
		} else if !plainent.IsNotFound(err) {
			t.Fatal(err)
		}
	}
	if coll == "utf8mb4_general_ci" && (len(wants["fr"].cities) != 4 || len(wants["fe"].cities) != 3 || len(wants["it"].cities) != 2) ||
		coll == "utf8mb4_unicode_ci" && len(wants["fe"].cities) != 4 || coll == "utf8mb4_turkish_ci" && len(wants["it"].cities) != 1 ||
		coll == "utf8mb4_bin" && (len(wants["fr"].cities) != 2 || len(wants["fe"].cities) != 1) {
		t.Fatalf("the naive query found cities %v for fr, %v for fe, %v for it: the collation is not what the test means", wants["fr"].cities, wants["fe"].cities, wants["it"].cities)
	}

	// A first request reads the collations (outside the request's context,
	// once per client and column); the second is counted.
	for round := range 2 {
		c.reset()
		ctx, scope := dataloader.NewScope(bg)
		countries := client.Country.Query().Order(country.ByID()).AllX(ctx)
		for _, co := range countries {
			got, err := co.Cities(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if w := wants[co.ID]; !slices.Equal(ids(got), w.cities) {
				t.Errorf("%q cities %v, naive %v", co.ID, ids(got), w.cities)
			}
		}
		for _, co := range countries {
			n, err := co.CitiesCount(ctx)
			if err != nil || n != wants[co.ID].count {
				t.Errorf("%q count %d (%v), naive %d", co.ID, n, err, wants[co.ID].count)
			}
			p, err := co.CitiesPage(ctx, plainent.CityVariant{Order: []city.OrderOption{city.ByID()}, Limit: 2})
			if w := wants[co.ID]; err != nil || !slices.Equal(ids(p.Nodes), w.page) || p.TotalCount != w.count || p.HasNextPage != w.more {
				t.Errorf("%q page %v total %d more %v (%v), naive %v %d %v", co.ID, ids(p.Nodes), p.TotalCount, p.HasNextPage, err, w.page, w.count, w.more)
			}
			ts, err := co.Tags(ctx)
			if err != nil || len(ts) != wants[co.ID].tags {
				t.Errorf("%q tags %d (%v), naive %d", co.ID, len(ts), err, wants[co.ID].tags)
			}
		}
		cs := client.City.Query().Order(city.ByID()).AllX(ctx)
		for _, ci := range cs {
			co, err := ci.Country(ctx)
			switch owner, ok := owners[ci.ID]; {
			case !ok && co == nil:
			case err != nil || co == nil || co.ID != owner:
				t.Errorf("city %d (%q): country %v (%v), naive %q", ci.ID, ci.CountryCode, co, err, owner)
			}
		}
		if round == 1 {
			// countries, cities, counts, pages, tags, cities again, their
			// countries (the spellings no country query primed); under a
			// collation that is not binary, each of the five batches with
			// a key that is not ASCII ('fé') reads their weights too
			want := 7
			if caseFolds {
				want += 5
			}
			c.expect(t, "every relation", want)
		}
		for _, code := range []string{"FR", "fr ", "De", "xx", "fé", "FÉ", "fe ", "fe\u00a0", "IT"} {
			got, err := client.Country.Load(ctx, code)
			naive, nerr := client.Country.Get(bg, code)
			if (err == nil) != (nerr == nil) || err == nil && got.ID != naive.ID {
				t.Errorf("Load(%q) = %v, %v; Get: %v, %v", code, got, err, naive, nerr)
			}
		}
		scope.Close()
	}

	// A client whose first load runs in a transaction reads the collation
	// through the transaction's connection: with a pool of one connection,
	// which the transaction holds, a read on the pool waited for its
	// timeout and the batch compared keys exactly.
	sqldb.SetMaxOpenConns(1)
	other := plainent.NewClient(plainent.Driver(entsql.OpenDB(entDialects[db.Dialect], sqldb)))
	ctx, scope := dataloader.NewScope(bg)
	defer scope.Close()
	tx, err := other.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, code := range []string{"fr ", "De"} {
		start := time.Now()
		got, err := tx.Country.Load(ctx, code)
		if d := time.Since(start); d > time.Second {
			t.Errorf("in a transaction: Load(%q) took %v", code, d)
		}
		naive, nerr := tx.Country.Get(ctx, code)
		if (err == nil) != (nerr == nil) || err == nil && got.ID != naive.ID {
			t.Errorf("in a transaction: Load(%q) = %v, %v; Get: %v, %v", code, got, err, naive, nerr)
		}
	}
}

// rebind writes ? placeholders as PostgreSQL's $n.
func rebind(dialect, query string) string {
	if dialect != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestKeyFoldFirstReadsDoNotWaitForEachOther: a first read of a column's
// collation on the pool (request B) waits for the pool's only connection,
// which a transaction of request A holds; A's load reads through the
// transaction and must not wait for B's read (it did, under the column's
// lock, until B's context ended).
func TestKeyFoldFirstReadsDoNotWaitForEachOther(t *testing.T) {
	db, ok := testdb.MySQL(t)
	if !ok {
		t.Skip("no MySQL: set ORMLOADER_TEST_MYSQL_DSN")
	}
	client, _, sqldb := openPlainDB(t, db, migrate.WithForeignKeys(false))
	bg := context.Background()
	client.Country.Create().SetID("fr").SetName("France").ExecX(bg)
	sqldb.SetMaxOpenConns(1)

	ctxA, scopeA := dataloader.NewScope(bg)
	defer scopeA.Close()
	tx, err := client.Tx(ctxA) // the only connection
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	bctx, cancelB := context.WithTimeout(bg, 3*time.Second)
	defer cancelB()
	ctxB, scopeB := dataloader.NewScope(bctx)
	defer scopeB.Close()
	bdone := make(chan error, 1)
	go func() { _, err := client.Country.Load(ctxB, "fr "); bdone <- err }() // waits for the pool
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	c, err := tx.Country.Load(ctxA, "fr ") // "fr" under utf8mb4_bin's PAD SPACE
	if d := time.Since(start); err != nil || c.ID != "fr" || d > time.Second {
		t.Errorf("in the transaction: %v, %v after %v; want fr at once", c, err, d)
	}
	if err := tx.Rollback(); err != nil { // frees the connection for B
		t.Fatal(err)
	}
	if err := <-bdone; err != nil {
		t.Errorf("B's load: %v", err)
	}
}
