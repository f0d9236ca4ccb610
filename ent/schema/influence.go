package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Influence is the edge schema of Band.influences (and its inverse
// Band.influenced): a row (band_id, influenced_id) says that band band_id names
// band influenced_id as an influence. ent names the second column after the
// inverse edge, as in its own following/followers example.
type Influence struct {
	ent.Schema
}

// Annotations of the Influence: its primary key is the pair of band IDs.
func (Influence) Annotations() []schema.Annotation {
	return []schema.Annotation{
		field.ID("band_id", "influenced_id"),
	}
}

// Fields of the Influence.
func (Influence) Fields() []ent.Field {
	return []ent.Field{
		field.Int("band_id"),
		field.Int("influenced_id"),
		field.String("note").Optional(),
		field.Int("weight").Default(1),
	}
}

// Edges of the Influence.
func (Influence) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("band", Band.Type).Unique().Required().Field("band_id"),
		edge.To("influenced", Band.Type).Unique().Required().Field("influenced_id"),
	}
}
