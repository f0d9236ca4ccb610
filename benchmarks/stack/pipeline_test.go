package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ormloader/ormloader/benchmarks/stack/internal/bench"
)

// pipeBands is the number of bands of a tick; every band has pipeMembers
// members and a label of its own.
const (
	pipeBands   = 100
	pipeMembers = 5
)

// pipeStatement is one statement of a tick: its SQL, the destinations of
// a row (every column scanned, typed) and the rows it must return.
type pipeStatement struct {
	sql     string
	targets func() []any
	rows    int
}

var pipeStatements = []pipeStatement{
	{"SELECT id, name FROM pipe_labels WHERE id = ANY($1)", idName, pipeBands},
	{"SELECT id, band_id, name FROM pipe_members WHERE band_id = ANY($1)", idBandName, pipeBands * pipeMembers},
	{"SELECT band_id, count(*) FROM pipe_members WHERE band_id = ANY($1) GROUP BY band_id", idCount, pipeBands},
}

func idName() []any {
	var id int64
	var name string
	return []any{&id, &name}
}

func idBandName() []any {
	var id, band int64
	var name string
	return []any{&id, &band, &name}
}

func idCount() []any {
	var band, count int64
	return []any{&band, &count}
}

// pipeMode runs one tick of the statements stmts with the ids argument.
type pipeMode struct {
	name string
	tick func(ctx context.Context, db *sql.DB, stmts []pipeStatement, ids []int64) error
}

var pipeModes = []pipeMode{
	{"sequential", tickSequential},
	{"concurrent", tickConcurrent},
	{"pipeline", tickPipeline},
}

// BenchmarkTickRoundTrips measures, without the ORMs, what sending a tick's
// relation batches as one pgx pipeline would save over running them as
// separate statements: raw pgx v5 through database/sql, PostgreSQL behind
// the delaying proxy (bench.StartProxy). It is an upper bound for the
// "one round trip per tick" idea: no ORM, no GraphQL, only the K
// statements of a tick and the reading of their rows.
//
// Run it (2 minutes 10 seconds on 2 cores; -count 1 for a third of that):
//
//	ORMLOADER_TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	  go test ./benchmarks/stack -run '^$' -bench TickRoundTrips -benchtime 300x -count 3
//
// TestTickPipelineRoundTrips checks the round trips of the modes on one
// connection, cold and warm.
//
// The data: a schema of its own (ormloader_bench_pipe_<pid>, dropped at the end)
// with pipe_labels (100 rows) and pipe_members (5 per band, 100 bands,
// indexed on band_id). A tick is K statements over the 100 bands:
//
//  1. SELECT id, name FROM pipe_labels WHERE id = ANY($1): 100 rows;
//  2. SELECT id, band_id, name FROM pipe_members WHERE band_id = ANY($1):
//     500 rows;
//  3. (K = 3) SELECT band_id, count(*) FROM pipe_members
//     WHERE band_id = ANY($1) GROUP BY band_id: 100 rows.
//
// The modes, one op being a tick (the K statements run and all their rows
// read):
//
//   - sequential: one statement after the other on the pool (eager loading);
//   - concurrent: a goroutine per statement, each db.QueryContext on the
//     pool (ormloader today);
//   - pipeline: one *sql.Conn from the pool, and through (*sql.Conn).Raw the
//     pgx.Conn's SendBatch with the K statements, the results read in order.
//
// Sub-benchmarks are rtt=<rtt>/k=<K>/clients=<C>/pool=<P>/<mode>: rtt 0
// (through the proxy too, without delay, so that round trips are counted),
// 500µs and 2ms; C clients (goroutines) each doing ticks one after the
// other until b.N ticks are done in all; P the pool's MaxOpenConns: 10, 4
// for contention, and unlimited (database/sql's default, which GORM and ent
// keep; with one client, 10 only: a tick uses at most K = 3 connections).
// MaxIdleConns is P (unlimited: C × K, the most a mode uses), so that the
// pool does not close and reopen connections (database/sql keeps 2 idle by
// default).
//
// Metrics: µs/tick is the mean latency of a tick as its client sees it
// (each tick timed on its own; with 8 clients, elapsed × C / ticks when all
// are busy), p50-µs/tick its median; rt/tick the round trips the proxy
// counted per tick (summed over connections: a tick's statements on three
// connections at once count three though the client waits about one);
// waits/tick how often a statement (or db.Conn) waited for a connection of
// the pool. ns/op is the elapsed time divided by the ticks (the inverse of
// the throughput).
//
// Each sub-benchmark opens its own pool and warms it before the timer
// starts: every connection of the pool opened and every statement run on
// each (pgx's statement cache, per connection: the first run of a SQL text
// costs an extra round trip, its Parse and Describe), then every connection
// taken again (pgx's ResetSession pings a connection on its first reuse,
// and after a second idle), and a few ticks of the mode; the numbers are
// warm. Pings after a second idle, if any, are in rt/tick.
func BenchmarkTickRoundTrips(b *testing.B) {
	dsn := os.Getenv("ORMLOADER_TEST_POSTGRES_DSN")
	if dsn == "" {
		b.Skip("ORMLOADER_TEST_POSTGRES_DSN is not set")
	}
	target, err := postgresTarget(dsn)
	if err != nil {
		b.Fatal(err)
	}
	goroutines := runtime.NumGoroutine()
	schemaDSN, drop, err := createPipeSchema(b.Context(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := drop(); err != nil {
			b.Error(err)
		}
		checkGoroutines(b, goroutines)
	}()
	ids := make([]int64, pipeBands)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	for _, rtt := range []time.Duration{0, 500 * time.Microsecond, 2 * time.Millisecond} {
		b.Run("rtt="+formatRTT(rtt), func(b *testing.B) {
			p, err := bench.StartProxy(target, rtt)
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				if err := p.Close(); err != nil {
					b.Error(err)
				}
			}()
			proxied, err := proxyDSN(schemaDSN, p.Addr())
			if err != nil {
				b.Fatal(err)
			}
			for _, k := range []int{2, 3} {
				b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
					for _, clients := range []int{1, 8} {
						b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
							pools := []int{10, 4, 0}
							if clients == 1 {
								pools = pools[:1]
							}
							for _, pool := range pools {
								name := fmt.Sprintf("pool=%d", pool)
								if pool == 0 {
									name = "pool=unlimited"
								}
								b.Run(name, func(b *testing.B) {
									for _, mode := range pipeModes {
										b.Run(mode.name, func(b *testing.B) {
											benchTick(b, p, proxied, pool, clients, pipeStatements[:k], ids, mode)
										})
									}
								})
							}
						})
					}
				})
			}
		})
	}
}

// TestTickPipelineRoundTrips checks the round trips the benchmark's modes
// cost on one connection (a pool of one), cold and warm, as the proxy
// counts them: pgx's batch in its default mode (the statement cache)
// prepares the statements it has not cached in a flight of their own (their
// Parse and Describe messages and one Sync), then sends the queries in one
// more; warm, a batch is one round trip, and a statement run alone one.
func TestTickPipelineRoundTrips(t *testing.T) {
	dsn := os.Getenv("ORMLOADER_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("ORMLOADER_TEST_POSTGRES_DSN is not set")
	}
	target, err := postgresTarget(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	schemaDSN, drop, err := createPipeSchema(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Error(err)
		}
	})
	p, db := openOneThroughProxy(t, schemaDSN, target, 2*time.Millisecond)
	ids := []int64{1, 2, 3}
	stmts := slices.Clone(pipeStatements)
	for i := range stmts {
		stmts[i].rows = 3
	}
	stmts[1].rows = 3 * pipeMembers
	step := func(what string, want int64, f func() error) {
		t.Helper()
		rt0 := p.RoundTrips()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		n := p.RoundTrips() - rt0
		t.Logf("%s: %d round trips", what, n)
		if n != want {
			t.Errorf("%s: %d round trips, want %d", what, n, want)
		}
	}
	tick := func(mode func(context.Context, *sql.DB, []pipeStatement, []int64) error) func() error {
		return func() error { return mode(ctx, db, stmts, ids) }
	}
	step("connect, ping", 2, func() error { return db.PingContext(ctx) })
	step("ping on the first reuse (ResetSession's ping, Ping's)", 2, func() error { return db.PingContext(ctx) })
	step("cold pipeline of 3 (prepare, execute)", 2, tick(tickPipeline))
	step("warm pipeline of 3", 1, tick(tickPipeline))
	step("warm sequential 3", 3, tick(tickSequential))
	step("warm concurrent 3 on a pool of one", 3, tick(tickConcurrent))
}

// benchTick runs b.N ticks of mode with clients goroutines on a new pool of
// pool connections to dsn (through the proxy p; 0: unlimited, keeping
// clients × K idle, the most it uses), warmed first, and reports the
// metrics (see BenchmarkTickRoundTrips).
func benchTick(b *testing.B, p *bench.Proxy, dsn string, pool, clients int, stmts []pipeStatement, ids []int64, mode pipeMode) {
	ctx := b.Context()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(pool)
	if pool == 0 {
		pool = clients * len(stmts)
	}
	db.SetMaxIdleConns(pool)
	// Twice: the second time takes every connection from the pool again,
	// so that pgx's ResetSession pings it now (a new connection's first
	// reuse always pings), not during the measurement.
	for range 2 {
		if err := warmPool(ctx, db, pool, stmts, ids); err != nil {
			b.Fatal(err)
		}
	}
	for range 3 {
		if err := mode.tick(ctx, db, stmts, ids); err != nil {
			b.Fatal(err)
		}
	}

	latencies := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	waits0, trips0 := db.Stats().WaitCount, p.RoundTrips()
	b.ResetTimer()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) || failed.Load() != nil {
					return
				}
				t0 := time.Now()
				if err := mode.tick(ctx, db, stmts, ids); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				latencies[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	trips, waits := p.RoundTrips()-trips0, db.Stats().WaitCount-waits0
	var sum time.Duration
	for _, l := range latencies {
		sum += l
	}
	slices.Sort(latencies)
	n := float64(b.N)
	b.ReportMetric(float64(sum.Microseconds())/n, "µs/tick")
	b.ReportMetric(float64(latencies[len(latencies)/2].Nanoseconds())/1e3, "p50-µs/tick")
	b.ReportMetric(float64(trips)/n, "rt/tick")
	b.ReportMetric(float64(waits)/n, "waits/tick")
}

// warmPool opens the pool's connections, all at once, and runs every
// statement on each, so that each has it in pgx's statement cache.
func warmPool(ctx context.Context, db *sql.DB, pool int, stmts []pipeStatement, ids []int64) error {
	conns := make([]*sql.Conn, pool)
	errs := make([]error, pool)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			c, err := db.Conn(ctx)
			if err != nil {
				errs[i] = err
				return
			}
			conns[i] = c
			for _, s := range stmts {
				rows, err := c.QueryContext(ctx, s.sql, ids)
				if err == nil {
					err = readRows(rows, s)
				}
				if err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, c := range conns {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// tickSequential runs the statements one after the other, each on a
// connection of the pool.
func tickSequential(ctx context.Context, db *sql.DB, stmts []pipeStatement, ids []int64) error {
	for _, s := range stmts {
		rows, err := db.QueryContext(ctx, s.sql, ids)
		if err != nil {
			return err
		}
		if err := readRows(rows, s); err != nil {
			return err
		}
	}
	return nil
}

// tickConcurrent runs the statements in a goroutine each, each on a
// connection of the pool.
func tickConcurrent(ctx context.Context, db *sql.DB, stmts []pipeStatement, ids []int64) error {
	errs := make([]error, len(stmts))
	var wg sync.WaitGroup
	for i, s := range stmts {
		wg.Go(func() {
			rows, err := db.QueryContext(ctx, s.sql, ids)
			if err == nil {
				err = readRows(rows, s)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// tickPipeline sends the statements as one pgx batch (pipeline mode) on
// one connection of the pool, and reads their results in order.
func tickPipeline(ctx context.Context, db *sql.DB, stmts []pipeStatement, ids []int64) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("driver connection %T, want *stdlib.Conn", dc)
		}
		batch := &pgx.Batch{}
		for _, s := range stmts {
			batch.Queue(s.sql, ids)
		}
		br := sc.Conn().SendBatch(ctx, batch)
		for _, s := range stmts {
			rows, err := br.Query()
			if err != nil {
				return errors.Join(err, br.Close())
			}
			if err := readPgxRows(rows, s); err != nil {
				return errors.Join(err, br.Close())
			}
		}
		return br.Close()
	})
	return errors.Join(err, conn.Close())
}

// rowScanner is what database/sql's and pgx's rows share.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// readRows scans every row of rows (database/sql) and checks their number.
func readRows(rows *sql.Rows, s pipeStatement) error {
	defer rows.Close()
	return scanAll(rows, s)
}

// readPgxRows scans every row of rows (pgx) and checks their number.
func readPgxRows(rows pgx.Rows, s pipeStatement) error {
	defer rows.Close()
	return scanAll(rows, s)
}

func scanAll(rows rowScanner, s pipeStatement) error {
	ptrs := s.targets()
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return checkRowCount(s, n)
}

func checkRowCount(s pipeStatement, n int) error {
	if n != s.rows {
		return fmt.Errorf("%s: %d rows, want %d", s.sql, n, s.rows)
	}
	return nil
}

// createPipeSchema creates and seeds the benchmark's schema in the database
// of dsn, directly (not through a proxy), and returns dsn with its
// search_path set to it and the function that drops it.
func createPipeSchema(ctx context.Context, dsn string) (schemaDSN string, drop func() error, err error) {
	schemaDSN, drop, err = bench.NewSchema(dsn, "pipe")
	if err != nil {
		return "", nil, err
	}
	db, err := sql.Open("pgx", schemaDSN)
	if err != nil {
		return "", nil, errors.Join(err, drop())
	}
	defer db.Close()
	for _, s := range []string{
		"CREATE TABLE pipe_labels (id bigint PRIMARY KEY, name text NOT NULL)",
		"CREATE TABLE pipe_members (id bigint PRIMARY KEY, band_id bigint NOT NULL, name text NOT NULL)",
		"CREATE INDEX ON pipe_members (band_id)",
		fmt.Sprintf("INSERT INTO pipe_labels SELECT i, 'label ' || i FROM generate_series(1, %d) i", pipeBands),
		fmt.Sprintf("INSERT INTO pipe_members SELECT i, (i - 1) / %d + 1, 'member ' || i FROM generate_series(1, %d) i",
			pipeMembers, pipeBands*pipeMembers),
		"ANALYZE pipe_labels",
		"ANALYZE pipe_members",
	} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return "", nil, errors.Join(fmt.Errorf("%s: %w", s, err), drop())
		}
	}
	return schemaDSN, drop, nil
}

// checkGoroutines fails b if more goroutines run than before (want), once
// those that are ending have had a second to end.
func checkGoroutines(b *testing.B, want int) {
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > want {
		buf := make([]byte, 1<<16)
		b.Errorf("%d goroutines left, %d before:\n%s", n, want, buf[:runtime.Stack(buf, true)])
	}
}
