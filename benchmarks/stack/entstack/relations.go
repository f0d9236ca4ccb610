package entstack

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/ormloader/ormloader/benchmarks/stack/internal/bench"
	"github.com/ormloader/ormloader/ent"
	"github.com/ormloader/ormloader/ent/album"
	"github.com/ormloader/ormloader/ent/band"
	"github.com/ormloader/ormloader/ent/label"
)

// naive queries once per parent: the N+1.
func naive() Relations {
	return Relations{
		Label: func(ctx context.Context, b *ent.Band) (*ent.Label, error) {
			if b.LabelID == nil {
				return nil, nil
			}
			return b.QueryLabel().Only(ctx)
		},
		Members: func(ctx context.Context, b *ent.Band) ([]*ent.Person, error) { return b.QueryMembers().All(ctx) },
		Albums:  func(ctx context.Context, b *ent.Band) ([]*ent.Album, error) { return b.QueryAlbums().All(ctx) },
		Tracks:  func(ctx context.Context, a *ent.Album) ([]*ent.Track, error) { return a.QueryTracks().All(ctx) },
	}
}

// loaders are a request's dataloadgen or graph-gophers loaders.
type loaders struct {
	label   bench.Loader[int, *ent.Label]
	members bench.Loader[int, []*ent.Person]
	albums  bench.Loader[int, []*ent.Album]
	tracks  bench.Loader[int, []*ent.Track]
}

// peers resolves through the request's loaders (bench.WithLoaders).
func peers() Relations {
	return Relations{
		Label: func(ctx context.Context, b *ent.Band) (*ent.Label, error) {
			if b.LabelID == nil {
				return nil, nil
			}
			return bench.Loaders[*loaders](ctx).label(ctx, *b.LabelID)
		},
		Members: func(ctx context.Context, b *ent.Band) ([]*ent.Person, error) {
			return bench.Loaders[*loaders](ctx).members(ctx, b.ID)
		},
		Albums: func(ctx context.Context, b *ent.Band) ([]*ent.Album, error) {
			return bench.Loaders[*loaders](ctx).albums(ctx, b.ID)
		},
		Tracks: func(ctx context.Context, a *ent.Album) ([]*ent.Track, error) {
			return bench.Loaders[*loaders](ctx).tracks(ctx, a.ID)
		},
	}
}

// batches are the hand-written batch functions the peers' users write with
// ent's query API, the values in the order of the keys. The track's album is
// a hidden foreign key, which ent does not expose on a track, and a member's
// band is in the join table: those two load the parents with the edge
// (WithTracks, WithMembers), two statements per batch.
type batches struct{ client *ent.Client }

// dataloadgen returns a request's dataloadgen loaders.
func (b batches) dataloadgen() *loaders {
	return &loaders{
		label:   bench.DataloadgenLoader(b.labels),
		members: bench.DataloadgenLoader(b.members),
		albums:  bench.DataloadgenLoader(b.albums),
		tracks:  bench.DataloadgenLoader(b.tracks),
	}
}

// graphGophers returns a request's graph-gophers loaders.
func (b batches) graphGophers() *loaders {
	return &loaders{
		label:   bench.GraphGophersLoader(b.labels),
		members: bench.GraphGophersLoader(b.members),
		albums:  bench.GraphGophersLoader(b.albums),
		tracks:  bench.GraphGophersLoader(b.tracks),
	}
}

func (b batches) labels(ctx context.Context, ids []int) ([]*ent.Label, []error) {
	rows, err := b.client.Label.Query().Where(label.IDIn(ids...)).All(ctx)
	byID := make(map[int]*ent.Label, len(rows))
	for _, l := range rows {
		byID[l.ID] = l
	}
	return bench.Align(ids, byID, err)
}

func (b batches) members(ctx context.Context, bandIDs []int) ([][]*ent.Person, []error) {
	bands, err := b.client.Band.Query().Where(band.IDIn(bandIDs...)).WithMembers().All(ctx)
	byBand := make(map[int][]*ent.Person, len(bands))
	for _, band := range bands {
		byBand[band.ID] = band.Edges.Members
	}
	return bench.Align(bandIDs, byBand, err)
}

func (b batches) albums(ctx context.Context, bandIDs []int) ([][]*ent.Album, []error) {
	rows, err := b.client.Album.Query().Where(album.BandIDIn(bandIDs...)).All(ctx)
	byBand := make(map[int][]*ent.Album, len(bandIDs))
	for _, a := range rows {
		byBand[a.BandID] = append(byBand[a.BandID], a)
	}
	return bench.Align(bandIDs, byBand, err)
}

func (b batches) tracks(ctx context.Context, albumIDs []int) ([][]*ent.Track, []error) {
	albums, err := b.client.Album.Query().Where(album.IDIn(albumIDs...)).WithTracks().All(ctx)
	byAlbum := make(map[int][]*ent.Track, len(albums))
	for _, a := range albums {
		byAlbum[a.ID] = a.Edges.Tracks
	}
	return bench.Align(albumIDs, byAlbum, err)
}

// eagerLabel returns the label the root query loaded with the band.
func eagerLabel(_ context.Context, b *ent.Band) (*ent.Label, error) {
	if b.LabelID == nil {
		return nil, nil
	}
	return b.Edges.LabelOrErr()
}

// with loads eagerly with ent's With... options: the root query loads what
// the operation selects (one query per edge and level), and the relation
// resolvers return the loaded edges.
func with() Relations {
	return Relations{
		Bands: func(ctx context.Context, q *ent.BandQuery) (*ent.BandQuery, error) {
			selected := bench.Selected(ctx)
			if selected["label"] {
				q.WithLabel()
			}
			if selected["members"] {
				q.WithMembers()
			}
			if selected["albums"] {
				q.WithAlbums(func(q *ent.AlbumQuery) {
					if selected["albums.tracks"] {
						q.WithTracks()
					}
				})
			}
			return q, nil
		},
		Label:   eagerLabel,
		Members: func(_ context.Context, b *ent.Band) ([]*ent.Person, error) { return b.Edges.MembersOrErr() },
		Albums:  func(_ context.Context, b *ent.Band) ([]*ent.Album, error) { return b.Edges.AlbumsOrErr() },
		Tracks:  func(_ context.Context, a *ent.Album) ([]*ent.Track, error) { return a.Edges.TracksOrErr() },
	}
}

// collectFields loads eagerly with entgql's field collection: the root query
// loads the selected edges (and selects only the selected columns); list
// edges are kept under the field's alias.
func collectFields() Relations {
	alias := func(ctx context.Context) string { return graphql.GetFieldContext(ctx).Field.Alias }
	return Relations{
		Bands: func(ctx context.Context, q *ent.BandQuery) (*ent.BandQuery, error) { return q.CollectFields(ctx) },
		Label: eagerLabel,
		Members: func(ctx context.Context, b *ent.Band) ([]*ent.Person, error) {
			return b.NamedMembers(alias(ctx))
		},
		Albums: func(ctx context.Context, b *ent.Band) ([]*ent.Album, error) { return b.NamedAlbums(alias(ctx)) },
		Tracks: func(ctx context.Context, a *ent.Album) ([]*ent.Track, error) { return a.NamedTracks(alias(ctx)) },
	}
}

// ormloader calls the edge methods entgql generated, which entloader
// routes through the request scope's loaders.
func ormloader() Relations {
	return Relations{
		Label:   func(ctx context.Context, b *ent.Band) (*ent.Label, error) { return b.Label(ctx) },
		Members: func(ctx context.Context, b *ent.Band) ([]*ent.Person, error) { return b.Members(ctx) },
		Albums:  func(ctx context.Context, b *ent.Band) ([]*ent.Album, error) { return b.Albums(ctx) },
		Tracks:  func(ctx context.Context, a *ent.Album) ([]*ent.Track, error) { return a.Tracks(ctx) },
	}
}
