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
//     methods, with the gqlgenloader extension;
//   - with -interceptor, Preload+interceptor and With...+interceptor: the
//     eager variants with a gqlgen field interceptor that only calls the
//     resolver, which shows what of ormloader's cost over eager loading is
//     gqlgen's field middleware (a closure per field and interceptor),
//     which any extension that tracks fields pays.
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
// With -rtt (a comma-separated list of round-trip times, Go durations:
// -rtt 0,500us,2ms), it measures instead how the variants fare when every
// statement pays a network round trip: for each rtt above 0, the PostgreSQL
// DSN is rewritten to a TCP proxy on 127.0.0.1 (a random port) that
// forwards to the real server and delays every chunk of bytes by rtt/2 in
// each direction, as latency, not as a bandwidth limit (bench.Proxy); rtt 0
// connects directly. For each rtt, new schemas are created, migrated and
// seeded through the proxy and dropped after, and the proxy is closed. It
// runs on PostgreSQL only: SQLite, in-process, has no round trips, so
// sqlite3 in -dialects is ignored (and -rtt without postgres in -dialects
// is an error). It measures the variants dataloadgen, eager loading
// (Preload, With..., CollectFields) and ormloader, not naive (a statement
// per parent: a thousand round trips per depth-3 request, 2 s at 2 ms) nor
// graph-gophers (its 16 ms wait per level), and only sequential requests:
// no concurrent clients, no throughput.
//
// The RTT table has a row per rtt, query, ORM and variant: statements per
// request (the fewest–the most), round trips per request (the median, then
// the fewest–the most if they differ; "–" at rtt 0, which has no proxy),
// p50, p99, and on ormloader's row its p50 divided by each eager variant's.
// A round trip is a flight from client to server: the proxy counts how many
// times a client connection starts sending after the server's answer
// reached it (on a new connection, its first message too), summed over the
// request's connections, so statements run at the same time on several
// connections count a round trip each although the request waits for them
// together. The round trips a request waits for one after the other show
// at a long rtt: (p50 − p50 at rtt 0) / rtt, e.g. with -rtt 0,50ms. pgx
// (its default statement cache) makes the first run of a SQL text on a
// connection two round trips (prepare, then execute), and pings a
// connection taken from the pool after a second idle (one more; see
// TestProxyPostgres): the warm-up absorbs them for the variants whose SQL
// is the same every request, not for dataloadgen, whose batches, cut by its
// 1 ms wait, come in sizes (IN lists) a connection has not prepared yet.
//
// Sizing of -rtt: each cell (rtt, query, ORM, variant) is the sequential
// budget of -requests and -time (by default up to 200 requests or 3 s, at
// least 20), after a check request and 3 warm-up ones; with the default
// data set and the three round-trip times of the example below, 3 × 28
// cells and three seedings took 4¼ minutes on 2 cores (-rounds 3, steadier
// on a busy machine, about three times as long).
//
//	go run ./benchmarks/stack                      # SQLite and PostgreSQL, several minutes
//	go run ./benchmarks/stack -dialects sqlite3    # SQLite only
//	go run ./benchmarks/stack -dialects sqlite3 -run 'tracks-album|reached-again'  # two queries on SQLite, 2½ minutes
//	go run ./benchmarks/stack -rounds 3            # each variant 3 times round-robin, the median: steadier
//	go run ./benchmarks/stack -run 'sqlite3/depth-3/gorm/ormloader' -cpuprofile cpu.out
//	go run ./benchmarks/stack -dialects postgres -rtt 0,500us,2ms   # with 0.5 and 2 ms round trips, 4-5 minutes
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
	rtts       []time.Duration // -rtt; nil: the normal table, no proxy
	dialects   []string
	run        *regexp.Regexp
	budget     bench.Budget
	rounds     int
	size       gormserver.Size
	cpuProfile string
	memProfile string
	// interceptor measures the eager variants with a field interceptor too
	// (bench.PreloadIntercepted, bench.WithIntercepted)
	interceptor bool
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
	fs.BoolVar(&cfg.interceptor, "interceptor", false, "also measure Preload and With... with a gqlgen field interceptor that only calls the resolver: what tracking fields costs in gqlgen")
	rtts := fs.String("rtt", "", "round-trip times, comma-separated (e.g. 0,500us,2ms): measure PostgreSQL through a loopback proxy that delays each direction by rtt/2 (0: directly), for the variants dataloadgen, eager and ormloader, without concurrent clients")
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
	if *rtts != "" {
		for _, s := range strings.Split(*rtts, ",") {
			rtt, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil || rtt < 0 {
				return cfg, fmt.Errorf("-rtt: %q is not a round-trip time (0, 500us, 2ms)", s)
			}
			cfg.rtts = append(cfg.rtts, rtt)
		}
		// The proxy is TCP: SQLite, in-process, has no round trips.
		if !slices.Contains(cfg.dialects, bench.Postgres) {
			return cfg, errors.New("-rtt measures PostgreSQL only: run it with -dialects postgres")
		}
		cfg.dialects = []string{bench.Postgres}
	}
	var err error
	cfg.run, err = regexp.Compile(*runPattern)
	return cfg, err
}

// row is a measured variant.
type row struct {
	dialect string
	rtt     time.Duration // -rtt's round-trip time; 0 outside RTT mode
	query   string
	variant bench.Variant
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
	measure := measureTable
	if cfg.rtts != nil {
		measure = measureRTT
	}
	rows, err := measure(ctx, cfg, w)
	if err != nil {
		return err
	}
	fmt.Fprintln(w)
	summarize(w, rows, cfg.rtts != nil)
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

// measureTable measures every variant on every dialect and query, printing
// the table row by row.
func measureTable(ctx context.Context, cfg config, w io.Writer) ([]row, error) {
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
				qrows, err := measureQuery(ctx, cfg, func(r row) { printRow(w, r) }, dialect, 0, q, variants)
				if err != nil {
					return err
				}
				rows = append(rows, qrows...)
			}
			return nil
		})
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// measureQuery checks that the variants that cfg.run selects return the
// same response to q, then measures each cfg.rounds times, round-robin, and
// prints (with emit) and returns the round with the median p50 of each.
func measureQuery(ctx context.Context, cfg config, emit func(row), dialect string, rtt time.Duration, q query, variants []bench.Variant) ([]row, error) {
	var selected []bench.Variant
	var want string // the first variant's response, which every other must equal
	for _, v := range variants {
		if !cfg.run.MatchString(strings.Join([]string{dialect, q.name, v.ORM, v.Name}, "/")) {
			continue
		}
		if !cfg.interceptor && (v.Name == bench.PreloadIntercepted || v.Name == bench.WithIntercepted) {
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
				r := row{dialect, rtt, q.name, v, results[i][len(results[i])/2]}
				emit(r)
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

// summarize writes, for every database (and round-trip time in RTT mode),
// query and ORM, how ormloader compares with eager loading (statements,
// p50) and with the two dataloader libraries (p50): the goals of the
// benchmark.
func summarize(w io.Writer, rows []row, rttMode bool) {
	type group struct {
		dialect string
		rtt     time.Duration
		query   string
		orm     string
	}
	byGroup := make(map[group]map[string]row)
	var order []group
	for _, r := range rows {
		g := group{r.dialect, r.rtt, r.query, r.variant.ORM}
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
		for _, name := range []string{bench.Preload, bench.With, bench.CollectFields, bench.PreloadIntercepted, bench.WithIntercepted} {
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
			db := g.dialect
			if rttMode {
				db += " rtt " + formatRTT(g.rtt)
			}
			fmt.Fprintf(w, "- %s, %s, %s: ormloader %s\n", db, g.query, g.orm, strings.Join(parts, "; "))
		}
	}
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }
