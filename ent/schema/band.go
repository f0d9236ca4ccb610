package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Band is the centre of the music domain.
type Band struct {
	ent.Schema
}

// Annotations of the Band: a root query field (a Relay connection) in GraphQL.
func (Band) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection()}
}

// Fields of the Band.
func (Band) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").Annotations(entgql.OrderField("NAME")),
		field.Int("formed").Optional(),
		// label_id is the edge field of the M2O edge "label"; NULL means no label.
		field.Int("label_id").Optional().Nillable(),
	}
}

// Edges of the Band.
func (Band) Edges() []ent.Edge {
	return []ent.Edge{
		// M2O with an edge field (nullable).
		edge.From("label", Label.Type).Ref("bands").Field("label_id").Unique(),
		// M2M through the join table band_members.
		edge.To("members", Person.Type),
		// O2M: Album holds band_id.
		edge.To("albums", Album.Type),
		// O2O, the side without the FK: profiles holds the hidden column band_profile.
		edge.To("profile", Profile.Type).Unique(),
		// M2M to itself through the edge schema Influence, which has fields of its own.
		edge.To("influences", Band.Type).
			From("influenced").
			Through("influence_links", Influence.Type),
	}
}
