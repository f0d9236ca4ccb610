package gqlgenloader_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"go.uber.org/goleak"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gqlgenloader"
	"github.com/ormloader/ormloader/gqlgenloader/internal/testserver"
)

// scopeRecorder records the batches of a Values loader: their keys, the
// scope of each, and each scope's first batch context.
type scopeRecorder struct {
	mu          sync.Mutex
	batches     [][]int
	batchScopes []*dataloader.Scope
	scopes      []*dataloader.Scope // distinct, in order
	ctxs        []context.Context   // of scopes
}

// middlewareServer serves the test schema over tr behind ext.Middleware and
// a middleware that loads key 1 for the viewer first (strict: it fails
// without a scope); the Values loader records its batches in the recorder.
// The caller closes the server.
func middlewareServer(tr graphql.Transport) (*httptest.Server, *scopeRecorder) {
	rec := &scopeRecorder{}
	values := dataloader.New(func(ctx context.Context, keys []int) ([]int, []error, error) {
		rec.mu.Lock()
		s := dataloader.FromContext(ctx)
		rec.batches = append(rec.batches, slices.Sorted(slices.Values(keys)))
		rec.batchScopes = append(rec.batchScopes, s)
		if !slices.Contains(rec.scopes, s) {
			rec.scopes = append(rec.scopes, s)
			rec.ctxs = append(rec.ctxs, ctx)
		}
		rec.mu.Unlock()
		vals := make([]int, len(keys))
		for i, k := range keys {
			vals[i] = k * 10
		}
		return vals, nil, nil
	}, dataloader.WithStrict())
	srv := handler.New(testserver.Executable(&testserver.Resolver{Values: values, Store: &testserver.Store{}}))
	srv.AddTransport(tr)
	ext := gqlgenloader.New(gqlgenloader.WithScopeOptions(tickOptions...))
	srv.Use(ext)
	viewer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := values.Load(r.Context(), 1); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	return httptest.NewServer(ext.Middleware(viewer(srv))), rec
}

// With Middleware the scope is the HTTP request's: what the handler chain
// loads before the GraphQL handler (here, a middleware loading key 1 for the
// viewer) shares the batches and the cache of the resolvers, which are still
// tracked by the extension (one batch per level), and each request gets a
// scope of its own, closed when its handler returns.
func TestMiddlewareScopesTheRequest(t *testing.T) {
	defer goleak.VerifyNone(t)
	ts, rec := middlewareServer(transport.POST{})
	defer ts.Close()

	for range 2 {
		res, err := http.Post(ts.URL, "application/json", strings.NewReader(`{"query": "{ items(n: 2) { value children(n: 2) { value } } }"}`))
		if err != nil {
			t.Fatal(err)
		}
		var body strings.Builder
		_, _ = io.Copy(&body, res.Body)
		res.Body.Close()
		if want := `{"data":{"items":[{"value":10,"children":[{"value":1010},{"value":1020}]},{"value":20,"children":[{"value":2010},{"value":2020}]}]}}`; body.String() != want {
			t.Fatalf("response %s, want %s", body.String(), want)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.scopes) != 2 {
		t.Fatalf("%d scopes for two requests, want 2", len(rec.scopes))
	}
	// Per request: the middleware's key 1 first; the resolvers find it
	// cached, so every other key is loaded once (how the levels' keys split
	// into batches depends on which values were cached), in 3 batches.
	for i := range 2 {
		req := rec.batches[i*3 : i*3+3]
		if !slices.Equal(req[0], []int{1}) {
			t.Errorf("request %d: first batch %v, want the middleware's [1]", i, req[0])
		}
		if got := slices.Sorted(slices.Values(slices.Concat(req...))); !slices.Equal(got, []int{1, 2, 101, 102, 201, 202}) {
			t.Errorf("request %d: keys %v, want each of 1 2 101 102 201 202 once", i, got)
		}
	}
	if len(rec.batches) != 6 {
		t.Errorf("batches %v, want 3 per request", rec.batches)
	}
	for _, c := range rec.ctxs {
		if c.Err() == nil {
			t.Error("a request's scope is still open after its handler returned")
		}
	}
}

// With Middleware, a websocket connection is one HTTP request that lasts
// as long as the connection, and every operation sent over it runs in that
// request's context. Each operation still gets a scope of its own: the
// connection's scope (what the handler chain loaded when it connected) is
// not a cache for every query of the next hours.
func TestMiddlewareWebsocketScopePerOperation(t *testing.T) {
	defer goleak.VerifyNone(t)
	ts, rec := middlewareServer(transport.Websocket{})
	defer ts.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http"), &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	send := func(msg map[string]any) {
		if err := wsjson.Write(ctx, conn, msg); err != nil {
			t.Fatal(err)
		}
	}
	read := func() map[string]any {
		var msg map[string]any
		if err := wsjson.Read(ctx, conn, &msg); err != nil {
			t.Fatal(err)
		}
		return msg
	}
	send(map[string]any{"type": "connection_init"})
	if msg := read(); msg["type"] != "connection_ack" {
		t.Fatalf("got %v, want connection_ack", msg)
	}
	for i, id := range []string{"1", "2"} {
		send(map[string]any{"type": "subscribe", "id": id, "payload": map[string]any{"query": "{ items(n: 2) { value } }"}})
		if msg := read(); msg["type"] != "next" || fmt.Sprint(msg["payload"]) != "map[data:map[items:[map[value:10] map[value:20]]]]" {
			t.Fatalf("operation %d: got %v", i+1, msg)
		}
		if msg := read(); msg["type"] != "complete" {
			t.Fatalf("operation %d: got %v, want complete", i+1, msg)
		}
	}
	conn.Close(websocket.StatusNormalClosure, "")

	rec.mu.Lock()
	defer rec.mu.Unlock()
	// The viewer's key 1 in the connection's scope, then both keys in each
	// operation's own scope.
	want := [][]int{{1}, {1, 2}, {1, 2}}
	if !slices.EqualFunc(rec.batches, want, slices.Equal) {
		t.Fatalf("batches %v, want %v: every operation loads in a scope of its own", rec.batches, want)
	}
	if s := rec.batchScopes; s[1] == s[0] || s[2] == s[0] || s[2] == s[1] {
		t.Fatal("an operation over the websocket loaded in the connection's scope or in another operation's")
	}
}
