package schema

import (
	"context"

	"entgo.io/ent"
	"entgo.io/ent/entql"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"github.com/ormloader/ormloader/ent/privacy"
	"github.com/ormloader/ormloader/ent/viewer"
)

// Review is an album review. Its privacy policy shows a viewer only the
// reviews they wrote; without a viewer in the context every review is visible.
type Review struct {
	ent.Schema
}

// Fields of the Review.
func (Review) Fields() []ent.Field {
	return []ent.Field{
		field.String("author"),
		field.String("body"),
		field.Int("stars").Default(3),
	}
}

// Edges of the Review.
func (Review) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("album", Album.Type).Ref("reviews").Unique(),
	}
}

// Policy of the Review.
func (Review) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			privacy.FilterFunc(func(ctx context.Context, f privacy.Filter) error {
				name, ok := viewer.FromContext(ctx)
				if !ok {
					return privacy.Skip
				}
				f.Where(entql.FieldEQ("author", name))
				return privacy.Skip
			}),
		},
	}
}
