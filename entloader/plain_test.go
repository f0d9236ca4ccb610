package entloader_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/entloader/internal/plainent"
	"github.com/ormloader/ormloader/entloader/internal/plainent/author"
	"github.com/ormloader/ormloader/entloader/internal/plainent/tag"
	"github.com/ormloader/ormloader/internal/testdb"
)

// openPlain opens a plainent client on db with its schema created, and the
// counter of its statements; the client is closed when t ends.
func openPlain(t *testing.T, db testdb.DB) (*plainent.Client, *counter) {
	t.Helper()
	client, c, _ := openPlainDB(t, db)
	return client, c
}

// openPlainDB is openPlain with the schema created with opts, and the
// *sql.DB under the client.
func openPlainDB(t *testing.T, db testdb.DB, opts ...schema.MigrateOption) (*plainent.Client, *counter, *sql.DB) {
	t.Helper()
	sqldb, err := sql.Open(db.DriverName, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{Driver: entsql.OpenDB(entDialects[db.Dialect], sqldb)}
	client := plainent.NewClient(plainent.Driver(c))
	t.Cleanup(func() { client.Close() })
	if err := client.Schema.Create(context.Background(), opts...); err != nil {
		t.Fatal(err)
	}
	return client, c, sqldb
}

// TestWithoutEntGQL runs the code generated without entgql (the edge methods
// come from entloader's template).
func TestWithoutEntGQL(t *testing.T) {
	for _, db := range testdb.All(t) {
		t.Run(db.Dialect, func(t *testing.T) {
			client, c := openPlain(t, db)
			bg := context.Background()
			var tags []*plainent.Tag
			for i := range 4 {
				tg, err := client.Tag.Create().SetName(fmt.Sprint("tag", i)).Save(bg)
				if err != nil {
					t.Fatal(err)
				}
				tags = append(tags, tg)
			}
			for i := range 5 {
				a, err := client.Author.Create().SetName(fmt.Sprint("author", i)).Save(bg)
				if err != nil {
					t.Fatal(err)
				}
				for k := range i {
					if _, err := client.Post.Create().SetTitle(fmt.Sprint(i, k)).SetAuthor(a).AddTags(tags[:k+1]...).Save(bg); err != nil {
						t.Fatal(err)
					}
				}
			}
			ctx, scope := dataloader.NewScope(bg)
			defer scope.Close()
			c.reset()
			posts, err := client.Post.Query().All(ctx)
			if err != nil {
				t.Fatal(err)
			}
			ntags := 0
			for _, p := range posts {
				a, err := p.Author(ctx)
				if err != nil || a == nil {
					t.Fatalf("post %d author: %v %v", p.ID, a, err)
				}
				ts, err := p.Tags(ctx)
				if err != nil {
					t.Fatal(err)
				}
				ntags += len(ts)
				first, err := p.TagsWith(ctx, plainent.TagVariant{Order: []tag.OrderOption{tag.ByName()}, Limit: 1})
				if err != nil || len(first) != 1 || first[0].Name != "tag0" {
					t.Fatalf("post %d first tag: %v %v", p.ID, first, err)
				}
			}
			if len(posts) != 10 || ntags != 20 {
				t.Errorf("%d posts, %d tags", len(posts), ntags)
			}
			c.expect(t, "posts, authors, tags, first tag", 4)
		})
	}
}

// TestModifiedQueryDoesNotPrime: a query result primes the primary-key loader
// that many-to-one edges use (a post's author already read is no
// statement), but not the rows of a query whose Modify selected fewer
// columns: a later load would get an author without its name.
func TestModifiedQueryDoesNotPrime(t *testing.T) {
	for _, db := range testdb.All(t) {
		t.Run(db.Dialect, func(t *testing.T) {
			client, c := openPlain(t, db)
			bg := context.Background()
			a, err := client.Author.Create().SetName("ada").Save(bg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.Post.Create().SetTitle("p").SetAuthor(a).Save(bg); err != nil {
				t.Fatal(err)
			}
			for _, q := range []struct {
				name    string
				authors func(context.Context) ([]*plainent.Author, error)
				want    int // statements of the post's author
			}{
				{"plain query", client.Author.Query().All, 0},
				{"Modify selecting the id only", client.Author.Query().Modify(func(s *entsql.Selector) {
					s.Select(s.C(author.FieldID))
				}).All, 1},
			} {
				ctx, scope := dataloader.NewScope(bg)
				if _, err := q.authors(ctx); err != nil {
					t.Fatal(err)
				}
				// The post as a loader reads it: with its hidden foreign
				// key, so its author goes through the primary-key loader.
				posts, err := a.Posts(ctx)
				if err != nil || len(posts) != 1 {
					t.Fatalf("%s: posts %v, %v", q.name, posts, err)
				}
				p := posts[0]
				c.reset()
				got, err := p.Author(ctx)
				if err != nil || got.Name != "ada" {
					t.Errorf("%s: author %+v, %v; want ada", q.name, got, err)
				}
				c.expect(t, q.name, q.want)
				scope.Close()
			}
		})
	}
}
