package demo

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"

	"github.com/ormloader/ormloader/dataloader"
)

// Stats counts what one request did: the SQL statements run through a
// database opened with [OpenDB] (counted at the driver) and the dataloader
// batches (counted by [BatchCounter]). It is safe for concurrent use.
type Stats struct {
	mu         sync.Mutex
	operation  string
	statements []string
	batches    int
}

// StatsSnapshot is a copy of the counters of a [Stats].
type StatsSnapshot struct {
	Operation  string   `json:"-"`
	Statements int      `json:"statements"`
	Batches    int      `json:"batches"`
	SQL        []string `json:"sql,omitempty"`
}

type statsKey struct{}

// WithStats returns a copy of ctx that counts into a new Stats.
func WithStats(ctx context.Context) (context.Context, *Stats) {
	s := &Stats{}
	return context.WithValue(ctx, statsKey{}, s), s
}

// StatsFrom returns the Stats of ctx, or nil.
func StatsFrom(ctx context.Context) *Stats {
	s, _ := ctx.Value(statsKey{}).(*Stats)
	return s
}

// Snapshot returns the counters, and the statements' SQL if withSQL.
func (s *Stats) Snapshot(withSQL bool) StatsSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := StatsSnapshot{Operation: s.operation, Statements: len(s.statements), Batches: s.batches}
	if withSQL {
		snap.SQL = append([]string(nil), s.statements...)
	}
	return snap
}

func count(ctx context.Context, query string) {
	if s := StatsFrom(ctx); s != nil {
		s.mu.Lock()
		s.statements = append(s.statements, query)
		s.mu.Unlock()
	}
}

// BatchCounter is a dataloader.Tracer that counts batches into the Stats of
// the batch's context (which is the request's: batch functions run under the
// operation's context). Install it with
// gqlgenloader.WithScopeOptions(dataloader.WithTracer(demo.BatchCounter{})).
type BatchCounter struct{}

var _ dataloader.Tracer = BatchCounter{}

// TraceBatchStart implements dataloader.Tracer.
func (BatchCounter) TraceBatchStart(ctx context.Context, _ dataloader.BatchStartData) context.Context {
	if s := StatsFrom(ctx); s != nil {
		s.mu.Lock()
		s.batches++
		s.mu.Unlock()
	}
	return ctx
}

// TraceBatchEnd implements dataloader.Tracer.
func (BatchCounter) TraceBatchEnd(context.Context, dataloader.BatchEndData) {}

// Reporting is a gqlgen extension that puts the request's [Stats] into every
// response, as "extensions": {"stats": {"statements": 4, "batches": 3}},
// so GraphiQL shows them next to the result; with SQL set, the statements'
// text too. The counts are those of the whole request so far.
type Reporting struct {
	SQL bool
}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = Reporting{}

// ExtensionName implements graphql.HandlerExtension.
func (Reporting) ExtensionName() string { return "RequestStats" }

// Validate implements graphql.HandlerExtension.
func (Reporting) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse implements graphql.ResponseInterceptor.
func (r Reporting) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	s := StatsFrom(ctx)
	if s != nil && graphql.HasOperationContext(ctx) {
		s.mu.Lock()
		s.operation = graphql.GetOperationContext(ctx).OperationName
		s.mu.Unlock()
	}
	resp := next(ctx)
	if resp == nil || s == nil {
		return resp
	}
	if resp.Extensions == nil {
		resp.Extensions = make(map[string]any)
	}
	resp.Extensions["stats"] = s.Snapshot(r.SQL)
	return resp
}
