// Package tenantapp is the test-only server of the reliability suite's GORM
// isolation test: a gqlgen server over a GORM schema in which every table
// has a tenant_id and every relation kind appears (has-one, has-many,
// belongs-to, many-to-many, polymorphic, with counts and per-parent
// limits). The tenant is enforced the usual way: HTTP middleware puts the
// request's tenant (the X-Tenant header) into its context, and a Query
// callback registered before gorm:query adds tenant_id = ? for the current
// table to every query run with that context. gqlgenloader opens the
// operation's scope inside the middleware, so the batches run under the
// tenant's context too.
package tenantapp

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"

	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/gqlgenloader"
)

// TenantHeader names the request's tenant, a positive integer.
const TenantHeader = "X-Tenant"

type tenantKey struct{}

// tenantFrom returns the tenant of ctx.
func tenantFrom(ctx context.Context) (uint, bool) {
	t, ok := ctx.Value(tenantKey{}).(uint)
	return t, ok
}

// Open opens dsn (dialect "sqlite", "postgres" or "mysql", as
// internal/testdb names them) with at most 8 connections, registers the
// tenant scope, installs gormloader and migrates the models.
func Open(dialect, dsn string) (*gorm.DB, error) {
	var d gorm.Dialector
	switch dialect {
	case "sqlite":
		d = sqlite.Open(dsn)
	case "postgres":
		d = postgres.Open(dsn)
	case "mysql":
		d = mysql.Open(dsn)
	default:
		return nil, fmt.Errorf("tenantapp: unknown dialect %q", dialect)
	}
	db, err := gorm.Open(d, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, err
	}
	// The tenant scope: every query with a tenant in its context sees only
	// that tenant's rows of its table.
	err = db.Callback().Query().Before("gorm:query").Register("tenantapp:tenant", func(db *gorm.DB) {
		if t, ok := tenantFrom(db.Statement.Context); ok {
			db.Where(clause.Eq{Column: clause.Column{Table: clause.CurrentTable, Name: "tenant_id"}, Value: t})
		}
	})
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	// Test packages share the database servers: a bounded pool keeps many
	// concurrent requests below their connection limits.
	sqlDB.SetMaxOpenConns(8)
	if err := db.Use(gormloader.New()); err != nil {
		return nil, err
	}
	if err := db.SetupJoinTable(&User{}, "Teams", &TeamMember{}); err != nil {
		return nil, err
	}
	if err := db.SetupJoinTable(&Team{}, "Members", &TeamMember{}); err != nil {
		return nil, err
	}
	if err := db.SetupJoinTable(&Post{}, "Tags", &PostTag{}); err != nil {
		return nil, err
	}
	if err := db.SetupJoinTable(&Tag{}, "Posts", &PostTag{}); err != nil {
		return nil, err
	}
	if err := db.AutoMigrate(&User{}, &Profile{}, &Team{}, &Post{}, &Tag{}, &Comment{}, &TeamMember{}, &PostTag{}); err != nil {
		return nil, fmt.Errorf("tenantapp: migrate: %w", err)
	}
	return db, nil
}

// Handler serves GraphQL at /query with the request's tenant (TenantHeader)
// in its context: with ormloader, or with the naive resolvers.
func Handler(db *gorm.DB, naive bool) http.Handler {
	srv := handler.New(NewExecutableSchema(Config{Resolvers: &Resolver{db: db, naive: naive}}))
	srv.AddTransport(transport.POST{})
	if !naive {
		srv.Use(gqlgenloader.New(gqlgenloader.WithContext(func(ctx context.Context) context.Context { return gormloader.WithDB(ctx, db) })))
	}
	mux := http.NewServeMux()
	mux.Handle("/query", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := strconv.ParseUint(r.Header.Get(TenantHeader), 10, 32)
		if err != nil || t == 0 {
			http.Error(w, "tenantapp: the "+TenantHeader+" header must name the tenant", http.StatusForbidden)
			return
		}
		srv.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tenantKey{}, uint(t))))
	}))
	return mux
}
