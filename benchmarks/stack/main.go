// Command stack benchmarks whole gqlgen servers, not loaders alone: the same
// schema (schema.graphqls) and the same data set (the examples' generated
// music catalogue: 100 bands, 901 albums, 8 576 tracks, 4 members per band,
// 10 labels), served on GORM and on ent, with the relations resolved by each
// variant in turn, on four queries (the queries variable): depth-3 (bands,
// their albums, their tracks), label+members (a belongs-to and a
// many-to-many), tracks-album (the album of every track: a to-one parent
// for thousands of children at the end of a deep tree) and reached-again
// (the albums' bands and those bands' labels, which are the root's bands
// and labels again). The variants:
//
//   - naive: a query per parent (the N+1);
//   - dataloadgen v0.0.10 as gqlgen's documentation sets it up (loaders
//     created per request in HTTP middleware, WithWait(time.Millisecond),
//     hand-written batch functions);
//   - graph-gophers/dataloader/v7 with its defaults, the same batch functions;
//   - eager loading: GORM's Preload, ent's With..., entgql's CollectFields;
//   - ormloader: gormloader's generated LoadX methods, entloader's edge
//     methods, with the gqlgenloader extension.
//
// For each, on SQLite (a temporary file) and PostgreSQL (a schema created
// and dropped in the -dsn database): statements per request (counted at the
// database/sql driver), p50 and p99 latency of sequential requests, the
// process's CPU time per sequential request ("CPU ms/req": user + system
// from getrusage, so SQLite's work is in it but PostgreSQL's server is not;
// "n/a" on systems other than Unix), throughput with 8 concurrent clients,
// and allocations per request. Requests are served in-process (httptest), so
// the numbers are the server's. It prints a Markdown table, then how
// ormloader compares with the others.
//
//	go run ./benchmarks/stack                      # SQLite and PostgreSQL, several minutes
//	go run ./benchmarks/stack -dialects sqlite3    # SQLite only
//	go run ./benchmarks/stack -dialects sqlite3 -run 'tracks-album|reached-again'  # two queries on SQLite, 2½ minutes
//	go run ./benchmarks/stack -rounds 3            # each variant 3 times round-robin, the median: steadier
//	go run ./benchmarks/stack -run 'sqlite3/depth-3/gorm/ormloader' -cpuprofile cpu.out
package main

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/ormloader/ormloader/benchmarks/stack/entstack"
	"github.com/ormloader/ormloader/benchmarks/stack/gormstack"
	"github.com/ormloader/ormloader/benchmarks/stack/internal/bench"
	entserver "github.com/ormloader/ormloader/examples/ent-gqlgen/server"
	gormserver "github.com/ormloader/ormloader/examples/gorm-gqlgen/server"
)

// query is one of the benchmark's GraphQL queries.
type query struct {
	name, text string
}

var queries = []query{
	{"depth-3", `{ bands { id name albums { id title year tracks { id position title } } } }`},
	{"label+members", `{ bands { id name label { id name } members { id name } } }`},
	// A to-one parent at the last level of a deep tree, for every track.
	{"tracks-album", `{ bands { id albums { id tracks { id title album { id title } } } } }`},
	// Relations reached again from deeper levels: the albums' bands are the
	// root's bands, and their labels the root bands' labels.
	{"reached-again", `{ bands { id name label { id name } albums { id title band { id name label { id name } } } } }`},
}

type config struct {
	dsn        string
	dialects   []string
	run        *regexp.Regexp
	budget     bench.Budget
	rounds     int
	size       gormserver.Size
	cpuProfile string
	memProfile string
}

func main() {
	log.SetFlags(0)
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("stack", flag.ContinueOnError)
	var cfg config
	dsn := os.Getenv("ORMLOADER_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	fs.StringVar(&cfg.dsn, "dsn", dsn, "PostgreSQL database (a schema is created in it and dropped); default $ORMLOADER_TEST_POSTGRES_DSN or the local test database")
	dialects := fs.String("dialects", "sqlite3,postgres", "databases to run on, comma-separated: sqlite3, postgres")
	runPattern := fs.String("run", "", "only the variants whose dialect/query/orm/variant matches this regular expression (e.g. 'sqlite3/depth-3/gorm/')")
	fs.DurationVar(&cfg.budget.Time, "time", 3*time.Second, "at most this long per variant and query for the sequential requests")
	fs.IntVar(&cfg.budget.Requests, "requests", 200, fmt.Sprintf("at most this many sequential requests per variant and query (at least %d)", bench.MinRequests))
	fs.IntVar(&cfg.budget.Clients, "clients", 8, "concurrent clients for the throughput")
	fs.DurationVar(&cfg.budget.ConcTime, "conc", time.Second, "how long the concurrent clients send requests, per variant and query")
	fs.IntVar(&cfg.rounds, "rounds", 1, "measure every variant this many times, round-robin, and report the round with the median p50 (steadier on a busy machine)")
	fs.IntVar(&cfg.size.Labels, "labels", 10, "record labels")
	fs.IntVar(&cfg.size.Bands, "bands", 100, "bands")
	fs.IntVar(&cfg.size.Albums, "albums", 10, "albums per band (a third of the bands have one or two fewer)")
	fs.IntVar(&cfg.size.Tracks, "tracks", 10, "tracks per album (half the albums have one fewer)")
	fs.IntVar(&cfg.size.Members, "members", 4, "members per band")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the measurements to this file")
	fs.StringVar(&cfg.memProfile, "memprofile", "", "write an allocation profile to this file at the end")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if cfg.rounds < 1 {
		return cfg, fmt.Errorf("-rounds must be 1 or more, got %d", cfg.rounds)
	}
	for _, d := range strings.Split(*dialects, ",") {
		if d != bench.SQLite && d != bench.Postgres {
			return cfg, fmt.Errorf("-dialects: unknown %q (sqlite3, postgres)", d)
		}
		cfg.dialects = append(cfg.dialects, d)
	}
	var err error
	cfg.run, err = regexp.Compile(*runPattern)
	return cfg, err
}

// row is a measured variant.
type row struct {
	dialect, query string
	variant        bench.Variant
	bench.Result
}

func run(ctx context.Context, cfg config, w io.Writer) error {
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if slices.Contains(cfg.dialects, bench.Postgres) {
		if err := ping(ctx, cfg.dsn); err != nil {
			return fmt.Errorf("PostgreSQL (-dsn): %w; run on SQLite only with -dialects sqlite3", err)
		}
	}
	fmt.Fprintf(w, "%s, GOMAXPROCS=%d, %s/%s; %d bands; sequential: up to %d requests or %v; %d clients for %v; %d round(s), median p50\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, cfg.size.Bands,
		cfg.budget.Requests, cfg.budget.Time, cfg.budget.Clients, cfg.budget.ConcTime, cfg.rounds)
	fmt.Fprintln(w, "| database | query | ORM | variant | statements | statements @8 | p50 ms | p99 ms | CPU ms/req | req/s @8 | allocs/req | kB/req |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	var rows []row
	for _, dialect := range cfg.dialects {
		dsn := ""
		if dialect == bench.Postgres {
			dsn = cfg.dsn
		}
		err := withVariants(ctx, dsn, cfg.size, func(variants []bench.Variant) error {
			for _, q := range queries {
				qrows, err := measureQuery(ctx, cfg, w, dialect, q, variants)
				if err != nil {
					return err
				}
				rows = append(rows, qrows...)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	summarize(w, rows)
	if cfg.memProfile != "" {
		f, err := os.Create(cfg.memProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		return pprof.Lookup("allocs").WriteTo(f, 0)
	}
	return nil
}

// measureQuery checks that the variants that cfg.run selects return the
// same response to q, then measures each cfg.rounds times, round-robin, and
// prints and returns the round with the median p50 of each.
func measureQuery(ctx context.Context, cfg config, w io.Writer, dialect string, q query, variants []bench.Variant) ([]row, error) {
	var selected []bench.Variant
	var want string // the first variant's response, which every other must equal
	for _, v := range variants {
		if !cfg.run.MatchString(strings.Join([]string{dialect, q.name, v.ORM, v.Name}, "/")) {
			continue
		}
		body, err := bench.Request(v.Handler, bench.Body(q.text))
		if err != nil {
			return nil, fmt.Errorf("%s %s %s/%s: %w", dialect, q.name, v.ORM, v.Name, err)
		}
		got, err := bench.Canonical(body)
		if err != nil {
			return nil, err
		}
		if want == "" {
			want = got
		} else if got != want {
			return nil, fmt.Errorf("%s %s %s/%s: the response differs from the first variant's", dialect, q.name, v.ORM, v.Name)
		}
		selected = append(selected, v)
	}
	results := make([][]bench.Result, len(selected))
	var rows []row
	for round := range cfg.rounds {
		for i, v := range selected {
			res, err := bench.Measure(ctx, v.Handler, q.text, cfg.budget)
			if err != nil {
				return nil, fmt.Errorf("%s %s %s/%s: %w", dialect, q.name, v.ORM, v.Name, err)
			}
			results[i] = append(results[i], res)
			if round == cfg.rounds-1 {
				slices.SortFunc(results[i], func(a, b bench.Result) int { return cmp.Compare(a.P50, b.P50) })
				r := row{dialect, q.name, v, results[i][len(results[i])/2]}
				printRow(w, r)
				rows = append(rows, r)
			}
		}
	}
	return rows, nil
}

// ping fails unless the PostgreSQL database of dsn answers, so that the
// command stops before measuring anything.
func ping(ctx context.Context, dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

// withVariants opens a GORM and an ent database on dsn (empty: SQLite), seeds
// both with the data set of size, and calls f with every variant of both.
func withVariants(ctx context.Context, dsn string, size gormserver.Size, f func([]bench.Variant) error) (err error) {
	gormDB, dialect, closeGorm, err := bench.OpenDB(dsn, "gorm")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeGorm()) }()
	plain, loaded, err := gormstack.Open(gormDB, dialect)
	if err != nil {
		return err
	}
	if _, err := gormserver.Seed(ctx, plain, size); err != nil {
		return err
	}
	entDB, _, closeEnt, err := bench.OpenDB(dsn, "ent")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeEnt()) }()
	client, err := entstack.Open(ctx, entDB, dialect)
	if err != nil {
		return err
	}
	if _, err := entserver.Seed(ctx, client, size); err != nil {
		return err
	}
	return f(append(gormstack.Variants(plain, loaded), entstack.Variants(client)...))
}

func printRow(w io.Writer, r row) {
	stmts := fmt.Sprint(r.MinStmts)
	if r.MaxStmts != r.MinStmts {
		stmts = fmt.Sprintf("%d–%d", r.MinStmts, r.MaxStmts)
	}
	name := r.variant.Name
	if r.variant.Name == bench.Ormloader {
		name = "**ormloader**"
	}
	cpu := "n/a"
	if bench.CPUTimeAvailable {
		cpu = fmt.Sprintf("%.2f", ms(r.CPU))
	}
	fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.1f | %.2f | %.2f | %s | %.0f | %.0f | %.0f |\n",
		r.dialect, r.query, r.variant.ORM, name, stmts, r.ConcStmts, ms(r.P50), ms(r.P99), cpu,
		r.Throughput, r.Allocs, r.Bytes/1024)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summarize writes, for every database, query and ORM, how ormloader
// compares with eager loading (statements, p50) and with the two
// dataloader libraries (p50): the goals of the benchmark.
func summarize(w io.Writer, rows []row) {
	type group struct{ dialect, query, orm string }
	byGroup := make(map[group]map[string]row)
	var order []group
	for _, r := range rows {
		g := group{r.dialect, r.query, r.variant.ORM}
		if byGroup[g] == nil {
			byGroup[g] = make(map[string]row)
			order = append(order, g)
		}
		byGroup[g][r.variant.Name] = r
	}
	for _, g := range order {
		vs := byGroup[g]
		o, ok := vs[bench.Ormloader]
		if !ok {
			continue
		}
		var parts []string
		for _, name := range []string{bench.Preload, bench.With, bench.CollectFields} {
			if e, ok := vs[name]; ok {
				parts = append(parts, fmt.Sprintf("%d statements (%s: %d), p50 %.2f× %s's",
					o.MaxStmts, name, e.MaxStmts, ratio(o.P50, e.P50), name))
			}
		}
		for _, name := range []string{bench.Dataloadgen, bench.GraphGophers} {
			if p, ok := vs[name]; ok {
				parts = append(parts, fmt.Sprintf("p50 %.2f× %s's", ratio(o.P50, p.P50), name))
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "- %s, %s, %s: ormloader %s\n", g.dialect, g.query, g.orm, strings.Join(parts, "; "))
		}
	}
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }
