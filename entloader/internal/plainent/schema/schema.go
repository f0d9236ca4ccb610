// Package schema is a small ent schema generated with entloader and without
// entgql: the edge methods then come from entloader's own template.
package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Author writes posts.
type Author struct {
	ent.Schema
}

// Fields of the Author.
func (Author) Fields() []ent.Field {
	return []ent.Field{field.String("name")}
}

// Edges of the Author.
func (Author) Edges() []ent.Edge {
	return []ent.Edge{edge.To("posts", Post.Type)}
}

// Post belongs to an author through a hidden FK column and has tags.
type Post struct {
	ent.Schema
}

// Fields of the Post.
func (Post) Fields() []ent.Field {
	return []ent.Field{field.String("title"), field.Int("likes").Default(0)}
}

// Edges of the Post.
func (Post) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("author", Author.Type).Ref("posts").Unique(),
		edge.To("tags", Tag.Type),
	}
}

// Tag labels posts.
type Tag struct {
	ent.Schema
}

// Fields of the Tag.
func (Tag) Fields() []ent.Field {
	return []ent.Field{field.String("name").Unique()}
}

// Edges of the Tag.
func (Tag) Edges() []ent.Edge {
	return []ent.Edge{edge.From("posts", Post.Type).Ref("tags")}
}
