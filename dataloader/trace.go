package dataloader

import (
	"context"
	"time"
)

// Tracer observes the batches of a scope (see [WithTracer]). It is called
// from the goroutine that runs the batch function; implementations must be
// safe for concurrent use. Package dataloaderotel implements it with
// OpenTelemetry spans.
type Tracer interface {
	// TraceBatchStart is called before the batch function. The returned
	// context is the one the batch function and TraceBatchEnd receive.
	TraceBatchStart(ctx context.Context, data BatchStartData) context.Context
	// TraceBatchEnd is called after the batch function returned or panicked.
	TraceBatchEnd(ctx context.Context, data BatchEndData)
}

// BatchStartData describes a batch about to run.
type BatchStartData struct {
	Loader string // the loader's name (WithName)
	Keys   int    // number of keys in the batch
	// Batch numbers the batch in its scope: the scope's batches are
	// numbered from 1 in the order they were created (see [LoadData]).
	Batch uint64
}

// BatchEndData describes a batch that has run.
type BatchEndData struct {
	Loader   string
	Keys     int
	Batch    uint64 // as in BatchStartData
	Err      error  // the batch error, if the whole batch failed; per-key errors are not reported
	Duration time.Duration
}
