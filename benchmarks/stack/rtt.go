package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/ormloader/ormloader/benchmarks/stack/internal/bench"
)

// measureRTT is the -rtt mode: for every round-trip time of cfg.rtts, a new
// pair of databases (schemas) on PostgreSQL reached through a bench.Proxy
// with that rtt (directly for 0), seeded through it, and the variants
// dataloadgen, eager loading and ormloader measured on every query with
// sequential requests only; it prints the RTT table row by row.
func measureRTT(ctx context.Context, cfg config, w io.Writer) ([]row, error) {
	cfg.budget.Clients = 0 // no throughput: the table is about latency
	fmt.Fprintf(w, "%s, GOMAXPROCS=%d, %s/%s; %d bands; PostgreSQL through a loopback proxy delaying each direction by rtt/2 (rtt 0: direct); sequential: up to %d requests or %v per cell (at least %d), no concurrent clients; %d round(s), median p50; naive and graph-gophers not measured\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, cfg.size.Bands,
		cfg.budget.Requests, cfg.budget.Time, bench.MinRequests, cfg.rounds)
	fmt.Fprintln(w, "| rtt | query | ORM | variant | statements/req | round trips/req | p50 ms | p99 ms | ormloader p50 / eager p50 |")
	fmt.Fprintln(w, "| ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
	var rows []row
	emit := func(r row) {
		printRTTRow(w, r, rows)
		rows = append(rows, r)
	}
	for _, rtt := range cfg.rtts {
		if err := measureAtRTT(ctx, cfg, emit, rtt); err != nil {
			return rows, fmt.Errorf("rtt %v: %w", rtt, err)
		}
	}
	return rows, nil
}

// measureAtRTT measures the RTT mode's variants at one round-trip time,
// through a proxy that it closes at the end.
func measureAtRTT(ctx context.Context, cfg config, emit func(row), rtt time.Duration) (err error) {
	dsn := cfg.dsn
	if rtt > 0 {
		target, err := postgresTarget(cfg.dsn)
		if err != nil {
			return err
		}
		p, err := bench.StartProxy(target, rtt)
		if err != nil {
			return err
		}
		// After withVariants, which closes the databases and drops their
		// schemas through the proxy.
		defer func() { err = errors.Join(err, p.Close()) }()
		if dsn, err = proxyDSN(cfg.dsn, p.Addr()); err != nil {
			return err
		}
	}
	return withVariants(ctx, dsn, cfg.size, func(variants []bench.Variant) error {
		// naive: a statement per parent, up to a thousand round trips per
		// request (2 s at 2 ms); graph-gophers: its 16 ms wait per level.
		variants = slices.DeleteFunc(variants, func(v bench.Variant) bool {
			return v.Name == bench.Naive || v.Name == bench.GraphGophers
		})
		for _, q := range queries {
			if _, err := measureQuery(ctx, cfg, emit, bench.Postgres, rtt, q, variants); err != nil {
				return err
			}
		}
		return nil
	})
}

// postgresTarget returns the host:port of a postgres:// DSN, the address
// its proxy forwards to.
func postgresTarget(dsn string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	if u.Query().Has("host") || u.Hostname() == "" || strings.Contains(u.Host, ",") {
		return "", fmt.Errorf("-rtt: -dsn must name one host in its URL (postgres://user@host:port/db), not %q", dsn)
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "5432"), nil
	}
	return u.Host, nil
}

// proxyDSN returns dsn with its host:port replaced by addr, a proxy's.
func proxyDSN(dsn, addr string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	u.Host = addr
	return u.String(), nil
}

// printRTTRow prints a row of the RTT table; the ormloader row's last
// column is its p50 divided by that of each eager variant of the same rtt,
// query and ORM among before (measured before it).
func printRTTRow(w io.Writer, r row, before []row) {
	stmts := fmt.Sprint(r.MinStmts)
	if r.MaxStmts != r.MinStmts {
		stmts = fmt.Sprintf("%d–%d", r.MinStmts, r.MaxStmts)
	}
	trips := "–" // rtt 0: no proxy, nothing counted
	if r.rtt > 0 {
		trips = fmt.Sprint(r.RoundTrips)
		if r.MinRoundTrips != r.MaxRoundTrips {
			trips += fmt.Sprintf(" (%d–%d)", r.MinRoundTrips, r.MaxRoundTrips)
		}
	}
	name, ratios := r.variant.Name, ""
	if r.variant.Name == bench.Ormloader {
		name = "**ormloader**"
		var parts []string
		for _, e := range before {
			if e.rtt == r.rtt && e.query == r.query && e.variant.ORM == r.variant.ORM &&
				slices.Contains([]string{bench.Preload, bench.With, bench.CollectFields}, e.variant.Name) {
				parts = append(parts, fmt.Sprintf("%.2f (%s)", ratio(r.P50, e.P50), e.variant.Name))
			}
		}
		ratios = strings.Join(parts, ", ")
	}
	fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %.2f | %.2f | %s |\n",
		formatRTT(r.rtt), r.query, r.variant.ORM, name, stmts, trips, ms(r.P50), ms(r.P99), ratios)
}

// formatRTT is rtt as the table shows it: "0", "500µs", "2ms".
func formatRTT(rtt time.Duration) string {
	if rtt == 0 {
		return "0"
	}
	return rtt.String()
}
