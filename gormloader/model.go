package gormloader

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

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

	rels    map[string]*relation // supported relations by field name
	relErrs map[string]error     // relations the loader cannot load, by field name

	// keyFields are the fields a load set reads keys from: the primary key
	// and every field a relation reads its parent key from. rels' ownerIdx
	// index into it. sharedKeys reports that one of them is reached through
	// memory a copy of the struct shares with the original (a pointer such
	// as a nullable foreign key, an embedded pointer, a slice, a
	// serializer): the load sets of such a model read their keys when they
	// are recorded, since a caller may change that memory later.
	keyFields  []*schema.Field
	sharedKeys bool

	byID      *dataloader.Loader[relations.BatchKey, any] // the primary-key loader
	byIDUsed  atomic.Bool                                 // ByID or ByIDs has loaded the model: prime byID too
	referrers sync.Once                                   // parseReferrers
	collation collation                                   // of the primary-key columns
}

// relation is a relations.Relation plus the GORM fields needed to read keys
// and the dataloader definition that loads it.
type relation struct {
	relations.Relation
	owner  *model
	target *schema.Schema

	ownerFields []*schema.Field // parent key fields on the owner, in key order
	ownerIdx    []int           // their index in owner.keyFields
	ownerIsPK   bool            // ownerFields are the owner's primary key: rows of a set have distinct parent keys
	matchFields []*schema.Field // target fields compared with the key (non-m2m)
	joinFields  []*schema.Field // join-table fields compared with the key (m2m)
	joinSchema  *schema.Schema  // the join table's model (m2m)
	joinModel   bool            // joinSchema is the application's model (SetupJoinTable)
	joinRef     string          // the name the statements give the join table (see Loader.join)

	loader    *dataloader.Loader[relations.BatchKey, any]
	collation collation // of the match columns (see collate.go)

	// rowsPerParent is the last statement's rows per parent key, in 16ths:
	// the next statement's slice is sized from it, since GORM appends row by
	// row and a growing slice of thousands of rows is copied a dozen times.
	rowsPerParent atomic.Uint32
}

// maxPresize bounds the bytes a statement's slice is sized for in advance:
// the estimate is the relation's, not the statement's, and a slice that
// turns out too large is kept as long as the results.
const maxPresize = 1 << 20

// rowsSlice returns an empty []T sized for the rows that a statement over
// parents keys is expected to return, limit per parent at most (0: none).
func (r *relation) rowsSlice(parents, limit int) reflect.Value {
	t := r.target.ModelType
	n := uint64(parents)
	if r.Kind.Many() {
		n = n * uint64(r.rowsPerParent.Load()) / 16
		if limit > 0 {
			n = min(n, uint64(parents)*uint64(min(limit, maxPresize)))
		}
	}
	n = min(n, maxPresize/uint64(max(t.Size(), 1)))
	return reflect.MakeSlice(reflect.SliceOf(t), 0, int(n))
}

// observeRows records how many rows a statement over parents keys returned.
func (r *relation) observeRows(parents, rows int) {
	if parents > 0 {
		r.rowsPerParent.Store(uint32(min(uint64(rows)*16/uint64(parents), maxPresize)))
	}
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
	v, loaded := l.models.LoadOrStore(t, m)
	if !loaded {
		l.addRefs(m)
	}
	return v.(*model), nil
}

// addRefs lists the to-one relations of m that match their target's primary
// key: rows of the target that a load fetched are primed into them
// (see prime).
func (l *Loader) addRefs(m *model) {
	l.refsMu.Lock()
	defer l.refsMu.Unlock()
	for _, r := range m.rels {
		if !r.byPrimaryKey() {
			continue
		}
		if l.refs == nil {
			l.refs = make(map[reflect.Type][]*relation)
		}
		l.refs[r.target.ModelType] = append(l.refs[r.target.ModelType], r)
	}
}

// parseReferrers parses the models whose to-one relations reference m,
// as far as m's own has-one and has-many relations name them, so that the
// first rows of m a load fetches are primed for them too (their relations
// are otherwise known only once a load of theirs parses them). A model
// that does not parse is left out: its loads report the error.
func (l *Loader) parseReferrers(m *model) {
	m.schema.Relationships.Mux.RLock()
	var referrers []reflect.Type
	for _, rel := range m.schema.Relationships.Relations {
		if rel.Schema != m.schema || rel.FieldSchema == nil || (rel.Type != schema.HasOne && rel.Type != schema.HasMany) {
			continue
		}
		for _, back := range slices.Concat(rel.FieldSchema.Relationships.BelongsTo, rel.FieldSchema.Relationships.HasOne) {
			if back.FieldSchema == m.schema {
				referrers = append(referrers, rel.FieldSchema.ModelType)
				break
			}
		}
	}
	m.schema.Relationships.Mux.RUnlock()
	for _, t := range referrers {
		_, _ = l.model(t)
	}
}

// byPrimaryKey reports whether r is a to-one relation that matches its
// target's whole primary key (a belongs-to, or a has-one whose foreign key
// is the target's primary key): its result for a parent key is the target
// row with that primary key.
func (r *relation) byPrimaryKey() bool {
	if (r.Kind != relations.BelongsTo && r.Kind != relations.HasOne) || r.Polymorphic != nil || len(r.matchFields) != len(r.target.PrimaryFields) {
		return false
	}
	for i, f := range r.matchFields {
		if f.DBName != r.target.PrimaryFields[i].DBName {
			return false
		}
	}
	return true
}

// prime caches rows (a []T of m's rows that a load of the plugin fetched in
// partition conn: whole rows, read with the scope's context and GORM's
// default scoping, as a load by primary key reads them) as the result of
// every to-one relation that references m by primary key, and of ByID
// once it has been used, for the keys that have no entry yet. So a level
// that loads the parents of rows another level loaded (every track's
// album) costs no statement. The rows are the batch's own, read-only like
// every cached result. Rows of the application's own queries are not primed:
// such a query may bypass filters that loads apply (an unscoped or
// administrative query in the same request). ByID's own batch passes
// byID false: its rows are already its results.
func (l *Loader) prime(ctx context.Context, m *model, conn any, rows reflect.Value, byID bool) {
	m.referrers.Do(func() { l.parseReferrers(m) })
	l.refsMu.Lock()
	refs := l.refs[m.typ]
	l.refsMu.Unlock()
	byID = byID && m.byIDUsed.Load()
	if (len(refs) == 0 && !byID) || rows.Len() == 0 {
		return
	}
	keys := make([]relations.BatchKey, 0, rows.Len())
	vals := make([]any, 0, rows.Len())
	for i := range rows.Len() {
		row := rows.Index(i)
		pk, err := m.pkKey(ctx, row)
		if err != nil || pk.IsZero() {
			continue
		}
		keys = append(keys, relations.BatchKey{Part: relations.Part{Conn: conn}, Parent: pk})
		vals = append(vals, row.Addr().Interface())
	}
	for _, r := range refs {
		r.loader.PrimeMany(ctx, keys, vals)
	}
	if byID {
		m.byID.PrimeMany(ctx, keys, vals)
	}
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
	m.sharedKeys = slices.ContainsFunc(m.keyFields, sharesMemory)
	return m, nil
}

// sharesMemory reports whether a copy of a struct shares f's value with the
// original: f is (or is reached through) a pointer, a slice, a map or an
// interface, or is converted by a serializer.
func sharesMemory(f *schema.Field) bool {
	if f.Serializer != nil || slices.ContainsFunc(f.StructField.Index, func(i int) bool { return i < 0 }) {
		return true // GORM marks a field of an embedded pointer with a negative index
	}
	switch f.FieldType.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return true
	}
	return false
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
		r.joinSchema, r.joinRef = rel.JoinTable, rel.JoinTable.Table
		// A model of the application's (SetupJoinTable); GORM's own join
		// tables are unnamed struct types of the key columns. Its subquery
		// is named as the table, without a schema.
		if r.joinModel = rel.JoinTable.ModelType.Name() != ""; r.joinModel {
			r.joinRef = rel.JoinTable.Table[strings.LastIndexByte(rel.JoinTable.Table, '.')+1:]
		}
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
	r.ownerIsPK = slices.Equal(r.ownerFields, m.pk)
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

// recordRows records rows (a slice or array of m's structs or of pointers to
// them, or one such struct) as one load set. The set keeps a []T of its own:
// rows itself if owned (rows no caller can reach or change), else a copy, so
// that callers may change their structs while other resolvers read keys
// from the set; its primary keys are read on the first lookup of m (most
// results are never asked for a relation). For a model whose key fields a
// copy would share with the caller (m.sharedKeys), the key values are read
// now instead.
func (l *Loader) recordRows(ctx context.Context, sets *relations.Sets, m *model, rows reflect.Value, owned bool) {
	if sets == nil || len(m.pk) == 0 || l.cfg.noLoadSets {
		return
	}
	// Keys read now need no copy: the caller has not seen the rows yet.
	var at *[]any
	set := &relations.Set{Source: l, Model: m.typ}
	if !owned {
		at = &set.At // the caller holds these rows: remember where
	}
	own := ownRows(m.typ, rows, owned || m.sharedKeys, at)
	if own.Len() == 0 {
		return
	}
	if m.sharedKeys {
		m.snapshot(ctx, set, own)
	} else {
		set.Data = own
		set.Fill = func(set *relations.Set) {
			set.IDs = make([]relations.Key, own.Len())
			for i := range own.Len() {
				// A row without a primary key is still a sibling; its zero
				// key is not indexed, so no load of its own finds the set.
				set.IDs[i], _ = m.pkKey(ctx, own.Index(i))
			}
		}
	}
	sets.Record(set)
}

// snapshots are the normalized key-field values of a load set's rows (nil
// for NULL; pointers dereferenced), stride values per row in one slice.
type snapshots struct {
	vals   []any
	stride int
}

func (sn *snapshots) row(i int) []any { return sn.vals[i*sn.stride : (i+1)*sn.stride] }

// snapshot fills set's IDs and Data with the key values of rows (a []T).
func (m *model) snapshot(ctx context.Context, set *relations.Set, rows reflect.Value) {
	n := rows.Len()
	sn := &snapshots{vals: make([]any, 0, n*len(m.keyFields)), stride: len(m.keyFields)}
	set.IDs = make([]relations.Key, n)
	for i := range n {
		row := rows.Index(i)
		for _, f := range m.keyFields {
			v, _ := f.ValueOf(ctx, row)
			nv, err := relations.Normalize(v)
			if err != nil {
				nv = nil
			}
			sn.vals = append(sn.vals, nv)
		}
		// keyFields start with the primary key; a row without one keeps
		// the zero key, which is not indexed.
		set.IDs[i], _ = relations.MakeKey(sn.row(i)[:len(m.pk)]...)
	}
	set.Data = sn
}

// ownRows returns rows as a []T of t that no caller can reach: rows itself if
// owned and already one, else a copy (nil pointers and other types are left
// out). If at is not nil, it gets, for each row of the result, a pointer to
// the struct in rows it was read from (relations.Set.At), nil where that is
// not addressable: the addresses only, no field is read.
func ownRows(t reflect.Type, rows reflect.Value, owned bool, at *[]any) reflect.Value {
	if !rows.IsValid() {
		return reflect.MakeSlice(reflect.SliceOf(t), 0, 0)
	}
	for rows.Kind() == reflect.Pointer || rows.Kind() == reflect.Interface {
		if rows.IsNil() {
			return reflect.MakeSlice(reflect.SliceOf(t), 0, 0)
		}
		rows = rows.Elem()
	}
	switch {
	case rows.Type() == t:
		own := reflect.MakeSlice(reflect.SliceOf(t), 1, 1)
		own.Index(0).Set(rows)
		addPlace(at, rows)
		return own
	case rows.Kind() != reflect.Slice && rows.Kind() != reflect.Array:
		return reflect.MakeSlice(reflect.SliceOf(t), 0, 0)
	case rows.Type().Elem() == t:
		if at != nil {
			*at = make([]any, 0, rows.Len())
			for i := range rows.Len() {
				addPlace(at, rows.Index(i))
			}
		}
		if owned && rows.Kind() == reflect.Slice {
			return rows
		}
		own := reflect.MakeSlice(reflect.SliceOf(t), rows.Len(), rows.Len())
		reflect.Copy(own, rows)
		return own
	}
	own := reflect.MakeSlice(reflect.SliceOf(t), 0, rows.Len())
	if at != nil {
		*at = make([]any, 0, rows.Len())
	}
	for i := range rows.Len() {
		row := rows.Index(i)
		for row.Kind() == reflect.Pointer && !row.IsNil() {
			row = row.Elem()
		}
		if row.Type() == t {
			own = reflect.Append(own, row)
			addPlace(at, row)
		}
	}
	return own
}

// addPlace appends where row is (see ownRows) to at, if at is not nil.
func addPlace(at *[]any, row reflect.Value) {
	if at == nil {
		return
	}
	var p any
	if row.CanAddr() {
		p = row.Addr().Interface()
	}
	*at = append(*at, p)
}

// siblingKeys returns the parent keys of the rows of set for r, in part,
// each once: many rows share the key of a belongs-to (every album of a
// band), and the batch would otherwise be sized for, and look up, every
// row's copy of it.
func (r *relation) siblingKeys(ctx context.Context, set *relations.Set, part relations.Part) []relations.BatchKey {
	out := make([]relations.BatchKey, 0, set.Len())
	var seen map[relations.Key]struct{}
	if !r.ownerIsPK {
		seen = make(map[relations.Key]struct{})
	}
	add := func(k relations.Key, err error) {
		if err != nil { // a NULL foreign key: nothing to load
			return
		}
		if seen != nil {
			if _, dup := seen[k]; dup {
				return
			}
			seen[k] = struct{}{}
		}
		out = append(out, relations.BatchKey{Part: part, Parent: k})
	}
	switch data := set.Data.(type) {
	case reflect.Value:
		for i := range data.Len() {
			add(fieldsKey(ctx, r.ownerFields, data.Index(i)))
		}
	case *snapshots:
		var vals [relations.MaxKeyColumns]any
		for i := range set.Len() {
			snap := data.row(i)
			for j, idx := range r.ownerIdx {
				vals[j] = snap[idx]
			}
			add(relations.MakeKey(vals[:len(r.ownerIdx)]...))
		}
	}
	return out
}

// quote quotes a column of a table for the loader's dialect.
func (l *Loader) quote(table, col string) string {
	return l.db.Statement.Quote(clause.Column{Table: table, Name: col})
}
