package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Album belongs to one band (M2O with the edge field band_id) and has tracks.
type Album struct {
	ent.Schema
}

// Fields of the Album.
func (Album) Fields() []ent.Field {
	return []ent.Field{
		field.String("title"),
		field.Int("year"),
		field.Int("band_id"),
	}
}

// Edges of the Album.
func (Album) Edges() []ent.Edge {
	return []ent.Edge{
		// M2O with an edge field.
		edge.From("band", Band.Type).Ref("albums").Field("band_id").Unique().Required(),
		// O2M: tracks holds the hidden column album_tracks.
		edge.To("tracks", Track.Type),
		// O2M to a type with a privacy policy.
		edge.To("reviews", Review.Type),
	}
}
