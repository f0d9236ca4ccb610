package dataloader_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/ormloader/ormloader/dataloader"
)

// batchLog keeps what it sees of the scopes it traces.
type batchLog struct {
	mu      sync.Mutex
	batches []string
	loads   []string
}

func (b *batchLog) TraceBatchStart(ctx context.Context, d dataloader.BatchStartData) context.Context {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batches = append(b.batches, fmt.Sprintf("batch %d of %s: %d keys", d.Batch, d.Loader, d.Keys))
	return ctx
}

func (*batchLog) TraceBatchEnd(context.Context, dataloader.BatchEndData) {}

func (b *batchLog) TraceLoad(_ context.Context, d dataloader.LoadData) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.loads = append(b.loads, fmt.Sprintf("a load of %s waited for batch %d", d.Loader, d.Batch))
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

	log := &batchLog{}
	handle(dataloader.TraceScopes(context.Background(), log))
	// The batch goes in its own goroutine: print once the scope is closed.
	for _, line := range append(log.batches, log.loads...) {
		fmt.Println(line)
	}
	// Output:
	// batch 1 of users: 3 keys
	// a load of users waited for batch 1
}
