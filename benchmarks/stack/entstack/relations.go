package entstack

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/ormloader/ormloader/benchmarks/stack/internal/bench"
	"github.com/ormloader/ormloader/ent"
	"github.com/ormloader/ormloader/ent/album"
	"github.com/ormloader/ormloader/ent/band"
	"github.com/ormloader/ormloader/ent/label"
	"github.com/ormloader/ormloader/ent/track"
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
		Band:    func(ctx context.Context, a *ent.Album) (*ent.Band, error) { return a.QueryBand().Only(ctx) },
		Tracks:  func(ctx context.Context, a *ent.Album) ([]*ent.Track, error) { return a.QueryTracks().All(ctx) },
		Album:   func(ctx context.Context, t *ent.Track) (*ent.Album, error) { return t.QueryAlbum().Only(ctx) },
	}
}

// loaders are a request's dataloadgen or graph-gophers loaders.
type loaders struct {
	label   bench.Loader[int, *ent.Label]
	members bench.Loader[int, []*ent.Person]
	albums  bench.Loader[int, []*ent.Album]
	band    bench.Loader[int, *ent.Band] // by the band's ID
	tracks  bench.Loader[int, []*ent.Track]
	album   bench.Loader[int, *ent.Album] // by the track's ID (the foreign key is hidden)
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
		Band: func(ctx context.Context, a *ent.Album) (*ent.Band, error) {
			return bench.Loaders[*loaders](ctx).band(ctx, a.BandID)
		},
		Tracks: func(ctx context.Context, a *ent.Album) ([]*ent.Track, error) {
			return bench.Loaders[*loaders](ctx).tracks(ctx, a.ID)
		},
		Album: func(ctx context.Context, t *ent.Track) (*ent.Album, error) {
			return bench.Loaders[*loaders](ctx).album(ctx, t.ID)
		},
	}
}

// batches are the hand-written batch functions the peers' users write with
// ent's query API, the values in the order of the keys. The track's album is
// a hidden foreign key, which ent does not expose on a track, and a member's
// band is in the join table: those load the parents with the edge
// (WithTracks, WithMembers), or the tracks with theirs (WithAlbum, keyed by
// the track's ID), two statements per batch.
type batches struct{ client *ent.Client }

// dataloadgen returns a request's dataloadgen loaders.
func (b batches) dataloadgen() *loaders {
	return &loaders{
		label:   bench.DataloadgenLoader(b.labels),
		members: bench.DataloadgenLoader(b.members),
		albums:  bench.DataloadgenLoader(b.albums),
		band:    bench.DataloadgenLoader(b.bands),
		tracks:  bench.DataloadgenLoader(b.tracks),
		album:   bench.DataloadgenLoader(b.trackAlbums),
	}
}

// graphGophers returns a request's graph-gophers loaders.
func (b batches) graphGophers() *loaders {
	return &loaders{
		label:   bench.GraphGophersLoader(b.labels),
		members: bench.GraphGophersLoader(b.members),
		albums:  bench.GraphGophersLoader(b.albums),
		band:    bench.GraphGophersLoader(b.bands),
		tracks:  bench.GraphGophersLoader(b.tracks),
		album:   bench.GraphGophersLoader(b.trackAlbums),
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

func (b batches) bands(ctx context.Context, ids []int) ([]*ent.Band, []error) {
	rows, err := b.client.Band.Query().Where(band.IDIn(ids...)).All(ctx)
	byID := make(map[int]*ent.Band, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	return bench.Align(ids, byID, err)
}

// trackAlbums returns the album of each track: the tracks with their album
// edge, since the foreign key is not a field of Track.
func (b batches) trackAlbums(ctx context.Context, trackIDs []int) ([]*ent.Album, []error) {
	tracks, err := b.client.Track.Query().Where(track.IDIn(trackIDs...)).WithAlbum().All(ctx)
	byTrack := make(map[int]*ent.Album, len(tracks))
	for _, t := range tracks {
		byTrack[t.ID] = t.Edges.Album
	}
	return bench.Align(trackIDs, byTrack, err)
}

// eagerLabel returns the label the root query loaded with the band.
func eagerLabel(_ context.Context, b *ent.Band) (*ent.Label, error) {
	if b.LabelID == nil {
		return nil, nil
	}
	return b.Edges.LabelOrErr()
}

// eagerBand returns the band the root query loaded with the album.
func eagerBand(_ context.Context, a *ent.Album) (*ent.Band, error) { return a.Edges.BandOrErr() }

// eagerAlbum returns the album the root query loaded with the track.
func eagerAlbum(_ context.Context, t *ent.Track) (*ent.Album, error) { return t.Edges.AlbumOrErr() }

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
					if selected["albums.band"] {
						q.WithBand(func(q *ent.BandQuery) {
							if selected["albums.band.label"] {
								q.WithLabel()
							}
						})
					}
					if selected["albums.tracks"] {
						q.WithTracks(func(q *ent.TrackQuery) {
							if selected["albums.tracks.album"] {
								q.WithAlbum()
							}
						})
					}
				})
			}
			return q, nil
		},
		Label:   eagerLabel,
		Members: func(_ context.Context, b *ent.Band) ([]*ent.Person, error) { return b.Edges.MembersOrErr() },
		Albums:  func(_ context.Context, b *ent.Band) ([]*ent.Album, error) { return b.Edges.AlbumsOrErr() },
		Band:    eagerBand,
		Tracks:  func(_ context.Context, a *ent.Album) ([]*ent.Track, error) { return a.Edges.TracksOrErr() },
		Album:   eagerAlbum,
	}
}

// collectFields loads eagerly with entgql's field collection: the root query
// loads the selected edges (and selects only the selected columns, plus the
// foreign keys the edges need, the hidden one of a track's album too); list
// edges are kept under the field's alias, to-one edges in Edges.
func collectFields() Relations {
	alias := func(ctx context.Context) string { return graphql.GetFieldContext(ctx).Field.Alias }
	return Relations{
		Bands: func(ctx context.Context, q *ent.BandQuery) (*ent.BandQuery, error) { return q.CollectFields(ctx) },
		Label: eagerLabel,
		Members: func(ctx context.Context, b *ent.Band) ([]*ent.Person, error) {
			return b.NamedMembers(alias(ctx))
		},
		Albums: func(ctx context.Context, b *ent.Band) ([]*ent.Album, error) { return b.NamedAlbums(alias(ctx)) },
		Band:   eagerBand,
		Tracks: func(ctx context.Context, a *ent.Album) ([]*ent.Track, error) { return a.NamedTracks(alias(ctx)) },
		Album:  eagerAlbum,
	}
}

// ormloader calls the edge methods entgql generated, which entloader
// routes through the request scope's loaders.
func ormloader() Relations {
	return Relations{
		Label:   func(ctx context.Context, b *ent.Band) (*ent.Label, error) { return b.Label(ctx) },
		Members: func(ctx context.Context, b *ent.Band) ([]*ent.Person, error) { return b.Members(ctx) },
		Albums:  func(ctx context.Context, b *ent.Band) ([]*ent.Album, error) { return b.Albums(ctx) },
		Band:    func(ctx context.Context, a *ent.Album) (*ent.Band, error) { return a.Band(ctx) },
		Tracks:  func(ctx context.Context, a *ent.Album) ([]*ent.Track, error) { return a.Tracks(ctx) },
		Album:   func(ctx context.Context, t *ent.Track) (*ent.Album, error) { return t.Album(ctx) },
	}
}
