// Package models is the GORM model of the example: labels, bands, their
// members, albums and tracks. Plain GORM structs; gormloader-gen adds a
// LoadX method per association (gormloader_gen.go), which is what the
// resolvers call.
package models

//go:generate go run github.com/ormloader/ormloader/gormloader/cmd/gormloader-gen

// Label has many bands.
type Label struct {
	ID    uint
	Name  string
	Bands []Band
}

// Band belongs to a label (or none), has many albums, and has members
// (many-to-many).
type Band struct {
	ID      uint
	Name    string
	LabelID *uint
	Label   *Label
	Members []Person `gorm:"many2many:band_members"`
	Albums  []Album
}

// Person plays in bands.
type Person struct {
	ID    uint
	Name  string
	Bands []Band `gorm:"many2many:band_members"`
}

// Album belongs to a band and has many tracks.
type Album struct {
	ID     uint
	BandID uint
	Band   *Band
	Title  string
	Year   int
	Tracks []Track
}

// Track belongs to an album.
type Track struct {
	ID       uint
	AlbumID  uint
	Album    *Album
	Position int
	Name     string
}

// All lists the models in migration order.
func All() []any {
	return []any{&Label{}, &Person{}, &Band{}, &Album{}, &Track{}}
}
