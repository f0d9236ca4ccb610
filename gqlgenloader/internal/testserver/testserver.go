// Package testserver is the gqlgen schema of gqlgenloader's tests: items whose
// values load through a dataloader.Loader that the test supplies. Its lists
// run under gqlgen's worker limit (8, see gqlgen.yml).
package testserver

//go:generate go tool gqlgen generate --config gqlgen.yml

import (
	"context"
	"errors"
	"sync"

	"github.com/99designs/gqlgen/graphql"

	"github.com/ormloader/ormloader/dataloader"
)

// Item is the schema's only object; its other fields are resolvers.
type Item struct {
	ID int
	// GuardedID is ID, behind the @loads directive.
	GuardedID int
	// OldID is ID, deprecated.
	OldID int
	// siblings are the ids of the list the item came in, for siblingValue.
	siblings []int
}

// Resolver is the resolver root. Values loads an item's value; Store holds
// the bumps that the mutation adds.
type Resolver struct {
	Values *dataloader.Loader[int, int]
	Store  *Store
}

// Store is the tests' database: an item's value is its id times ten plus its
// bumps.
type Store struct {
	mu    sync.Mutex
	bumps map[int]int
}

// Value returns the stored value of item id.
func (s *Store) Value(id int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return id*10 + s.bumps[id]
}

func (s *Store) bump(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bumps == nil {
		s.bumps = make(map[int]int)
	}
	s.bumps[id]++
}

// Executable returns the executable schema over r.
func Executable(r *Resolver) graphql.ExecutableSchema {
	return NewExecutableSchema(Config{Resolvers: r, Directives: DirectiveRoot{
		Loads: func(ctx context.Context, obj any, next graphql.Resolver) (any, error) {
			if _, err := r.Values.Load(ctx, obj.(*Item).ID); err != nil {
				return nil, err
			}
			return next(ctx)
		},
	}})
}

func (r *Resolver) Query() QueryResolver               { return queryResolver{r} }
func (r *Resolver) Mutation() MutationResolver         { return mutationResolver{r} }
func (r *Resolver) Subscription() SubscriptionResolver { return subscriptionResolver{r} }
func (r *Resolver) Item() ItemResolver                 { return itemResolver{r} }

type queryResolver struct{ *Resolver }

func (queryResolver) Items(_ context.Context, n int) ([]*Item, error) { return list(0, n), nil }

// Item loads the item's value in the root resolver itself, as a lookup by ID
// does.
func (r queryResolver) Item(ctx context.Context, id int) (*Item, error) {
	if _, err := r.Values.Load(ctx, id); err != nil {
		return nil, err
	}
	return &Item{ID: id, GuardedID: id, OldID: id}, nil
}

type mutationResolver struct{ *Resolver }

func (r mutationResolver) Bump(ctx context.Context, id int) (*Item, error) {
	r.Store.bump(id)
	r.Values.Clear(ctx, id)
	return &Item{ID: id, GuardedID: id, OldID: id}, nil
}

type subscriptionResolver struct{ *Resolver }

func (subscriptionResolver) Watch(ctx context.Context, id, n int) (<-chan *Item, error) {
	ch := make(chan *Item)
	go func() {
		defer close(ch)
		for range n {
			select {
			case ch <- &Item{ID: id, GuardedID: id, OldID: id}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

type itemResolver struct{ *Resolver }

func (r itemResolver) Value(ctx context.Context, obj *Item) (int, error) {
	return r.Values.Load(ctx, obj.ID)
}

func (r itemResolver) SiblingValue(ctx context.Context, obj *Item) (int, error) {
	return r.Values.LoadWith(ctx, obj.ID, obj.siblings)
}

// Children depends on the item's value, as a relation depends on its parent
// row: each level of children loads after the level above.
func (r itemResolver) Children(ctx context.Context, obj *Item, n int) ([]*Item, error) {
	if _, err := r.Values.Load(ctx, obj.ID); err != nil {
		return nil, err
	}
	return list(obj.ID*100, n), nil
}

func (itemResolver) Fail(context.Context, *Item) (*int, error) {
	return nil, errors.New("fail: this field always fails")
}

func (itemResolver) Boom(context.Context, *Item) (*int, error) {
	panic("boom: this field always panics")
}

// list returns items base+1 .. base+n, each knowing the others' ids.
func list(base, n int) []*Item {
	ids := make([]int, n)
	items := make([]*Item, n)
	for i := range n {
		ids[i] = base + i + 1
		items[i] = &Item{ID: ids[i], GuardedID: ids[i], OldID: ids[i], siblings: ids}
	}
	return items
}

// BatchValue is a gqlgen batch resolver: one call for the items of a list.
func (r itemResolver) BatchValue(ctx context.Context, objs []*Item) ([]int, error) {
	ids := make([]int, len(objs))
	for i, o := range objs {
		ids[i] = o.ID
	}
	vals, errs := r.Values.LoadMany(ctx, ids)
	return vals, errors.Join(errs...)
}

func (itemResolver) BatchBoom(context.Context, []*Item) ([]*int, error) {
	panic("batchBoom: this batch resolver always panics")
}
