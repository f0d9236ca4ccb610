package difftest

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/ormloader/ormloader/relations"
)

// dataset is the generated content of every table, as rows of column values
// (nil is NULL), ready for GORM's map inserts.
type dataset struct {
	rows  map[*modelMeta][]map[string]any
	joins map[string][]map[string]any
}

// stamps are the values of time columns: few, so that orders have ties.
var stamps = []time.Time{
	time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC),
	time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC),
	time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC),
	time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC),
}

var (
	nullInt64Type  = reflect.TypeFor[sql.NullInt64]()
	nullStringType = reflect.TypeFor[sql.NullString]()
	timeType       = reflect.TypeFor[time.Time]()
	deletedAtType  = reflect.TypeFor[gorm.DeletedAt]()
)

// valueKind is the kind of a column's values, with nullability.
type valueKind struct {
	base     reflect.Kind // Int64, String, Bool, Float64, Struct (time), Slice (a serializer)
	nullable bool
}

func kindOf(f *schema.Field) valueKind {
	if f.Serializer != nil {
		return valueKind{base: reflect.Slice}
	}
	t := f.FieldType
	switch t {
	case nullInt64Type:
		return valueKind{reflect.Int64, true}
	case nullStringType:
		return valueKind{reflect.String, true}
	case deletedAtType:
		return valueKind{reflect.Struct, true}
	}
	k := valueKind{}
	if t.Kind() == reflect.Pointer {
		k.nullable = true
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		k.base = reflect.Int64
	case reflect.String:
		k.base = reflect.String
	case reflect.Bool:
		k.base = reflect.Bool
	case reflect.Float32, reflect.Float64:
		k.base = reflect.Float64
	default:
		k.base = reflect.Struct // time.Time
	}
	return k
}

func isUUID(f *schema.Field) bool { return f.Size == 36 }

func isUnique(f *schema.Field) bool {
	_, ok := f.TagSettings["UNIQUEINDEX"]
	return ok || f.Unique
}

// dataGen fills a dataset from a seed.
type dataGen struct {
	r  *rand.Rand
	mt *meta
	ds *dataset
	// collation writes string foreign keys that only some collations
	// match (see Config.Collation and variant).
	collation bool
}

func (g *dataGen) chance(p float64) bool { return g.r.Float64() < p }

// generate returns random rows for every table of mt: some tables empty or
// of one row, foreign keys that are NULL, orphaned or shared (and with
// collation string keys that only some collations match), rows whose
// parents have no children,
// soft-deleted rows, polymorphic rows of other owner types, and join rows.
func generate(seed uint64, mt *meta, collation bool) *dataset {
	g := &dataGen{
		r:         rand.New(rand.NewPCG(seed, 0x64617461)),
		mt:        mt,
		ds:        &dataset{rows: map[*modelMeta][]map[string]any{}, joins: map[string][]map[string]any{}},
		collation: collation,
	}
	for _, m := range mt.models {
		g.table(m)
	}
	for _, fk := range mt.fks {
		g.foreignKeys(fk)
	}
	for _, p := range mt.polys {
		g.polymorphic(p)
	}
	for _, j := range mt.joins {
		g.join(j)
	}
	return g.ds
}

func (g *dataGen) size() int {
	switch x := g.r.IntN(20); {
	case x == 0:
		return 0
	case x < 3:
		return 1
	case x == 19:
		// Enough for a level's batch to reach relations.ArrayMinKeys
		// keys: PostgreSQL then binds them as one array.
		return 2*relations.ArrayMinKeys + g.r.IntN(20)
	default:
		return 2 + g.r.IntN(13)
	}
}

// table makes m's rows: unique primary keys and unique columns, random
// data, zero values in foreign keys (filled later). Keys are unique under
// MySQL's case-insensitive collation too.
func (g *dataGen) table(m *modelMeta) {
	n := g.size()
	seen := map[string]bool{}
	uniq := map[string]map[string]bool{}
	for attempts := 0; len(g.ds.rows[m]) < n; attempts++ {
		if attempts > 100*n {
			panic(fmt.Sprintf("difftest: cannot make %d distinct keys for %s", n, m.name()))
		}
		row := map[string]any{}
		var pk []string
		for _, f := range m.s.Fields {
			switch {
			case f.DBName == "":
			case f.PrimaryKey:
				row[f.DBName] = g.key(f, n)
				pk = append(pk, strings.ToLower(fmt.Sprint(row[f.DBName])))
			case f.FieldType == deletedAtType:
				row[f.DBName] = nil
				if g.chance(0.2) {
					row[f.DBName] = stamps[3]
				}
			default:
				row[f.DBName] = g.data(f)
			}
		}
		if k := strings.Join(pk, "\x00"); seen[k] {
			continue
		} else {
			seen[k] = true
		}
		for _, f := range m.s.Fields {
			if f.DBName == "" || f.PrimaryKey || !isUnique(f) {
				continue
			}
			row[f.DBName] = nil
			if kindOf(f).nullable && g.chance(0.2) {
				continue
			}
			if uniq[f.DBName] == nil {
				uniq[f.DBName] = map[string]bool{}
			}
			for {
				v := g.uniqueValue(f)
				if s := strings.ToLower(fmt.Sprint(v)); !uniq[f.DBName][s] {
					uniq[f.DBName][s] = true
					row[f.DBName] = v
					break
				}
			}
		}
		g.ds.rows[m] = append(g.ds.rows[m], row)
	}
}

// uniqueValue returns a value for a unique column, from a space much larger
// than a table.
func (g *dataGen) uniqueValue(f *schema.Field) any {
	if kindOf(f).base == reflect.String {
		return fmt.Sprintf("c%c%c%c", 'a'+rune(g.r.IntN(5)), 'a'+rune(g.r.IntN(5)), 'a'+rune(g.r.IntN(5)))
	}
	return int64(1 + g.r.IntN(1000))
}

// key returns a random key value of f's kind, from a range a few times n.
func (g *dataGen) key(f *schema.Field, n int) any {
	switch kindOf(f).base {
	case reflect.Int64:
		return int64(1 + g.r.IntN(3*n+6))
	case reflect.String:
		if isUUID(f) {
			return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", g.r.Uint32(), g.r.Uint32()&0xffff,
				g.r.Uint32()&0xfff, g.r.Uint32()&0xfff, g.r.Uint64()&0xffffffffffff)
		}
		if n > 12 { // two letters of five make 25 keys
			return fmt.Sprintf("%c%c%c", 'a'+rune(g.r.IntN(5)), 'a'+rune(g.r.IntN(5)), 'a'+rune(g.r.IntN(5)))
		}
		return fmt.Sprintf("%c%c", 'a'+rune(g.r.IntN(5)), 'a'+rune(g.r.IntN(5)))
	}
	return int64(1 + g.r.IntN(3*n+6))
}

// data returns a random value for a data column, from a small domain so
// that filters match some rows and orders have ties; NULL sometimes.
func (g *dataGen) data(f *schema.Field) any {
	k := kindOf(f)
	if k.nullable && g.chance(0.25) {
		return nil
	}
	switch k.base {
	case reflect.Int64:
		return int64(g.r.IntN(5))
	case reflect.String:
		return pick2(g.r, "", "a", "b", "B", "ab", "a b")
	case reflect.Bool:
		return g.chance(0.5)
	case reflect.Float64:
		return pick2(g.r, 0, 0.5, 1.25, 2)
	case reflect.Slice:
		// a serializer:json []string, written as its JSON
		return pick2(g.r, `[]`, `["a"]`, `["a","b"]`, `null`)
	default:
		return stamps[g.r.IntN(len(stamps))]
	}
}

func pick2[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// orphan returns a key of f's kind that no row has (or, for an integer, 0
// sometimes: "no parent" in schemas without NULL).
func (g *dataGen) orphan(f *schema.Field) any {
	if kindOf(f).base == reflect.String {
		return "zz" + fmt.Sprint(g.r.IntN(9))
	}
	if g.chance(0.3) {
		return int64(0)
	}
	return int64(9000 + g.r.IntN(9))
}

// refRow picks a row of rows, skewed towards the first ones so that some
// parents have many children and others none.
func (g *dataGen) refRow(rows []map[string]any) map[string]any {
	if len(rows) == 0 {
		return nil
	}
	return rows[g.r.IntN(g.r.IntN(len(rows))+1)]
}

// variant returns a string key in upper case, with a trailing space or
// with an accent sometimes if g.collation: another key where strings
// compare exactly, the same key under MySQL's and MariaDB's default
// collations (case- and accent-insensitive, PAD SPACE; an accent is matched
// by the database's weights, see relations.Collation).
func (g *dataGen) variant(c *schema.Field, v any) any {
	if s, ok := v.(string); ok && g.collation && g.chance(0.1) {
		switch g.r.IntN(3) {
		case 0:
			if len(s) < c.Size {
				return s + " "
			}
		case 1:
			if i := strings.IndexAny(s, "ae"); i >= 0 {
				return s[:i] + map[byte]string{'a': "á", 'e': "é"}[s[i]] + s[i+1:]
			}
		}
		return strings.ToUpper(s)
	}
	return v
}

func (g *dataGen) foreignKeys(fk *fkGroup) {
	nullable := false
	for _, c := range fk.cols {
		nullable = nullable || kindOf(c).nullable
	}
	refs := g.ds.rows[fk.ref]
	for _, row := range g.ds.rows[fk.table] {
		ref := g.refRow(refs)
		switch {
		case nullable && g.chance(0.2):
			for i, c := range fk.cols {
				// all parts NULL, or only some of a composite key
				if kindOf(c).nullable && (i == 0 || g.chance(0.5)) {
					row[c.DBName] = nil
				}
			}
		case ref == nil || g.chance(0.08):
			for _, c := range fk.cols {
				row[c.DBName] = g.orphan(c)
			}
		default:
			for i, c := range fk.cols {
				v := ref[fk.refCols[i].DBName]
				if v == nil && !kindOf(c).nullable {
					v = g.orphan(c)
				}
				row[c.DBName] = g.variant(c, v)
			}
		}
	}
}

func (g *dataGen) polymorphic(p *polyGroup) {
	for _, row := range g.ds.rows[p.table] {
		o := p.owners[g.r.IntN(len(p.owners))]
		row[p.typeCol.DBName] = o.value
		if g.chance(0.1) {
			row[p.typeCol.DBName] = "nobody"
		}
		if ref := g.refRow(g.ds.rows[o.model]); ref != nil && !g.chance(0.1) {
			row[p.idCol.DBName] = ref[o.key.DBName]
		} else {
			row[p.idCol.DBName] = g.orphan(p.idCol)
		}
	}
}

func (g *dataGen) join(j *joinGroup) {
	owners, targets := g.ds.rows[j.owner], g.ds.rows[j.target]
	seen := map[string]bool{}
	add := func(own, tgt map[string]any) {
		row := map[string]any{}
		var k []string
		for i, c := range j.ownCols {
			row[c.DBName] = g.refValue(own, j.ownRefs[i], c)
			k = append(k, strings.ToLower(fmt.Sprint(row[c.DBName])))
		}
		for i, c := range j.targetCols {
			row[c.DBName] = g.refValue(tgt, j.tgtRefs[i], c)
			k = append(k, strings.ToLower(fmt.Sprint(row[c.DBName])))
		}
		for _, v := range row {
			if v == nil {
				return // join columns are part of the join table's primary key
			}
		}
		if j.deleted != nil && g.chance(0.3) {
			row[j.deleted.DBName] = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC) // a deleted link
		}
		if key := strings.Join(k, "\x00"); !seen[key] {
			seen[key] = true
			g.ds.joins[j.table] = append(g.ds.joins[j.table], row)
		}
	}
	for _, own := range owners {
		if len(targets) == 0 {
			break
		}
		for range g.r.IntN(4) {
			add(own, targets[g.r.IntN(len(targets))])
		}
	}
	if g.chance(0.3) {
		add(nil, g.refRow(targets)) // a join row whose owner does not exist
	}
}

// refValue is ref's value of refCol for a join-table column c, or an orphan
// key if ref is nil.
func (g *dataGen) refValue(ref map[string]any, refCol, c *schema.Field) any {
	if ref == nil {
		return g.orphan(c)
	}
	return ref[refCol.DBName]
}

// insert writes ds into db, after deleting every row of the schema's tables.
func (ds *dataset) insert(db *gorm.DB, mt *meta) error {
	for _, m := range mt.models {
		if err := db.Exec("DELETE FROM " + db.Statement.Quote(m.s.Table)).Error; err != nil {
			return err
		}
		if rows := ds.rows[m]; len(rows) > 0 {
			if err := db.Table(m.s.Table).Create(&rows).Error; err != nil {
				return fmt.Errorf("inserting into %s: %w", m.s.Table, err)
			}
		}
	}
	for _, j := range mt.joins {
		if err := db.Exec("DELETE FROM " + db.Statement.Quote(j.table)).Error; err != nil {
			return err
		}
		if rows := ds.joins[j.table]; len(rows) > 0 {
			if err := db.Table(j.table).Create(&rows).Error; err != nil {
				return fmt.Errorf("inserting into %s: %w", j.table, err)
			}
		}
	}
	return nil
}
