package entapp

//go:generate go tool gqlgen generate --config gqlgen.yml

import (
	"entgo.io/ent/dialect/sql"

	"github.com/ormloader/ormloader/ent"
	"github.com/ormloader/ormloader/ent/album"
	"github.com/ormloader/ormloader/ent/band"
	"github.com/ormloader/ormloader/ent/person"
	"github.com/ormloader/ormloader/ent/review"
)

// Resolver is the resolver root: edges load through entloader's generated
// methods, batched in the operation's scope, or, if naive, with a query of
// their own per parent. The Review privacy policy applies either way.
type Resolver struct {
	client *ent.Client
	naive  bool
}

// Orders of the lists, the same with and without ormloader.
var (
	albumsByID    = []album.OrderOption{album.ByID()}
	bandsByID     = []band.OrderOption{band.ByID()}
	peopleByID    = []person.OrderOption{person.ByID()}
	reviewsByID   = []review.OrderOption{review.ByID()}
	reviewsByBest = []review.OrderOption{review.ByStars(sql.OrderDesc()), review.ByID()}
)
