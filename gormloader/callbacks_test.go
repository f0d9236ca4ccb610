package gormloader_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
	"gorm.io/gorm/clause"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/gormloader/internal/music"
	"github.com/ormloader/ormloader/internal/testdb"
)

type hiddenKey struct{}

// hideWith registers the standard tenancy pattern, a Query callback before
// gorm:query that adds a condition from the statement's context: here it
// hides one person from contexts that carry hiddenKey. GORM's own Preload
// and Count honour it.
func hideWith(t *testing.T, db *gorm.DB) {
	t.Helper()
	must(t, db.Callback().Query().Before("gorm:query").Register("test:hide_person", func(db *gorm.DB) {
		name, ok := db.Statement.Context.Value(hiddenKey{}).(string)
		if !ok || db.Statement.Schema == nil || db.Statement.Schema.Table != "people" {
			return
		}
		db.Statement.AddClause(clause.Where{Exprs: []clause.Expression{
			clause.Neq{Column: clause.Column{Table: clause.CurrentTable, Name: "name"}, Value: name},
		}})
	}))
}

// Every statement of the loader runs the Query callbacks, as GORM's own
// equivalent does: many-to-many loads (one JOIN), their per-parent limits,
// and counts of both kinds. (Many-to-many and count loads used to run through
// Rows(), i.e. the Row callbacks, and returned the rows a tenant callback
// hides.)
func TestQueryCallbacksApplyToEveryStatement(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		hideWith(t, e.db)
		const hidden = "person 1"
		base := context.WithValue(context.Background(), hiddenKey{}, hidden)
		var want []music.Band
		must(t, e.db.WithContext(base).Preload("Members").Order("id").Find(&want).Error)
		for _, b := range want {
			for _, p := range b.Members {
				if p.Name == hidden {
					t.Fatal("the callback does not hide the person from Preload")
				}
			}
		}
		// The tenant is in the context before the scope opens, so the batches,
		// which run under the scope's context, see it.
		ctx, s := dataloader.NewScope(base)
		defer s.Close()
		var bands []music.Band
		must(t, e.db.WithContext(ctx).Order("id").Find(&bands).Error)
		checked := 0
		counts := make([]int64, len(bands))
		e.count.expect(t, 3, "members, first member, member counts", func() {
			for i := range bands {
				got, err := gormloader.Load[music.Person](ctx, e.db, &bands[i], "Members")
				must(t, err)
				if (len(got) > 0 || len(want[i].Members) > 0) && !reflect.DeepEqual(sorted(got), sorted(want[i].Members)) {
					t.Errorf("band %d: members %+v, Preload gives %+v", i, got, want[i].Members)
				}
				first, err := gormloader.Load[music.Person](ctx, e.db, &bands[i], "Members", gormloader.Limit(1), gormloader.Order("name"))
				must(t, err)
				for _, p := range first {
					if p.Name == hidden {
						t.Errorf("band %d: the per-parent limit returns the hidden person", i)
					}
				}
				counts[i], err = gormloader.Count(ctx, e.db, &bands[i], "Members")
				must(t, err)
				checked += len(want[i].Members)
			}
		})
		if checked == 0 {
			t.Fatal("no band has a visible member")
		}
		for i := range bands {
			wantN := e.db.WithContext(base).Model(&bands[i]).Association("Members").Count()
			if counts[i] != wantN || wantN != int64(len(want[i].Members)) {
				t.Errorf("band %d: count %d, GORM's Count %d, Preload %d rows", i, counts[i], wantN, len(want[i].Members))
			}
		}
	})
}

// A plugin that replaces gorm:query after gormloader was installed takes the
// loader's statements away from it: the loads that need it say so.
func TestQueryCallbackReplacedLater(t *testing.T) {
	d := testdb.SQLite(t)
	e := open(t, d)
	seed(t, e.db, 3)
	must(t, e.db.Callback().Query().Replace("gorm:query", callbacks.Query))
	ctx := scope(t)
	var bands []music.Band
	must(t, e.db.WithContext(ctx).Find(&bands).Error)
	if _, err := gormloader.Load[music.Person](ctx, e.db, &bands[0], "Members"); !errors.Is(err, gormloader.ErrQueryReplaced) {
		t.Fatalf("many2many load after gorm:query was replaced: %v, want ErrQueryReplaced", err)
	}
	if _, err := gormloader.Load[music.Album](ctx, e.db, &bands[0], "Albums"); err != nil {
		t.Fatalf("has-many loads need no own scan: %v", err)
	}
}
