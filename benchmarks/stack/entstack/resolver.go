package entstack

//go:generate go tool gqlgen generate --config gqlgen.yml

import (
	"context"

	"github.com/ormloader/ormloader/ent"
)

// Resolver serves the benchmark schema over ent. The root field is one ent
// query; every relation field calls a function of Relations, and those
// functions are all that differs between the variants.
type Resolver struct {
	client *ent.Client
	rel    Relations
}

// Relations are a variant's relation resolvers.
type Relations struct {
	// Bands, if set, adds to the root query what the variant loads with it
	// (eager loading).
	Bands   func(ctx context.Context, q *ent.BandQuery) (*ent.BandQuery, error)
	Label   func(ctx context.Context, b *ent.Band) (*ent.Label, error)
	Members func(ctx context.Context, b *ent.Band) ([]*ent.Person, error)
	Albums  func(ctx context.Context, b *ent.Band) ([]*ent.Album, error)
	Band    func(ctx context.Context, a *ent.Album) (*ent.Band, error)
	Tracks  func(ctx context.Context, a *ent.Album) ([]*ent.Track, error)
	Album   func(ctx context.Context, t *ent.Track) (*ent.Album, error)
}
