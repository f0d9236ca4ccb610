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
	return []ent.Edge{
		edge.From("posts", Post.Type).Ref("tags"),
		edge.From("countries", Country.Type).Ref("tags"),
	}
}

// Country is keyed by a string (its code): on MySQL and MariaDB the key
// columns compare under their collation (TestStringKeysUnderCollation).
type Country struct {
	ent.Schema
}

// Fields of the Country.
func (Country) Fields() []ent.Field {
	return []ent.Field{field.String("id"), field.String("name")}
}

// Edges of the Country.
func (Country) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("cities", City.Type),
		edge.To("tags", Tag.Type),
	}
}

// City belongs to a country through a string edge field.
type City struct {
	ent.Schema
}

// Fields of the City.
func (City) Fields() []ent.Field {
	return []ent.Field{field.String("name"), field.String("country_code")}
}

// Edges of the City.
func (City) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("country", Country.Type).Ref("cities").Field("country_code").Unique().Required(),
	}
}
