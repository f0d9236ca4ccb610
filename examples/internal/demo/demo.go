// Package demo holds what the example servers (examples/gorm-gqlgen,
// examples/ent-gqlgen) share, so that each example shows only its ORM's code:
//
//   - [OpenDB] opens PostgreSQL, MySQL/MariaDB or a temporary SQLite file,
//     chosen by the form of the DSN, through a database/sql driver wrapper that
//     counts the statements of each request ([Stats]).
//   - [Generate] makes the same deterministic music data set for every
//     example, sized by [Flags].
//   - [NewServer] is a gqlgen server with the usual transports and the
//     request statistics in every response's extensions; [Handler] adds
//     GraphiQL at / and one log line per request:
//     "graphql op=Bands statements=4 batches=3 time=2.1ms".
//   - [Listen] serves, prints the URL, and returns on Ctrl-C.
//
// A typical main:
//
//	flags := demo.ParseFlags()
//	db, dialect, err := demo.OpenDB(flags.DSN) // *sql.DB for the ORM
//	... seed demo.Generate(flags.Size) through the ORM ...
//	srv := demo.NewServer(graph.NewExecutableSchema(...), demo.Reporting{SQL: flags.SQL}, gqlgenloader.New(...))
//	log.Fatal(demo.Listen(flags.Addr, demo.Handler(srv, logger)))
package demo

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/vektah/gqlparser/v2/ast"
)

// Flags are the command-line flags every example server takes.
type Flags struct {
	Addr  string // -addr: where to listen
	DSN   string // -dsn: empty for a temporary SQLite database
	Naive bool   // -naive: resolvers that query per parent, without ormloader
	SQL   bool   // -sql: list each request's statements in the response extensions
	Size  Size   // -labels, -bands, -albums, -tracks, -members
}

// ParseFlags parses os.Args into Flags.
func ParseFlags() Flags {
	var f Flags
	fs := flag.CommandLine
	fs.StringVar(&f.Addr, "addr", "localhost:8080", "address to listen on")
	fs.StringVar(&f.DSN, "dsn", "", "database: postgres://user@host/db, user@tcp(host:3306)/db?parseTime=true, or empty for a temporary SQLite file")
	fs.BoolVar(&f.Naive, "naive", false, "turn ormloader off: resolvers query once per parent (the N+1 problem)")
	fs.BoolVar(&f.SQL, "sql", false, "list each request's SQL statements in the response extensions")
	f.Size.RegisterFlags(fs)
	flag.Parse()
	return f
}

// NewServer returns a gqlgen server for es with the POST, GET, multipart
// (@defer) and SSE/websocket (subscriptions) transports, introspection and a
// query cache, and the given extensions (ormloader's gqlgenloader, the
// example's [Reporting]).
func NewServer(es graphql.ExecutableSchema, exts ...graphql.HandlerExtension) *handler.Server {
	srv := handler.New(es)
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.MultipartMixed{})
	srv.AddTransport(transport.SSE{})
	srv.AddTransport(transport.POST{})
	srv.AddTransport(transport.Websocket{KeepAlivePingInterval: 10 * time.Second})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(extension.Introspection{})
	for _, e := range exts {
		srv.Use(e)
	}
	return srv
}

// Handler serves GraphiQL at / and the GraphQL endpoint at /query, and logs
// one line per GraphQL request with its statement count, batches and time.
func Handler(gql http.Handler, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", playground.Handler("ormloader example", "/query"))
	mux.Handle("/query", LogRequests(gql, logger))
	return mux
}

// LogRequests counts the statements and batches of every request to h
// (see [Stats]) and logs them when the request ends.
func LogRequests(h http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx, st := WithStats(r.Context())
		h.ServeHTTP(w, r.WithContext(ctx))
		if r.Method == http.MethodOptions {
			return
		}
		s := st.Snapshot(false)
		attrs := []any{"statements", s.Statements, "batches", s.Batches, "time", time.Since(start).Round(10 * time.Microsecond)}
		if s.Operation != "" {
			attrs = append([]any{"op", s.Operation}, attrs...)
		}
		logger.Info("graphql", attrs...)
	})
}

// Listen serves h on addr and prints the URL of GraphiQL. It returns nil
// after an interrupt (Ctrl-C) or SIGTERM, once the requests in progress are
// done, so that the caller's deferred clean-up (the temporary database) runs;
// otherwise it returns the error that stopped the server.
func Listen(addr string, h http.Handler) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (pick another address with -addr)", addr, err)
	}
	fmt.Fprintf(os.Stderr, "GraphiQL on http://%s/ (GraphQL endpoint: /query)\n", l.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: h}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		stop() // a second interrupt kills the process
		fmt.Fprintln(os.Stderr, "shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	}
}

// Announce tells, on standard error, whether the data set was seeded and
// whether ormloader is on.
func Announce(flags Flags, seeded bool) {
	if seeded {
		fmt.Fprintf(os.Stderr, "seeded %d bands with %d albums and %d tracks each\n", flags.Size.Bands, flags.Size.Albums, flags.Size.Tracks)
	} else {
		fmt.Fprintln(os.Stderr, "the database has bands already: not seeding")
	}
	if flags.Naive {
		fmt.Fprintln(os.Stderr, "ormloader OFF (-naive): one query per parent")
	} else {
		fmt.Fprintln(os.Stderr, "ormloader on")
	}
}
