package graph

//go:generate go tool gqlgen generate --config gqlgen.yml

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/ormloader/ormloader/examples/gorm-gqlgen/models"
	"github.com/ormloader/ormloader/gormloader"
)

// Resolver is the resolver root. Relation fields load through gormloader:
// each is one call to a generated method (obj.LoadAlbums(ctx)), which the
// gqlgenloader extension's per-operation scope batches into one statement
// per relation per level. Root fields query with plain GORM: their results
// are recorded as load sets, so the relations of all their rows load
// together.
type Resolver struct {
	db    *gorm.DB
	naive bool // NewNaiveResolver's: find looks rows up with a query each
}

// NewResolver returns the resolvers over db, which must have the gormloader
// plugin installed.
func NewResolver(db *gorm.DB) *Resolver { return &Resolver{db: db} }

// maxPage bounds first in every paginated field.
const maxPage = 1000

// errNotFound is wrapped by the errors of lookups of missing rows.
var errNotFound = errors.New("not found")

// find loads the row of T with primary key id through gormloader.ByID, which
// batches the lookups of an operation (aliased band(id:) fields cost one
// statement), or with a query of its own in the naive resolvers.
func find[T any](ctx context.Context, r *Resolver, what string, id uint) (*T, error) {
	var row *T
	var err error
	if r.naive {
		row = new(T)
		err = r.db.WithContext(ctx).First(row, id).Error
	} else {
		row, err = gormloader.ByID[T](ctx, r.db, id)
	}
	if errors.Is(err, gorm.ErrRecordNotFound) { // gormloader.ErrNotFound matches it too
		return nil, fmt.Errorf("no %s with id %d: %w", what, id, errNotFound)
	}
	return row, err
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

// trackOptions orders an album's tracks by position and keeps the first
// ones of each album.
func trackOptions(first *int) ([]gormloader.LoadOption, error) {
	opts := []gormloader.LoadOption{gormloader.Order("position")}
	if first != nil {
		if err := checkPage(*first, 0); err != nil {
			return nil, err
		}
		opts = append(opts, gormloader.Limit(*first))
	}
	return opts, nil
}

// albumPage loads the page of c.band's albums after c.after in ID order:
// at most c.first albums, whether more follow, and (ormloader's) the count
// of all the band's albums.
type albumPage func(ctx context.Context, c *AlbumConnection) (gormloader.Page[models.Album], error)

// loadAlbumPage is the albumPage of ormloader: the page, its cursor and its
// count in one statement for every band of the level.
func loadAlbumPage(ctx context.Context, c *AlbumConnection) (gormloader.Page[models.Album], error) {
	opts := []gormloader.LoadOption{gormloader.Order("id")}
	if c.after != nil {
		opts = append(opts, gormloader.After("id > ?", *c.after))
	}
	return c.band.PageAlbums(ctx, c.first, opts...)
}

func newAlbumConnection(band *models.Band, first int, after *uint, page albumPage) (*AlbumConnection, error) {
	if err := checkPage(first, 0); err != nil {
		return nil, err
	}
	return &AlbumConnection{band: band, first: first, after: after, page: page}, nil
}

// get returns the page. The totalCount, edges and pageInfo fields all call
// it, concurrently: the first call loads the page, the others wait for it
// and share its result, an error too.
func (c *AlbumConnection) get(ctx context.Context) (gormloader.Page[models.Album], error) {
	c.once.Do(func() { c.loaded, c.err = c.page(ctx, c) })
	return c.loaded, c.err
}

// load returns the page's albums and whether more follow.
func (c *AlbumConnection) load(ctx context.Context) (albums []models.Album, more bool, err error) {
	p, err := c.get(ctx)
	return p.Rows, p.HasNextPage, err
}

func edges(albums []models.Album) []AlbumEdge {
	e := make([]AlbumEdge, len(albums))
	for i := range albums {
		e[i] = AlbumEdge{Cursor: albums[i].ID, Node: &albums[i]}
	}
	return e
}

func pageInfo(albums []models.Album, more bool, err error) (*PageInfo, error) {
	if err != nil {
		return nil, err
	}
	info := &PageInfo{HasNextPage: more}
	if len(albums) > 0 {
		info.EndCursor = &albums[len(albums)-1].ID
	}
	return info, nil
}
