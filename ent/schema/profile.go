package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Profile is a band's profile page. Band 1–1 Profile; profiles holds the hidden
// FK column band_profile.
type Profile struct {
	ent.Schema
}

// Fields of the Profile.
func (Profile) Fields() []ent.Field {
	return []ent.Field{
		field.String("bio"),
		field.String("website").Optional(),
	}
}

// Edges of the Profile.
func (Profile) Edges() []ent.Edge {
	return []ent.Edge{
		// O2O, the side that owns the (hidden) FK.
		edge.From("band", Band.Type).Ref("profile").Unique(),
	}
}
