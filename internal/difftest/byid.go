package difftest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/ormloader/ormloader/gormloader"
)

// checkByID checks ByID and ByIDs on a few models against a naive query by
// primary key: rows that exist, soft-deleted ones and missing keys, with the
// keys given as the field's Go type, as int64, or as int; ByIDs in one
// statement, ByID in a loop and from goroutines.
func (e *env) checkByID(t *testing.T, ds *dataset, r *rand.Rand) {
	for _, m := range e.mt.models {
		if r.IntN(2) == 0 {
			continue
		}
		rows := ds.rows[m]
		var ids [][]any
		for range min(len(rows), 1+r.IntN(4)) {
			row := rows[r.IntN(len(rows))]
			id := make([]any, len(m.s.PrimaryFields))
			for i, f := range m.s.PrimaryFields {
				id[i] = keyArg(r, f.FieldType, row[f.DBName])
			}
			ids = append(ids, id)
		}
		missing := make([]any, len(m.s.PrimaryFields))
		for i, f := range m.s.PrimaryFields {
			missing[i] = int64(99999)
			if kindOf(f).base == reflect.String {
				missing[i] = "missing"
			}
			missing[i] = keyArg(r, f.FieldType, missing[i])
		}
		ids = append(ids, missing)
		want := make([]reflect.Value, len(ids)) // *T, nil for none
		for i, id := range ids {
			want[i] = e.naiveByID(t, m, id)
		}
		e.checkByIDs(t, m, ids, want)
		for _, concurrent := range []bool{false, true} {
			e.checkByIDLoop(t, m, ids, want, concurrent)
		}
	}
}

// keyArg returns v (an int64 or a string) as a caller would pass it: as the
// field's own type, or for an integer key as int64 or int.
func keyArg(r *rand.Rand, t reflect.Type, v any) any {
	i, ok := v.(int64)
	if !ok {
		return v
	}
	switch r.IntN(3) {
	case 0:
		return reflect.ValueOf(i).Convert(t).Interface()
	case 1:
		return i
	}
	return int(i)
}

func (e *env) naiveByID(t *testing.T, m *modelMeta, id []any) reflect.Value {
	cond := map[string]any{}
	for i, f := range m.s.PrimaryFields {
		cond[f.DBName] = id[i]
	}
	dest := reflect.New(reflect.SliceOf(m.typ))
	if err := e.db.Session(&gorm.Session{NewDB: true}).Where(cond).Find(dest.Interface()).Error; err != nil {
		t.Fatalf("naive by id %v: %v", id, err)
	}
	if dest.Elem().Len() == 0 {
		return reflect.Zero(reflect.PointerTo(m.typ))
	}
	return dest.Elem().Index(0).Addr()
}

func (e *env) checkByIDs(t *testing.T, m *modelMeta, ids [][]any, want []reflect.Value) {
	if len(m.s.PrimaryFields) != 1 {
		return
	}
	p := newProbe(e.db)
	defer p.close()
	flat := make([]any, len(ids))
	for i, id := range ids {
		flat[i] = id[0]
	}
	var res any
	err := safe(func() (err error) {
		res, err = m.byIDs(p.ctx, e.db, flat)
		return err
	})
	if err != nil {
		t.Errorf("%s (%s): ByIDs[%s](%s): %v", e.schema, e.dialect, m.name(), formatArgs(flat), err)
		return
	}
	if stmts := p.take(); len(stmts) > 1 {
		t.Errorf("%s (%s): ByIDs[%s](%s): %d statements, want 1:%s", e.schema, e.dialect, m.name(), formatArgs(flat), len(stmts), listStatements(stmts))
	}
	got := reflect.ValueOf(res)
	if got.Len() != len(ids) {
		t.Errorf("%s (%s): ByIDs[%s](%s): %d results for %d ids", e.schema, e.dialect, m.name(), formatArgs(flat), got.Len(), len(ids))
		return
	}
	for i := range ids {
		if d := diffPtr(got.Index(i), want[i]); d != "" {
			t.Errorf("%s (%s): ByIDs[%s](%s)[%d] (id %#v): %s", e.schema, e.dialect, m.name(), formatArgs(flat), i, flat[i], d)
		}
	}
}

func (e *env) checkByIDLoop(t *testing.T, m *modelMeta, ids [][]any, want []reflect.Value, concurrent bool) {
	p := newProbe(e.db)
	defer p.close()
	got := make([]reflect.Value, len(ids))
	errs := make([]error, len(ids))
	one := func(i int) {
		errs[i] = safe(func() error {
			res, err := m.byID(p.ctx, e.db, ids[i])
			got[i] = reflect.ValueOf(res)
			return err
		})
	}
	if concurrent {
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() { one(i) })
		}
		wg.Wait()
	} else {
		for i := range ids {
			one(i)
		}
	}
	if stmts := p.take(); len(stmts) > len(ids) {
		t.Errorf("%s (%s): %d ByID[%s] calls (concurrent=%v): %d statements:%s", e.schema, e.dialect, len(ids), m.name(), concurrent, len(stmts), listStatements(stmts))
	}
	for i, id := range ids {
		call := fmt.Sprintf("%s (%s): ByID[%s](%s) (concurrent=%v)", e.schema, e.dialect, m.name(), formatArgs(id), concurrent)
		switch {
		case want[i].IsNil():
			if !errors.Is(errs[i], gormloader.ErrNotFound) || !errors.Is(errs[i], gorm.ErrRecordNotFound) {
				t.Errorf("%s: error %v, want one matching ErrNotFound and gorm.ErrRecordNotFound", call, errs[i])
			}
		case errs[i] != nil:
			t.Errorf("%s: %v; the naive query finds %s", call, errs[i], jsonOf(want[i].Elem()))
		default:
			if d := diffPtr(got[i], want[i]); d != "" {
				t.Errorf("%s: %s", call, d)
			}
		}
	}
}

// diffPtr compares two *T results (nil for none).
func diffPtr(got, want reflect.Value) string {
	switch {
	case got.IsNil() && want.IsNil():
		return ""
	case got.IsNil():
		return "nil, the naive query finds " + jsonOf(want.Elem())
	case want.IsNil():
		return jsonOf(got.Elem()) + ", the naive query finds none"
	}
	if a, b := jsonOf(got.Elem()), jsonOf(want.Elem()); a != b {
		return a + ", the naive query finds " + b
	}
	if !reflect.DeepEqual(got.Elem().Interface(), want.Elem().Interface()) {
		return fmt.Sprintf("same JSON, different Go values: %#v vs %#v", got.Elem().Interface(), want.Elem().Interface())
	}
	return ""
}
