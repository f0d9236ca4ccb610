package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ormloader/ormloader/benchmarks/stack/internal/bench"
	gormserver "github.com/ormloader/ormloader/examples/gorm-gqlgen/server"
)

// small is a data set that keeps the test fast: 12 bands (the seventh has
// no label), 24 albums, 60 tracks.
var small = gormserver.Size{Labels: 3, Bands: 12, Albums: 3, Tracks: 3, Members: 3}

// dialects are SQLite, and PostgreSQL when ORMLOADER_TEST_POSTGRES_DSN is set.
func dialects() map[string]string {
	d := map[string]string{bench.SQLite: ""}
	if dsn := os.Getenv("ORMLOADER_TEST_POSTGRES_DSN"); dsn != "" {
		d[bench.Postgres] = dsn
	}
	return d
}

// TestVariantsAgree checks that every variant, on GORM and on ent, returns
// the same data for every query (lists compared in ID order), and the
// statement counts of the variants that do not depend on timing.
func TestVariantsAgree(t *testing.T) {
	for dialect, dsn := range dialects() {
		t.Run(dialect, func(t *testing.T) {
			err := withVariants(t.Context(), dsn, small, func(variants []bench.Variant) error {
				for _, q := range queries {
					want := wantStatements(q.name)
					var first string
					for _, v := range variants {
						s0 := bench.Statements()
						body, err := bench.Request(v.Handler, bench.Body(q.text))
						if err != nil {
							t.Fatalf("%s %s/%s: %v", q.name, v.ORM, v.Name, err)
						}
						n := bench.Statements() - s0
						got, err := bench.Canonical(body)
						if err != nil {
							t.Fatal(err)
						}
						if first == "" {
							first = got
							if !strings.Contains(got, `"id":"12"`) {
								t.Fatalf("%s: unexpected response %.300s", q.name, got)
							}
						} else if got != first {
							t.Errorf("%s %s/%s: response differs from %s/%s's\n got: %.500s\nwant: %.500s",
								q.name, v.ORM, v.Name, variants[0].ORM, variants[0].Name, got, first)
						}
						if w, ok := want[v.ORM+"/"+v.Name]; ok && n != w {
							t.Errorf("%s %s/%s: %d statements, want %d", q.name, v.ORM, v.Name, n, w)
						}
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// wantStatements returns the statements per request of the small data set
// by variant ("gorm/naive"). dataloadgen's 1 ms wait may split a batch, so
// its count is not checked.
func wantStatements(query string) map[string]int64 {
	const bands, albums, labelled = 12, 24, 11
	if query == "depth-3" {
		return map[string]int64{
			"gorm/naive": 1 + bands + albums, "ent/naive": 1 + bands + albums,
			"gorm/graph-gophers": 3, "ent/graph-gophers": 4, // ent: albums with their tracks (hidden FK)
			"gorm/Preload": 3, "ent/With...": 3, "ent/CollectFields": 3,
			"gorm/ormloader": 3, "ent/ormloader": 3,
		}
	}
	return map[string]int64{
		"gorm/naive": 1 + labelled + bands, "ent/naive": 1 + labelled + bands,
		"gorm/graph-gophers": 3, "ent/graph-gophers": 4, // ent: bands with their members
		"gorm/Preload": 4, // many-to-many: the join table, then the people
		"ent/With...":  3, "ent/CollectFields": 3,
		"gorm/ormloader": 3, "ent/ormloader": 3,
	}
}

// TestRun runs the command on the small data set, for two variants per ORM
// (the others would only make it slower), and checks the table and the
// summary.
func TestRun(t *testing.T) {
	cfg := config{
		dialects: []string{bench.SQLite},
		run:      regexp.MustCompile(`/(naive|Preload|With\.\.\.|ormloader)$`),
		budget:   bench.Budget{Time: time.Millisecond, Requests: 1, Clients: 2, ConcTime: 10 * time.Millisecond},
		rounds:   2,
		size:     small,
	}
	var out bytes.Buffer
	if err := run(context.Background(), cfg, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| sqlite3 | depth-3 | gorm | **ormloader** | 3 | 3.0 |",
		"| sqlite3 | label+members | ent | naive | 24 | 24.0 |",
		"- sqlite3, depth-3, gorm: ormloader 3 statements (Preload: 3), p50 ",
		"- sqlite3, label+members, ent: ormloader 3 statements (With...: 3), p50 ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in the output:\n%s", want, out.String())
		}
	}
	if n := strings.Count(out.String(), "\n| sqlite3 |"); n != 12 {
		t.Errorf("%d rows, want 12 (2 queries × 3 variants × 2 ORMs):\n%s", n, out.String())
	}
}
