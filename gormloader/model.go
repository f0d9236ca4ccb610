package gormloader

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/relations"
)

// model is what the loader knows about one Go model type. It is built once
// per reflect.Type (from GORM's own parser, with the db's naming strategy and
// schema cache) and never changes afterwards.
type model struct {
	typ    reflect.Type
	schema *schema.Schema
	pk     []*schema.Field
	pkCols []string

	// keyFields are the fields snapshotted when rows are recorded in a load
	// set: the primary key and every field a relation reads its parent key
	// from. rels' ownerIdx index into it.
	keyFields []*schema.Field

	rels    map[string]*relation // supported relations by field name
	relErrs map[string]error     // relations the loader cannot load, by field name

	byID *dataloader.Loader[relations.BatchKey, any] // the primary-key loader
}

// relation is a relations.Relation plus the GORM fields needed to read keys
// and the dataloader definition that loads it.
type relation struct {
	relations.Relation
	owner  *model
	target *schema.Schema

	ownerFields []*schema.Field // parent key fields on the owner, in key order
	ownerIdx    []int           // their index in owner.keyFields
	matchFields []*schema.Field // target fields compared with the key (non-m2m)
	joinFields  []*schema.Field // join-table fields compared with the key (m2m)

	loader *dataloader.Loader[relations.BatchKey, any]
}

// field names the relation in errors.
func (r *relation) field() string { return r.Name }

// model returns the model of t, parsing it on first use. Concurrent first uses
// may parse twice; one result wins and is kept.
func (l *Loader) model(t reflect.Type) (*model, error) {
	if v, ok := l.models.Load(t); ok {
		return v.(*model), nil
	}
	m, err := l.parse(t)
	if err != nil {
		return nil, err
	}
	v, _ := l.models.LoadOrStore(t, m)
	return v.(*model), nil
}

func (l *Loader) parse(t reflect.Type) (*model, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%w: got %v", ErrInvalidParent, t)
	}
	stmt := &gorm.Statement{DB: l.db}
	if err := stmt.Parse(reflect.New(t).Interface()); err != nil {
		return nil, fmt.Errorf("gormloader: parsing model %v: %w", t, err)
	}
	s := stmt.Schema
	m := &model{
		typ:     t,
		schema:  s,
		pk:      s.PrimaryFields,
		rels:    map[string]*relation{},
		relErrs: map[string]error{},
	}
	for _, f := range s.PrimaryFields {
		m.pkCols = append(m.pkCols, f.DBName)
	}
	m.keyFields = slices.Clone(s.PrimaryFields)
	s.Relationships.Mux.RLock()
	rels := make([]*schema.Relationship, 0, len(s.Relationships.Relations))
	for name, rel := range s.Relationships.Relations {
		// GORM also lists inverse has-relations of other models here,
		// under "_Model_Field" names; they are not fields of this model.
		if rel.Schema != s || rel.Field == nil || rel.Name != name {
			continue
		}
		rels = append(rels, rel)
	}
	s.Relationships.Mux.RUnlock()
	sort.Slice(rels, func(i, j int) bool { return rels[i].Name < rels[j].Name })
	m.byID = dataloader.New(m.fetchByID(l), dataloader.WithName("gormloader "+t.Name()+" by primary key"))
	for _, rel := range rels {
		r, err := l.buildRelation(m, rel)
		if err != nil {
			m.relErrs[rel.Name] = err
			continue
		}
		m.rels[rel.Name] = r
	}
	return m, nil
}

func (l *Loader) buildRelation(m *model, rel *schema.Relationship) (*relation, error) {
	name := m.typ.Name() + "." + rel.Name
	unsupported := func(format string, args ...any) error {
		return fmt.Errorf("%w %s (model %v, field %s): %s", ErrUnsupportedRelation, name, m.typ, rel.Name, fmt.Sprintf(format, args...))
	}
	if len(rel.Field.EmbeddedBindNames) > 1 {
		return nil, unsupported("relations inside embedded structs are not supported")
	}
	if rel.FieldSchema == nil {
		return nil, unsupported("GORM did not resolve the target model")
	}
	r := &relation{owner: m, target: rel.FieldSchema}
	r.Name = name
	r.Owner = relations.Table{Name: m.schema.Table, PrimaryKey: m.pkCols}
	r.Target = relations.Table{Name: rel.FieldSchema.Table}
	for _, f := range rel.FieldSchema.PrimaryFields {
		r.Target.PrimaryKey = append(r.Target.PrimaryKey, f.DBName)
	}
	switch rel.Type {
	case schema.HasOne, schema.HasMany:
		r.Kind = relations.HasMany
		if rel.Type == schema.HasOne {
			r.Kind = relations.HasOne
		}
		for _, ref := range rel.References {
			switch {
			case ref.PrimaryValue != "" && ref.PrimaryKey == nil:
				r.Polymorphic = &relations.Polymorphic{TypeColumn: ref.ForeignKey.DBName, Value: ref.PrimaryValue}
			case ref.OwnPrimaryKey:
				r.Keys = append(r.Keys, relations.KeyPair{From: ref.PrimaryKey.DBName, To: ref.ForeignKey.DBName})
				r.ownerFields = append(r.ownerFields, ref.PrimaryKey)
				r.matchFields = append(r.matchFields, ref.ForeignKey)
			default:
				return nil, unsupported("reference %s -> %s is neither owned nor polymorphic", ref.ForeignKey.Name, ref.PrimaryKey.Name)
			}
		}
	case schema.BelongsTo:
		r.Kind = relations.BelongsTo
		for _, ref := range rel.References {
			if ref.PrimaryKey == nil || ref.OwnPrimaryKey {
				return nil, unsupported("unexpected reference shape for belongs-to")
			}
			r.Keys = append(r.Keys, relations.KeyPair{From: ref.ForeignKey.DBName, To: ref.PrimaryKey.DBName})
			r.ownerFields = append(r.ownerFields, ref.ForeignKey)
			r.matchFields = append(r.matchFields, ref.PrimaryKey)
		}
	case schema.Many2Many:
		if rel.JoinTable == nil {
			return nil, unsupported("many2many without a join table")
		}
		r.Kind = relations.ManyToMany
		r.Join = &relations.JoinTable{Name: rel.JoinTable.Table}
		for _, ref := range rel.References {
			switch {
			case ref.PrimaryKey == nil:
				return nil, unsupported("polymorphic many2many is not supported")
			case ref.OwnPrimaryKey:
				r.Keys = append(r.Keys, relations.KeyPair{From: ref.PrimaryKey.DBName, To: ref.ForeignKey.DBName})
				r.ownerFields = append(r.ownerFields, ref.PrimaryKey)
				r.joinFields = append(r.joinFields, ref.ForeignKey)
			default:
				r.Join.TargetKeys = append(r.Join.TargetKeys, relations.KeyPair{From: ref.ForeignKey.DBName, To: ref.PrimaryKey.DBName})
			}
		}
	default:
		return nil, unsupported("relationship type %q", rel.Type)
	}
	if err := r.Validate(); err != nil {
		return nil, unsupported("%v", err)
	}
	for _, f := range r.ownerFields {
		i := slices.Index(m.keyFields, f)
		if i < 0 {
			i = len(m.keyFields)
			m.keyFields = append(m.keyFields, f)
		}
		r.ownerIdx = append(r.ownerIdx, i)
	}
	r.loader = dataloader.New(r.fetchBatch(l), dataloader.WithName("gormloader "+name))
	return r, nil
}

// relation returns the named relation of m, or an error naming the model and
// the field.
func (m *model) relation(name string) (*relation, error) {
	if r, ok := m.rels[name]; ok {
		return r, nil
	}
	if err, ok := m.relErrs[name]; ok {
		return nil, err
	}
	known := make([]string, 0, len(m.rels))
	for n := range m.rels {
		known = append(known, n)
	}
	sort.Strings(known)
	hint := "it has none"
	if len(known) > 0 {
		hint = "it has " + strings.Join(known, ", ")
	}
	if f, ok := m.schema.FieldsByName[name]; ok && f != nil {
		return nil, fmt.Errorf("%w %q on model %v: field %s is a column, not an association (%s)", ErrUnknownRelation, name, m.typ, name, hint)
	}
	return nil, fmt.Errorf("%w %q on model %v: no such association field (%s)", ErrUnknownRelation, name, m.typ, hint)
}

// pkKey returns the primary key of a row (a struct value).
func (m *model) pkKey(ctx context.Context, row reflect.Value) (relations.Key, error) {
	if len(m.pk) == 0 {
		return relations.Key{}, fmt.Errorf("gormloader: model %v has no primary key", m.typ)
	}
	return fieldsKey(ctx, m.pk, row)
}

// fieldsKey reads fields from a struct value into a key.
func fieldsKey(ctx context.Context, fields []*schema.Field, row reflect.Value) (relations.Key, error) {
	var vals [relations.MaxKeyColumns]any
	for i, f := range fields {
		vals[i], _ = f.ValueOf(ctx, row)
	}
	return relations.MakeKey(vals[:len(fields)]...)
}

// snapshots are the normalized key-field values (nil for NULL) of a load
// set's rows, stride values per row in one slice: a load set keeps them so
// that siblings' keys can be computed later without reading the caller's
// structs.
type snapshots struct {
	vals   []any
	stride int
}

func (sn *snapshots) row(i int) []any { return sn.vals[i*sn.stride : (i+1)*sn.stride] }

// snapshot appends the normalized key-field values of a row.
func (m *model) snapshot(ctx context.Context, row reflect.Value, out []any) []any {
	for _, f := range m.keyFields {
		v, _ := f.ValueOf(ctx, row)
		nv, err := relations.Normalize(v)
		if err != nil {
			nv = nil
		}
		out = append(out, nv)
	}
	return out
}

// record records rows (a slice or a struct of type m.typ) as one load set.
func (l *Loader) recordRows(ctx context.Context, sets *relations.Sets, m *model, rows reflect.Value) {
	if sets == nil || len(m.pk) == 0 || l.cfg.noLoadSets {
		return
	}
	n := 1
	if k := rows.Kind(); k == reflect.Slice || k == reflect.Array {
		n = rows.Len()
	}
	snaps := &snapshots{vals: make([]any, 0, n*len(m.keyFields)), stride: len(m.keyFields)}
	set := &relations.Set{Source: l, Model: m.typ, IDs: make([]relations.Key, 0, n), Data: snaps}
	add := func(row reflect.Value) {
		for row.Kind() == reflect.Pointer {
			if row.IsNil() {
				return
			}
			row = row.Elem()
		}
		if row.Type() != m.typ {
			return
		}
		start := len(snaps.vals)
		snaps.vals = m.snapshot(ctx, row, snaps.vals)
		// keyFields start with the primary key fields.
		pk, err := relations.MakeKey(snaps.vals[start : start+len(m.pk)]...)
		if err != nil {
			snaps.vals = snaps.vals[:start]
			return
		}
		set.IDs = append(set.IDs, pk)
	}
	switch rows.Kind() {
	case reflect.Slice, reflect.Array:
		for i := range rows.Len() {
			add(rows.Index(i))
		}
	default:
		add(rows)
	}
	sets.Record(set)
}

// siblingKeys returns the parent keys of every row of set for r, in part.
func (r *relation) siblingKeys(set *relations.Set, part relations.Part) []relations.BatchKey {
	snaps, ok := set.Data.(*snapshots)
	if !ok {
		return nil
	}
	out := make([]relations.BatchKey, 0, len(set.IDs))
	var vals [relations.MaxKeyColumns]any
	for i := range set.IDs {
		snap := snaps.row(i)
		for i, idx := range r.ownerIdx {
			vals[i] = snap[idx]
		}
		k, err := relations.MakeKey(vals[:len(r.ownerIdx)]...)
		if err != nil {
			continue // NULL foreign key: nothing to load
		}
		out = append(out, relations.BatchKey{Part: part, Parent: k})
	}
	return out
}

// quote quotes a column of a table for the loader's dialect.
func (l *Loader) quote(table, col string) string {
	return l.db.Statement.Quote(clause.Column{Table: table, Name: col})
}
