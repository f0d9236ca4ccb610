package relations

import (
	"context"
	"sync"

	"github.com/ormloader/ormloader/dataloader"
)

type connLockKey struct{ conn any }

// ConnLock returns the lock of conn, a partition's connection
// ([Part.Conn]) that is one database connection (a transaction, a dedicated
// connection), in the scope of ctx; nil for the pool (conn nil) or without a
// scope. The batches of one tick run at the same time, and a driver does not
// let two statements use one connection at once (pgx: "conn busy"; MySQL:
// "bad connection"): an adapter holds the lock while a statement of a
// partition on such a connection runs and its rows are read, and only then
// (not while hooks or interceptors run, which may load through the same
// connection).
func ConnLock(ctx context.Context, conn any) *sync.Mutex {
	if conn == nil {
		return nil
	}
	scope := dataloader.FromContext(ctx)
	if scope == nil {
		return nil
	}
	return scope.Local(connLockKey{conn}, func() any { return new(sync.Mutex) }).(*sync.Mutex)
}
