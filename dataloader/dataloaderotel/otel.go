// Package dataloaderotel reports dataloader batches as OpenTelemetry spans.
// It lives in its own package so that package dataloader imports nothing
// outside the standard library.
//
//	ctx, scope := dataloader.NewScope(ctx, dataloader.WithTracer(dataloaderotel.NewTracer()))
//
// Each call of a batch function becomes a span named "dataloader.batch
// <loader>" with the attributes dataloader.loader and dataloader.keys; a
// batch error is recorded on the span and sets its status to Error. The span
// is a child of the span in the scope's context (the request's), and the
// batch function's context carries it, so database spans nest under it.
package dataloaderotel

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ormloader/ormloader/dataloader"
)

// ScopeName is the instrumentation scope name of the tracer.
const ScopeName = "github.com/ormloader/ormloader/dataloader"

// Option configures NewTracer.
type Option func(*Tracer)

// WithTracerProvider uses tp instead of the global provider (otel.GetTracerProvider).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(t *Tracer) { t.tracer = tp.Tracer(ScopeName) }
}

// Tracer implements dataloader.Tracer with OpenTelemetry.
type Tracer struct {
	tracer trace.Tracer
}

var _ dataloader.Tracer = (*Tracer)(nil)

// NewTracer returns a dataloader.Tracer that creates one span per batch.
func NewTracer(opts ...Option) *Tracer {
	t := &Tracer{}
	for _, o := range opts {
		o(t)
	}
	if t.tracer == nil {
		t.tracer = otel.GetTracerProvider().Tracer(ScopeName)
	}
	return t
}

// TraceBatchStart starts the batch's span.
func (t *Tracer) TraceBatchStart(ctx context.Context, d dataloader.BatchStartData) context.Context {
	ctx, _ = t.tracer.Start(ctx, "dataloader.batch "+d.Loader,
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(
			attribute.String("dataloader.loader", d.Loader),
			attribute.Int("dataloader.keys", d.Keys),
		))
	return ctx
}

// TraceBatchEnd ends the batch's span, recording a batch error.
func (t *Tracer) TraceBatchEnd(ctx context.Context, d dataloader.BatchEndData) {
	span := trace.SpanFromContext(ctx)
	if d.Err != nil {
		span.RecordError(d.Err)
		span.SetStatus(codes.Error, d.Err.Error())
	}
	span.End()
}
