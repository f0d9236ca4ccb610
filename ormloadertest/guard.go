package ormloadertest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// Guard is the development mode of a running server: HTTP middleware that
// records what each request runs, as [Operation] does, and logs every N+1
// it finds once (per relation and GraphQL path, for the Guard's lifetime)
// with the call site, and every load whose context carries a value that the
// batches do not see (see [CheckContext]). Nothing is checked unless the
// application installs it, so it is off by default:
//
//	h := http.Handler(srv)
//	if os.Getenv("APP_DEV") != "" {
//		h = ormloadertest.NewGuard().Middleware(h)
//	}
//
// A Guard is safe for concurrent use.
type Guard struct {
	maxBatches int
	logger     *slog.Logger
	t          testing.TB
	checks     []contextCheck

	mu       sync.Mutex // protects reported
	reported map[string]bool
}

// GuardOption configures a [Guard].
type GuardOption func(*Guard)

// WithMaxBatches sets how many batches of one relation at one GraphQL path
// a request may run before the Guard reports it; zero or less keeps 1 (a
// loader without load sets, whose batches depend on timing, may need 2).
// A relation loaded one key at a time under a list is reported whatever k
// is.
func WithMaxBatches(k int) GuardOption {
	return func(g *Guard) { g.maxBatches = max(k, 1) }
}

// WithLogger sets the logger of the reports; the default is slog.Default()
// at the time NewGuard is called.
func WithLogger(l *slog.Logger) GuardOption {
	return func(g *Guard) {
		if l != nil {
			g.logger = l
		}
	}
}

// WithTest makes every report fail t too (with t.Errorf), for a server run
// by a test. The server must not report after the test has ended.
func WithTest(t testing.TB) GuardOption {
	return func(g *Guard) { g.t = t }
}

type contextCheck struct {
	name  string
	value func(context.Context) (any, bool)
}

// CheckContext makes the Guard watch a context value that the application
// puts into contexts, such as the viewer: value reads it (viewer.FromContext).
// Batches run under their scope's context, never under the context of the
// resolver that loads, so a value that a resolver's context has and the
// scope's lacks (a viewer set in a resolver or a field middleware, after
// gqlgenloader opened the scope) is not seen by the batches: privacy rules
// and tenant conditions run without it, silently. The Guard reports a load
// whose caller has the value while the batches of its scope have none or
// another.
//
// The fix is to put the value into the context before the scope opens: in
// HTTP middleware in front of the GraphQL handler, with
// gqlgenloader.WithContext, or, to open the scope after your
// authentication middleware, with gqlgenloader's Extension.Middleware.
func CheckContext[T comparable](name string, value func(context.Context) (T, bool)) GuardOption {
	return func(g *Guard) {
		g.checks = append(g.checks, contextCheck{name, func(ctx context.Context) (any, bool) {
			v, ok := value(ctx)
			return v, ok
		}})
	}
}

// NewGuard returns a Guard; install it with [Guard.Middleware].
func NewGuard(opts ...GuardOption) *Guard {
	g := &Guard{maxBatches: 1, logger: slog.Default(), reported: make(map[string]bool)}
	for _, o := range opts {
		o(g)
	}
	return g
}

// Middleware returns next with every request checked once it has been
// served. Install it in front of everything that opens dataloader scopes
// (outside gqlgenloader's Extension.Middleware, if you use it): the scopes
// report their batches to the Guard through the request's context.
// Statements are counted by the hooks that report to a [Counter]
// (gormcount.Register, entcount.Driver); without them only batches are
// checked. WebSocket and server-sent-event requests (subscriptions, which
// last as long as the connection) are passed through unchecked.
func (g *Guard) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" || strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
			next.ServeHTTP(w, r)
			return
		}
		rec := newRecording(r.Context(), g.checks)
		next.ServeHTTP(w, r.WithContext(rec.context(r.Context())))
		g.check(rec)
	})
}

// check reports what rec found that was not reported before.
func (g *Guard) check(rec *recording) {
	rep := rec.report()
	for _, rel := range rep.repeated(g.maxBatches) {
		if !g.first("n+1", rel.Name, rel.Path) {
			continue
		}
		sql := ""
		if len(rel.SQL) > 0 {
			sql = rel.SQL[0]
		}
		g.logger.Warn("ormloadertest: N+1", "operation", rep.Operation, "relation", rel.Name, "path", rel.Path,
			"batches", rel.Batches, "keys", rel.Keys, "statements", rel.Statements, "call_site", rel.CallSite, "sql", sql)
		if g.t != nil {
			g.t.Errorf("ormloadertest: N+1%s (more than %s at one GraphQL path, or one key at a time under a list):\n%s",
				inOperation(rep.Operation), plural(g.maxBatches, "batch"), relationText(rel))
		}
	}
	for _, f := range rec.contextFindings() {
		if !g.first("context", f.check, f.loader, f.path) {
			continue
		}
		g.logger.Warn("ormloadertest: a load's context value is not seen by its batches", "operation", rep.Operation,
			"value", f.check, "loader", f.loader, "path", f.path, "call_site", f.site,
			"caller", fmt.Sprint(f.caller), "batches", f.scopeText())
		if g.t != nil {
			g.t.Errorf("ormloadertest: %s", f)
		}
	}
}

func inOperation(name string) string {
	if name == "" {
		return ""
	}
	return " in operation " + name
}

// first reports whether the finding named by parts is new, and remembers it.
func (g *Guard) first(parts ...string) bool {
	k := strings.Join(parts, "\x00")
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.reported[k] {
		return false
	}
	g.reported[k] = true
	return true
}

// contextFinding is a load whose caller's context value its scope's
// batches do not have.
type contextFinding struct {
	check, loader, path, site string
	caller                    any
	scope                     checkedValue
}

func (f contextFinding) scopeText() string {
	if !f.scope.has {
		return "none"
	}
	return fmt.Sprint(f.scope.v)
}

func (f contextFinding) String() string {
	where := "outside resolvers"
	if f.path != "" {
		where = "at " + f.path
	}
	if f.site != "" {
		where += " (" + f.site + ")"
	}
	scope := "without " + f.check
	if f.scope.has {
		scope = fmt.Sprintf("with %s %v", f.check, f.scope.v)
	}
	return fmt.Sprintf("a load of %s %s has %s %v in its context, but the batches of its scope run %s: "+
		"batches run under the scope's context, so privacy rules and tenant conditions do not see the resolver's value. "+
		"Put it into the context before the scope opens: in HTTP middleware in front of the GraphQL handler, "+
		"with gqlgenloader.WithContext, or open the scope after authentication with gqlgenloader's Extension.Middleware",
		f.loader, where, f.check, f.caller, scope)
}

// contextFindings compares the context values of r's loads with those of
// their scopes' batches. A scope none of whose batches ran is not checked.
func (r *recording) contextFindings() []contextFinding {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []contextFinding
	for _, lv := range r.values {
		sv, ok := r.scopeValues[lv.scopeCheck]
		if !ok || (sv.has && equal(sv.v, lv.v)) {
			continue
		}
		out = append(out, contextFinding{r.checks[lv.check].name, lv.loader, lv.path, lv.site, lv.v, sv})
	}
	return out
}
