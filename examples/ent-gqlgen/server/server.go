// Package server wires the ent example: the ent client (generated with
// entgql and entloader), the seed data, and the GraphQL handler with the
// gqlgenloader extension. The example's main and the integration tests use
// it.
package server

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/99designs/gqlgen/graphql"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/ent"
	_ "github.com/ormloader/ormloader/ent/runtime" // the schema's hooks and the Review privacy policy
	"github.com/ormloader/ormloader/ent/viewer"
	"github.com/ormloader/ormloader/examples/ent-gqlgen/graph"
	"github.com/ormloader/ormloader/examples/internal/demo"
	"github.com/ormloader/ormloader/gqlgenloader"
)

// Size is the size of the seed data (see the -bands, -albums ... flags).
type Size = demo.Size

// ViewerHeader names the request's viewer. The Review privacy policy of the
// ent schema shows a viewer only the reviews they wrote, and every review to
// a request without one.
const ViewerHeader = "X-Viewer"

// Options configure Handler.
type Options struct {
	Naive  bool         // resolvers that query once per parent, without ormloader
	SQL    bool         // list each request's statements in the response extensions
	Logger *slog.Logger // gets one line per request; nil logs nothing
}

// Open opens the database named by dsn (empty: a temporary SQLite file; see
// demo.OpenDB for the forms) and creates the schema. Statements are counted
// per request at the driver. Each wrap, if any, wraps the database driver's
// connector below the counting (the reliability tests inject faults with
// one).
func Open(dsn string, wrap ...func(driver.Connector) driver.Connector) (client *ent.Client, closeDB func() error, err error) {
	db, dialect, closeDB, err := demo.OpenDB(dsn, wrap...)
	if err != nil {
		return nil, nil, err
	}
	// Nothing to install: entloader's code is generated into the ent package.
	client = ent.NewClient(ent.Driver(entsql.OpenDB(dialect, db)))
	if err := client.Schema.Create(context.Background()); err != nil {
		closeDB()
		return nil, nil, fmt.Errorf("migrate: %w", err)
	}
	return client, closeDB, nil
}

// reviewers write the seeded reviews: two of them review each album.
var reviewers = []string{"alice", "bob", "carol"}

// Seed inserts the generated data set of size s, with two reviews of every
// album, profiles and influences between bands, unless the database has
// bands already (a -dsn database that was seeded before, or your own data).
func Seed(ctx context.Context, client *ent.Client, s Size) (seeded bool, err error) {
	if n, err := client.Band.Query().Count(ctx); err != nil || n > 0 {
		return false, err
	}
	tx, err := client.Tx(ctx)
	if err != nil {
		return false, err
	}
	if err := seed(ctx, tx, demo.Generate(s)); err != nil {
		return false, fmt.Errorf("seed: %w", errors.Join(err, tx.Rollback()))
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("seed: %w", err)
	}
	return true, nil
}

func seed(ctx context.Context, tx *ent.Tx, data demo.Dataset) error {
	labels := make([]*ent.LabelCreate, len(data.Labels))
	for i, name := range data.Labels {
		labels[i] = tx.Label.Create().SetName(name)
	}
	labelRows, err := saveAll(ctx, labels, tx.Label.CreateBulk)
	if err != nil {
		return err
	}
	people := make([]*ent.PersonCreate, len(data.People))
	for i, name := range data.People {
		people[i] = tx.Person.Create().SetName(name)
	}
	personRows, err := saveAll(ctx, people, tx.Person.CreateBulk)
	if err != nil {
		return err
	}
	bands := make([]*ent.BandCreate, len(data.Bands))
	for i, b := range data.Bands {
		bands[i] = tx.Band.Create().SetName(b.Name)
		if b.Label >= 0 {
			bands[i].SetLabelID(labelRows[b.Label].ID)
		}
		for _, p := range b.Members {
			bands[i].AddMembers(personRows[p])
		}
	}
	bandRows, err := saveAll(ctx, bands, tx.Band.CreateBulk)
	if err != nil {
		return err
	}
	// Every other band has a profile; band i names band i/2 as an influence.
	var profiles []*ent.ProfileCreate
	var influences []*ent.InfluenceCreate
	for i, b := range bandRows {
		if i%2 == 0 {
			profiles = append(profiles, tx.Profile.Create().SetBio("About "+b.Name).SetBand(b))
		}
		if i > 0 {
			influences = append(influences, tx.Influence.Create().SetBand(b).SetInfluenced(bandRows[i/2]))
		}
	}
	if _, err := saveAll(ctx, profiles, tx.Profile.CreateBulk); err != nil {
		return err
	}
	if _, err := saveAll(ctx, influences, tx.Influence.CreateBulk); err != nil {
		return err
	}
	var albums []*ent.AlbumCreate
	var albumData []demo.Album
	for i, b := range data.Bands {
		for _, a := range b.Albums {
			albums = append(albums, tx.Album.Create().SetTitle(a.Title).SetYear(a.Year).SetBand(bandRows[i]))
			albumData = append(albumData, a)
		}
	}
	albumRows, err := saveAll(ctx, albums, tx.Album.CreateBulk)
	if err != nil {
		return err
	}
	var tracks []*ent.TrackCreate
	var reviews []*ent.ReviewCreate
	for i, a := range albumData {
		for j, title := range a.Tracks {
			tracks = append(tracks, tx.Track.Create().SetTitle(title).SetPosition(j+1).SetAlbum(albumRows[i]))
		}
		for _, author := range []string{reviewers[i%len(reviewers)], reviewers[(i+1)%len(reviewers)]} {
			reviews = append(reviews, tx.Review.Create().SetAuthor(author).SetStars(1+i%5).
				SetBody(author+" on "+a.Title).SetAlbum(albumRows[i]))
		}
	}
	if _, err := saveAll(ctx, tracks, tx.Track.CreateBulk); err != nil {
		return err
	}
	_, err = saveAll(ctx, reviews, tx.Review.CreateBulk)
	return err
}

// saveAll saves builders with bulk, a few hundred rows per statement (below
// every dialect's bind-parameter limit), and returns the rows in order.
func saveAll[C any, B interface {
	Save(context.Context) ([]N, error)
}, N any](ctx context.Context, builders []C, bulk func(...C) B) ([]N, error) {
	var rows []N
	for chunk := range slices.Chunk(builders, 500) {
		saved, err := bulk(chunk...).Save(ctx)
		if err != nil {
			return nil, err
		}
		rows = append(rows, saved...)
	}
	return rows, nil
}

// Handler returns the example's HTTP handler: GraphiQL at /, GraphQL at
// /query, with the statements and batches of each request in the response
// extensions and in the log. The X-Viewer header names the request's viewer.
func Handler(client *ent.Client, opts Options) http.Handler {
	var root graph.ResolverRoot = graph.NewResolver(client)
	exts := []graphql.HandlerExtension{demo.Reporting{SQL: opts.SQL}}
	if opts.Naive {
		root = graph.NewNaiveResolver(client)
	} else {
		// One dataloader scope per operation. entloader's loaders need nothing
		// in the context: the ent client travels with the rows.
		exts = append(exts, gqlgenloader.New(
			gqlgenloader.WithScopeOptions(dataloader.WithTracer(demo.BatchCounter{})),
		))
	}
	srv := demo.NewServer(graph.NewExecutableSchema(graph.Config{Resolvers: root}), exts...)
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return demo.Handler(withViewer(srv), log)
}

// withViewer puts the request's viewer into its context, where the Review
// privacy policy reads it. This runs before gqlgenloader opens the
// operation's scope, and batches run under the scope's context, so the
// policy applies to the batched loads too.
func withViewer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name := r.Header.Get(ViewerHeader); name != "" {
			r = r.WithContext(viewer.NewContext(r.Context(), name))
		}
		h.ServeHTTP(w, r)
	})
}
