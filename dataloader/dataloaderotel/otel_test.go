package dataloaderotel_test

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/dataloader/dataloaderotel"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSpansPerBatch(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())

	var batchSpan trace.SpanContext
	l := dataloader.New(func(ctx context.Context, keys []int) ([]int, []error, error) {
		batchSpan = trace.SpanContextFromContext(ctx)
		if keys[0] < 0 {
			return nil, nil, errors.New("db down")
		}
		return keys, nil, nil
	}, dataloader.WithName("albums"))

	root, rootSpan := tp.Tracer("test").Start(context.Background(), "request")
	ctx, scope := dataloader.NewScope(root, dataloader.WithTracer(dataloaderotel.NewTracer(dataloaderotel.WithTracerProvider(tp))))
	l.LoadMany(ctx, []int{1, 2, 3})
	l.Load(ctx, -1)
	scope.Close()
	rootSpan.End()

	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 2 batches and the request", len(spans))
	}
	ok, failed := spans[0], spans[1]
	if ok.Name() != "dataloader.batch albums" || ok.Parent().SpanID() != rootSpan.SpanContext().SpanID() {
		t.Fatalf("span %q with parent %v", ok.Name(), ok.Parent().SpanID())
	}
	attrs := attribute.NewSet(ok.Attributes()...)
	if v, _ := attrs.Value("dataloader.keys"); v.AsInt64() != 3 {
		t.Fatalf("keys attribute = %v", v)
	}
	if v, _ := attrs.Value("dataloader.loader"); v.AsString() != "albums" {
		t.Fatalf("loader attribute = %v", v)
	}
	if ok.Status().Code == codes.Error || failed.Status().Code != codes.Error || len(failed.Events()) == 0 {
		t.Fatalf("statuses %v / %v, events %d", ok.Status(), failed.Status(), len(failed.Events()))
	}
	if batchSpan.SpanID() != failed.SpanContext().SpanID() {
		t.Fatal("the batch function's context does not carry the batch span")
	}
}
