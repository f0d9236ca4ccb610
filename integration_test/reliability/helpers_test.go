package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// server is a server under test, with a client of its own (so that its idle
// connections can be closed before a goroutine leak check).
type server struct {
	name   string
	url    string
	client *http.Client
	close  func()
}

// startServer serves h (GraphQL at /query) until close or the end of the
// test.
func startServer(t *testing.T, name string, h http.Handler) *server {
	t.Helper()
	ts := httptest.NewServer(h)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	s := &server{name: name, url: ts.URL, client: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
	closed := false
	s.close = func() {
		if !closed {
			closed = true
			tr.CloseIdleConnections()
			ts.Close()
		}
	}
	t.Cleanup(s.close)
	return s
}

// response is a GraphQL response with the example servers' request stats.
type response struct {
	Data       json.RawMessage `json:"data"`
	Errors     []gqlError      `json:"errors"`
	Extensions struct {
		Stats struct {
			Statements int      `json:"statements"`
			SQL        []string `json:"sql"`
		} `json:"stats"`
	} `json:"extensions"`
}

type gqlError struct {
	Message string `json:"message"`
	Path    []any  `json:"path"`
}

// request is a GraphQL request: its query and the HTTP headers that the
// servers read (the viewer, the tenant, the test's fault and deadline
// markers).
type request struct {
	query  string
	header map[string]string
}

// do sends r and decodes the response, whatever its HTTP status.
func (s *server) do(ctx context.Context, r request) (response, error) {
	body, err := json.Marshal(map[string]any{"query": r.query})
	if err != nil {
		return response{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/query", bytes.NewReader(body))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	res, err := s.client.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s: %w", s.name, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s: %w", s.name, err)
	}
	var out response
	if err := json.Unmarshal(raw, &out); err != nil {
		return response{}, fmt.Errorf("%s: HTTP %d, not a GraphQL response: %v\n%s", s.name, res.StatusCode, err, raw)
	}
	return out, nil
}

// post is do for the test's goroutine.
func (s *server) post(t testing.TB, r request) response {
	t.Helper()
	resp, err := s.do(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func decode(t testing.TB, raw json.RawMessage) any {
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

// sameData reports whether got and want have equal data, as JSON values.
func sameData(t testing.TB, got, want response) bool {
	t.Helper()
	return reflect.DeepEqual(decode(t, got.Data), decode(t, want.Data))
}

// wantClean fails unless got has no errors and the data of want.
func wantClean(t testing.TB, got, want response) {
	t.Helper()
	if len(got.Errors) > 0 {
		t.Fatalf("errors: %+v", got.Errors)
	}
	if !sameData(t, got, want) {
		t.Fatalf("data differs from the naive resolvers'\n got: %s\nwant: %s", got.Data, want.Data)
	}
}

// pathString is a response path as "a.albums.0.tracks".
func pathString(path []any) string {
	parts := make([]string, len(path))
	for i, p := range path {
		switch p := p.(type) {
		case float64:
			parts[i] = strconv.Itoa(int(p))
		default:
			parts[i] = fmt.Sprint(p)
		}
	}
	return strings.Join(parts, ".")
}

// fieldPaths returns the path of every field in v (decoded JSON data).
func fieldPaths(v any, prefix string, out []string) []string {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			out = append(out, join(k))
			out = fieldPaths(x, join(k), out)
		}
	case []any:
		for i, x := range v {
			out = fieldPaths(x, join(strconv.Itoa(i)), out)
		}
	}
	return out
}

// wantFailedFields checks a response whose request had statements fail:
// its errors are exactly one per field of the naive response whose path
// matches one of failed, each naming cause; and its data is the naive
// data except where GraphQL nulls a failed field and its non-null
// ancestors: a null where the naive data has a value must lie on the path
// of an error. With moreFailed, other fields may have errors too, naming
// cause.
func wantFailedFields(t testing.TB, got, naive response, failed []*regexp.Regexp, cause string, m failMode) {
	t.Helper()
	var want []string
	for _, p := range fieldPaths(decode(t, naive.Data), "", nil) {
		if slices.ContainsFunc(failed, func(re *regexp.Regexp) bool { return re.MatchString(p) }) {
			want = append(want, p)
		}
	}
	var paths []string
	for _, e := range got.Errors {
		paths = append(paths, pathString(e.Path))
		if !strings.Contains(e.Message, cause) {
			t.Errorf("error at %s: %q does not name the cause %q", pathString(e.Path), e.Message, cause)
		}
	}
	slices.Sort(want)
	slices.Sort(paths)
	missing := slices.ContainsFunc(want, func(p string) bool { return !slices.Contains(paths, p) })
	extra := slices.ContainsFunc(paths, func(p string) bool { return !slices.Contains(want, p) })
	switch {
	case m == allFailed && (missing || extra):
		t.Errorf("errors at\n  %s\nwant one at each failed field:\n  %s", strings.Join(paths, "\n  "), strings.Join(want, "\n  "))
	case m == moreFailed && missing:
		t.Errorf("errors at\n  %s\nwant one at each failed field at least:\n  %s", strings.Join(paths, "\n  "), strings.Join(want, "\n  "))
	}
	if len(want) == 0 {
		t.Errorf("the failed statement serves no field of the response (patterns %v)", failed)
	}
	var diffs []string
	compareNulled(decode(t, got.Data), decode(t, naive.Data), "", paths, &diffs)
	if len(diffs) > 0 {
		t.Errorf("data differs from the naive resolvers' beyond the failed fields:\n  %s\n got: %s\nwant: %s", strings.Join(diffs, "\n  "), got.Data, naive.Data)
	}
}

// failMode says which fields wantFailedFields expects errors at.
type failMode int

const (
	allFailed  failMode = iota // every failed field, and no other
	moreFailed                 // every failed field, and maybe others
)

// compareNulled appends to diffs the paths where got differs from want
// other than by a null on the path of one of errPaths.
func compareNulled(got, want any, path string, errPaths []string, diffs *[]string) {
	if got == nil && want != nil {
		for _, e := range errPaths {
			if path == "" || e == path || strings.HasPrefix(e, path+".") {
				return
			}
		}
		*diffs = append(*diffs, path+": null")
		return
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			*diffs = append(*diffs, path+": not the same object")
			return
		}
		for k := range w {
			compareNulled(g[k], w[k], join(k), errPaths, diffs)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*diffs = append(*diffs, path+": not the same list")
			return
		}
		for i := range w {
			compareNulled(g[i], w[i], join(strconv.Itoa(i)), errPaths, diffs)
		}
	default:
		if !reflect.DeepEqual(got, want) {
			*diffs = append(*diffs, fmt.Sprintf("%s: %v, want %v", path, got, want))
		}
	}
}
