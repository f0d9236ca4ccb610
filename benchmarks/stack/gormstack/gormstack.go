// Package gormstack is the GORM side of the whole-stack benchmark: the
// shared schema (../schema.graphqls) bound to the GORM example's models, and
// the variants that resolve its relations — naive, dataloadgen,
// graph-gophers/dataloader, Preload, ormloader.
package gormstack

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ormloader/ormloader/benchmarks/stack/internal/bench"
	"github.com/ormloader/ormloader/examples/gorm-gqlgen/models"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/gqlgenloader"
)

// Open returns two GORM handles on sqlDB (opened with bench.OpenDB, which
// counts statements): plain, for the variants without ormloader, and loaded,
// with the gormloader plugin, so that the other variants do not pay for
// its callbacks. It migrates the example's models.
func Open(sqlDB *sql.DB, dialect string) (plain, loaded *gorm.DB, err error) {
	open := func() (*gorm.DB, error) {
		var d gorm.Dialector
		switch dialect {
		case bench.SQLite:
			d = sqlite.New(sqlite.Config{Conn: sqlDB})
		case bench.Postgres:
			d = postgres.New(postgres.Config{Conn: sqlDB})
		default:
			return nil, fmt.Errorf("gormstack: dialect %s is not benchmarked", dialect)
		}
		return gorm.Open(d, &gorm.Config{Logger: logger.Discard})
	}
	if plain, err = open(); err != nil {
		return nil, nil, err
	}
	if loaded, err = open(); err != nil {
		return nil, nil, err
	}
	if err := loaded.Use(gormloader.New()); err != nil {
		return nil, nil, err
	}
	if err := plain.AutoMigrate(models.All()...); err != nil {
		return nil, nil, fmt.Errorf("migrate: %w", err)
	}
	return plain, loaded, nil
}

// Variants returns the GORM variants, in the order of the table.
func Variants(plain, loaded *gorm.DB) []bench.Variant {
	b := batches{plain}
	return []bench.Variant{
		variant(bench.Naive, plain, naive(plain)),
		{ORM: "gorm", Name: bench.Dataloadgen, Handler: bench.WithLoaders(server(plain, peers()), b.dataloadgen)},
		{ORM: "gorm", Name: bench.GraphGophers, Handler: bench.WithLoaders(server(plain, peers()), b.graphGophers)},
		variant(bench.Preload, plain, preload()),
		variant(bench.PreloadIntercepted, plain, preload(), bench.NoopInterceptor{}),
		variant(bench.Ormloader, loaded, ormloader(),
			gqlgenloader.New(gqlgenloader.WithContext(func(ctx context.Context) context.Context {
				return gormloader.WithDB(ctx, loaded)
			}))),
	}
}

func variant(name string, db *gorm.DB, rel Relations, exts ...graphql.HandlerExtension) bench.Variant {
	return bench.Variant{ORM: "gorm", Name: name, Handler: server(db, rel, exts...)}
}

func server(db *gorm.DB, rel Relations, exts ...graphql.HandlerExtension) *handler.Server {
	return bench.NewServer(NewExecutableSchema(Config{Resolvers: &Resolver{db: db, rel: rel}}), exts...)
}
