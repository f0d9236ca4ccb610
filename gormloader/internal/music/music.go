// Package music is the reference domain of gormloader's tests and examples:
// Label 1–N Band, Band N–M Person (members), Band 1–N Album, Album 1–N Track,
// Band 1–1 Profile, polymorphic Comments on Band and Album, a composite-key
// table (Release, with chart entries), Band N–M Band (influences), and a
// belongs-to with custom foreignKey/references (Band.Distributor).
package music

//go:generate go run ../../cmd/gormloader-gen

import (
	"time"

	"gorm.io/gorm"
)

// Label has many bands.
type Label struct {
	ID    uint
	Name  string
	Code  string `gorm:"size:32;uniqueIndex"`
	Bands []Band
}

// Band is the centre of the domain.
type Band struct {
	ID         uint
	Name       string
	LabelID    *uint
	Label      *Label
	Members    []Person `gorm:"many2many:band_members"`
	Albums     []Album
	Profile    *Profile
	Comments   []Comment `gorm:"polymorphic:Owner"`
	Influences []Band    `gorm:"many2many:band_influences"`
	// DistributorCode references Label.Code, not its primary key.
	DistributorCode *string `gorm:"size:32"`
	Distributor     *Label  `gorm:"foreignKey:DistributorCode;references:Code"`
}

// Person plays in bands.
type Person struct {
	ID    uint
	Name  string
	Bands []Band `gorm:"many2many:band_members"`
}

// Album is soft-deletable.
type Album struct {
	ID        uint
	BandID    uint
	Title     string
	Year      int
	Band      *Band
	Tracks    []Track
	Comments  []Comment `gorm:"polymorphic:Owner"`
	Releases  []Release
	DeletedAt gorm.DeletedAt `gorm:"index"`
}

// Track belongs to an album.
type Track struct {
	ID       uint
	AlbumID  uint
	Position int
	Name     string
}

// Profile is a band's one profile.
type Profile struct {
	ID     uint
	BandID uint
	Bio    string
}

// Comment is polymorphic: OwnerType is "bands" or "albums".
type Comment struct {
	ID        uint
	OwnerID   uint
	OwnerType string `gorm:"size:32"`
	Body      string
}

// Release has a composite primary key (album, country).
type Release struct {
	AlbumID  uint   `gorm:"primaryKey;autoIncrement:false"`
	Country  string `gorm:"primaryKey;size:8"`
	Released time.Time
	Charts   []ChartEntry `gorm:"foreignKey:AlbumID,Country;references:AlbumID,Country"`
}

// ChartEntry references a Release by its composite key.
type ChartEntry struct {
	ID       uint
	AlbumID  uint
	Country  string `gorm:"size:8"`
	Position int
	Release  *Release `gorm:"foreignKey:AlbumID,Country;references:AlbumID,Country"`
}

// Models lists every model, in migration order.
func Models() []any {
	return []any{&Label{}, &Person{}, &Band{}, &Album{}, &Track{}, &Profile{}, &Comment{}, &Release{}, &ChartEntry{}}
}
