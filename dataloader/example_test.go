package dataloader_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ormloader/ormloader/dataloader"
)

type User struct {
	ID   int
	Name string
}

var users = map[int]User{1: {1, "Ada"}, 2: {2, "Grace"}, 3: {3, "Alan"}}

// A map batch function cannot get the order of its results wrong: keys it
// leaves out get ErrNotFound.
func ExampleNewMapped() {
	userByID := dataloader.NewMapped(func(ctx context.Context, ids []int) (map[int]User, error) {
		fmt.Println("one query for", ids) // SELECT * FROM users WHERE id IN (...)
		found := map[int]User{}
		for _, id := range ids {
			if u, ok := users[id]; ok {
				found[id] = u
			}
		}
		return found, nil
	}, dataloader.WithName("userByID"))

	// One scope per request.
	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()

	vals, errs := userByID.LoadMany(ctx, []int{2, 1, 42})
	fmt.Println(vals[0].Name, vals[1].Name, errors.Is(errs[2], dataloader.ErrNotFound))
	u, _ := userByID.Load(ctx, 1) // cached for the rest of the request
	fmt.Println(u.Name)
	// Output:
	// one query for [2 1 42]
	// Grace Ada true
	// Ada
}

// Workers started with Scope.Go (or by the gqlgen integration, one per
// resolver) are tracked: the batch goes as soon as every worker is blocked in
// a load, with no fixed wait.
func ExampleScope_Go() {
	nameByID := dataloader.New(func(ctx context.Context, ids []int) ([]string, []error, error) {
		sorted := slices.Sorted(slices.Values(ids))
		fmt.Println("batch", sorted)
		names := make([]string, len(ids))
		for i, id := range ids {
			names[i] = users[id].Name
		}
		return names, nil, nil
	})
	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()

	ctx, end := scope.StartWorker(ctx) // this goroutine is a worker too
	names := make([]string, 3)
	done := make(chan struct{}, 3)
	for i := range names {
		scope.Go(ctx, func(ctx context.Context) {
			names[i], _ = nameByID.Load(ctx, i+1)
			done <- struct{}{}
		})
	}
	end()
	for range names {
		<-done
	}
	fmt.Println(strings.Join(names, ", "))
	// Output:
	// batch [1 2 3]
	// Ada, Grace, Alan
}

// LoadWith loads a key together with its siblings, such as the rows of one
// query result, so that a plain sequential loop issues one batch.
func ExampleLoader_LoadWith() {
	albumsByBand := dataloader.New(func(ctx context.Context, bandIDs []int) ([][]string, []error, error) {
		fmt.Println("one query for bands", bandIDs)
		out := make([][]string, len(bandIDs))
		for i, id := range bandIDs {
			out[i] = []string{fmt.Sprintf("album of band %d", id)}
		}
		return out, nil, nil
	})
	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()

	bands := []int{10, 20, 30} // the rows that came back from one query
	for _, id := range bands {
		albums, _ := albumsByBand.LoadWith(ctx, id, bands)
		fmt.Println(albums[0])
	}
	fmt.Println("batches:", scope.Stats().Batches)
	// Output:
	// one query for bands [10 20 30]
	// album of band 10
	// album of band 20
	// album of band 30
	// batches: 1
}

// A list query returns whole rows: prime the by-ID loader with them, and
// later lookups of those IDs in the request need no query.
func ExampleLoader_PrimeMany() {
	userByID := dataloader.NewMapped(func(ctx context.Context, ids []int) (map[int]User, error) {
		fmt.Println("query for", ids)
		found := map[int]User{}
		for _, id := range ids {
			found[id] = users[id]
		}
		return found, nil
	})
	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()

	list := []User{users[1], users[2]} // SELECT * FROM users LIMIT 2
	ids := make([]int, len(list))
	for i, u := range list {
		ids[i] = u.ID
	}
	userByID.PrimeMany(ctx, ids, list)

	vals, _ := userByID.LoadMany(ctx, []int{2, 3})
	fmt.Println(vals[0].Name, vals[1].Name)
	// Output:
	// query for [3]
	// Grace Alan
}

// Code that has enqueued every key it wants in one batch sends it with
// Dispatch instead of waiting for the tick.
func ExampleScope_Dispatch() {
	nameByID := dataloader.New(func(ctx context.Context, ids []int) ([]string, []error, error) {
		fmt.Println("batch", ids)
		names := make([]string, len(ids))
		for i, id := range ids {
			names[i] = users[id].Name
		}
		return names, nil, nil
	})
	// This scope's tick waits a second for more keys; Dispatch does not.
	ctx, scope := dataloader.NewScope(context.Background(), dataloader.WithQuietPeriod(time.Second), dataloader.WithWindow(time.Second))
	defer scope.Close()

	thunks := make([]func() (string, error), 3)
	for i := range thunks {
		thunks[i] = nameByID.LoadThunk(ctx, i+1)
	}
	scope.Dispatch() // every key is enqueued: no need to wait for the tick
	for _, thunk := range thunks {
		name, _ := thunk()
		fmt.Println(name)
	}
	// Output:
	// batch [1 2 3]
	// Ada
	// Grace
	// Alan
}
