package gormstack

import (
	"context"

	"gorm.io/gorm"

	"github.com/ormloader/ormloader/benchmarks/stack/internal/bench"
	"github.com/ormloader/ormloader/examples/gorm-gqlgen/models"
)

// naive queries once per parent: the N+1.
func naive(db *gorm.DB) Relations {
	return Relations{
		Label: func(ctx context.Context, b *models.Band) (*models.Label, error) {
			if b.LabelID == nil {
				return nil, nil
			}
			var l models.Label
			err := db.WithContext(ctx).First(&l, *b.LabelID).Error
			return &l, err
		},
		Members: func(ctx context.Context, b *models.Band) ([]models.Person, error) {
			var people []models.Person
			err := db.WithContext(ctx).Joins("JOIN band_members ON band_members.person_id = people.id").
				Where("band_members.band_id = ?", b.ID).Find(&people).Error
			return people, err
		},
		Albums: func(ctx context.Context, b *models.Band) ([]models.Album, error) {
			var albums []models.Album
			err := db.WithContext(ctx).Where("band_id = ?", b.ID).Find(&albums).Error
			return albums, err
		},
		Band: func(ctx context.Context, a *models.Album) (*models.Band, error) {
			var b models.Band
			err := db.WithContext(ctx).First(&b, a.BandID).Error
			return &b, err
		},
		Tracks: func(ctx context.Context, a *models.Album) ([]models.Track, error) {
			var tracks []models.Track
			err := db.WithContext(ctx).Where("album_id = ?", a.ID).Find(&tracks).Error
			return tracks, err
		},
		Album: func(ctx context.Context, t *models.Track) (*models.Album, error) {
			var a models.Album
			err := db.WithContext(ctx).First(&a, t.AlbumID).Error
			return &a, err
		},
	}
}

// loaders are a request's dataloadgen or graph-gophers loaders.
type loaders struct {
	label   bench.Loader[uint, *models.Label]
	members bench.Loader[uint, []models.Person]
	albums  bench.Loader[uint, []models.Album]
	band    bench.Loader[uint, *models.Band] // by the band's ID
	tracks  bench.Loader[uint, []models.Track]
	album   bench.Loader[uint, *models.Album] // by the album's ID
}

// peers resolves through the request's loaders (bench.WithLoaders).
func peers() Relations {
	return Relations{
		Label: func(ctx context.Context, b *models.Band) (*models.Label, error) {
			if b.LabelID == nil {
				return nil, nil
			}
			return bench.Loaders[*loaders](ctx).label(ctx, *b.LabelID)
		},
		Members: func(ctx context.Context, b *models.Band) ([]models.Person, error) {
			return bench.Loaders[*loaders](ctx).members(ctx, b.ID)
		},
		Albums: func(ctx context.Context, b *models.Band) ([]models.Album, error) {
			return bench.Loaders[*loaders](ctx).albums(ctx, b.ID)
		},
		Band: func(ctx context.Context, a *models.Album) (*models.Band, error) {
			return bench.Loaders[*loaders](ctx).band(ctx, a.BandID)
		},
		Tracks: func(ctx context.Context, a *models.Album) ([]models.Track, error) {
			return bench.Loaders[*loaders](ctx).tracks(ctx, a.ID)
		},
		Album: func(ctx context.Context, t *models.Track) (*models.Album, error) {
			return bench.Loaders[*loaders](ctx).album(ctx, t.AlbumID)
		},
	}
}

// batches are the hand-written batch functions the peers' users write: one
// query per batch, the values in the order of the keys.
type batches struct{ db *gorm.DB }

// dataloadgen returns a request's dataloadgen loaders.
func (b batches) dataloadgen() *loaders {
	return &loaders{
		label:   bench.DataloadgenLoader(b.labels),
		members: bench.DataloadgenLoader(b.members),
		albums:  bench.DataloadgenLoader(b.albums),
		band:    bench.DataloadgenLoader(b.bands),
		tracks:  bench.DataloadgenLoader(b.tracks),
		album:   bench.DataloadgenLoader(b.albumsByID),
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
		album:   bench.GraphGophersLoader(b.albumsByID),
	}
}

func (b batches) labels(ctx context.Context, ids []uint) ([]*models.Label, []error) {
	var rows []models.Label
	err := b.db.WithContext(ctx).Where("id IN ?", ids).Find(&rows).Error
	byID := make(map[uint]*models.Label, len(rows))
	for i := range rows {
		byID[rows[i].ID] = &rows[i]
	}
	return bench.Align(ids, byID, err)
}

// members is one JOIN, which also returns each person's band.
func (b batches) members(ctx context.Context, bandIDs []uint) ([][]models.Person, []error) {
	var rows []struct {
		BandID uint
		ID     uint
		Name   string
	}
	err := b.db.WithContext(ctx).Table("people").Select("band_members.band_id, people.id, people.name").
		Joins("JOIN band_members ON band_members.person_id = people.id").
		Where("band_members.band_id IN ?", bandIDs).Scan(&rows).Error
	byBand := make(map[uint][]models.Person, len(bandIDs))
	for _, r := range rows {
		byBand[r.BandID] = append(byBand[r.BandID], models.Person{ID: r.ID, Name: r.Name})
	}
	return bench.Align(bandIDs, byBand, err)
}

func (b batches) albums(ctx context.Context, bandIDs []uint) ([][]models.Album, []error) {
	var rows []models.Album
	err := b.db.WithContext(ctx).Where("band_id IN ?", bandIDs).Find(&rows).Error
	byBand := make(map[uint][]models.Album, len(bandIDs))
	for _, a := range rows {
		byBand[a.BandID] = append(byBand[a.BandID], a)
	}
	return bench.Align(bandIDs, byBand, err)
}

func (b batches) tracks(ctx context.Context, albumIDs []uint) ([][]models.Track, []error) {
	var rows []models.Track
	err := b.db.WithContext(ctx).Where("album_id IN ?", albumIDs).Find(&rows).Error
	byAlbum := make(map[uint][]models.Track, len(albumIDs))
	for _, t := range rows {
		byAlbum[t.AlbumID] = append(byAlbum[t.AlbumID], t)
	}
	return bench.Align(albumIDs, byAlbum, err)
}

func (b batches) bands(ctx context.Context, ids []uint) ([]*models.Band, []error) {
	var rows []models.Band
	err := b.db.WithContext(ctx).Where("id IN ?", ids).Find(&rows).Error
	byID := make(map[uint]*models.Band, len(rows))
	for i := range rows {
		byID[rows[i].ID] = &rows[i]
	}
	return bench.Align(ids, byID, err)
}

func (b batches) albumsByID(ctx context.Context, ids []uint) ([]*models.Album, []error) {
	var rows []models.Album
	err := b.db.WithContext(ctx).Where("id IN ?", ids).Find(&rows).Error
	byID := make(map[uint]*models.Album, len(rows))
	for i := range rows {
		byID[rows[i].ID] = &rows[i]
	}
	return bench.Align(ids, byID, err)
}

// preloads are the GORM associations to preload for the selected GraphQL
// fields (bench.Selected).
var preloads = []struct{ field, association string }{
	{"label", "Label"},
	{"members", "Members"},
	{"albums", "Albums"},
	{"albums.band", "Albums.Band"},
	{"albums.band.label", "Albums.Band.Label"},
	{"albums.tracks", "Albums.Tracks"},
	{"albums.tracks.album", "Albums.Tracks.Album"},
}

// preload loads eagerly: the root query preloads what the operation selects
// (GORM's Preload, one query per association and level; two for
// many-to-many), and the relation resolvers return the preloaded fields.
func preload() Relations {
	return Relations{
		Bands: func(ctx context.Context, q *gorm.DB) *gorm.DB {
			selected := bench.Selected(ctx)
			for _, p := range preloads {
				if selected[p.field] {
					q = q.Preload(p.association)
				}
			}
			return q
		},
		Label: func(_ context.Context, b *models.Band) (*models.Label, error) { return b.Label, nil },
		Members: func(_ context.Context, b *models.Band) ([]models.Person, error) {
			return b.Members, nil
		},
		Albums: func(_ context.Context, b *models.Band) ([]models.Album, error) { return b.Albums, nil },
		Band:   func(_ context.Context, a *models.Album) (*models.Band, error) { return a.Band, nil },
		Tracks: func(_ context.Context, a *models.Album) ([]models.Track, error) { return a.Tracks, nil },
		Album:  func(_ context.Context, t *models.Track) (*models.Album, error) { return t.Album, nil },
	}
}

// ormloader calls the methods gormloader-gen generated for the models; the
// gqlgenloader extension gives each operation its scope.
func ormloader() Relations {
	return Relations{
		Label: func(ctx context.Context, b *models.Band) (*models.Label, error) { return b.LoadLabel(ctx) },
		Members: func(ctx context.Context, b *models.Band) ([]models.Person, error) {
			return b.LoadMembers(ctx)
		},
		Albums: func(ctx context.Context, b *models.Band) ([]models.Album, error) { return b.LoadAlbums(ctx) },
		Band:   func(ctx context.Context, a *models.Album) (*models.Band, error) { return a.LoadBand(ctx) },
		Tracks: func(ctx context.Context, a *models.Album) ([]models.Track, error) { return a.LoadTracks(ctx) },
		Album:  func(ctx context.Context, t *models.Track) (*models.Album, error) { return t.LoadAlbum(ctx) },
	}
}
