package graph

import (
	"sync"

	"github.com/ormloader/ormloader/examples/gorm-gqlgen/models"
	"github.com/ormloader/ormloader/gormloader"
)

// Node and SearchResult are the Go types of the GraphQL interface and union:
// a *models.Band, *models.Album, ... (the generated code switches on it).
// They are empty interfaces so that the GORM models need no GraphQL methods.
type (
	Node         any
	SearchResult any
)

// AlbumConnection is a page of a band's albums. Its fields are resolvers
// over one load of the page (with ormloader, the page and the count are one
// statement: gormloader.LoadPage).
type AlbumConnection struct {
	band  *models.Band
	first int
	after *uint
	page  albumPage

	once   sync.Once // loads loaded and err (get)
	loaded gormloader.Page[models.Album]
	err    error
}
