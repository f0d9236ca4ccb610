package dataloader_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/ormloader/ormloader/dataloader"
)

// batchLog prints every batch and load of the scopes it traces.
type batchLog struct{ mu sync.Mutex }

func (b *batchLog) TraceBatchStart(ctx context.Context, d dataloader.BatchStartData) context.Context {
	b.mu.Lock()
	defer b.mu.Unlock()
	fmt.Printf("batch %d of %s: %d keys\n", d.Batch, d.Loader, d.Keys)
	return ctx
}

func (*batchLog) TraceBatchEnd(context.Context, dataloader.BatchEndData) {}

func (b *batchLog) TraceLoad(_ context.Context, d dataloader.LoadData) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fmt.Printf("load of %s waits for batch %d\n", d.Loader, d.Batch)
}

// A test observes the scope that the code under test opens (here handle;
// with gqlgen, the scope gqlgenloader opens per operation) by tracing the
// context it passes in.
func ExampleTraceScopes() {
	users := dataloader.NewMapped(func(_ context.Context, ids []int) (map[int]string, error) {
		m := make(map[int]string, len(ids))
		for _, id := range ids {
			m[id] = fmt.Sprint("user ", id)
		}
		return m, nil
	}, dataloader.WithName("users"))
	handle := func(ctx context.Context) {
		ctx, scope := dataloader.NewScope(ctx)
		defer scope.Close()
		users.LoadMany(ctx, []int{1, 2, 3})
	}

	handle(dataloader.TraceScopes(context.Background(), &batchLog{}))
	// Output:
	// load of users waits for batch 1
	// batch 1 of users: 3 keys
}
