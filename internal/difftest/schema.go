package difftest

import (
	"context"
	"database/sql/driver"
	"fmt"
	"reflect"
	"slices"
	"sort"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/relations"
)

// Schema is a set of GORM models to test, as the generated packages declare
// them. The checker reads the relations, keys and columns from GORM's parse
// of the types, so a Schema may list any models.
type Schema struct {
	Name   string
	Seed   uint64 // the generator's seed, if generated
	Models []Model
	// JoinModels are set up with SetupJoinTable before the models migrate.
	JoinModels []JoinModel
	// Unsupported lists the relations ("Model.Field") gormloader is
	// expected to refuse, with a text its error must contain.
	Unsupported map[string]string
}

// JoinModel is the join model of a many2many relation: the arguments of
// gorm.DB.SetupJoinTable(Owner, Field, Join).
type JoinModel struct {
	Owner any
	Field string
	Join  any
}

// Model binds a model type to gormloader's generic functions, instantiated
// with it: Load[T], LoadOne[T] and LoadPage[T] for relations whose target
// it is, ByID[T] and ByIDs[T]. Make one with ModelOf.
type Model struct {
	typ     reflect.Type
	load    func(ctx context.Context, db *gorm.DB, parent any, rel string, opts []gormloader.LoadOption) (any, error)
	loadOne func(ctx context.Context, db *gorm.DB, parent any, rel string, opts []gormloader.LoadOption) (any, error)
	page    func(ctx context.Context, db *gorm.DB, parent any, rel string, size int, opts []gormloader.LoadOption) (rows any, more bool, total int64, err error)
	byID    func(ctx context.Context, db *gorm.DB, id []any) (any, error)
	byIDs   func(ctx context.Context, db *gorm.DB, ids []any) (any, error)
}

// ModelOf returns the binding of model type T.
func ModelOf[T any]() Model {
	return Model{
		typ: reflect.TypeFor[T](),
		load: func(ctx context.Context, db *gorm.DB, parent any, rel string, opts []gormloader.LoadOption) (any, error) {
			return gormloader.Load[T](ctx, db, parent, rel, opts...)
		},
		loadOne: func(ctx context.Context, db *gorm.DB, parent any, rel string, opts []gormloader.LoadOption) (any, error) {
			return gormloader.LoadOne[T](ctx, db, parent, rel, opts...)
		},
		page: func(ctx context.Context, db *gorm.DB, parent any, rel string, size int, opts []gormloader.LoadOption) (any, bool, int64, error) {
			p, err := gormloader.LoadPage[T](ctx, db, parent, rel, size, opts...)
			return p.Rows, p.HasNextPage, p.TotalCount, err
		},
		byID: func(ctx context.Context, db *gorm.DB, id []any) (any, error) {
			return gormloader.ByID[T](ctx, db, id...)
		},
		byIDs: func(ctx context.Context, db *gorm.DB, ids []any) (any, error) {
			return gormloader.ByIDs[T](ctx, db, ids...)
		},
	}
}

// meta is what the checker knows about a schema on one database: GORM's
// parse of every model, the relations to test and the key constraints the
// data generator fills.
type meta struct {
	models []*modelMeta
	byType map[reflect.Type]*modelMeta
	fks    []*fkGroup
	polys  []*polyGroup
	joins  []*joinGroup
}

type modelMeta struct {
	Model
	s        *schema.Schema
	rels     []*relMeta // relations gormloader should load, by name
	bad      []*relMeta // relations it should refuse
	dataCols []*schema.Field
}

func (m *modelMeta) name() string { return m.typ.Name() }

func (m *modelMeta) newPtr() any { return reflect.New(m.typ).Interface() }

// relMeta is one relation (association field) of a model.
type relMeta struct {
	field  string
	full   string // "Model.Field"
	rel    *schema.Relationship
	owner  *modelMeta
	target *modelMeta
	// parentKey are the owner's fields a parent's key is read from.
	parentKey []*schema.Field
	wantErr   string // for an unsupported relation: text its error must contain
}

func (r *relMeta) kind() schema.RelationshipType { return r.rel.Type }

// pageable reports whether gormloader.LoadPage takes the relation: its
// parent key has at most relations.MaxKeyColumns-2 columns (the page's
// count and position are read as parts of a row's key).
func (r *relMeta) pageable() bool { return len(r.parentKey) <= relations.MaxKeyColumns-2 }

// many reports whether the relation is to-many.
func (r *relMeta) many() bool { return r.rel.Type == schema.HasMany || r.rel.Type == schema.Many2Many }

// fkGroup: the columns cols of table hold a key of ref's refCols.
type fkGroup struct {
	table   *modelMeta
	cols    []*schema.Field
	ref     *modelMeta
	refCols []*schema.Field
}

// polyGroup: the id and type columns of a polymorphic target.
type polyGroup struct {
	table          *modelMeta
	idCol, typeCol *schema.Field
	owners         []polyOwner
}

type polyOwner struct {
	model *modelMeta
	key   *schema.Field
	value string
}

// joinGroup: a join table, its columns for the owner and for the target.
type joinGroup struct {
	table               string
	owner, target       *modelMeta
	ownCols, ownRefs    []*schema.Field // join-table columns, owner columns
	targetCols, tgtRefs []*schema.Field // join-table columns, target columns
	deleted             *schema.Field   // the gorm.DeletedAt of a join model (SetupJoinTable), if it has one
}

// parseMeta parses s's models through db's GORM parser.
func parseMeta(db *gorm.DB, s *Schema) (*meta, error) {
	mt := &meta{byType: map[reflect.Type]*modelMeta{}}
	for _, m := range s.Models {
		stmt := &gorm.Statement{DB: db}
		if err := stmt.Parse(reflect.New(m.typ).Interface()); err != nil {
			return nil, fmt.Errorf("parsing %v: %w", m.typ, err)
		}
		mm := &modelMeta{Model: m, s: stmt.Schema}
		mt.models = append(mt.models, mm)
		mt.byType[m.typ] = mm
	}
	for _, mm := range mt.models {
		mm.dataCols = dataColumns(mm.s)
		names := make([]string, 0, len(mm.s.Relationships.Relations))
		for name, rel := range mm.s.Relationships.Relations {
			// GORM also lists the inverse of other models' has-relations
			// here, under "_Model_Field" names.
			if rel.Schema == mm.s && rel.Field != nil && rel.Name == name {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			rel := mm.s.Relationships.Relations[name]
			target := mt.byType[rel.FieldSchema.ModelType]
			if target == nil {
				return nil, fmt.Errorf("%s.%s: target %v is not a model of the schema", mm.name(), name, rel.FieldSchema.ModelType)
			}
			r := &relMeta{field: name, full: mm.name() + "." + name, rel: rel, owner: mm, target: target}
			for _, ref := range rel.References {
				switch {
				case rel.Type == schema.BelongsTo:
					r.parentKey = append(r.parentKey, ref.ForeignKey)
				case ref.OwnPrimaryKey:
					r.parentKey = append(r.parentKey, ref.PrimaryKey)
				}
			}
			if want, ok := s.Unsupported[r.full]; ok {
				r.wantErr = want
				mm.bad = append(mm.bad, r)
			} else {
				mm.rels = append(mm.rels, r)
			}
			mt.addConstraint(r)
		}
	}
	return mt, nil
}

// addConstraint records the key columns r needs filled with related keys.
func (mt *meta) addConstraint(r *relMeta) {
	rel := r.rel
	switch {
	case rel.Type == schema.Many2Many:
		if slices.ContainsFunc(mt.joins, func(j *joinGroup) bool { return j.table == rel.JoinTable.Table }) {
			return // the other side of a join table already listed
		}
		j := &joinGroup{table: rel.JoinTable.Table, owner: r.owner, target: r.target}
		for _, f := range rel.JoinTable.Fields {
			if f.FieldType == deletedAtType {
				j.deleted = f
			}
		}
		for _, ref := range rel.References {
			if ref.OwnPrimaryKey {
				j.ownCols = append(j.ownCols, ref.ForeignKey)
				j.ownRefs = append(j.ownRefs, ref.PrimaryKey)
			} else {
				j.targetCols = append(j.targetCols, ref.ForeignKey)
				j.tgtRefs = append(j.tgtRefs, ref.PrimaryKey)
			}
		}
		mt.joins = append(mt.joins, j)
	case rel.Polymorphic != nil:
		var p *polyGroup
		for _, g := range mt.polys {
			if g.table == r.target && g.idCol == rel.Polymorphic.PolymorphicID {
				p = g
			}
		}
		if p == nil {
			p = &polyGroup{table: r.target, idCol: rel.Polymorphic.PolymorphicID, typeCol: rel.Polymorphic.PolymorphicType}
			mt.polys = append(mt.polys, p)
		}
		var key *schema.Field
		for _, ref := range rel.References {
			if ref.OwnPrimaryKey {
				key = ref.PrimaryKey
			}
		}
		p.owners = append(p.owners, polyOwner{model: r.owner, key: key, value: rel.Polymorphic.Value})
	default:
		g := &fkGroup{}
		for _, ref := range rel.References {
			g.cols = append(g.cols, ref.ForeignKey)
			g.refCols = append(g.refCols, ref.PrimaryKey)
		}
		if rel.Type == schema.BelongsTo {
			g.table, g.ref = r.owner, r.target
		} else {
			g.table, g.ref = r.target, r.owner
		}
		for _, old := range mt.fks {
			if old.table == g.table && slices.Equal(dbNames(old.cols), dbNames(g.cols)) {
				return // the inverse of a relation already listed
			}
		}
		mt.fks = append(mt.fks, g)
	}
}

func dbNames(fs []*schema.Field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.DBName
	}
	return out
}

// dataColumns returns the columns of s that filters and orders may use: its
// primary key and its plain data columns (not keys of relations, not the
// soft-delete column).
func dataColumns(s *schema.Schema) []*schema.Field {
	keys := map[string]bool{}
	for _, rel := range s.Relationships.Relations {
		for _, ref := range rel.References {
			if ref.ForeignKey != nil && ref.ForeignKey.Schema == s && !ref.ForeignKey.PrimaryKey {
				keys[ref.ForeignKey.DBName] = true
			}
		}
		if rel.Polymorphic != nil && rel.FieldSchema == s {
			keys[rel.Polymorphic.PolymorphicType.DBName] = true
		}
	}
	var out []*schema.Field
	for _, f := range s.Fields {
		if f.DBName == "" || keys[f.DBName] || f.FieldType == reflect.TypeFor[gorm.DeletedAt]() || f.Serializer != nil {
			continue
		}
		out = append(out, f)
	}
	return out
}

// isNull reports whether a field of a row holds NULL: a nil pointer or an
// invalid sql.Null value.
func isNull(ctx context.Context, f *schema.Field, row reflect.Value) bool {
	v, _ := f.ValueOf(ctx, row)
	for range 4 {
		if v == nil {
			return true
		}
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Pointer {
			if rv.IsNil() {
				return true
			}
			v = rv.Elem().Interface()
			continue
		}
		if dv, ok := v.(driver.Valuer); ok {
			x, err := dv.Value()
			if err != nil || x == nil {
				return true
			}
			v = x
			continue
		}
		return false
	}
	return false
}

// nullKey reports whether r's parent key of row has a NULL part (then
// gormloader loads nothing and issues no statement).
func (r *relMeta) nullKey(ctx context.Context, row reflect.Value) bool {
	return slices.ContainsFunc(r.parentKey, func(f *schema.Field) bool { return isNull(ctx, f, row) })
}

// zeroKey reports whether every part of r's parent key of row is its type's
// zero value.
func (r *relMeta) zeroKey(ctx context.Context, row reflect.Value) bool {
	for _, f := range r.parentKey {
		if _, zero := f.ValueOf(ctx, row); !zero {
			return false
		}
	}
	return true
}
