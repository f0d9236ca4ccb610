package graph

import (
	"context"

	"github.com/ormloader/ormloader/ent"
	"github.com/ormloader/ormloader/ent/album"
	"github.com/ormloader/ormloader/ent/band"
	"github.com/ormloader/ormloader/ent/person"
	"github.com/ormloader/ormloader/ent/review"
	"github.com/ormloader/ormloader/ent/track"
	"github.com/ormloader/ormloader/entloader"
)

// NewNaiveResolver returns resolvers that load every edge with a query of its
// own per parent object (obj.QueryAlbums().All(ctx)): what resolvers look
// like without a dataloader, and the N+1 problem ormloader removes. A list of
// 100 bands with their albums costs 101 statements here and 2 with
// NewResolver. The server's -naive flag serves it, and the integration tests
// check that both give the same results. The root fields (queries and
// mutations) are NewResolver's, except that they look rows up by ID with a
// query each.
func NewNaiveResolver(client *ent.Client) ResolverRoot {
	return naiveRoot{&Resolver{client: client, naive: true}}
}

type naiveRoot struct{ *Resolver }

func (r naiveRoot) Album() AlbumResolver { return naiveAlbum{r} }
func (r naiveRoot) AlbumPage() AlbumPageResolver {
	return naiveAlbumPage{&albumPageResolver{r.Resolver}}
}
func (r naiveRoot) Band() BandResolver       { return naiveBand{r} }
func (r naiveRoot) Label() LabelResolver     { return naiveLabel{r} }
func (r naiveRoot) Person() PersonResolver   { return naivePerson{r} }
func (r naiveRoot) Profile() ProfileResolver { return naiveProfile{r} }
func (r naiveRoot) Review() ReviewResolver   { return naiveReview{r} }
func (r naiveRoot) Track() TrackResolver     { return naiveTrack{r} }

// onlyOrNil is the result of a unique optional edge: nil without error if
// there is no row.
func onlyOrNil[T any](node *T, err error) (*T, error) {
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return node, err
}

type naiveAlbum struct{ naiveRoot }

func (naiveAlbum) Band(ctx context.Context, obj *ent.Album) (*ent.Band, error) {
	return obj.QueryBand().Only(ctx)
}

func (naiveAlbum) Tracks(ctx context.Context, obj *ent.Album) ([]*ent.Track, error) {
	return obj.QueryTracks().Order(track.ByPosition()).All(ctx)
}

func (naiveAlbum) Reviews(ctx context.Context, obj *ent.Album) ([]*ent.Review, error) {
	return obj.QueryReviews().Order(review.ByID()).All(ctx)
}

type naiveAlbumPage struct {
	*albumPageResolver // albums, hasNextPage, endCursor: the page comes from naiveBand's loader
}

func (naiveAlbumPage) TotalCount(ctx context.Context, obj *AlbumPage) (int, error) {
	return obj.band.QueryAlbums().Count(ctx)
}

type naiveBand struct{ naiveRoot }

func (naiveBand) Label(ctx context.Context, obj *ent.Band) (*ent.Label, error) {
	if obj.LabelID == nil {
		return nil, nil
	}
	return obj.QueryLabel().Only(ctx)
}

func (naiveBand) Members(ctx context.Context, obj *ent.Band) ([]*ent.Person, error) {
	return obj.QueryMembers().Order(person.ByID()).All(ctx)
}

func (naiveBand) Albums(ctx context.Context, obj *ent.Band) ([]*ent.Album, error) {
	return obj.QueryAlbums().Order(album.ByID()).All(ctx)
}

func (naiveBand) Profile(ctx context.Context, obj *ent.Band) (*ent.Profile, error) {
	return onlyOrNil(obj.QueryProfile().Only(ctx))
}

func (naiveBand) Influenced(ctx context.Context, obj *ent.Band) ([]*ent.Band, error) {
	return obj.QueryInfluenced().Order(band.ByID()).All(ctx)
}

func (naiveBand) Influences(ctx context.Context, obj *ent.Band) ([]*ent.Band, error) {
	return obj.QueryInfluences().Order(band.ByID()).All(ctx)
}

func (naiveBand) AlbumPage(_ context.Context, obj *ent.Band, first int, after *int) (*AlbumPage, error) {
	return newAlbumPage(obj, first, after, func(ctx context.Context, p *AlbumPage) (entloader.Page[*ent.Album], error) {
		q := p.band.QueryAlbums().Order(album.ByID()).Limit(p.first + 1)
		if p.after != nil {
			q = q.Where(album.IDGT(*p.after))
		}
		albums, err := q.All(ctx)
		if err != nil || len(albums) <= p.first {
			return entloader.Page[*ent.Album]{Nodes: albums}, err
		}
		// The count is naiveAlbumPage.TotalCount's query.
		return entloader.Page[*ent.Album]{Nodes: albums[:p.first], HasNextPage: true}, nil
	})
}

type naiveLabel struct{ naiveRoot }

func (naiveLabel) Bands(ctx context.Context, obj *ent.Label, after *ent.Cursor, first *int, before *ent.Cursor, last *int, orderBy *ent.BandOrder, where *ent.BandWhereInput) (*ent.BandConnection, error) {
	return obj.QueryBands().Paginate(withoutFieldCollection(ctx), after, first, before, last,
		ent.WithBandOrder(orderBy), ent.WithBandFilter(where.Filter))
}

type naivePerson struct{ naiveRoot }

func (naivePerson) Bands(ctx context.Context, obj *ent.Person) ([]*ent.Band, error) {
	return obj.QueryBands().Order(band.ByID()).All(ctx)
}

type naiveProfile struct{ naiveRoot }

func (naiveProfile) Band(ctx context.Context, obj *ent.Profile) (*ent.Band, error) {
	return onlyOrNil(obj.QueryBand().Only(ctx))
}

type naiveReview struct{ naiveRoot }

func (naiveReview) Album(ctx context.Context, obj *ent.Review) (*ent.Album, error) {
	return onlyOrNil(obj.QueryAlbum().Only(ctx))
}

type naiveTrack struct{ naiveRoot }

func (naiveTrack) Album(ctx context.Context, obj *ent.Track) (*ent.Album, error) {
	return onlyOrNil(obj.QueryAlbum().Only(ctx))
}
