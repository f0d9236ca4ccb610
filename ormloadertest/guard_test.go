package ormloadertest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/ent/viewer"
	"github.com/ormloader/ormloader/ormloadertest"
)

// loading returns a handler that opens a scope on the request's context
// (after before changed it), changes the context of its loads with after,
// and loads bands 1 to 4 in two batches of two keys.
func loading(c *ormloadertest.Counter, before, after func(context.Context) context.Context) http.Handler {
	loader := albumsByBand(c)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, scope := dataloader.NewScope(before(r.Context()))
		defer scope.Close()
		ctx = after(ctx)
		for _, keys := range [][]int{{1, 2}, {3, 4}} {
			if _, errs := loader.LoadMany(ctx, keys); errs != nil {
				http.Error(w, errs[0].Error(), http.StatusInternalServerError)
				return
			}
		}
	})
}

func unchanged(ctx context.Context) context.Context { return ctx }

func withViewer(name string) func(context.Context) context.Context {
	return func(ctx context.Context) context.Context { return viewer.NewContext(ctx, name) }
}

func get(t *testing.T, h http.Handler) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("HTTP %d: %s", w.Code, w.Body.String())
	}
}

func TestGuardMaxBatches(t *testing.T) {
	var c ormloadertest.Counter
	h := loading(&c, unchanged, unchanged)
	for _, tc := range []struct {
		opts []ormloadertest.GuardOption
		want int // failures
	}{
		{nil, 1}, // two batches of one loader at one path, the default limit is 1
		{[]ormloadertest.GuardOption{ormloadertest.WithMaxBatches(2)}, 0},
		{[]ormloadertest.GuardOption{ormloadertest.WithMaxBatches(0)}, 1}, // zero keeps 1
	} {
		fake := &fakeTB{TB: t}
		var logs guardLog
		g := ormloadertest.NewGuard(append(tc.opts, ormloadertest.WithTest(fake), ormloadertest.WithLogger(logs.logger()))...)
		get(t, g.Middleware(h))
		f := fake.failures()
		if len(f) != tc.want {
			t.Errorf("%d options: %d failures, want %d: %q", len(tc.opts), len(f), tc.want, f)
		}
		if tc.want == 1 && !strings.Contains(f[0], "\n  Band.albums ×2: 2 statements in 2 batches of 4 keys, at ormloadertest/guard_test.go:") {
			t.Errorf("failure %q", f[0])
		}
	}
}

func TestGuardCheckContext(t *testing.T) {
	var c ormloadertest.Counter
	for _, tc := range []struct {
		name          string
		before, after func(context.Context) context.Context
		want          string // in the failure; "" for none
	}{
		{"viewer before the scope", withViewer("alice"), unchanged, ""},
		{"no viewer", unchanged, unchanged, ""},
		{"viewer after the scope", unchanged, withViewer("alice"),
			"ormloadertest: a load of Band.albums outside resolvers (ormloadertest/guard_test.go:"},
		{"another viewer after the scope", withViewer("bob"), withViewer("alice"),
			") has viewer alice in its context, but the batches of its scope run with viewer bob: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeTB{TB: t}
			var logs guardLog
			g := ormloadertest.NewGuard(ormloadertest.CheckContext("viewer", viewer.FromContext),
				ormloadertest.WithMaxBatches(2), ormloadertest.WithTest(fake), ormloadertest.WithLogger(logs.logger()))
			h := g.Middleware(loading(&c, tc.before, tc.after))
			for range 2 {
				get(t, h)
			}
			f := fake.failures()
			switch {
			case tc.want == "" && len(f) != 0:
				t.Errorf("failures %q", f)
			case tc.want != "" && (len(f) != 1 || !strings.Contains(f[0], tc.want) || !strings.Contains(f[0], "gqlgenloader.WithContext")):
				t.Errorf("failures %q, want one with %q", f, tc.want)
			}
			if lines := strings.Count(logs.buf.String(), `"msg":"ormloadertest: a load's context value is not seen by its batches"`); lines != min(len(f), 1) {
				t.Errorf("%d log lines:\n%s", lines, logs.buf.String())
			}
		})
	}
}

// Subscriptions' long-lived requests are passed through unrecorded.
func TestGuardPassesSubscriptionsThrough(t *testing.T) {
	var c ormloadertest.Counter
	fake := &fakeTB{TB: t}
	g := ormloadertest.NewGuard(ormloadertest.WithTest(fake), ormloadertest.WithLogger(new(guardLog).logger()))
	h := g.Middleware(loading(&c, unchanged, unchanged))
	for _, header := range []http.Header{{"Upgrade": {"websocket"}}, {"Accept": {"text/event-stream"}}} {
		r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
		r.Header = header
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if f := fake.failures(); len(f) != 0 {
		t.Errorf("failures %q", f)
	}
	get(t, h) // and a plain request is checked
	if f := fake.failures(); len(f) != 1 {
		t.Errorf("failures %q", f)
	}
}
