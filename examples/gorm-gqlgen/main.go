// Command gorm-gqlgen is a GraphQL server over GORM with ormloader: a music
// catalogue (labels, bands, members, albums, tracks) on an embedded SQLite
// database seeded with generated data, or on PostgreSQL or MySQL with -dsn.
//
//	go run ./examples/gorm-gqlgen            # then open http://localhost:8080/
//	go run ./examples/gorm-gqlgen -naive     # the same server without ormloader: N+1 statements
//
// Each request logs its statement count, dataloader batches and time, and
// the response carries the same numbers in "extensions" (with -sql, the
// statements too). Try, in GraphiQL:
//
//	{ bands(first: 100) { name albums(first: 3) { totalCount edges { node { title tracks { name } } } } } }
//
// ormloader: 3 statements (bands, album pages with their counts, tracks); -naive: 1 + 100 + 100 + 300.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/ormloader/ormloader/examples/gorm-gqlgen/server"
	"github.com/ormloader/ormloader/examples/internal/demo"
)

func main() {
	flags := demo.ParseFlags()
	if err := run(flags); err != nil {
		fmt.Fprintln(os.Stderr, "gorm-gqlgen:", err)
		os.Exit(1)
	}
}

func run(flags demo.Flags) error {
	db, closeDB, err := server.Open(flags.DSN)
	if err != nil {
		return err
	}
	defer closeDB()
	seeded, err := server.Seed(context.Background(), db, flags.Size)
	if err != nil {
		return err
	}
	demo.Announce(flags, seeded)
	return demo.Listen(flags.Addr, server.Handler(db, server.Options{Naive: flags.Naive, SQL: flags.SQL, Logger: slog.Default()}))
}
