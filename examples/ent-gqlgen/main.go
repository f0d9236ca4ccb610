// Command ent-gqlgen is a GraphQL server over ent with ormloader: a music
// catalogue (labels, bands, members, albums, tracks, reviews) on an embedded
// SQLite database seeded with generated data, or on PostgreSQL or MySQL with
// -dsn. The schema is the one entgql generates for ormloader's reference ent
// schema (ent/ent.graphql), plus graph/schema.graphqls.
//
//	go run ./examples/ent-gqlgen            # then open http://localhost:8080/
//	go run ./examples/ent-gqlgen -naive     # the same server without ormloader: N+1 statements
//
// Each request logs its statement count, dataloader batches and time, and
// the response carries the same numbers in "extensions" (with -sql, the
// statements too). Try, in GraphiQL:
//
//	{ bands(first: 100) { edges { node { name albumPage(first: 3) { totalCount albums { title tracks { title } } } } } } }
//
// ormloader: 4 statements (bands and their count, album pages with their
// counts, tracks); -naive: 2 + 100 + 100 + 300.
//
// The X-Viewer request header names a viewer ("alice", "bob" or "carol"):
// album reviews then show only that viewer's, with or without ormloader.
package main

//go:generate go tool gqlgen generate --config gqlgen.yml

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/ormloader/ormloader/examples/ent-gqlgen/server"
	"github.com/ormloader/ormloader/examples/internal/demo"
)

func main() {
	flags := demo.ParseFlags()
	if err := run(flags); err != nil {
		fmt.Fprintln(os.Stderr, "ent-gqlgen:", err)
		os.Exit(1)
	}
}

func run(flags demo.Flags) error {
	client, closeDB, err := server.Open(flags.DSN)
	if err != nil {
		return err
	}
	defer closeDB()
	seeded, err := server.Seed(context.Background(), client, flags.Size)
	if err != nil {
		return err
	}
	demo.Announce(flags, seeded)
	return demo.Listen(flags.Addr, server.Handler(client, server.Options{Naive: flags.Naive, SQL: flags.SQL, Logger: slog.Default()}))
}
