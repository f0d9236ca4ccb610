package gormstack

//go:generate go tool gqlgen generate --config gqlgen.yml

import (
	"context"

	"gorm.io/gorm"

	"github.com/ormloader/ormloader/examples/gorm-gqlgen/models"
)

// Resolver serves the benchmark schema over GORM. The root field is one
// plain GORM query; every relation field calls a function of Relations, and
// those functions are all that differs between the variants.
type Resolver struct {
	db  *gorm.DB
	rel Relations
}

// Relations are a variant's relation resolvers.
type Relations struct {
	// Bands, if set, adds to the root query what the variant loads with it
	// (eager loading).
	Bands   func(ctx context.Context, q *gorm.DB) *gorm.DB
	Label   func(ctx context.Context, b *models.Band) (*models.Label, error)
	Members func(ctx context.Context, b *models.Band) ([]models.Person, error)
	Albums  func(ctx context.Context, b *models.Band) ([]models.Album, error)
	Band    func(ctx context.Context, a *models.Album) (*models.Band, error)
	Tracks  func(ctx context.Context, a *models.Album) ([]models.Track, error)
	Album   func(ctx context.Context, t *models.Track) (*models.Album, error)
}
