package graph

import (
	"context"
	"errors"
	"fmt"

	"github.com/99designs/gqlgen/graphql"

	"github.com/ormloader/ormloader/ent"
	"github.com/ormloader/ormloader/ent/album"
	"github.com/ormloader/ormloader/ent/band"
	"github.com/ormloader/ormloader/ent/person"
	"github.com/ormloader/ormloader/ent/predicate"
	"github.com/ormloader/ormloader/ent/review"
	"github.com/ormloader/ormloader/ent/track"
	"github.com/ormloader/ormloader/entloader"
)

// Resolver is the resolver root. Edge fields load through entloader: each is
// one call to a method that entloader generated into the ent package
// (obj.Albums(ctx), obj.AlbumsWith(ctx, variant)), which the gqlgenloader
// extension's per-operation scope batches into one statement per edge per
// level. Root fields query with the plain ent client: entloader records
// their results as load sets, so the edges of all their rows load together.
type Resolver struct {
	client *ent.Client
	naive  bool // NewNaiveResolver's: rows are looked up by ID with a query each
}

// NewResolver returns the resolvers over client, an ent client generated
// with entloader.
func NewResolver(client *ent.Client) *Resolver { return &Resolver{client: client} }

// Lists are in a fixed order, the same with and without ormloader: ID order,
// tracks by position. A variant with an order (and no limit) is still one
// statement per edge per level.
var (
	bandsByID        = ent.BandVariant{Order: []band.OrderOption{band.ByID()}}
	peopleByID       = ent.PersonVariant{Order: []person.OrderOption{person.ByID()}}
	albumsByID       = ent.AlbumVariant{Order: []album.OrderOption{album.ByID()}}
	tracksByPosition = ent.TrackVariant{Order: []track.OrderOption{track.ByPosition()}}
	reviewsByID      = ent.ReviewVariant{Order: []review.OrderOption{review.ByID()}}
)

// maxPage bounds first in every paginated field.
const maxPage = 1000

// errNotFound is wrapped by the errors of lookups of missing rows.
var errNotFound = errors.New("not found")

// find looks up a row by ID with get: the client's Load, which batches the
// lookups of an operation (aliased band(id:) fields cost one statement), or
// its Get in the naive resolvers.
func find[T any](ctx context.Context, what string, id int, get func(context.Context, int) (*T, error)) (*T, error) {
	row, err := get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, fmt.Errorf("no %s with id %d: %w", what, id, errNotFound)
	}
	return row, err
}

func (r *Resolver) band(ctx context.Context, id int) (*ent.Band, error) {
	if r.naive {
		return find(ctx, "band", id, r.client.Band.Get)
	}
	return find(ctx, "band", id, r.client.Band.Load)
}

func (r *Resolver) person(ctx context.Context, id int) (*ent.Person, error) {
	if r.naive {
		return find(ctx, "person", id, r.client.Person.Get)
	}
	return find(ctx, "person", id, r.client.Person.Load)
}

func checkPage(first, offset int) error {
	if first < 0 || first > maxPage {
		return fmt.Errorf("first must be between 0 and %d, got %d", maxPage, first)
	}
	if offset < 0 {
		return fmt.Errorf("offset must be 0 or more, got %d", offset)
	}
	return nil
}

// withoutFieldCollection hides gqlgen's field context from entgql's
// Paginate, which would otherwise eager-load every edge the query selects
// below the connection (entgql's "field collection", its own remedy for
// N+1). This example loads every edge through its resolver, with ormloader
// or naively, so that the statement counts compare the two. An application
// may keep field collection: entloader's edge methods return what it loaded
// and batch the rest.
func withoutFieldCollection(ctx context.Context) context.Context { return noFieldContext{ctx} }

type noFieldContext struct{ context.Context }

func (c noFieldContext) Value(key any) any {
	v := c.Context.Value(key)
	if _, ok := v.(*graphql.FieldContext); ok {
		return nil
	}
	return v
}

// albumPageLoader loads the page of p.band's albums after p.after in ID
// order: at most p.first albums, whether more follow, and (ormloader's) the
// count of all the band's albums.
type albumPageLoader func(ctx context.Context, p *AlbumPage) (entloader.Page[*ent.Album], error)

// loadAlbumPage is the albumPageLoader of ormloader: the page, its cursor
// and its count in one statement for every band of the level.
func loadAlbumPage(ctx context.Context, p *AlbumPage) (entloader.Page[*ent.Album], error) {
	v := ent.AlbumVariant{Order: albumsByID.Order, Limit: p.first}
	if p.after != nil {
		v.After = []predicate.Album{album.IDGT(*p.after)}
	}
	return p.band.AlbumsPage(ctx, v)
}

func newAlbumPage(b *ent.Band, first int, after *int, load albumPageLoader) (*AlbumPage, error) {
	if err := checkPage(first, 0); err != nil {
		return nil, err
	}
	return &AlbumPage{band: b, first: first, after: after, load: load}, nil
}

// get returns the page. The totalCount, albums, hasNextPage and endCursor
// fields all call it, concurrently: the first call loads the page, the
// others wait for it and share its result, an error too.
func (p *AlbumPage) get(ctx context.Context) (entloader.Page[*ent.Album], error) {
	p.once.Do(func() { p.page, p.err = p.load(ctx, p) })
	return p.page, p.err
}

// albums returns the page's albums and whether more follow.
func (p *AlbumPage) albums(ctx context.Context) (albums []*ent.Album, more bool, err error) {
	page, err := p.get(ctx)
	return page.Nodes, page.HasNextPage, err
}

// errNoGlobalIDs answers node and nodes: entgql's Noder finds a node's type
// from its ID, which needs IDs unique across tables (ent's global unique ID
// migration). The example keeps the plain per-table IDs of the GORM example,
// so that both servers answer band(id: 1) alike.
var errNoGlobalIDs = errors.New("node lookups need IDs unique across tables, which this example does not use: query band(id:) or search instead")
