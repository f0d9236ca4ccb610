package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Person is a musician. Band N–M Person through the join table band_members.
type Person struct {
	ent.Schema
}

// Fields of the Person.
func (Person) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.String("instrument").Optional(),
	}
}

// Edges of the Person.
func (Person) Edges() []ent.Edge {
	return []ent.Edge{
		// M2M, the inverse side of Band.members.
		edge.From("bands", Band.Type).Ref("members"),
	}
}
