package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Track belongs to an album through a hidden foreign-key column (album_tracks):
// the M2O edge has no edge field, so the key is not a field of Track.
type Track struct {
	ent.Schema
}

// Fields of the Track.
func (Track) Fields() []ent.Field {
	return []ent.Field{
		field.String("title"),
		field.Int("position"),
		field.Int("seconds").Optional(),
	}
}

// Edges of the Track.
func (Track) Edges() []ent.Edge {
	return []ent.Edge{
		// M2O without an edge field (hidden FK), optional: a track may have no album.
		edge.From("album", Album.Type).Ref("tracks").Unique(),
	}
}
