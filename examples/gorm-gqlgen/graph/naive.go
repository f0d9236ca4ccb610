package graph

import (
	"context"

	"gorm.io/gorm"

	"github.com/ormloader/ormloader/examples/gorm-gqlgen/models"
	"github.com/ormloader/ormloader/gormloader"
)

// NewNaiveResolver returns resolvers that load every relation with a query
// of its own per parent object: what resolvers look like without a
// dataloader, and the N+1 problem ormloader removes. A list of 100 bands with
// their albums costs 101 statements here and 2 with NewResolver. The server's
// -naive flag serves it, and the integration tests check that both give the
// same results. The root fields (queries and mutations) are NewResolver's,
// except that they look rows up by ID with a query each.
func NewNaiveResolver(db *gorm.DB) ResolverRoot { return naiveRoot{&Resolver{db: db, naive: true}} }

type naiveRoot struct{ *Resolver }

func (r naiveRoot) Album() AlbumResolver { return naiveAlbum{r} }
func (r naiveRoot) AlbumConnection() AlbumConnectionResolver {
	return naiveAlbumConnection{&albumConnectionResolver{r.Resolver}, r}
}
func (r naiveRoot) Band() BandResolver     { return naiveBand{r} }
func (r naiveRoot) Label() LabelResolver   { return naiveLabel{r} }
func (r naiveRoot) Person() PersonResolver { return naivePerson{r} }
func (r naiveRoot) Track() TrackResolver   { return naiveTrack{r} }

// query starts a query in the request's context.
func (r naiveRoot) query(ctx context.Context) *gorm.DB { return r.db.WithContext(ctx) }

type naiveAlbum struct{ naiveRoot }

func (r naiveAlbum) Band(ctx context.Context, obj *models.Album) (*models.Band, error) {
	var band models.Band
	err := r.query(ctx).First(&band, obj.BandID).Error
	return &band, err
}

func (r naiveAlbum) Tracks(ctx context.Context, obj *models.Album, first *int) ([]models.Track, error) {
	q := r.query(ctx).Where("album_id = ?", obj.ID).Order("position")
	if first != nil {
		if err := checkPage(*first, 0); err != nil {
			return nil, err
		}
		q = q.Limit(*first)
	}
	var tracks []models.Track
	err := q.Find(&tracks).Error
	return tracks, err
}

type naiveAlbumConnection struct {
	*albumConnectionResolver // Edges and PageInfo: the page comes from naiveBand's albumPage
	naiveRoot
}

func (r naiveAlbumConnection) TotalCount(ctx context.Context, obj *AlbumConnection) (int, error) {
	var n int64
	err := r.query(ctx).Model(&models.Album{}).Where("band_id = ?", obj.band.ID).Count(&n).Error
	return int(n), err
}

type naiveBand struct{ naiveRoot }

func (r naiveBand) Label(ctx context.Context, obj *models.Band) (*models.Label, error) {
	if obj.LabelID == nil {
		return nil, nil
	}
	var label models.Label
	err := r.query(ctx).First(&label, *obj.LabelID).Error
	return &label, err
}

func (r naiveBand) Members(ctx context.Context, obj *models.Band) ([]models.Person, error) {
	var people []models.Person
	err := r.query(ctx).Joins("JOIN band_members ON band_members.person_id = people.id").
		Where("band_members.band_id = ?", obj.ID).Order("people.id").Find(&people).Error
	return people, err
}

func (r naiveBand) Albums(_ context.Context, obj *models.Band, first int, after *uint) (*AlbumConnection, error) {
	return newAlbumConnection(obj, first, after, func(ctx context.Context, c *AlbumConnection) (gormloader.Page[models.Album], error) {
		q := r.query(ctx).Where("band_id = ?", c.band.ID).Order("id").Limit(c.first + 1)
		if c.after != nil {
			q = q.Where("id > ?", *c.after)
		}
		var albums []models.Album
		if err := q.Find(&albums).Error; err != nil || len(albums) <= c.first {
			return gormloader.Page[models.Album]{Rows: albums}, err
		}
		// The count is naiveAlbumConnection.TotalCount's query.
		return gormloader.Page[models.Album]{Rows: albums[:c.first], HasNextPage: true}, nil
	})
}

type naiveLabel struct{ naiveRoot }

func (r naiveLabel) Bands(ctx context.Context, obj *models.Label) ([]models.Band, error) {
	var bands []models.Band
	err := r.query(ctx).Where("label_id = ?", obj.ID).Order("id").Find(&bands).Error
	return bands, err
}

type naivePerson struct{ naiveRoot }

func (r naivePerson) Bands(ctx context.Context, obj *models.Person) ([]models.Band, error) {
	var bands []models.Band
	err := r.query(ctx).Joins("JOIN band_members ON band_members.band_id = bands.id").
		Where("band_members.person_id = ?", obj.ID).Order("bands.id").Find(&bands).Error
	return bands, err
}

type naiveTrack struct{ naiveRoot }

func (r naiveTrack) Album(ctx context.Context, obj *models.Track) (*models.Album, error) {
	var album models.Album
	err := r.query(ctx).First(&album, obj.AlbumID).Error
	return &album, err
}
