// Package server wires the GORM example: the database with the gormloader
// plugin, the seed data, and the GraphQL handler with the gqlgenloader
// extension. The example's main and the integration tests use it.
package server

import (
	"context"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/examples/gorm-gqlgen/graph"
	"github.com/ormloader/ormloader/examples/gorm-gqlgen/models"
	"github.com/ormloader/ormloader/examples/internal/demo"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/gqlgenloader"
)

// Size is the size of the seed data (see the -bands, -albums ... flags).
type Size = demo.Size

// Options configure Handler.
type Options struct {
	Naive  bool         // resolvers that query once per parent, without ormloader
	SQL    bool         // list each request's statements in the response extensions
	Logger *slog.Logger // gets one line per request; nil logs nothing
}

// Open opens the database named by dsn (empty: a temporary SQLite file; see
// demo.OpenDB for the forms), installs gormloader on it and migrates the
// models. Statements are counted per request at the driver. Each wrap, if
// any, wraps the database driver's connector below the counting (the
// reliability tests inject faults with one).
func Open(dsn string, wrap ...func(driver.Connector) driver.Connector) (db *gorm.DB, closeDB func() error, err error) {
	sqlDB, dialect, closeDB, err := demo.OpenDB(dsn, wrap...)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			closeDB()
		}
	}()
	var dialector gorm.Dialector
	switch dialect {
	case demo.SQLite:
		dialector = sqlite.New(sqlite.Config{Conn: sqlDB})
	case demo.Postgres:
		dialector = postgres.New(postgres.Config{Conn: sqlDB})
	case demo.MySQL:
		dialector = mysql.New(mysql.Config{Conn: sqlDB})
	}
	db, err = gorm.Open(dialector, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, nil, err
	}
	// The one line that puts ormloader on GORM.
	if err := db.Use(gormloader.New()); err != nil {
		return nil, nil, err
	}
	if err := db.AutoMigrate(models.All()...); err != nil {
		return nil, nil, fmt.Errorf("migrate: %w", err)
	}
	return db, closeDB, nil
}

// Seed inserts the generated data set of size s, unless the database has
// bands already (a -dsn database that was seeded before, or your own data).
func Seed(ctx context.Context, db *gorm.DB, s Size) (seeded bool, err error) {
	var n int64
	if err := db.WithContext(ctx).Model(&models.Band{}).Count(&n).Error; err != nil || n > 0 {
		return false, err
	}
	data := demo.Generate(s)
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		labels := make([]models.Label, len(data.Labels))
		for i, name := range data.Labels {
			labels[i] = models.Label{Name: name}
		}
		people := make([]models.Person, len(data.People))
		for i, name := range data.People {
			people[i] = models.Person{Name: name}
		}
		// Batches of 100 rows stay below every dialect's bind-parameter limit.
		if err := tx.CreateInBatches(&labels, 100).Error; err != nil {
			return err
		}
		if err := tx.CreateInBatches(&people, 100).Error; err != nil {
			return err
		}
		bands := make([]models.Band, len(data.Bands))
		for i, b := range data.Bands {
			bands[i] = models.Band{Name: b.Name}
			if b.Label >= 0 {
				bands[i].LabelID = &labels[b.Label].ID
			}
			for _, p := range b.Members {
				bands[i].Members = append(bands[i].Members, models.Person{ID: people[p].ID})
			}
			for _, a := range b.Albums {
				album := models.Album{Title: a.Title, Year: a.Year}
				for k, name := range a.Tracks {
					album.Tracks = append(album.Tracks, models.Track{Position: k + 1, Name: name})
				}
				bands[i].Albums = append(bands[i].Albums, album)
			}
		}
		// Ten bands at a time with their albums and tracks; the members exist
		// already (only the band_members rows are inserted).
		return tx.Omit("Members.*").CreateInBatches(&bands, 10).Error
	})
	if err != nil {
		return false, fmt.Errorf("seed: %w", err)
	}
	return true, nil
}

// Handler returns the example's HTTP handler: GraphiQL at /, GraphQL at
// /query, with the statements and batches of each request in the response
// extensions and in the log.
func Handler(db *gorm.DB, opts Options) http.Handler {
	var root graph.ResolverRoot = graph.NewResolver(db)
	exts := []graphql.HandlerExtension{demo.Reporting{SQL: opts.SQL}}
	if opts.Naive {
		root = graph.NewNaiveResolver(db)
	} else {
		// One dataloader scope per operation, with the *gorm.DB in its context
		// for the generated LoadX methods.
		exts = append(exts, gqlgenloader.New(
			gqlgenloader.WithContext(func(ctx context.Context) context.Context { return gormloader.WithDB(ctx, db) }),
			gqlgenloader.WithScopeOptions(dataloader.WithTracer(demo.BatchCounter{})),
		))
	}
	srv := demo.NewServer(graph.NewExecutableSchema(graph.Config{Resolvers: root}), exts...)
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return demo.Handler(srv, log)
}
