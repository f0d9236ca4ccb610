package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ormloader/ormloader/benchmarks/stack/internal/bench"
	gormserver "github.com/ormloader/ormloader/examples/gorm-gqlgen/server"
)

// small is a data set that keeps the test fast: 12 bands (the seventh has
// no label; 3, 2, 1, 3, ... albums), 24 albums, 64 tracks.
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
// the same data for every query (lists compared in ID order), the statement
// counts of the variants that do not depend on timing (every variant but
// dataloadgen's), and that every statement runs under the request's context
// (so that bench.RequestStatements counts them all).
func TestVariantsAgree(t *testing.T) {
	for dialect, dsn := range dialects() {
		t.Run(dialect, func(t *testing.T) {
			err := withVariants(t.Context(), dsn, small, func(variants []bench.Variant) error {
				for _, q := range queries {
					want := wantStatements(q.name)
					if want == nil {
						t.Fatalf("%s: no statement counts in wantStatements", q.name)
					}
					var first string
					for _, v := range variants {
						s0 := bench.Statements()
						body, sql, err := bench.RequestStatements(v.Handler, bench.Body(q.text))
						if err != nil {
							t.Fatalf("%s %s/%s: %v", q.name, v.ORM, v.Name, err)
						}
						n := bench.Statements() - s0
						if int64(len(sql)) != n {
							t.Errorf("%s %s/%s: %d statements, %d under the request's context", q.name, v.ORM, v.Name, n, len(sql))
						}
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
						// an intercepted eager variant runs its eager variant's statements
						name := strings.TrimSuffix(v.Name, "+interceptor")
						if w, ok := want[v.ORM+"/"+name]; ok && n != w {
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
// by variant ("gorm/naive"), nil for a query it does not know. dataloadgen's
// 1 ms wait may split a batch, so its count is not given. The ormloader
// counts are also the floor of TestOrmloaderAtTheFloor.
func wantStatements(query string) map[string]int64 {
	const bands, albums, tracks, labelled = 12, 24, 64, 11
	const unlabelledAlbums = 3 // the seventh band's, which has no label to load
	switch query {
	case "depth-3":
		return map[string]int64{
			"gorm/naive": 1 + bands + albums, "ent/naive": 1 + bands + albums,
			"gorm/graph-gophers": 3, "ent/graph-gophers": 4, // ent: albums with their tracks (hidden FK)
			"gorm/Preload": 3, "ent/With...": 3, "ent/CollectFields": 3,
			"gorm/ormloader": 3, "ent/ormloader": 3,
		}
	case "label+members":
		return map[string]int64{
			"gorm/naive": 1 + labelled + bands, "ent/naive": 1 + labelled + bands,
			"gorm/graph-gophers": 3, "ent/graph-gophers": 4, // ent: bands with their members
			"gorm/Preload": 4, // many-to-many: the join table, then the people
			"ent/With...":  3, "ent/CollectFields": 3,
			"gorm/ormloader": 3, "ent/ormloader": 3,
		}
	case "tracks-album":
		// Bands, albums, tracks, then the tracks' albums: the albums of the
		// second level again.
		return map[string]int64{
			"gorm/naive": 1 + bands + albums + tracks, "ent/naive": 1 + bands + albums + tracks,
			// ent: albums with their tracks, tracks with their album (hidden FK)
			"gorm/graph-gophers": 4, "ent/graph-gophers": 6,
			"gorm/Preload": 4, "ent/With...": 4, "ent/CollectFields": 4,
			// the tracks' albums are the rows the albums' statement fetched:
			// gormloader primes its to-one loads by primary key with the rows
			// its loads fetch, entloader its primary-key loader with every
			// query result.
			"gorm/ormloader": 3, "ent/ormloader": 3,
		}
	case "reached-again":
		// Bands, their labels, albums, the albums' bands (the root's bands),
		// their labels (the root bands' labels).
		return map[string]int64{
			"gorm/naive": 1 + labelled + bands + albums + albums - unlabelledAlbums,
			"ent/naive":  1 + labelled + bands + albums + albums - unlabelledAlbums,
			// the bands again by ID; their labels from the label loader's cache
			"gorm/graph-gophers": 4, "ent/graph-gophers": 4,
			// the bands again, and their labels again
			"gorm/Preload": 5, "ent/With...": 5, "ent/CollectFields": 5,
			// gormloader: the bands again by primary key (Album.Band: the
			// root's bands came from the application's own query, which
			// gormloader does not reuse for loads), their labels cached
			// (Band.Label, by the same label IDs); entloader: the bands from
			// the primary-key loader the root query primed, their labels
			// cached
			"gorm/ormloader": 4, "ent/ormloader": 3,
		}
	}
	return nil
}

// TestRun runs the command on the small data set, for three variants per
// ORM (naive, GORM's Preload or ent's With..., ormloader; the others would
// only make it slower), and checks the table and the summary.
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
		"| sqlite3 | tracks-album | ent | **ormloader** | 3 | 3.0 |",
		"| sqlite3 | reached-again | gorm | naive | 69 | 69.0 |",
		"- sqlite3, tracks-album, gorm: ormloader 3 statements (Preload: 4), p50 ",
		"- sqlite3, reached-again, ent: ormloader 3 statements (With...: 5), p50 ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in the output:\n%s", want, out.String())
		}
	}
	if n, want := strings.Count(out.String(), "\n| sqlite3 |"), len(queries)*3*2; n != want {
		t.Errorf("%d rows, want %d (%d queries × 3 variants × 2 ORMs):\n%s", n, want, len(queries), out.String())
	}
}

// TestParseFlagsRTT checks -rtt: a list of durations, PostgreSQL only.
func TestParseFlagsRTT(t *testing.T) {
	cfg, err := parseFlags([]string{"-rtt", "0,500us, 2ms"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{0, 500 * time.Microsecond, 2 * time.Millisecond}; !slices.Equal(cfg.rtts, want) {
		t.Errorf("rtts %v, want %v", cfg.rtts, want)
	}
	if !slices.Equal(cfg.dialects, []string{bench.Postgres}) {
		t.Errorf("dialects %v with -rtt, want postgres only", cfg.dialects)
	}
	if cfg, err := parseFlags(nil); err != nil || cfg.rtts != nil {
		t.Errorf("no -rtt: rtts %v, %v", cfg.rtts, err)
	}
	for _, args := range [][]string{
		{"-rtt", "-1ms"},
		{"-rtt", "2"},
		{"-rtt", "1ms", "-dialects", "sqlite3"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// TestRunRTT runs the RTT mode on the small data set, rtt 0 and 2 ms, for
// eager loading and ormloader, and checks the table: statements and round
// trips of depth-3 (one per level, and as many round trips: the statements
// of a level-by-level load are sequential), the ratio column, the summary.
func TestRunRTT(t *testing.T) {
	dsn := os.Getenv("ORMLOADER_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("ORMLOADER_TEST_POSTGRES_DSN is not set")
	}
	cfg := config{
		dsn:      dsn,
		dialects: []string{bench.Postgres},
		rtts:     []time.Duration{0, 2 * time.Millisecond},
		run:      regexp.MustCompile(`/(naive|Preload|With\.\.\.|ormloader)$`),
		budget:   bench.Budget{Time: time.Millisecond, Requests: 1, Clients: 2, ConcTime: 10 * time.Millisecond},
		rounds:   1,
		size:     small,
	}
	var out bytes.Buffer
	if err := run(t.Context(), cfg, &out); err != nil {
		t.Fatal(err)
	}
	checkNoProxyGoroutines(t) // the run closed its proxy
	for _, want := range []string{
		"| 0 | depth-3 | gorm | Preload | 3 | – | ",
		"| 2ms | depth-3 | gorm | Preload | 3 | 3 | ",
		"| 2ms | depth-3 | ent | With... | 3 | 3 | ",
		"| 2ms | depth-3 | gorm | **ormloader** | 3 | 3",
		"| 2ms | depth-3 | ent | **ormloader** | 3 | 3",
		" (Preload) |\n",
		" (With...) |\n",
		"- postgres rtt 2ms, depth-3, gorm: ormloader 3 statements (Preload: 3), p50 ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in the output:\n%s", want, out.String())
		}
	}
	// naive is not measured with -rtt, whatever -run says.
	if n, want := strings.Count(out.String(), "\n| "), 2+2*len(queries)*2*2; n != want {
		t.Errorf("%d table lines, want %d (header, 2 rtts × %d queries × 2 variants × 2 ORMs):\n%s", n, want, len(queries), out.String())
	}
}
