package ormloadertest_test

// The guard on the example servers (examples/gorm-gqlgen, examples/ent-gqlgen):
// their naive resolvers (one query per parent) must fail, their ormloader
// resolvers must pass, with the counts asserted exactly, on every database
// available.

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"gorm.io/gorm"

	"github.com/ormloader/ormloader/ent"
	"github.com/ormloader/ormloader/ent/viewer"
	entserver "github.com/ormloader/ormloader/examples/ent-gqlgen/server"
	gormserver "github.com/ormloader/ormloader/examples/gorm-gqlgen/server"
	"github.com/ormloader/ormloader/internal/testdb"
	"github.com/ormloader/ormloader/ormloadertest"
	"github.com/ormloader/ormloader/ormloadertest/entcount"
	"github.com/ormloader/ormloader/ormloadertest/gormcount"
)

// seedSize: 20 bands (18 with a label) with 5, 4 or 3 albums of 4 tracks; a
// page of 3 albums per band is 60 albums.
var seedSize = gormserver.Size{Labels: 3, Bands: 20, Albums: 5, Tracks: 4, Members: 2}

func gormExample(t *testing.T, d testdb.DB) (*gorm.DB, *ormloadertest.Counter) {
	t.Helper()
	db, closeDB, err := gormserver.Open(d.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeDB() })
	c := &ormloadertest.Counter{}
	if err := gormcount.Register(db, c); err != nil {
		t.Fatal(err)
	}
	if _, err := gormserver.Seed(t.Context(), db, seedSize); err != nil {
		t.Fatal(err)
	}
	return db, c
}

func entExample(t *testing.T, d testdb.DB) (*ent.Client, *ormloadertest.Counter) {
	t.Helper()
	db, err := sql.Open(d.DriverName, d.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &ormloadertest.Counter{}
	dialects := map[string]string{"sqlite": dialect.SQLite, "postgres": dialect.Postgres, "mysql": dialect.MySQL}
	client := ent.NewClient(ent.Driver(entcount.Driver(entsql.OpenDB(dialects[d.Dialect], db), c)))
	if err := client.Schema.Create(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := entserver.Seed(t.Context(), client, seedSize); err != nil {
		t.Fatal(err)
	}
	return client, c
}

const gormQuery = `query Bands { bands(first: 20) { name label { name } albums(first: 3) { totalCount edges { node { title tracks { name } } } } } }`

const entQuery = `query Bands { bands(first: 20) { edges { node { name label { name }
	albumPage(first: 3) { totalCount albums { title tracks { title } reviews { author } } } } } } }`

// counts is a report as "name at path" → "batches/statements".
func counts(rep *ormloadertest.Report) map[string]string {
	type n struct{ batches, statements int }
	sum := map[string]n{}
	for _, rel := range rep.Relations {
		k := rel.Name + " at " + rel.Path
		s := sum[k]
		sum[k] = n{s.batches + rel.Batches, s.statements + rel.Statements}
	}
	out := map[string]string{}
	for k, s := range sum {
		out[k] = fmt.Sprintf("%d/%d", s.batches, s.statements)
	}
	return out
}

func checkCounts(t *testing.T, rep *ormloadertest.Report, statements int, want map[string]string) {
	t.Helper()
	if rep.Statements != statements {
		t.Errorf("%d statements, want %d", rep.Statements, statements)
	}
	got := counts(rep)
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: batches/statements %q, want %q", k, got[k], w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected relation %s: %s", k, got[k])
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s", rep)
	}
}

func checkFailure(t *testing.T, fake *fakeTB, wants ...string) {
	t.Helper()
	fails := fake.failures()
	if len(fails) != 1 {
		t.Fatalf("%d failures, want 1: %q", len(fails), fails)
	}
	for _, w := range wants {
		if !strings.Contains(fails[0], w) {
			t.Errorf("the failure lacks %q:\n%s", w, fails[0])
		}
	}
}

func TestOperationOnTheGORMExample(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			db, c := gormExample(t, d)

			naive := &fakeTB{TB: t}
			rep := ormloadertest.Operation(naive, c, gormserver.Handler(db, gormserver.Options{Naive: true}),
				ormloadertest.Request{Query: gormQuery}, ormloadertest.Budget{Statements: 10})
			checkCounts(t, rep, 119, map[string]string{
				"Query.bands at bands":                                     "1/1",
				"Band.label at bands[*].label":                             "18/18",
				"AlbumConnection.totalCount at bands[*].albums.totalCount": "20/20",
				"AlbumConnection.edges at bands[*].albums.edges":           "20/20",
				"Album.tracks at bands[*].albums.edges[*].node.tracks":     "60/60",
			})
			checkFailure(t, naive,
				"ormloadertest: operation Bands: N+1: 4 relations loaded in more than 1 batch at one GraphQL path, or one key at a time under a list:\n",
				"\n  Album.tracks ×60 at bands[*].albums.edges[*].node.tracks: 60 statements in 60 resolver calls, one key each, at graph/naive.go:",
				"(graph.naiveAlbum.Tracks)\n",
				"\n  Band.label ×18 at bands[*].label: 18 statements in 18 resolver calls, one key each, at graph/naive.go:",
				"ran 119 statements, more than the budget of 10.\n",
				"\n  Query.bands ×1 at bands: 1 statement in 1 resolver call, at graph/schema.resolvers.go:",
			)

			batched := &fakeTB{TB: t}
			rep = ormloadertest.Operation(batched, c, gormserver.Handler(db, gormserver.Options{}),
				ormloadertest.Request{Query: gormQuery}, ormloadertest.Budget{Statements: 10})
			checkCounts(t, rep, 4, map[string]string{
				"Query.bands at bands":                    "1/1",
				"gormloader Band.Label at bands[*].label": "1/1",
				// The page and its count: one statement (PageAlbums).
				"gormloader Band.Albums at bands[*].albums":                       "1/1",
				"gormloader Album.Tracks at bands[*].albums.edges[*].node.tracks": "1/1",
			})
			if f := batched.failures(); len(f) != 0 {
				t.Errorf("ormloader's resolvers failed the guard: %q", f)
			}
			for _, rel := range rep.Relations {
				if rel.Name == "gormloader Band.Albums" && (!rel.Batched || rel.Keys != 20 || !strings.HasPrefix(rel.CallSite, "graph/schema.resolvers.go:")) {
					t.Errorf("the album pages: %+v", rel)
				}
			}
		})
	}
}

func TestOperationOnTheEntExample(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			client, c := entExample(t, d)
			req := ormloadertest.Request{Query: entQuery, Header: http.Header{entserver.ViewerHeader: {"alice"}}}

			naive := &fakeTB{TB: t}
			rep := ormloadertest.Operation(naive, c, entserver.Handler(client, entserver.Options{Naive: true}), req, ormloadertest.Budget{})
			const page = "bands.edges[*].node.albumPage"
			checkCounts(t, rep, 180, map[string]string{
				// The root connection drops the field context (to turn
				// entgql's field collection off): outside resolvers.
				" at ": "0/2",
				"Band.label at bands.edges[*].node.label":         "18/18",
				"AlbumPage.totalCount at " + page + ".totalCount": "20/20",
				"AlbumPage.albums at " + page + ".albums":         "20/20",
				"Album.tracks at " + page + ".albums[*].tracks":   "60/60",
				"Album.reviews at " + page + ".albums[*].reviews": "60/60",
			})
			checkFailure(t, naive,
				"N+1: 5 relations loaded in more than 1 batch",
				"\n  Album.reviews ×60 at "+page+".albums[*].reviews: 60 statements in 60 resolver calls, one key each, at graph/naive.go:",
				"(graph.naiveAlbum.Reviews)\n",
				"\n  2 statements outside resolvers and batches, at graph/ent.resolvers.go:",
			)
			if f := naive.failures(); len(f) == 1 && strings.Contains(f[0], "budget") {
				t.Errorf("the zero Budget limited the total: %s", f[0])
			}

			batched := &fakeTB{TB: t}
			rep = ormloadertest.Operation(batched, c, entserver.Handler(client, entserver.Options{}), req, ormloadertest.Budget{Statements: 6})
			checkCounts(t, rep, 6, map[string]string{
				" at ":                               "0/2",
				"Label at bands.edges[*].node.label": "1/1",
				// The page and its count: one statement (AlbumsPage).
				"Band.albums page at " + page:                     "1/1",
				"Album.tracks at " + page + ".albums[*].tracks":   "1/1",
				"Album.reviews at " + page + ".albums[*].reviews": "1/1",
			})
			if f := batched.failures(); len(f) != 0 {
				t.Errorf("ormloader's resolvers failed the guard: %q", f)
			}
		})
	}
}

// An operation that fails is a test failure, not a pass with few
// statements.
func TestOperationFailsOnGraphQLErrors(t *testing.T) {
	db, c := gormExample(t, testdb.SQLite(t))
	fake := &fakeTB{TB: t}
	rep := ormloadertest.Operation(fake, c, gormserver.Handler(db, gormserver.Options{}),
		ormloadertest.Request{Query: `{ bands(first: 20) { nosuchfield } }`}, ormloadertest.Budget{})
	checkFailure(t, fake, "ormloadertest: operation { bands(first: 20) { nosuchfield } } failed: HTTP 422: ", "nosuchfield")
	if rep.Statements != 0 {
		t.Errorf("%d statements", rep.Statements)
	}
	// Variables are sent.
	fake = &fakeTB{TB: t}
	rep = ormloadertest.Operation(fake, c, gormserver.Handler(db, gormserver.Options{}),
		ormloadertest.Request{Query: `query($n: Int!) { bands(first: $n) { name } }`, Variables: map[string]any{"n": 2}}, ormloadertest.Budget{Statements: 1})
	if f := fake.failures(); len(f) != 0 || rep.Statements != 1 {
		t.Errorf("%d statements, failures %q", rep.Statements, f)
	}
}

// guardLog is a JSON log of a Guard's reports.
type guardLog struct{ buf syncBuffer }

func (l *guardLog) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(&l.buf, nil)) }

// reports returns the "relation at path ×batches" of every N+1 logged.
func (l *guardLog) reports(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec struct {
			Msg      string `json:"msg"`
			Relation string `json:"relation"`
			Path     string `json:"path"`
			Batches  int    `json:"batches"`
			CallSite string `json:"call_site"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec.Msg != "ormloadertest: N+1" || rec.CallSite == "" {
			t.Errorf("log line %q", line)
		}
		out = append(out, fmt.Sprintf("%s at %s ×%d", rec.Relation, rec.Path, rec.Batches))
	}
	slices.Sort(out)
	return out
}

// syncBuffer is a bytes.Buffer for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func serve(t *testing.T, h http.Handler, query string, header ...string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), `"errors"`) {
		t.Fatalf("HTTP %d: %s", w.Code, w.Body.String())
	}
}

func TestGuardOnTheGORMExample(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			db, c := gormExample(t, d)
			want := []string{
				"Album.tracks at bands[*].albums.edges[*].node.tracks ×60",
				"AlbumConnection.edges at bands[*].albums.edges ×20",
				"AlbumConnection.totalCount at bands[*].albums.totalCount ×20",
				"Band.label at bands[*].label ×18",
			}

			// Naive: each N+1 logged and failed once, however many requests.
			var logs guardLog
			fake := &fakeTB{TB: t}
			guard := ormloadertest.NewGuard(ormloadertest.WithLogger(logs.logger()), ormloadertest.WithTest(fake))
			h := guard.Middleware(gormserver.Handler(db, gormserver.Options{Naive: true}))
			for range 2 {
				serve(t, h, gormQuery)
			}
			if got := logs.reports(t); !slices.Equal(got, want) {
				t.Errorf("logged %q, want %q", got, want)
			}
			if f := fake.failures(); len(f) != 4 || !strings.Contains(strings.Join(f, "\n"),
				"ormloadertest: N+1 in operation Bands (more than 1 batch at one GraphQL path, or one key at a time under a list):\n  Band.label ×18 at bands[*].label: 18 statements in 18 resolver calls, one key each, at graph/naive.go:") {
				t.Errorf("failures %q", f)
			}

			// ormloader: nothing to report.
			var quiet guardLog
			fake = &fakeTB{TB: t}
			guard = ormloadertest.NewGuard(ormloadertest.WithLogger(quiet.logger()), ormloadertest.WithTest(fake))
			h = guard.Middleware(gormserver.Handler(db, gormserver.Options{}))
			for range 2 {
				serve(t, h, gormQuery)
			}
			if got := quiet.reports(t); len(got) != 0 || len(fake.failures()) != 0 {
				t.Errorf("ormloader's resolvers: logged %q, failed %q", got, fake.failures())
			}

			// A Guard inside an Operation: both see every statement.
			var inner guardLog
			guard = ormloadertest.NewGuard(ormloadertest.WithLogger(inner.logger()))
			op := &fakeTB{TB: t}
			rep := ormloadertest.Operation(op, c, guard.Middleware(gormserver.Handler(db, gormserver.Options{Naive: true})),
				ormloadertest.Request{Query: gormQuery}, ormloadertest.Budget{})
			if rep.Statements != 119 || len(op.failures()) != 1 {
				t.Errorf("the Operation around the Guard: %d statements, %d failures", rep.Statements, len(op.failures()))
			}
			if got := inner.reports(t); !slices.Equal(got, want) {
				t.Errorf("the Guard inside the Operation logged %q, want %q", got, want)
			}
		})
	}
}

func TestGuardOnTheEntExample(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			client, _ := entExample(t, d)
			const page = "bands.edges[*].node.albumPage"
			for _, tc := range []struct {
				naive bool
				want  []string
			}{
				{true, []string{
					"Album.reviews at " + page + ".albums[*].reviews ×60",
					"Album.tracks at " + page + ".albums[*].tracks ×60",
					"AlbumPage.albums at " + page + ".albums ×20",
					"AlbumPage.totalCount at " + page + ".totalCount ×20",
					"Band.label at bands.edges[*].node.label ×18",
				}},
				// The example puts the viewer into the request's context
				// before gqlgenloader opens the scope: its batches see it.
				{false, nil},
			} {
				var logs guardLog
				fake := &fakeTB{TB: t}
				guard := ormloadertest.NewGuard(ormloadertest.WithLogger(logs.logger()), ormloadertest.WithTest(fake),
					ormloadertest.CheckContext("viewer", viewer.FromContext))
				h := guard.Middleware(entserver.Handler(client, entserver.Options{Naive: tc.naive}))
				for _, v := range []string{"alice", "bob"} {
					serve(t, h, entQuery, entserver.ViewerHeader, v)
				}
				if got := logs.reports(t); !slices.Equal(got, tc.want) {
					t.Errorf("naive %v: logged %q, want %q", tc.naive, got, tc.want)
				}
				if f := fake.failures(); len(f) != len(tc.want) {
					t.Errorf("naive %v: %d failures, want %d: %q", tc.naive, len(f), len(tc.want), f)
				}
			}
		})
	}
}
