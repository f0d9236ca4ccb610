package relations

import (
	"errors"
	"fmt"
)

// Kind is the shape of a relation, seen from its owner.
type Kind uint8

// Relation kinds.
const (
	// HasOne: the target row holds a foreign key to the owner; at most one target.
	HasOne Kind = iota + 1
	// HasMany: the target rows hold a foreign key to the owner.
	HasMany
	// BelongsTo: the owner holds a foreign key to the target (ent: M2O, inverse O2O).
	BelongsTo
	// ManyToMany: a join table holds foreign keys to both sides.
	ManyToMany
)

func (k Kind) String() string {
	switch k {
	case HasOne:
		return "has-one"
	case HasMany:
		return "has-many"
	case BelongsTo:
		return "belongs-to"
	case ManyToMany:
		return "many-to-many"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Many reports whether a parent can have more than one target row.
func (k Kind) Many() bool { return k == HasMany || k == ManyToMany }

// Table names a table and its primary-key columns.
type Table struct {
	Name       string
	PrimaryKey []string
}

// KeyPair links a column read on one side to the column it is compared with
// on the other side.
type KeyPair struct {
	From string // column on the side the key values are read from
	To   string // column compared with IN (...)
}

// JoinTable is the join table of a many-to-many relation.
type JoinTable struct {
	Name string
	// TargetKeys link the join table to the target: From is a join-table
	// column, To the target column it references.
	TargetKeys []KeyPair
}

// Polymorphic restricts a has-one or has-many relation to the target rows
// whose type column holds Value (GORM's polymorphic associations).
type Polymorphic struct {
	TypeColumn string // column on the target table
	Value      string
}

// Relation describes how rows of Owner reach rows of Target. It is plain data:
// adapters fill it in once per relation and build their statements from it.
//
// Keys depend on the kind:
//
//	HasOne, HasMany  From: owner column (usually its primary key)  To: target's foreign-key column
//	BelongsTo        From: owner's foreign-key column               To: target column (usually its primary key)
//	ManyToMany       From: owner column                             To: join-table column
//
// More than one pair is a composite key; the pairs' order is the order of the
// values in a [Key].
type Relation struct {
	Name        string // "Band.Albums": the owner model and the field, used in errors
	Kind        Kind
	Owner       Table
	Target      Table
	Keys        []KeyPair
	Join        *JoinTable   // ManyToMany only
	Polymorphic *Polymorphic // HasOne and HasMany only; nil otherwise
}

// ParentColumns returns the owner columns a parent's [Key] is read from.
func (r *Relation) ParentColumns() []string {
	cols := make([]string, len(r.Keys))
	for i, k := range r.Keys {
		cols[i] = k.From
	}
	return cols
}

// MatchColumns returns the columns compared with the parents' keys: on the
// target table, or on the join table for a many-to-many relation.
func (r *Relation) MatchColumns() []string {
	cols := make([]string, len(r.Keys))
	for i, k := range r.Keys {
		cols[i] = k.To
	}
	return cols
}

// MatchTable returns the table that MatchColumns belong to.
func (r *Relation) MatchTable() string {
	if r.Kind == ManyToMany && r.Join != nil {
		return r.Join.Name
	}
	return r.Target.Name
}

// OwnsFK reports whether the owner row holds the foreign key (belongs-to):
// a parent whose key has a NULL part has no target and needs no statement.
func (r *Relation) OwnsFK() bool { return r.Kind == BelongsTo }

// Composite reports whether the key has more than one column.
func (r *Relation) Composite() bool { return len(r.Keys) > 1 }

// Width is the number of bind parameters one parent key takes.
func (r *Relation) Width() int { return len(r.Keys) }

// Tables returns every table the relation reads: the target and, for a
// many-to-many relation, the join table. A write to one of them makes cached
// results of the relation stale.
func (r *Relation) Tables() []string {
	if r.Join != nil {
		return []string{r.Target.Name, r.Join.Name}
	}
	return []string{r.Target.Name}
}

// ErrInvalidRelation is matched by the errors of [Relation.Validate].
var ErrInvalidRelation = errors.New("relations: invalid relation")

// Validate checks that the relation is complete and consistent for its kind.
func (r *Relation) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %s: %s", ErrInvalidRelation, r.Name, fmt.Sprintf(format, args...))
	}
	switch r.Kind {
	case HasOne, HasMany, BelongsTo, ManyToMany:
	default:
		return bad("unknown kind %v", r.Kind)
	}
	if r.Owner.Name == "" || r.Target.Name == "" {
		return bad("owner and target tables are required")
	}
	if len(r.Keys) == 0 {
		return bad("no key columns")
	}
	if len(r.Keys) > MaxKeyColumns {
		return bad("%d key columns; at most %d are supported", len(r.Keys), MaxKeyColumns)
	}
	for _, k := range r.Keys {
		if k.From == "" || k.To == "" {
			return bad("empty key column in %+v", k)
		}
	}
	if r.Kind == ManyToMany {
		if r.Join == nil || r.Join.Name == "" || len(r.Join.TargetKeys) == 0 {
			return bad("many-to-many needs a join table with target keys")
		}
	} else if r.Join != nil {
		return bad("a join table is only valid for many-to-many")
	}
	if r.Polymorphic != nil && r.Kind != HasOne && r.Kind != HasMany {
		return bad("polymorphic is only valid for has-one and has-many")
	}
	if r.Polymorphic != nil && r.Polymorphic.TypeColumn == "" {
		return bad("polymorphic type column is empty")
	}
	return nil
}

func (r *Relation) String() string {
	return fmt.Sprintf("%s (%v %s -> %s)", r.Name, r.Kind, r.Owner.Name, r.Target.Name)
}
