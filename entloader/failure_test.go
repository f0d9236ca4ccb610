package entloader_test

import (
	"context"
	"errors"
	"io"
	"log"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/ent"
	"github.com/ormloader/ormloader/ent/album"
	"github.com/ormloader/ormloader/ent/band"
)

// A relation batch that fails fails every load waiting for it, and frees the
// load set: the next load of the edge fetches it for the whole set again in
// one statement. (Before, the set stayed claimed by the failed batch, and
// every node then loaded on its own.)
func TestFailedBatchFreesLoadSet(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		seed(t, e.client)
		boom := errors.New("albums are unavailable")
		var (
			fail     atomic.Bool
			attempts atomic.Int32
			waitFor  atomic.Int64
		)
		e.client.Album.Intercept(ent.InterceptFunc(func(next ent.Querier) ent.Querier {
			return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
				if !fail.Load() {
					return next.Query(ctx, q)
				}
				attempts.Add(1)
				// Hold the batch until every sibling's load waits for it.
				scope := dataloader.FromContext(ctx)
				for deadline := time.Now().Add(5 * time.Second); scope.Stats().Loads < waitFor.Load() && time.Now().Before(deadline); {
					time.Sleep(100 * time.Microsecond)
				}
				return nil, boom
			})
		}))
		ctx, scope := dataloader.NewScope(context.Background())
		defer scope.Close()
		bands, err := e.client.Band.Query().Order(ent.Asc("id")).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fail.Store(true)
		waitFor.Store(int64(len(bands)))
		var wg sync.WaitGroup
		errs := make([]error, len(bands))
		for i, b := range bands {
			wg.Go(func() { _, errs[i] = b.Albums(ctx) })
		}
		wg.Wait()
		for i, err := range errs {
			if !errors.Is(err, boom) {
				t.Errorf("band %d: err = %v, want the batch's error", i, err)
			}
		}
		if n := attempts.Load(); n != 1 {
			t.Errorf("%d statements for the failing batch, want 1", n)
		}

		fail.Store(false)
		e.count.reset()
		for i, b := range bands {
			if _, err := b.Albums(ctx); err != nil {
				t.Fatalf("band %d: %v", i, err)
			}
		}
		e.count.expect(t, "loop after a failed batch", 1)
	})
}

// Edges of the rows of a transaction, loaded from concurrent goroutines
// (sibling GraphQL fields): their batches run on the transaction's one
// connection one at a time. (They ran at the same time: "conn busy" on
// PostgreSQL, "bad connection" on MariaDB; ent's txDriver is not safe for
// concurrent use either.) Also through the transaction's Debug() clients,
// two of them (whose driver wraps the transaction's: their batches ran at
// the same time, "conn busy", until the lock was found under it and keyed
// by the transaction).
func TestTransactionConcurrentEdges(t *testing.T) {
	log.SetOutput(io.Discard) // Debug() logs every statement
	t.Cleanup(func() { log.SetOutput(os.Stderr) })
	each(t, func(t *testing.T, e *env) {
		seed(t, e.client)
		for i := range 20 {
			func() {
				ctx, scope := dataloader.NewScope(context.Background())
				defer scope.Close()
				tx, err := e.client.Tx(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback()
				client := tx.Client()
				if i%2 == 1 {
					client = client.Debug()
				}
				bands, err := client.Band.Query().All(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if i%2 == 1 {
					more, err := tx.Client().Debug().Band.Query().All(ctx) // another Debug() client
					if err != nil {
						t.Fatal(err)
					}
					bands = append(bands, more...)
				}
				var wg sync.WaitGroup
				errs := make(chan error, 3*len(bands))
				for _, b := range bands {
					wg.Go(func() { _, err := b.Albums(ctx); errs <- err })
					wg.Go(func() { _, err := b.Members(ctx); errs <- err })
					wg.Go(func() { _, err := b.AlbumsCount(ctx); errs <- err })
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					if err != nil {
						t.Fatal(err)
					}
				}
			}()
		}
	})
}

// The first load of an edge over a node set whose own key is already in
// flight in another set's batch joins that batch and enqueues nothing for
// its set. If that batch fails, the failure is the joining node's only: the
// nodes of its set that were in no batch load when they ask, they are not
// owed an error of a statement that never named them. (Before, the first
// node recorded the other batch's failure for its whole set.)
func TestFailureOfAnotherSetsBatchIsNotOwedToMine(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		w := seed(t, e.client)
		boom := errors.New("albums are unavailable")
		var (
			failing atomic.Bool
			started = make(chan struct{}, 1)
			hold    = make(chan struct{})
		)
		e.client.Album.Intercept(ent.InterceptFunc(func(next ent.Querier) ent.Querier {
			return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
				if !failing.Load() {
					return next.Query(ctx, q)
				}
				started <- struct{}{}
				<-hold
				return nil, boom
			})
		}))
		ctx, scope := dataloader.NewScope(context.Background())
		defer scope.Close()
		first, err := e.client.Band.Query().Order(ent.Asc("id")).Limit(3).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mine, err := e.client.Band.Query().Where(band.IDIn(w.bands[1].ID, w.bands[4].ID)).Order(ent.Asc("id")).All(ctx)
		if err != nil || len(mine) != 2 {
			t.Fatalf("bands: %d, %v", len(mine), err)
		}

		failing.Store(true)
		errc := make(chan error, 2)
		go func() { // first's set: its batch holds, then fails
			_, err := first[0].Albums(ctx)
			errc <- err
		}()
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("the batch did not start")
		}
		failing.Store(false) // only the held statement fails
		hits := scope.Stats().CacheHits
		go func() { // mine's set: its first node is in first's batch
			_, err := mine[0].Albums(ctx)
			errc <- err
		}()
		for deadline := time.Now().Add(10 * time.Second); scope.Stats().CacheHits == hits && time.Now().Before(deadline); {
			time.Sleep(100 * time.Microsecond)
		}
		close(hold)
		for range 2 {
			if err := <-errc; !errors.Is(err, boom) {
				t.Fatalf("a load in the failed batch: %v, want its failure", err)
			}
		}
		want, err := e.client.Album.Query().Where(album.BandID(mine[1].ID)).Count(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		e.count.reset()
		got, err := mine[1].Albums(ctx)
		if err != nil {
			t.Fatalf("band %d, in no failed batch: %v", mine[1].ID, err)
		}
		if len(got) != want {
			t.Errorf("band %d: %d albums, want %d", mine[1].ID, len(got), want)
		}
		e.count.expect(t, "the rest of the set", 1)
	})
}
