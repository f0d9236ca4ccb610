package gormloader_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/gormloader/internal/music"
	"github.com/ormloader/ormloader/relations"
)

// A page per parent (LoadPage) is the page, whether more rows follow and the
// count of the rows its filter keeps, in one statement for every band of
// the query result: checked against the same page computed with plain GORM
// queries (a count and a limited query per band), over page sizes, cursors
// (none, before every row, between rows, past the last), filters and
// orders, on a has-many (with soft delete), a polymorphic has-many and a
// many-to-many relation.
func TestPageMatchesPlainQueries(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		var albums []music.Album
		must(t, e.db.Order("id").Find(&albums).Error)
		must(t, e.db.Delete(&albums[2]).Error) // soft-deleted: in no page and no count
		type pageCase struct {
			relation string
			plain    func(db *gorm.DB, b *music.Band, dest any) *gorm.DB // the band's rows of the relation
			where    []any                                               // Where's query and args, if any
			after    []any                                               // After's query and args, if any
			order    string
		}
		var cases []pageCase
		albumsOf := func(db *gorm.DB, b *music.Band, dest any) *gorm.DB {
			return db.Model(&music.Album{}).Where("band_id = ?", b.ID)
		}
		commentsOf := func(db *gorm.DB, b *music.Band, dest any) *gorm.DB {
			return db.Model(&music.Comment{}).Where("owner_type = ? AND owner_id = ?", "bands", b.ID)
		}
		membersOf := func(db *gorm.DB, b *music.Band, dest any) *gorm.DB {
			return db.Model(&music.Person{}).Where("id IN (?)", db.Table("band_members").Select("person_id").Where("band_id = ?", b.ID))
		}
		for _, cursor := range []uint{0, albums[1].ID, albums[len(albums)/2].ID, albums[len(albums)-1].ID} {
			after := []any{"id > ?", cursor}
			cases = append(cases,
				pageCase{"Albums", albumsOf, nil, after, ""},
				pageCase{"Albums", albumsOf, []any{"year > ?", 1995}, after, ""},
				pageCase{"Albums", albumsOf, nil, after, "year DESC, id"},
			)
		}
		cases = append(cases,
			pageCase{"Albums", albumsOf, nil, nil, ""},
			pageCase{"Albums", albumsOf, nil, nil, "title DESC, id"},
			pageCase{"Comments", commentsOf, nil, nil, ""},
			pageCase{"Comments", commentsOf, nil, []any{"id > ?", 2}, ""},
			pageCase{"Members", membersOf, nil, nil, ""},
			pageCase{"Members", membersOf, nil, []any{"people.id > ?", 2}, "people.id"},
		)
		for _, c := range cases {
			for _, size := range []int{0, 1, 2, 5} {
				t.Run(fmt.Sprintf("%s where %v after %v order %q size %d", c.relation, c.where, c.after, c.order, size), func(t *testing.T) {
					var opts []gormloader.LoadOption
					if c.where != nil {
						opts = append(opts, gormloader.Where(c.where[0].(string), c.where[1:]...))
					}
					if c.after != nil {
						opts = append(opts, gormloader.After(c.after[0].(string), c.after[1:]...))
					}
					if c.order != "" {
						opts = append(opts, gormloader.Order(c.order))
					}
					ctx := scope(t)
					var bands []music.Band
					must(t, e.db.WithContext(ctx).Order("id").Find(&bands).Error)
					e.count.reset()
					got := make([]gormloader.Page[int], len(bands)) // IDs only
					for i := range bands {
						switch c.relation {
						case "Albums":
							got[i] = pageIDs(t, ctx, e.db, &bands[i], c.relation, size, opts, func(a music.Album) int { return int(a.ID) })
						case "Comments":
							got[i] = pageIDs(t, ctx, e.db, &bands[i], c.relation, size, opts, func(cm music.Comment) int { return int(cm.ID) })
						case "Members":
							got[i] = pageIDs(t, ctx, e.db, &bands[i], c.relation, size, opts, func(p music.Person) int { return int(p.ID) })
						}
					}
					if n := e.count.n(); n != 1 {
						t.Errorf("%d statements for the pages of %d bands, want 1:\n%s", n, len(bands), e.count)
					}
					// The form that costs least on each dialect (see
					// benchmarks/statements): LATERAL on PostgreSQL, a count
					// per returned row on SQLite, COUNT(*) OVER on MariaDB.
					first := e.count.first()
					if strings.Contains(first, "LATERAL") != (e.dialect == "postgres") || strings.Contains(first, "COUNT(*) OVER") != (e.dialect == "mysql") {
						t.Errorf("%s page statement: %s", e.dialect, first)
					}
					for i := range bands {
						b := &bands[i]
						q := c.plain(e.db, b, nil)
						if c.where != nil {
							q = q.Where(c.where[0], c.where[1:]...)
						}
						var total int64
						must(t, q.Session(&gorm.Session{}).Count(&total).Error)
						q = c.plain(e.db, b, nil)
						if c.where != nil {
							q = q.Where(c.where[0], c.where[1:]...)
						}
						if c.after != nil {
							q = q.Where(c.after[0], c.after[1:]...)
						}
						order := c.order
						if order == "" {
							order = "id"
						}
						var ids []int
						must(t, q.Order(order).Limit(size+1).Pluck("id", &ids).Error)
						want := gormloader.Page[int]{Rows: ids[:min(size, len(ids))], HasNextPage: len(ids) > size, TotalCount: total}
						if g := got[i]; g.TotalCount != want.TotalCount || g.HasNextPage != want.HasNextPage || !slices.Equal(g.Rows, want.Rows) {
							t.Errorf("band %d: page %v (more %v) of %d, want %v (more %v) of %d", b.ID, g.Rows, g.HasNextPage, g.TotalCount, want.Rows, want.HasNextPage, want.TotalCount)
						}
					}
				})
			}
		}
		t.Run("errors", func(t *testing.T) {
			ctx := scope(t)
			var b music.Band
			must(t, e.db.First(&b).Error)
			for name, load := range map[string]func() error{
				"negative size": func() error {
					_, err := gormloader.LoadPage[music.Album](ctx, e.db, &b, "Albums", -1)
					return err
				},
				"Limit": func() error {
					_, err := gormloader.LoadPage[music.Album](ctx, e.db, &b, "Albums", 2, gormloader.Limit(3))
					return err
				},
				"After without LoadPage": func() error {
					_, err := gormloader.Load[music.Album](ctx, e.db, &b, "Albums", gormloader.After("id > ?", 1))
					return err
				},
				"After's arguments": func() error {
					_, err := gormloader.LoadPage[music.Album](ctx, e.db, &b, "Albums", 2, gormloader.After("id > ?"))
					return err
				},
				"a to-one relation": func() error {
					_, err := gormloader.LoadPage[music.Label](ctx, e.db, &b, "Label", 2)
					return err
				},
			} {
				if err := load(); !errors.Is(err, gormloader.ErrInvalidOption) {
					t.Errorf("%s: %v, want ErrInvalidOption", name, err)
				}
			}
		})
	})
}

// pageIDs loads a page of T and keeps its rows' IDs.
func pageIDs[T any](t *testing.T, ctx context.Context, db *gorm.DB, parent *music.Band, relation string, size int, opts []gormloader.LoadOption, id func(T) int) gormloader.Page[int] {
	t.Helper()
	p, err := gormloader.LoadPage[T](ctx, db, parent, relation, size, opts...)
	if err != nil {
		t.Fatal(err)
	}
	out := gormloader.Page[int]{HasNextPage: p.HasNextPage, TotalCount: p.TotalCount, Rows: []int{}}
	for _, r := range p.Rows {
		out.Rows = append(out.Rows, id(r))
	}
	return out
}

// A page's rows are its load set; the row past the page and the row that
// carries a count are not: the next level loads for the pages' rows only.
func TestPageLoadSetIsThePage(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := scope(t)
		var bands []music.Band
		must(t, e.db.WithContext(ctx).Order("id").Find(&bands).Error)
		var albums []music.Album
		for i := range bands {
			page, err := gormloader.LoadPage[music.Album](ctx, e.db, &bands[i], "Albums", 1, gormloader.After("id > ?", 1))
			must(t, err)
			albums = append(albums, page.Rows...)
		}
		s := dataloader.FromContext(ctx)
		before := s.Stats().Keys
		for i := range albums {
			_, err := gormloader.Load[music.Track](ctx, e.db, &albums[i], "Tracks")
			must(t, err)
		}
		if keys := s.Stats().Keys - before; keys != int64(len(albums)) {
			t.Errorf("the tracks of %d albums of pages loaded %d keys", len(albums), keys)
		}
	})
}

// On PostgreSQL a relation's keys are one parameter from
// relations.ArrayMinKeys keys on (= ANY of an array literal): batches of any
// such size run one statement text, which pgx prepares once per connection.
// Smaller batches, and other dialects, bind an IN list of one parameter each.
func TestKeyListIsOneParameter(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		extra := make([]music.Band, 2*relations.ArrayMinKeys)
		for i := range extra {
			extra[i].Name = fmt.Sprint("extra ", i)
		}
		must(t, e.db.Create(&extra).Error)
		texts := map[int]string{}
		for _, n := range []int{3, relations.ArrayMinKeys, 2 * relations.ArrayMinKeys} {
			ctx := scope(t)
			var bands []music.Band
			must(t, e.db.WithContext(ctx).Order("id").Limit(n).Find(&bands).Error)
			e.count.reset()
			_, err := gormloader.Load[music.Album](ctx, e.db, &bands[0], "Albums")
			must(t, err)
			texts[n] = e.count.first()
		}
		small, large, larger := texts[3], texts[relations.ArrayMinKeys], texts[2*relations.ArrayMinKeys]
		pg := e.dialect == "postgres"
		if strings.Contains(small, "ANY(") || (large == larger) != pg || strings.Contains(large, "= ANY(") != pg {
			t.Errorf("%s: the statements of batches of 3, %d and %d keys:\n%s\n%s\n%s", e.dialect, relations.ArrayMinKeys, 2*relations.ArrayMinKeys, small, large, larger)
		}
	})
}
