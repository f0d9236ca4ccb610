package graph

import "github.com/ormloader/ormloader/ent"

// SearchResult is the Go type of the GraphQL union: an *ent.Band, *ent.Album
// or *ent.Track (the generated code switches on it).
type SearchResult any

// AlbumPage is a page of a band's albums (Band.albumPage). Its fields are
// resolvers, so that a query asking only for totalCount loads no album and
// one asking only for albums counts nothing.
type AlbumPage struct {
	band  *ent.Band
	first int
	after *int
	load  albumPageLoader
}
