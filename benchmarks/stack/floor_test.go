package main

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ormloader/ormloader/benchmarks/stack/internal/bench"
)

// floorClients are the concurrent clients of TestOrmloaderAtTheFloor's
// second round, as many as the benchmark's throughput measurement has.
const floorClients = 8

// TestOrmloaderAtTheFloor sends every query to the ormloader variant of
// both ORMs, on the small data set, floorRequests times one after the other
// and then floorRequests times from floorClients concurrent clients, and
// fails if any request ran more statements than the floor: the count of
// wantStatements, the fewest any request runs (one statement per relation
// and level, less what the scope has already loaded). The statements are
// counted per request at the driver (bench.RequestStatements), and their sum
// must be all the statements the databases ran in the meantime, so that
// none escaped the count by running outside the request's context.
func TestOrmloaderAtTheFloor(t *testing.T) {
	for dialect, dsn := range dialects() {
		t.Run(dialect, func(t *testing.T) {
			err := withVariants(t.Context(), dsn, small, func(variants []bench.Variant) error {
				for _, v := range variants {
					if v.Name != bench.Ormloader {
						continue
					}
					for _, q := range queries {
						floor, ok := wantStatements(q.name)[v.ORM+"/"+v.Name]
						if !ok {
							t.Fatalf("%s: no %s/%s count in wantStatements", q.name, v.ORM, v.Name)
						}
						t.Run(q.name+"/"+v.ORM, func(t *testing.T) {
							body := bench.Body(q.text)
							checkFloor(t, "sequential", floor, sendRequests(t, v.Handler, body, 1))
							checkFloor(t, fmt.Sprintf("%d clients", floorClients), floor, sendRequests(t, v.Handler, body, floorClients))
						})
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

// sendRequests sends body to h floorRequests times from clients concurrent
// clients and returns the SQL of each request's statements. It fails t if a
// request fails, or if the databases ran statements that no request's
// context carried.
func sendRequests(t *testing.T, h http.Handler, body []byte, clients int) [][]string {
	t.Helper()
	stmts := make([][]string, floorRequests)
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		failed atomic.Bool
	)
	s0 := bench.Statements()
	for range clients {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < floorRequests && !failed.Load(); i = int(next.Add(1) - 1) {
				_, sql, err := bench.RequestStatements(h, body)
				if err != nil {
					failed.Store(true)
					t.Errorf("request %d: %v", i, err)
					return
				}
				stmts[i] = sql
			}
		})
	}
	wg.Wait()
	if failed.Load() {
		t.FailNow()
	}
	var counted int64
	for _, s := range stmts {
		counted += int64(len(s))
	}
	if all := bench.Statements() - s0; all != counted {
		t.Fatalf("%d clients: the databases ran %d statements, the requests' contexts %d", clients, all, counted)
	}
	return stmts
}

// checkFloor fails t for every request of stmts that ran more statements than
// floor, saying how many there were, their counts, and the SQL of the first;
// and for any that ran fewer, which would mean the floor is wrong.
func checkFloor(t *testing.T, round string, floor int64, stmts [][]string) {
	t.Helper()
	above := make(map[int]int) // statements → requests
	var first []string         // the SQL of the first request above the floor
	for _, s := range stmts {
		n := int64(len(s))
		switch {
		case n > floor:
			above[len(s)]++
			if first == nil {
				first = s
			}
		case n < floor:
			t.Errorf("%s: a request ran %d statements, fewer than the floor, %d: wantStatements is wrong", round, n, floor)
			return
		}
	}
	if len(above) == 0 {
		return
	}
	var total int
	var counts []string
	for _, n := range slices.Sorted(maps.Keys(above)) {
		total += above[n]
		counts = append(counts, fmt.Sprintf("%d statements: %d", n, above[n]))
	}
	t.Errorf("%s: %d of %d requests above the floor of %d statements (%s); the first ran:\n  %s",
		round, total, len(stmts), floor, strings.Join(counts, ", "), strings.Join(first, "\n  "))
}
