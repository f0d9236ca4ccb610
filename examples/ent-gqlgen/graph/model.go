package graph

import (
	"sync"

	"github.com/ormloader/ormloader/ent"
	"github.com/ormloader/ormloader/entloader"
)

// SearchResult is the Go type of the GraphQL union: an *ent.Band, *ent.Album
// or *ent.Track (the generated code switches on it).
type SearchResult any

// AlbumPage is a page of a band's albums (Band.albumPage). Its fields are
// resolvers over one load of the page (with ormloader, the page and the
// count are one statement: ent's <Edge>Page methods).
type AlbumPage struct {
	band  *ent.Band
	first int
	after *int
	load  albumPageLoader

	once sync.Once // loads page and err (get)
	page entloader.Page[*ent.Album]
	err  error
}
