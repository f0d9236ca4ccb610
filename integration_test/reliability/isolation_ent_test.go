package reliability

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/ormloader/ormloader/ent"
	"github.com/ormloader/ormloader/ent/album"
	entexample "github.com/ormloader/ormloader/examples/ent-gqlgen/server"
	"github.com/ormloader/ormloader/integration_test/reliability/internal/entapp"
	"github.com/ormloader/ormloader/internal/testdb"
)

// viewers is the number of viewers of the ent privacy test.
const viewers = 50

// isolationSize is the example data set of the ent privacy test: 4 bands
// of 1 to 3 albums (9 in all), 2 members each out of 8 people.
var isolationSize = entexample.Size{Labels: 2, Bands: 4, Albums: 3, Tracks: 1, Members: 2}

func viewerName(i int) string { return fmt.Sprintf("viewer%02d", i%viewers) }

// openEnt opens a client of the reference ent schema on db, with at most 8
// connections (test packages share the database servers), and creates the
// schema.
func openEnt(t *testing.T, db testdb.DB) *ent.Client {
	t.Helper()
	sqlDB, err := sql.Open(db.DriverName, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	sqlDB.SetMaxOpenConns(8)
	dialect := map[string]string{"sqlite": dialect.SQLite, "postgres": dialect.Postgres, "mysql": dialect.MySQL}[db.Dialect]
	client := ent.NewClient(ent.Driver(entsql.OpenDB(dialect, sqlDB)))
	if err := client.Schema.Create(context.Background()); err != nil {
		t.Fatal(err)
	}
	return client
}

// seedReviews adds 10 reviews by 10 different viewers to every album, and
// a second one by the first three of them, so that every album has reviews
// the Review privacy policy must hide from most viewers. It returns the ID
// of one review of each viewer.
func seedReviews(ctx context.Context, t *testing.T, client *ent.Client) map[string]int {
	t.Helper()
	albums, err := client.Album.Query().Order(album.ByID()).All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var bulk []*ent.ReviewCreate
	for i, a := range albums {
		for j := range 13 {
			author := viewerName(i*10 + j%10)
			bulk = append(bulk, client.Review.Create().SetAlbumID(a.ID).SetAuthor(author).
				SetStars(1+(i+j)%5).SetBody(fmt.Sprintf("%s on album %d", author, a.ID)))
		}
	}
	for chunk := range slices.Chunk(bulk, 100) {
		if err := client.Review.CreateBulk(chunk...).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	reviews, err := client.Review.Query().All(ctx) // no viewer: every review
	if err != nil {
		t.Fatal(err)
	}
	one := make(map[string]int)
	for _, r := range reviews {
		if _, ok := one[r.Author]; !ok {
			one[r.Author] = r.ID
		}
	}
	return one
}

// viewerQueries are the ent privacy test's queries for viewer v: reviews
// below one-to-many, many-to-one and many-to-many edges, with a count and a
// per-album limit, and two reviews by ID (v's own, and another viewer's).
func viewerQueries(v int, reviewOf map[string]int) []string {
	return []string{
		`{ albums { id title reviews { id author stars album { id title reviews { id author } } }
			topReviews(first: 1) { id author stars } reviewCount } }`,
		`{ people { id bands { id albums { id reviewCount topReviews(first: 2) { id author } } } } }`,
		fmt.Sprintf(`{ own: review(id: %d) { id author album { id reviewCount band { id members { id } } } }
			foreign: review(id: %d) { id author } }`, reviewOf[viewerName(v)], reviewOf[viewerName(v+1)]),
	}
}

// foreignReviews returns the paths of the reviews in data whose author is
// not viewer, and of the albums whose reviewCount is not the number of
// their reviews listed.
func foreignReviews(data any, viewer string) []string {
	var out []string
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch v := v.(type) {
		case map[string]any:
			if a, ok := v["author"]; ok && a != viewer {
				out = append(out, fmt.Sprintf("%s (by %v)", path, a))
			}
			if n, ok := v["reviewCount"].(float64); ok {
				if list, ok := v["reviews"].([]any); ok && len(list) != int(n) {
					out = append(out, fmt.Sprintf("%s.reviewCount (%v, for %d reviews)", path, n, len(list)))
				}
			}
			for k, x := range v {
				walk(x, path+"."+k)
			}
		case []any:
			for i, x := range v {
				walk(x, path+"."+strconv.Itoa(i))
			}
		}
	}
	walk(data, "")
	slices.Sort(out)
	return out
}

// TestEntPrivacyIsolation: concurrent requests of 50 viewers to a gqlgen
// server over the reference ent schema; each album has reviews of ten
// viewers, and no response may show a viewer another's review (or count
// it).
func TestEntPrivacyIsolation(t *testing.T) {
	for i, db := range testdb.All(t) {
		t.Run(db.Dialect, func(t *testing.T) {
			ctx := context.Background()
			client := openEnt(t, db)
			if _, err := entexample.Seed(ctx, client, isolationSize); err != nil {
				t.Fatal(err)
			}
			reviewOf := seedReviews(ctx, t, client)
			orm := startServer(t, "ormloader", entapp.Handler(client, false))
			naive := startServer(t, "naive", entapp.Handler(client, true))
			var cases []isoCase
			for v := range viewers {
				for _, q := range viewerQueries(v, reviewOf) {
					cases = append(cases, isoCase{who: viewerName(v), req: request{query: q, header: map[string]string{entapp.ViewerHeader: viewerName(v)}}})
				}
			}
			testIsolation(t, orm, naive, cases, isolationRequests(i), 32, foreignReviews)
		})
	}
}
