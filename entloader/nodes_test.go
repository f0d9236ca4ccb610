package entloader_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect/sql"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/ent"
	"github.com/ormloader/ormloader/ent/album"
	"github.com/ormloader/ormloader/ent/band"
	"github.com/ormloader/ormloader/entloader"
	"github.com/ormloader/ormloader/entloader/internal/plainent"
)

// TestNilReceivers: every kind of generated method, called on a nil node,
// returns an error that names the type and the method, and leaves no stripe
// of entloader's process-wide locks held. (Before, the edge accessor locked
// a stripe and then panicked reading the nil node's Edges: the stripe stayed
// locked, and every later edge call on a node of that stripe, in any
// request, blocked forever.)
func TestNilReceivers(t *testing.T) {
	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()
	var (
		b  *ent.Band
		l  *ent.Label
		tr *ent.Track
		in *ent.Influence
		p  *plainent.Post
		a  *plainent.Author
	)
	two := 2
	calls := []struct {
		name string
		want string // in the error
		call func() error
	}{
		{"to-many edge (entgql)", "Band.Albums called on a nil *Band", func() error { _, err := b.Albums(ctx); return err }},
		{"M2M edge (entgql)", "Band.Members called on a nil *Band", func() error { _, err := b.Members(ctx); return err }},
		{"M2M through an edge schema (entgql)", "Band.Influences called on a nil *Band", func() error { _, err := b.Influences(ctx); return err }},
		{"edge-schema rows (entgql)", "Band.InfluenceLinks called on a nil *Band", func() error { _, err := b.InfluenceLinks(ctx); return err }},
		{"M2O with an edge field (entgql)", "Band.Label called on a nil *Band", func() error { _, err := b.Label(ctx); return err }},
		{"O2O (entgql)", "Band.Profile called on a nil *Band", func() error { _, err := b.Profile(ctx); return err }},
		{"M2O with a hidden FK (entgql)", "Track.Album called on a nil *Track", func() error { _, err := tr.Album(ctx); return err }},
		{"edge of an edge schema (entgql)", "Influence.Band called on a nil *Influence", func() error { _, err := in.Band(ctx); return err }},
		{"With, zero variant", "Band.AlbumsWith called on a nil *Band", func() error { _, err := b.AlbumsWith(ctx, ent.AlbumVariant{}); return err }},
		{"With", "Band.AlbumsWith called on a nil *Band", func() error {
			_, err := b.AlbumsWith(ctx, ent.AlbumVariant{Order: []album.OrderOption{album.ByYear(sql.OrderDesc())}, Limit: 2})
			return err
		}},
		{"Count", "Band.AlbumsCount called on a nil *Band", func() error { _, err := b.AlbumsCount(ctx); return err }},
		{"Relay connection (entgql, page)", "Label.Bands called on a nil *Label", func() error { _, err := l.Bands(ctx, nil, &two, nil, nil, nil, nil); return err }},
		{"connection edge's With", "Label.BandsWith called on a nil *Label", func() error { _, err := l.BandsWith(ctx, ent.BandVariant{Limit: 1}); return err }},
		{"unique edge (without entgql)", "Post.Author called on a nil *Post", func() error { _, err := p.Author(ctx); return err }},
		{"to-many edge (without entgql)", "Post.Tags called on a nil *Post", func() error { _, err := p.Tags(ctx); return err }},
		{"With (without entgql)", "Post.TagsWith called on a nil *Post", func() error { _, err := p.TagsWith(ctx, plainent.TagVariant{Limit: 1}); return err }},
		{"Count (without entgql)", "Author.PostsCount called on a nil *Author", func() error { _, err := a.PostsCount(ctx); return err }},
	}
	for _, c := range calls {
		ok := t.Run(c.name, func(t *testing.T) {
			res := make(chan error, 1)
			go func() {
				defer func() {
					if r := recover(); r != nil {
						res <- fmt.Errorf("panic: %v", r)
					}
				}()
				res <- c.call()
			}()
			select {
			case err := <-res:
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("got %v, want an error containing %q", err, c.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("blocked for 10 s")
			}
			if locked := entloader.LockedStripes(time.Second); len(locked) > 0 {
				t.Fatalf("stripes %v stay locked", locked)
			}
		})
		if !ok {
			return // a stripe may be locked: the other calls would block on it
		}
	}
}

// TestEdgeCallsAfterRecoveredPanic: after a panic in a resolver that was
// calling edge methods (recovered, as gqlgen does), edge calls on other nodes
// still complete: the stripes are free and loads finish within a timeout.
func TestEdgeCallsAfterRecoveredPanic(t *testing.T) {
	func() {
		defer func() { _ = recover() }()
		var nilBand *ent.Band
		_, _ = nilBand.Albums(context.Background())
		_, _ = nilBand.Label(context.Background())
		panic("resolver panics after its edge calls")
	}()
	if locked := entloader.LockedStripes(5 * time.Second); len(locked) > 0 {
		t.Fatalf("stripes %v stay locked after a recovered panic", locked)
	}
	each(t, func(t *testing.T, e *env) {
		seed(t, e.client)
		ctx, scope := dataloader.NewScope(context.Background())
		defer scope.Close()
		done := make(chan error, 1)
		go func() { done <- loadAlbumsAndLabels(ctx, e.client) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("edge calls did not complete within 30 s")
		}
	})
}

// loadAlbumsAndLabels loads the albums and the label of every band.
func loadAlbumsAndLabels(ctx context.Context, client *ent.Client) error {
	bands, err := client.Band.Query().All(ctx)
	if err != nil {
		return err
	}
	for _, b := range bands {
		if _, err := b.Albums(ctx); err != nil {
			return err
		}
		if _, err := b.Label(ctx); err != nil {
			return err
		}
	}
	return nil
}

// TestEdgeResultsAreCallersOwn: a loaded to-many edge is a slice of the
// caller's own. One caller reordering or overwriting its result in place
// leaves every other caller's result (another node of the same row, the same
// node again, another resolver) unchanged, and resolvers that sort their
// results concurrently do not race. (Before, every caller got the scope's
// cached slice itself.)
func TestEdgeResultsAreCallersOwn(t *testing.T) {
	newest2 := ent.AlbumVariant{Order: []album.OrderOption{album.ByYear(sql.OrderDesc())}, Limit: 2}
	loads := []struct {
		name string
		load func(ctx context.Context, b *ent.Band) ([]*ent.Album, error)
	}{
		{"Albums", func(ctx context.Context, b *ent.Band) ([]*ent.Album, error) { return b.Albums(ctx) }},
		{"AlbumsWith", func(ctx context.Context, b *ent.Band) ([]*ent.Album, error) { return b.AlbumsWith(ctx, newest2) }},
	}
	each(t, func(t *testing.T, e *env) {
		seed(t, e.client)
		// nodes returns two nodes of band 0 (3 albums) from two queries of
		// a new scope.
		nodes := func(t *testing.T) (context.Context, [2]*ent.Band) {
			ctx, scope := dataloader.NewScope(context.Background())
			t.Cleanup(scope.Close)
			var out [2]*ent.Band
			for i := range out {
				b, err := e.client.Band.Query().Order(band.ByID()).First(ctx)
				if err != nil {
					t.Fatal(err)
				}
				out[i] = b
			}
			return ctx, out
		}
		for _, l := range loads {
			t.Run(l.name+"/changed in place", func(t *testing.T) {
				ctx, b := nodes(t)
				mine, err := l.load(ctx, b[0])
				if err != nil || len(mine) < 2 {
					t.Fatalf("%d albums, %v", len(mine), err)
				}
				want := fmt.Sprint(albumIDs(mine))
				slices.Reverse(mine)
				mine[0] = nil
				for _, other := range []*ent.Band{b[1], b[0]} {
					theirs, err := l.load(ctx, other)
					if err != nil {
						t.Fatal(err)
					}
					if got := fmt.Sprint(albumIDs(theirs)); got != want {
						t.Errorf("after another caller changed its result: %s, want %s", got, want)
					}
				}
			})
			t.Run(l.name+"/sorted concurrently", func(t *testing.T) {
				ctx, b := nodes(t)
				var wg sync.WaitGroup
				for g := range 8 {
					wg.Go(func() {
						for range 50 {
							as, err := l.load(ctx, b[g%2])
							if err != nil {
								t.Error(err)
								return
							}
							desc := rand.IntN(2) == 0
							slices.SortFunc(as, func(x, y *ent.Album) int {
								if desc {
									return cmp.Compare(y.ID, x.ID)
								}
								return cmp.Compare(x.ID, y.ID)
							})
						}
					})
				}
				wg.Wait()
			})
		}
	})
}

// albumIDs returns the IDs of albums in their order (-1 for nil).
func albumIDs(as []*ent.Album) []int {
	out := make([]int, len(as))
	for i, a := range as {
		out[i] = -1
		if a != nil {
			out[i] = a.ID
		}
	}
	return out
}
