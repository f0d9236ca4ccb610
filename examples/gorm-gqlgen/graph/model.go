package graph

import "github.com/ormloader/ormloader/examples/gorm-gqlgen/models"

// Node and SearchResult are the Go types of the GraphQL interface and union:
// a *models.Band, *models.Album, ... (the generated code switches on it).
// They are empty interfaces so that the GORM models need no GraphQL methods.
type (
	Node         any
	SearchResult any
)

// AlbumConnection is a page of a band's albums. Its fields are resolvers, so
// that a query asking only for totalCount loads no album and one asking only
// for edges counts nothing.
type AlbumConnection struct {
	band  *models.Band
	first int
	after *uint
	page  albumPage
}
