package difftest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// write makes one random write through GORM in the tree's scope, for the
// tree to run again after it: an update of a data column, a foreign key
// set to another parent or to NULL, a delete (soft where the model has
// gorm.DeletedAt), a new join row, or a join model's row deleted.
// gormloader must have cleared every
// cached result it changes. It returns what it wrote, or "" if it found
// nothing to write.
func (x *run) write(seed uint64) (string, error) {
	r := rand.New(rand.NewPCG(seed, 0x77726974))
	e := x.e
	db := e.db.WithContext(x.p.ctx)
	switch r.IntN(4) {
	case 0:
		m := e.mt.models[r.IntN(len(e.mt.models))]
		var cols []*schema.Field
		for _, f := range m.dataCols {
			if !f.PrimaryKey && !isUnique(f) {
				cols = append(cols, f)
			}
		}
		row := e.randomRow(r, m)
		if row == nil || len(cols) == 0 {
			return "", nil
		}
		f := cols[r.IntN(len(cols))]
		v := (&dataGen{r: r}).data(f)
		desc := fmt.Sprintf("db.Model(&%s%s).Update(%q, %#v)", m.name(), jsonOf(reflect.ValueOf(row).Elem()), f.DBName, v)
		coverKey("(write) update", true)
		return desc, db.Model(row).Update(f.DBName, v).Error
	case 1:
		if len(e.mt.fks) == 0 {
			return "", nil
		}
		fk := e.mt.fks[r.IntN(len(e.mt.fks))]
		row := e.randomRow(r, fk.table)
		if row == nil {
			return "", nil
		}
		set := map[string]any{}
		ref := e.randomRow(r, fk.ref)
		for i, c := range fk.cols {
			set[c.DBName] = nil
			if ref != nil && (r.IntN(4) > 0 || !kindOf(c).nullable) {
				set[c.DBName], _ = fk.refCols[i].ValueOf(context.Background(), reflect.ValueOf(ref).Elem())
			}
			if set[c.DBName] == nil && !kindOf(c).nullable {
				return "", nil
			}
		}
		desc := fmt.Sprintf("db.Model(&%s%s).Updates(%v)", fk.table.name(), jsonOf(reflect.ValueOf(row).Elem()), formatMap(set))
		coverKey("(write) foreign key", true)
		return desc, db.Model(row).Updates(set).Error
	case 2:
		m := e.mt.models[r.IntN(len(e.mt.models))]
		row := e.randomRow(r, m)
		if row == nil {
			return "", nil
		}
		desc := fmt.Sprintf("db.Delete(&%s%s)", m.name(), jsonOf(reflect.ValueOf(row).Elem()))
		coverKey("(write) delete", true)
		return desc, db.Delete(row).Error
	}
	if len(e.mt.joins) == 0 {
		return "", nil
	}
	j := e.mt.joins[r.IntN(len(e.mt.joins))]
	if j.deleted != nil && r.IntN(2) == 0 {
		return e.deleteLink(r, db, j)
	}
	own, tgt := e.randomRow(r, j.owner), e.randomRow(r, j.target)
	if own == nil || tgt == nil {
		return "", nil
	}
	row := map[string]any{}
	for i, c := range j.ownCols {
		row[c.DBName], _ = j.ownRefs[i].ValueOf(context.Background(), reflect.ValueOf(own).Elem())
	}
	for i, c := range j.targetCols {
		row[c.DBName], _ = j.tgtRefs[i].ValueOf(context.Background(), reflect.ValueOf(tgt).Elem())
	}
	for _, v := range row {
		if isNullValue(v) {
			return "", nil // join columns are NOT NULL
		}
	}
	var n int64
	if err := e.db.Table(j.table).Where(row).Count(&n).Error; err != nil || n > 0 {
		return "", err // the pair is there already
	}
	desc := fmt.Sprintf("db.Table(%q).Create(%v)", j.table, formatMap(row))
	coverKey("(write) join row", true)
	return desc, db.Table(j.table).Create(row).Error
}

// deleteLink soft-deletes a random link of j's join model through the
// model (db.Where(keys).Delete(&JoinModel{})).
func (e *env) deleteLink(r *rand.Rand, db *gorm.DB, j *joinGroup) (string, error) {
	var links []map[string]any
	if err := e.db.Model(reflect.New(j.deleted.Schema.ModelType).Interface()).Find(&links).Error; err != nil || len(links) == 0 {
		return "", err
	}
	link := links[r.IntN(len(links))]
	keys := map[string]any{}
	for _, c := range slices.Concat(j.ownCols, j.targetCols) {
		keys[c.DBName] = link[c.DBName]
	}
	desc := fmt.Sprintf("db.Where(%v).Delete(&%s{})", formatMap(keys), j.deleted.Schema.Name)
	coverKey("(write) join model row deleted", true)
	return desc, db.Where(keys).Delete(reflect.New(j.deleted.Schema.ModelType).Interface()).Error
}

// randomRow returns a pointer to a random row of m (soft-deleted rows
// excluded), read outside any scope, or nil if there is none.
func (e *env) randomRow(r *rand.Rand, m *modelMeta) any {
	var n int64
	if err := e.db.Model(m.newPtr()).Count(&n).Error; err != nil || n == 0 {
		return nil
	}
	q := e.db.Session(&gorm.Session{NewDB: true})
	for _, f := range m.s.PrimaryFields {
		q = q.Order(f.DBName)
	}
	dest := reflect.New(reflect.SliceOf(m.typ))
	if err := q.Offset(r.IntN(int(n))).Limit(1).Find(dest.Interface()).Error; err != nil || dest.Elem().Len() == 0 {
		return nil
	}
	return dest.Elem().Index(0).Addr().Interface()
}

func isNullValue(v any) bool {
	rv := reflect.ValueOf(v)
	return v == nil || (rv.Kind() == reflect.Pointer && rv.IsNil())
}

// formatMap formats a column map in column order.
func formatMap(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s := "map[string]any{"
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q: %#v", k, deref(m[k]))
	}
	return s + "}"
}

// deref follows pointers, for printing.
func deref(v any) any {
	for rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil(); rv = reflect.ValueOf(v) {
		v = rv.Elem().Interface()
	}
	return v
}
