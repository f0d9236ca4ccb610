// Package integration runs the example servers in-process and sends them
// real GraphQL over HTTP: every test compares the ormloader server's answers
// with those of the same server's naive resolvers (one query per parent),
// and checks ormloader's statement counts exactly. The counts come from the
// servers' response extensions ("stats"), counted at the database/sql driver
// by examples/internal/demo.
//
// SQLite always; PostgreSQL and MariaDB when ORMLOADER_TEST_POSTGRES_DSN and
// ORMLOADER_TEST_MYSQL_DSN are set (see internal/testdb).
package integration

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ormloader/ormloader/internal/testdb"
)

// server is an example server under test.
type server struct {
	name string // "ormloader" or "naive", for messages
	url  string
}

// startServer serves h (an example's handler: GraphQL at /query) until the
// test ends.
func startServer(t *testing.T, name string, h http.Handler) *server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &server{name: name, url: ts.URL}
}

// response is a GraphQL response with the example servers' request stats.
type response struct {
	Data       json.RawMessage `json:"data"`
	Errors     []gqlError      `json:"errors"`
	Extensions struct {
		Stats struct {
			Statements int      `json:"statements"`
			Batches    int      `json:"batches"`
			SQL        []string `json:"sql"`
		} `json:"stats"`
	} `json:"extensions"`
}

type gqlError struct {
	Message string `json:"message"`
	Path    []any  `json:"path"`
}

// post sends query with variables to the server's /query endpoint and
// decodes the response, whatever its HTTP status (gqlgen answers invalid
// queries with 422).
func (s *server) post(t *testing.T, query string, vars map[string]any) response {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(s.url+"/query", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var r response
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("%s: HTTP %d, not a GraphQL response: %v\n%s", s.name, res.StatusCode, err, raw)
	}
	return r
}

// sameResponse fails unless got and want have equal data (compared as JSON
// values) and the same errors (messages and paths; their order is that in
// which concurrent resolvers failed, so it is not compared).
func sameResponse(t *testing.T, got, want response) {
	t.Helper()
	if !reflect.DeepEqual(decode(t, got.Data), decode(t, want.Data)) {
		t.Errorf("data differs from the naive resolvers'\n got: %s\nwant: %s", got.Data, want.Data)
	}
	sortErrors(got.Errors)
	sortErrors(want.Errors)
	if !reflect.DeepEqual(got.Errors, want.Errors) {
		t.Errorf("errors differ from the naive resolvers'\n got: %+v\nwant: %+v", got.Errors, want.Errors)
	}
}

func sortErrors(errs []gqlError) {
	slices.SortFunc(errs, func(a, b gqlError) int {
		return cmp.Or(cmp.Compare(fmt.Sprint(a.Path), fmt.Sprint(b.Path)), cmp.Compare(a.Message, b.Message))
	})
}

func decode(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	if len(raw) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("invalid JSON data: %v\n%s", err, raw)
	}
	return v
}

// wantStatements fails unless the response's request ran n statements,
// listing them if not (the servers under test report their SQL).
func wantStatements(t *testing.T, r response, n int) {
	t.Helper()
	if got := r.Extensions.Stats.Statements; got != n {
		t.Errorf("%d statements, want %d:\n  %s", got, n, strings.Join(r.Extensions.Stats.SQL, "\n  "))
	}
}

// wantNoErrors fails if the response has errors.
func wantNoErrors(t *testing.T, r response) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
}

// freshDB returns a new empty database of the given dialect (testdb.All
// gives one per dialect; tests that write need one per server).
func freshDB(t *testing.T, dialect string) testdb.DB {
	t.Helper()
	var db testdb.DB
	var ok bool
	switch dialect {
	case "postgres":
		db, ok = testdb.Postgres(t)
	case "mysql":
		db, ok = testdb.MySQL(t)
	default:
		db, ok = testdb.SQLite(t), true
	}
	if !ok {
		t.Fatalf("no %s database", dialect)
	}
	return db
}

// deferred is the result of an operation with @defer, sent over gqlgen's
// multipart/mixed transport.
type deferred struct {
	initial     response
	incremental []incrementalPayload // sorted by path: their order is that in which they completed
	statements  int                  // of the whole request, as the last payload reports them
}

type incrementalPayload struct {
	Data       json.RawMessage `json:"data"`
	Label      string          `json:"label"`
	Path       []any           `json:"path"`
	Errors     []gqlError      `json:"errors"`
	Extensions struct {
		Stats struct{ Statements int } `json:"stats"`
	} `json:"extensions"`
}

// postDeferred sends a query with @defer and reads every part of the
// multipart response.
func (s *server) postDeferred(t *testing.T, query string) deferred {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, s.url+"/query", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "multipart/mixed")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	defer res.Body.Close()
	_, params, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("%s: not a multipart response: %v", s.name, err)
	}
	var d deferred
	mr := multipart.NewReader(res.Body, params["boundary"])
	for i := 0; ; i++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: part %d: %v", s.name, i, err)
		}
		raw, err := io.ReadAll(part)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := json.Unmarshal(raw, &d.initial); err != nil {
				t.Fatalf("%s: initial part: %v\n%s", s.name, err, raw)
			}
			d.statements = d.initial.Extensions.Stats.Statements
			continue
		}
		var p struct{ Incremental []incrementalPayload }
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatalf("%s: part %d: %v\n%s", s.name, i, err, raw)
		}
		for _, inc := range p.Incremental {
			d.statements = max(d.statements, inc.Extensions.Stats.Statements)
			inc.Extensions.Stats.Statements = 0
			d.incremental = append(d.incremental, inc)
		}
	}
	slices.SortFunc(d.incremental, func(a, b incrementalPayload) int {
		return cmp.Compare(fmt.Sprint(a.Path), fmt.Sprint(b.Path))
	})
	return d
}

// sameDeferred fails unless got and want have the same initial response and
// the same incremental payloads.
func sameDeferred(t *testing.T, got, want deferred) {
	t.Helper()
	sameResponse(t, got.initial, want.initial)
	if len(got.incremental) != len(want.incremental) {
		t.Fatalf("%d incremental payloads, want %d", len(got.incremental), len(want.incremental))
	}
	for i := range got.incremental {
		g, w := got.incremental[i], want.incremental[i]
		if !reflect.DeepEqual(decode(t, g.Data), decode(t, w.Data)) || g.Label != w.Label || fmt.Sprint(g.Path) != fmt.Sprint(w.Path) {
			t.Errorf("incremental payload %d differs from the naive resolvers'\n got: %s %s %v\nwant: %s %s %v", i, g.Data, g.Label, g.Path, w.Data, w.Label, w.Path)
		}
	}
}

// errorCase is a query whose response has an error containing message (or,
// for checkErrors, no error if message is empty).
type errorCase struct{ name, query, message string }

// checkErrors: each query answers orm as it answers naive, with the error
// expected.
func checkErrors(t *testing.T, orm, naive *server, cases []errorCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, want := orm.post(t, c.query, nil), naive.post(t, c.query, nil)
			sameResponse(t, got, want)
			if c.message == "" {
				wantNoErrors(t, got)
				return
			}
			wantError(t, got, c.message)
		})
	}
}

// checkBadQueries: queries that fail to parse or validate run no statement.
func checkBadQueries(t *testing.T, orm *server, cases []errorCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := orm.post(t, c.query, nil)
			wantError(t, got, c.message)
			wantStatements(t, got, 0)
		})
	}
}

func wantError(t *testing.T, r response, message string) {
	t.Helper()
	if len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, message) {
		t.Fatalf("errors %+v, want one containing %q", r.Errors, message)
	}
}
