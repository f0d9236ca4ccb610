// Package faultdb injects faults into the SQL statements of a database/sql
// driver, for tests of what a program does when its database misbehaves. An
// [Injector] wraps a driver's connector (through internal/sqlhook); every
// statement run on it is checked against the injector's rules before the
// driver runs it, and the first rule that picks it gives it its [Fault]:
// an error, a block that honours the statement's context ([BlockUntilDone]),
// a block that ignores it until the test releases a [Gate], or a panic
// ([Panic]). Statements no rule picks run normally.
//
//	inj := faultdb.New()
//	db := sql.OpenDB(inj.Wrap(connector))
//	albums := inj.Inject(faultdb.Rule{Match: faultdb.Table("albums"), Times: 1, Fault: faultdb.Fail(faultdb.ErrInjected)})
//	defer albums.Remove()
//
// A statement is what internal/sqlhook calls one: a direct query or exec, or
// an execution of a prepared statement; each is checked once.
package faultdb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ormloader/ormloader/internal/sqlhook"
)

// ErrInjected is an error to fail statements with: Fail(ErrInjected).
var ErrInjected = errors.New("faultdb: injected fault")

// Injector holds the rules; the zero value is not usable, call [New]. It is
// safe for concurrent use, and rules may be injected and removed while
// statements run.
type Injector struct {
	mu         sync.Mutex // protects injections and the counters in them
	injections []*Injection
}

// New returns an injector without rules.
func New() *Injector { return &Injector{} }

// Wrap returns a connector that opens base's connections with the
// injector's faults; open a *sql.DB on it with sql.OpenDB.
func (in *Injector) Wrap(base driver.Connector) driver.Connector {
	return sqlhook.Wrap(base, in.hook)
}

// A Rule picks statements and says what they get.
type Rule struct {
	// Match selects the statements the rule considers; nil selects every
	// statement.
	Match Matcher
	// Nth, if positive, picks only the Nth statement that Match selects
	// (1 is the first), counted from when the rule was injected.
	Nth int
	// Times, if positive, is how many statements the rule picks at most;
	// after that it picks none. Zero is no limit.
	Times int
	// Fault is what a picked statement gets. Required.
	Fault Fault
}

// Injection is a rule in force in an injector.
type Injection struct {
	in      *Injector
	rule    Rule
	seen    int      // statements Match selected
	faulted []string // SQL of the statements picked
}

// Inject puts r in force and returns it; rules are tried in the order they
// were injected. Every rule counts (for Nth) each statement its Match
// selects, whether or not an earlier rule picked it.
func (in *Injector) Inject(r Rule) *Injection {
	if r.Fault == nil {
		panic("faultdb: Rule without a Fault")
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	inj := &Injection{in: in, rule: r}
	in.injections = append(in.injections, inj)
	return inj
}

// Remove takes the rule out of force. Statements it already holds (a
// block) go on as their fault says.
func (inj *Injection) Remove() {
	in := inj.in
	in.mu.Lock()
	defer in.mu.Unlock()
	in.injections = slices.DeleteFunc(in.injections, func(x *Injection) bool { return x == inj })
}

// Faulted returns the SQL text of the statements the rule picked, in the
// order they reached the driver.
func (inj *Injection) Faulted() []string {
	inj.in.mu.Lock()
	defer inj.in.mu.Unlock()
	return slices.Clone(inj.faulted)
}

// hook is the injector's sqlhook.Hook.
func (in *Injector) hook(ctx context.Context, query string) error {
	if f := in.pick(ctx, query); f != nil {
		return f(ctx, query)
	}
	return nil
}

// pick returns the fault of the first rule that picks the statement, or nil.
// Matchers run under the injector's lock: they must not use the injector.
func (in *Injector) pick(ctx context.Context, query string) Fault {
	in.mu.Lock()
	defer in.mu.Unlock()
	var fault Fault
	for _, inj := range in.injections {
		r := &inj.rule
		if r.Match != nil && !r.Match(ctx, query) {
			continue
		}
		inj.seen++
		if fault != nil || (r.Nth > 0 && inj.seen != r.Nth) || (r.Times > 0 && len(inj.faulted) >= r.Times) {
			continue
		}
		inj.faulted = append(inj.faulted, query)
		fault = r.Fault
	}
	return fault
}

// A Matcher selects statements by their context and SQL text.
type Matcher func(ctx context.Context, query string) bool

// Contains selects the statements whose SQL contains s, ignoring case.
func Contains(s string) Matcher {
	s = strings.ToLower(s)
	return func(_ context.Context, query string) bool { return strings.Contains(strings.ToLower(query), s) }
}

// Table selects the statements that name table after FROM, JOIN, INTO or
// UPDATE, quoted ("table", `table`) or not: the statements that read or
// write it, subqueries included.
func Table(table string) Matcher {
	re := regexp.MustCompile(`(?i)\b(FROM|JOIN|INTO|UPDATE)\s+["` + "`" + `]?` + regexp.QuoteMeta(table) + `["` + "`" + `]?(\s|$|[),;])`)
	return func(_ context.Context, query string) bool { return re.MatchString(query) }
}

// Context selects the statements whose context satisfies f (a value that a
// test put into a request's context, say).
func Context(f func(ctx context.Context) bool) Matcher {
	return func(ctx context.Context, _ string) bool { return f(ctx) }
}

// All selects the statements every m selects.
func All(ms ...Matcher) Matcher {
	return func(ctx context.Context, query string) bool {
		for _, m := range ms {
			if !m(ctx, query) {
				return false
			}
		}
		return true
	}
}

// A Fault is called in place of the driver for a picked statement, with the
// statement's context and SQL. Its error fails the statement; nil lets the
// statement run after all (after a delay, say). It may block or panic.
type Fault func(ctx context.Context, query string) error

// Fail fails the statement with err, wrapped with the statement's SQL
// (errors.Is finds err).
func Fail(err error) Fault {
	return func(_ context.Context, query string) error {
		return fmt.Errorf("%w (statement: %s)", err, query)
	}
}

// BlockUntilDone blocks the statement until its context is done, and fails
// it with the context's error: a statement that outlasts its deadline on a
// driver that honours contexts.
func BlockUntilDone() Fault {
	return func(ctx context.Context, _ string) error {
		<-ctx.Done()
		return ctx.Err()
	}
}

// Panic panics with v in place of the statement, as a driver bug would. See
// internal/sqlhook for what happens to the connection.
func Panic(v any) Fault {
	return func(context.Context, string) error { panic(v) }
}

// Gate blocks statements, ignoring their contexts, until it is released: a
// driver stuck in a call that does not honour cancellation. Its zero value
// is not usable, call [NewGate].
type Gate struct {
	open    chan struct{}
	release sync.Once
	blocked atomic.Int32  // statements waiting at the gate now
	arrived chan struct{} // gets a value each time a statement arrives
}

// NewGate returns a closed gate.
func NewGate() *Gate {
	return &Gate{open: make(chan struct{}), arrived: make(chan struct{}, 1)}
}

// Fault returns the fault that holds statements at the gate until Release;
// then they run (on a driver that honours contexts, one whose context is
// done by then fails with its context's error).
func (g *Gate) Fault() Fault {
	return func(context.Context, string) error {
		g.blocked.Add(1)
		defer g.blocked.Add(-1)
		select {
		case g.arrived <- struct{}{}:
		default:
		}
		<-g.open
		return nil
	}
}

// Blocked returns the number of statements held at the gate now.
func (g *Gate) Blocked() int { return int(g.blocked.Load()) }

// WaitBlocked waits until at least n statements are held at the gate, or
// ctx is done.
func (g *Gate) WaitBlocked(ctx context.Context, n int) error {
	for g.Blocked() < n {
		select {
		case <-g.arrived:
		case <-g.open:
			return errors.New("faultdb: the gate was released")
		case <-ctx.Done():
			return fmt.Errorf("faultdb: %d statements at the gate, waiting for %d: %w", g.Blocked(), n, ctx.Err())
		}
	}
	return nil
}

// Release opens the gate for good: held statements go on, later ones pass.
func (g *Gate) Release() { g.release.Do(func() { close(g.open) }) }
