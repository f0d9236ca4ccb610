package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Label is a record label. Label 1–N Band (O2M; the FK is Band's label_id
// field), exposed to GraphQL as a Relay connection.
type Label struct {
	ent.Schema
}

// Annotations of the Label: a root query field (a Relay connection) in GraphQL.
func (Label) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection()}
}

// Fields of the Label.
func (Label) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
	}
}

// Edges of the Label.
func (Label) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("bands", Band.Type).Annotations(entgql.RelayConnection()),
	}
}
