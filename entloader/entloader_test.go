package entloader_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"entgo.io/ent/dialect/sql"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/ent"
	"github.com/ormloader/ormloader/ent/album"
	"github.com/ormloader/ormloader/ent/band"
	"github.com/ormloader/ormloader/ent/influence"
	"github.com/ormloader/ormloader/ent/predicate"
	"github.com/ormloader/ormloader/ent/privacy"
	"github.com/ormloader/ormloader/ent/review"
	"github.com/ormloader/ormloader/ent/track"
	"github.com/ormloader/ormloader/ent/viewer"
	"github.com/ormloader/ormloader/entloader"
)

func bandID(b *ent.Band) int     { return b.ID }
func albumID(a *ent.Album) int   { return a.ID }
func personID(p *ent.Person) int { return p.ID }
func trackID(t *ent.Track) int   { return t.ID }
func reviewID(r *ent.Review) int { return r.ID }

// edgeCase loads one edge of every band through the accessor and returns a
// comparable rendering of the result for each band.
type edgeCase struct {
	name  string
	load  func(ctx context.Context, b *ent.Band) (string, error)
	eager func(b *ent.Band) string
}

func optID[N any](n *N, id func(*N) int) string {
	if n == nil {
		return "nil"
	}
	return fmt.Sprint(id(n))
}

var bandEdges = []edgeCase{
	{"label (M2O, edge field)", func(ctx context.Context, b *ent.Band) (string, error) {
		l, err := b.Label(ctx)
		return optID(l, func(l *ent.Label) int { return l.ID }), err
	}, func(b *ent.Band) string { return optID(b.Edges.Label, func(l *ent.Label) int { return l.ID }) }},
	{"members (M2M)", func(ctx context.Context, b *ent.Band) (string, error) {
		ps, err := b.Members(ctx)
		return fmt.Sprint(ids(ps, personID)), err
	}, func(b *ent.Band) string { return fmt.Sprint(ids(b.Edges.Members, personID)) }},
	{"albums (O2M)", func(ctx context.Context, b *ent.Band) (string, error) {
		as, err := b.Albums(ctx)
		return fmt.Sprint(ids(as, albumID)), err
	}, func(b *ent.Band) string { return fmt.Sprint(ids(b.Edges.Albums, albumID)) }},
	{"profile (O2O, FK on the other side)", func(ctx context.Context, b *ent.Band) (string, error) {
		p, err := b.Profile(ctx)
		return optID(p, func(p *ent.Profile) int { return p.ID }), err
	}, func(b *ent.Band) string { return optID(b.Edges.Profile, func(p *ent.Profile) int { return p.ID }) }},
	{"influences (M2M through edge schema)", func(ctx context.Context, b *ent.Band) (string, error) {
		bs, err := b.Influences(ctx)
		return fmt.Sprint(ids(bs, bandID)), err
	}, func(b *ent.Band) string { return fmt.Sprint(ids(b.Edges.Influences, bandID)) }},
	{"influenced (inverse M2M through edge schema)", func(ctx context.Context, b *ent.Band) (string, error) {
		bs, err := b.Influenced(ctx)
		return fmt.Sprint(ids(bs, bandID)), err
	}, func(b *ent.Band) string { return fmt.Sprint(ids(b.Edges.Influenced, bandID)) }},
	{"influence_links (edge schema rows)", func(ctx context.Context, b *ent.Band) (string, error) {
		ls, err := b.InfluenceLinks(ctx)
		return renderLinks(ls), err
	}, func(b *ent.Band) string { return renderLinks(b.Edges.InfluenceLinks) }},
}

func renderLinks(ls []*ent.Influence) string {
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, fmt.Sprintf("%d→%d %s", l.BandID, l.InfluencedID, l.Note))
	}
	slices.Sort(out)
	return fmt.Sprint(out)
}

// TestBandEdgesMatchEagerLoading loads every edge kind of Band for all bands,
// sequentially, and checks one statement per edge and equality with ent's
// eager loading.
func TestBandEdgesMatchEagerLoading(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		seed(t, e.client)
		bg := context.Background()
		eager, err := e.client.Band.Query().Order(band.ByID()).
			WithLabel().WithMembers().WithAlbums().WithProfile().
			WithInfluences().WithInfluenced().WithInfluenceLinks().All(bg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, scope := dataloader.NewScope(bg)
		defer scope.Close()
		e.count.reset()
		bands, err := e.client.Band.Query().Order(band.ByID()).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e.count.expect(t, "bands", 1)
		for _, ec := range bandEdges {
			for i, b := range bands {
				got, err := ec.load(ctx, b)
				if err != nil {
					t.Fatalf("%s of band %d: %v", ec.name, b.ID, err)
				}
				if want := ec.eager(eager[i]); got != want {
					t.Errorf("%s of band %d: got %s, eager loading %s", ec.name, b.ID, got, want)
				}
			}
			e.count.expect(t, ec.name, 1)
		}
		// Second round: Edges were filled and the scope cached: no statement.
		for _, ec := range bandEdges {
			for _, b := range bands {
				if _, err := ec.load(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
		}
		e.count.expect(t, "second round", 0)
		// A person in two bands (p1 in b0 and b1) is one node.
		m0, _ := bands[0].Members(ctx)
		m1, _ := bands[1].Members(ctx)
		var shared0, shared1 *ent.Person
		for _, p := range m0 {
			if p.Name == "person 1" {
				shared0 = p
			}
		}
		for _, p := range m1 {
			if p.Name == "person 1" {
				shared1 = p
			}
		}
		if shared0 == nil || shared0 != shared1 {
			t.Errorf("a member of two bands is two nodes: %p %p", shared0, shared1)
		}
		// No parents, no statement.
		none, err := e.client.Band.Query().Where(band.Name("nobody")).All(ctx)
		if err != nil || len(none) != 0 {
			t.Fatal(none, err)
		}
		if got, err := e.client.Band.LoadMany(ctx, nil); err != nil || len(got) != 0 {
			t.Errorf("LoadMany(nil): %v %v", got, err)
		}
		e.count.expect(t, "empty query; LoadMany(nil)", 1)
		if bands[0].Edges.Albums == nil || len(bands[0].Edges.Albums) != 3 {
			t.Errorf("Edges.Albums not filled: %v", bands[0].Edges.Albums)
		}
	})
}

// TestOtherEdgeKinds covers the edges that start elsewhere: M2O with a hidden
// FK (Track.album), the FK side of an O2O (Profile.band, hidden), M2M inverse
// (Person.bands), O2M from Label, and the edge schema's own M2O edges.
func TestOtherEdgeKinds(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		w := seed(t, e.client)
		bg := context.Background()
		ctx, scope := dataloader.NewScope(bg)
		defer scope.Close()

		eagerTracks, err := e.client.Track.Query().Order(track.ByID()).WithAlbum().All(bg)
		if err != nil {
			t.Fatal(err)
		}
		e.count.reset()
		tracks, err := e.client.Track.Query().Order(track.ByID()).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, tr := range tracks {
			a, err := tr.Album(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := optID(a, albumID), optID(eagerTracks[i].Edges.Album, albumID); got != want {
				t.Errorf("track %d album: got %s want %s", tr.ID, got, want)
			}
		}
		e.count.expect(t, "tracks + Track.album (hidden FK)", 2)
		if a, _ := tracks[len(tracks)-1].Album(ctx); a != nil {
			t.Errorf("orphan track has album %d", a.ID)
		}

		profiles, err := e.client.Profile.Query().All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range profiles {
			b, err := p.Band(ctx)
			if err != nil || b == nil {
				t.Fatalf("profile %d band: %v %v", p.ID, b, err)
			}
			if want := fmt.Sprintf("bio %d", slices.IndexFunc(w.bands, func(x *ent.Band) bool { return x.ID == b.ID })); p.Bio != want {
				t.Errorf("profile %q belongs to band %d", p.Bio, b.ID)
			}
		}
		e.count.expect(t, "profiles + Profile.band (O2O owner, hidden FK)", 2)

		people, err := e.client.Person.Query().WithBands().Order(func(s *sql.Selector) { s.OrderBy(s.C("id")) }).All(bg)
		if err != nil {
			t.Fatal(err)
		}
		e.count.reset()
		people2, err := e.client.Person.Query().Order(func(s *sql.Selector) { s.OrderBy(s.C("id")) }).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range people2 {
			bs, err := p.Bands(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fmt.Sprint(ids(bs, bandID)), fmt.Sprint(ids(people[i].Edges.Bands, bandID)); got != want {
				t.Errorf("person %d bands: %s want %s", p.ID, got, want)
			}
		}
		e.count.expect(t, "people + Person.bands (inverse M2M)", 2)

		labels, err := e.client.Label.Query().All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range labels {
			bs, err := l.BandsWith(ctx, ent.BandVariant{}) // Bands is a Relay connection (entgql)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range bs {
				if b.LabelID == nil || *b.LabelID != l.ID {
					t.Errorf("label %d lists band %d of label %v", l.ID, b.ID, b.LabelID)
				}
			}
		}
		e.count.expect(t, "labels + Label.bands", 2)

		resolveLinks := func(ctx context.Context) {
			links, err := e.client.Influence.Query().All(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range links {
				from, err := l.Band(ctx)
				if err != nil {
					t.Fatal(err)
				}
				to, err := l.Influenced(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if from.ID != l.BandID || to.ID != l.InfluencedID {
					t.Errorf("link %d→%d resolved to %d→%d", l.BandID, l.InfluencedID, from.ID, to.ID)
				}
			}
		}
		// The bands loaded above (Profile.band, Person.bands, Label.bands)
		// primed the Band loader: both M2O edges are served from it.
		resolveLinks(ctx)
		e.count.expect(t, "influences; Influence.band and .influenced primed", 1)
		// In a fresh scope: one statement per edge.
		ctx2, scope2 := dataloader.NewScope(bg)
		defer scope2.Close()
		resolveLinks(ctx2)
		e.count.expect(t, "influences + Influence.band + Influence.influenced", 3)
	})
}

// TestNested loads bands → albums → tracks → album and albums → reviews from
// concurrent goroutines: one statement per edge per level.
func TestNested(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		seed(t, e.client)
		for _, mode := range []string{"sequential", "goroutines", "scope.Go"} {
			t.Run(mode, func(t *testing.T) {
				ctx, scope := dataloader.NewScope(context.Background())
				defer scope.Close()
				e.count.reset()
				bands, err := e.client.Band.Query().All(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var (
					mu     sync.Mutex
					ntrack int
					nrev   int
				)
				visit := func(ctx context.Context, b *ent.Band) error {
					albums, err := b.Albums(ctx)
					if err != nil {
						return err
					}
					for _, a := range albums {
						tracks, err := a.Tracks(ctx)
						if err != nil {
							return err
						}
						for _, tr := range tracks {
							back, err := tr.Album(ctx)
							if err != nil {
								return err
							}
							if back.ID != a.ID {
								return fmt.Errorf("track %d: album %d, want %d", tr.ID, back.ID, a.ID)
							}
						}
						rs, err := a.Reviews(ctx)
						if err != nil {
							return err
						}
						mu.Lock()
						ntrack += len(tracks)
						nrev += len(rs)
						mu.Unlock()
					}
					return nil
				}
				errs := make(chan error, len(bands))
				switch mode {
				case "sequential":
					for _, b := range bands {
						errs <- visit(ctx, b)
					}
				case "goroutines":
					var wg sync.WaitGroup
					for _, b := range bands {
						wg.Go(func() { errs <- visit(ctx, b) })
					}
					wg.Wait()
				case "scope.Go":
					var wg sync.WaitGroup
					for _, b := range bands {
						wg.Add(1)
						scope.Go(ctx, func(ctx context.Context) { defer wg.Done(); errs <- visit(ctx, b) })
					}
					wg.Wait()
				}
				close(errs)
				for err := range errs {
					if err != nil {
						t.Fatal(err)
					}
				}
				if ntrack != 9 || nrev != 20 {
					t.Errorf("%d tracks and %d reviews, want 9 and 20", ntrack, nrev)
				}
				// bands, albums, tracks, reviews; track→album is served by
				// the Album loader, which the albums primed (the tracks'
				// loader selected their hidden FK). Load-set claims make
				// this hold for untracked goroutines too, whatever the
				// timing: the winner enqueues the whole set before the
				// others go on.
				e.count.expect(t, "nested", 4)
			})
		}
	})
}

// TestSequentialLoop: a plain for loop over 100 bands issues one statement
// per edge (load sets), whatever the timing.
func TestSequentialLoop(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		bg := context.Background()
		builders := make([]*ent.BandCreate, 100)
		for i := range builders {
			builders[i] = e.client.Band.Create().SetName(fmt.Sprint("band ", i))
		}
		bands, err := e.client.Band.CreateBulk(builders...).Save(bg)
		if err != nil {
			t.Fatal(err)
		}
		albums := make([]*ent.AlbumCreate, 0, 200)
		for i, b := range bands {
			for k := range i % 3 {
				albums = append(albums, e.client.Album.Create().SetTitle(fmt.Sprint(i, k)).SetYear(2000+k).SetBandID(b.ID))
			}
		}
		if _, err := e.client.Album.CreateBulk(albums...).Save(bg); err != nil {
			t.Fatal(err)
		}
		ctx, scope := dataloader.NewScope(bg)
		defer scope.Close()
		e.count.reset()
		bands, err = e.client.Band.Query().All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, b := range bands {
			as, err := b.Albums(ctx)
			if err != nil {
				t.Fatal(err)
			}
			total += len(as)
			n, err := b.AlbumsCount(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(as) {
				t.Errorf("band %d: AlbumsCount %d, Albums %d", b.ID, n, len(as))
			}
		}
		if total != len(albums) {
			t.Errorf("%d albums, want %d", total, len(albums))
		}
		e.count.expect(t, "bands, albums, album counts", 3)
		if st := scope.Stats(); st.Batches != 2 {
			t.Errorf("stats: %+v", st)
		}
	})
}

// TestVariants: per-parent limit and order, filters, counts.
func TestVariants(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		w := seed(t, e.client)
		bg := context.Background()
		ctx, scope := dataloader.NewScope(bg)
		defer scope.Close()
		bands, err := e.client.Band.Query().Order(band.ByID()).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e.count.reset()
		newest2 := ent.AlbumVariant{Order: []album.OrderOption{album.ByYear(sql.OrderDesc())}, Limit: 2}
		for _, b := range bands {
			got, err := b.AlbumsWith(ctx, newest2)
			if err != nil {
				t.Fatal(err)
			}
			want, err := e.client.Album.Query().Where(album.BandID(b.ID)).Order(album.ByYear(sql.OrderDesc())).Limit(2).All(bg)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(years(got)) != fmt.Sprint(years(want)) {
				t.Errorf("band %d newest 2: %v, want %v", b.ID, years(got), years(want))
			}
		}
		e.count.expect(t, "per-parent limit (plus one reference query per band)", 1+len(bands))

		// The same variant again, built anew: cached.
		for _, b := range bands {
			if _, err := b.AlbumsWith(ctx, ent.AlbumVariant{Order: []album.OrderOption{album.ByYear(sql.OrderDesc())}, Limit: 2}); err != nil {
				t.Fatal(err)
			}
		}
		e.count.expect(t, "same variant again", 0)

		// Filter + order without limit; members filter on M2M.
		for _, b := range bands {
			got, err := b.AlbumsWith(ctx, ent.AlbumVariant{Where: []predicate.Album{album.YearGTE(2002)}, Order: []album.OrderOption{album.ByYear()}})
			if err != nil {
				t.Fatal(err)
			}
			for i, a := range got {
				if a.Year < 2002 || i > 0 && got[i-1].Year > a.Year {
					t.Errorf("band %d filtered/ordered albums: %v", b.ID, years(got))
				}
			}
		}
		e.count.expect(t, "filter + order", 1)

		// Limit on M2M: first member by name.
		for _, b := range bands {
			ps, err := b.MembersWith(ctx, ent.PersonVariant{Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) > 1 {
				t.Errorf("band %d: %d members with limit 1", b.ID, len(ps))
			}
		}
		e.count.expect(t, "M2M per-parent limit", 1)

		// Counts with a filter.
		for i, b := range bands {
			n, err := b.AlbumsCount(ctx, album.YearLT(2002))
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			for _, a := range w.albums {
				if a.BandID == w.bands[i].ID && a.Year < 2002 {
					want++
				}
			}
			if n != want {
				t.Errorf("band %d: %d albums before 2002, want %d", b.ID, n, want)
			}
			if m, err := b.MembersCount(ctx); err != nil || m != []int{2, 2, 1, 0, 3, 0}[i] {
				t.Errorf("band %d: MembersCount %d %v", b.ID, m, err)
			}
		}
		e.count.expect(t, "filtered album counts + member counts", 2)

		if _, err := bands[0].AlbumsWith(ctx, ent.AlbumVariant{Limit: -1}); !errors.Is(err, entloader.ErrVariant) {
			t.Errorf("negative limit: %v", err)
		}
		// An order the window function cannot take: the error says what to
		// do, in the caller's terms, without a rendered statement.
		_, err = bands[0].AlbumsWith(ctx, ent.AlbumVariant{Limit: 1, Order: []album.OrderOption{album.ByTracksCount()}})
		if !errors.Is(err, entloader.ErrVariant) || strings.Contains(err.Error(), "SELECT") || !strings.Contains(err.Error(), "albums") {
			t.Errorf("order by an edge count: %v", err)
		}
	})
}

func years(as []*ent.Album) []int {
	out := make([]int, len(as))
	for i, a := range as {
		out[i] = a.Year
	}
	return out
}

// TestMutationThenLoad: writes through the client in the scope clear the
// affected loaders, so later loads see them.
func TestMutationThenLoad(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		w := seed(t, e.client)
		ctx, scope := dataloader.NewScope(context.Background())
		defer scope.Close()
		bands, err := e.client.Band.Query().Order(band.ByID()).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b := bands[3] // no albums, no members
		as, err := b.Albums(ctx)
		if err != nil || len(as) != 0 {
			t.Fatalf("albums: %v %v", as, err)
		}
		n, _ := b.AlbumsCount(ctx)
		if _, err := e.client.Album.Create().SetTitle("new").SetYear(2024).SetBandID(b.ID).Save(ctx); err != nil {
			t.Fatal(err)
		}
		as, err = b.Albums(ctx)
		if err != nil || len(as) != 1 || as[0].Title != "new" {
			t.Fatalf("albums after create: %v %v", as, err)
		}
		if m, _ := b.AlbumsCount(ctx); m != n+1 {
			t.Errorf("count after create: %d, want %d", m, n+1)
		}
		if err := e.client.Band.UpdateOne(b).AddMembers(w.people[2]).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		ps, err := b.Members(ctx)
		if err != nil || len(ps) != 1 || ps[0].ID != w.people[2].ID {
			t.Fatalf("members after update: %v %v", ps, err)
		}
		p, err := e.client.Person.Load(ctx, w.people[2].ID)
		if err != nil {
			t.Fatal(err)
		}
		pb, err := p.Bands(ctx)
		if err != nil || !slices.ContainsFunc(pb, func(x *ent.Band) bool { return x.ID == b.ID }) {
			t.Errorf("person's bands after update: %v %v", ids(pb, bandID), err)
		}
		if err := e.client.Album.DeleteOneID(as[0].ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if as, _ := b.Albums(ctx); len(as) != 0 {
			t.Errorf("albums after delete: %d", len(as))
		}
	})
}

// TestEdgeSchemaWritesClearBothDirections: creating or deleting a row of an
// edge schema (Influence, the Through of Band.influenced, whose inverse is
// Band.influences) clears the loaders of both directions, their counts and
// the edge-schema rows, so later loads in the scope see the write. (Before,
// only the loaders of the edge that names Through were cleared:
// Band.influences and its count stayed stale.)
func TestEdgeSchemaWritesClearBothDirections(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		w := seed(t, e.client)
		ctx, scope := dataloader.NewScope(context.Background())
		defer scope.Close()
		bands, err := e.client.Band.Query().Order(band.ByID()).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		from, to := bands[3], bands[1] // b3 has no influences; b1 is influenced by b0
		type state struct{ influences, influenced, links, influencesCount, influencedCount string }
		read := func() state {
			t.Helper()
			infl, err1 := from.Influences(ctx)
			by, err2 := to.Influenced(ctx)
			links, err3 := to.InfluenceLinks(ctx) // the rows that name to as influenced (the Through is on Band.influenced)
			n1, err4 := from.InfluencesCount(ctx)
			n2, err5 := to.InfluencedCount(ctx)
			if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
				t.Fatal(err)
			}
			return state{fmt.Sprint(ids(infl, bandID)), fmt.Sprint(ids(by, bandID)), renderLinks(links), fmt.Sprint(n1), fmt.Sprint(n2)}
		}
		before := read()
		want := state{"[]", fmt.Sprint([]int{w.bands[0].ID}), fmt.Sprintf("[%d→%d 0→1]", w.bands[0].ID, to.ID), "0", "1"}
		if before != want {
			t.Fatalf("before: %+v, want %+v", before, want)
		}
		if err := e.client.Influence.Create().SetBandID(from.ID).SetInfluencedID(to.ID).SetNote("3→1").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		want = state{
			fmt.Sprint([]int{to.ID}),
			fmt.Sprint(ids([]*ent.Band{w.bands[0], from}, bandID)),
			fmt.Sprintf("[%d→%d 0→1 %d→%d 3→1]", w.bands[0].ID, to.ID, from.ID, to.ID),
			"1", "2",
		}
		if got := read(); got != want {
			t.Errorf("after creating an Influence: %+v, want %+v", got, want)
		}
		if _, err := e.client.Influence.Delete().Where(influence.BandID(from.ID), influence.InfluencedID(to.ID)).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if got := read(); got != before {
			t.Errorf("after deleting it: %+v, want %+v", got, before)
		}
	})
}

// TestTransaction: a transactional client loads through its transaction (it
// sees its own uncommitted rows) and never shares a batch or cache with the
// plain client.
func TestTransaction(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		seed(t, e.client)
		ctx, scope := dataloader.NewScope(context.Background())
		defer scope.Close()
		tx, err := e.client.Tx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		txBands, err := tx.Band.Query().Order(band.ByID()).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Album.Create().SetTitle("in tx").SetYear(2030).SetBandID(txBands[3].ID).Save(ctx); err != nil {
			t.Fatal(err)
		}
		if e.db.Dialect == "sqlite" {
			// SQLite allows one writer; the plain client would wait for the
			// transaction. Check the transactional side only.
			as, err := txBands[3].Albums(ctx)
			if err != nil || len(as) != 1 {
				t.Fatalf("tx albums: %v %v", as, err)
			}
			return
		}
		bands, err := e.client.Band.Query().Order(band.ByID()).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e.count.reset()
		var wg sync.WaitGroup
		var txAlbums, plainAlbums []*ent.Album
		var err1, err2 error
		wg.Go(func() { txAlbums, err1 = txBands[3].Albums(ctx) })
		wg.Go(func() { plainAlbums, err2 = bands[3].Albums(ctx) })
		wg.Wait()
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if len(txAlbums) != 1 || len(plainAlbums) != 0 {
			t.Errorf("tx sees %d albums (want 1), plain client %d (want 0)", len(txAlbums), len(plainAlbums))
		}
		e.count.expect(t, "one statement per partition", 2)
	})
}

// TestPrivacy: the batch runs with the scope's viewer: two concurrent scopes
// of different viewers never see each other's reviews.
func TestPrivacy(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		seed(t, e.client)
		run := func(who string) error {
			ctx, scope := dataloader.NewScope(viewer.NewContext(context.Background(), who))
			defer scope.Close()
			albums, err := e.client.Album.Query().All(ctx)
			if err != nil {
				return err
			}
			var wg sync.WaitGroup
			errs := make(chan error, len(albums))
			for _, a := range albums {
				wg.Go(func() {
					rs, err := a.Reviews(ctx)
					if err != nil {
						errs <- err
						return
					}
					if len(rs) != 1 {
						errs <- fmt.Errorf("%s sees %d reviews of album %d, want 1", who, len(rs), a.ID)
					}
					for _, r := range rs {
						if r.Author != who {
							errs <- fmt.Errorf("%s sees %s's review %d", who, r.Author, r.ID)
						}
					}
					n, err := a.ReviewsCount(ctx)
					if err == nil && n != 1 {
						err = fmt.Errorf("%s counts %d reviews of album %d, want 1", who, n, a.ID)
					}
					if err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			return <-errs
		}
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			who := []string{"alice", "bob"}[i%2]
			wg.Go(func() { errs <- run(who) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		// Without a viewer, everything.
		ctx, scope := dataloader.NewScope(context.Background())
		defer scope.Close()
		a, err := e.client.Album.Query().Where(album.HasReviews()).First(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rs, _ := a.Reviews(ctx); len(rs) != 2 {
			t.Errorf("no viewer: %d reviews", len(rs))
		}
		_ = review.Label
	})
}

// TestQueryUnderPrivacyDecisionDoesNotPrime: query results prime the
// primary-key loader that many-to-one edges use (an album's band is then no
// statement), but not the rows of a query run under a privacy decision: a
// system query with privacy.Allow may read rows the viewer's loads, which
// run under the scope's context, would not.
func TestQueryUnderPrivacyDecisionDoesNotPrime(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		seed(t, e.client)
		for _, c := range []struct {
			name   string
			bandsQ func(context.Context) context.Context
			want   int // statements of the albums' bands
		}{
			{"plain query", func(ctx context.Context) context.Context { return ctx }, 0},
			{"under privacy.Allow", func(ctx context.Context) context.Context { return privacy.DecisionContext(ctx, privacy.Allow) }, 1},
		} {
			ctx, scope := dataloader.NewScope(viewer.NewContext(context.Background(), "alice"))
			if _, err := e.client.Band.Query().All(c.bandsQ(ctx)); err != nil {
				t.Fatal(err)
			}
			albums, err := e.client.Album.Query().All(ctx)
			if err != nil {
				t.Fatal(err)
			}
			e.count.reset()
			for _, a := range albums {
				b, err := a.Band(ctx)
				if err != nil || b.ID != a.BandID {
					t.Fatalf("%s: album %d: band %v, %v", c.name, a.ID, b, err)
				}
			}
			e.count.expect(t, c.name, c.want)
			scope.Close()
		}
	})
}

// TestPrimaryKeyLoader: Client.Load batches concurrent lookups.
func TestPrimaryKeyLoader(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		w := seed(t, e.client)
		ctx, scope := dataloader.NewScope(context.Background())
		defer scope.Close()
		e.count.reset()
		// Tracked goroutines (scope.Go): no load set ties these lookups
		// together, the tick does.
		// The spawning goroutine is a worker too, so that no batch starts
		// before every lookup has been started.
		var wg sync.WaitGroup
		spawn, end := scope.StartWorker(ctx)
		for _, b := range w.bands {
			wg.Add(1)
			scope.Go(spawn, func(ctx context.Context) {
				defer wg.Done()
				got, err := e.client.Band.Load(ctx, b.ID)
				if err != nil || got.Name != b.Name {
					t.Errorf("Load(%d): %v %v", b.ID, got, err)
				}
			})
		}
		end()
		wg.Wait()
		e.count.expect(t, "concurrent Load", 1)
		_, err := e.client.Band.Load(ctx, -1)
		if !ent.IsNotFound(err) {
			t.Errorf("Load(-1): %v", err)
		}
		got, err := e.client.Band.LoadMany(ctx, []int{w.bands[1].ID, w.bands[0].ID, w.bands[1].ID})
		if err != nil || len(got) != 3 || got[0].ID != w.bands[1].ID || got[1].ID != w.bands[0].ID || got[0] != got[2] {
			t.Errorf("LoadMany with duplicates: %v %v", got, err)
		}
		e.count.expect(t, "missing id; LoadMany from cache", 1)
	})
}

// TestEagerLoadedEdgesWin: the accessor returns the eager-loaded edge without
// a statement.
func TestEagerLoadedEdgesWin(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		seed(t, e.client)
		ctx, scope := dataloader.NewScope(context.Background())
		defer scope.Close()
		bands, err := e.client.Band.Query().WithAlbums(func(q *ent.AlbumQuery) { q.WithTracks() }).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e.count.reset()
		for _, b := range bands {
			as, err := b.Albums(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range as {
				if _, err := a.Tracks(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := a.Reviews(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Reviews were not eager-loaded: one statement for all albums,
		// because the eager-loaded albums are a load set too.
		e.count.expect(t, "eager albums and tracks, batched reviews", 1)
	})
}

// TestNoScope: without a scope the accessors still work (unbatched).
func TestNoScope(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		seed(t, e.client)
		ctx := context.Background()
		bands, err := e.client.Band.Query().Order(band.ByID()).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		as, err := bands[0].Albums(ctx)
		if err != nil || len(as) != 3 {
			t.Fatalf("albums without scope: %d %v", len(as), err)
		}
		if _, err := (&ent.Band{}).Albums(ctx); err == nil {
			t.Error("a Band not loaded through a client: no error")
		}
	})
}

// TestHiddenFKNotSelected: an M2O edge without an edge field loads even when
// the query did not select the hidden FK column (ent's own eager loading
// needs it), because its loader joins through the child's primary key.
func TestHiddenFKNotSelected(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		w := seed(t, e.client)
		ctx, scope := dataloader.NewScope(context.Background())
		defer scope.Close()
		tracks, err := e.client.Track.Query().Select(track.FieldTitle).Order(track.ByID()).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e.count.reset()
		for i, tr := range tracks {
			a, err := tr.Album(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want, err := w.tracks[i].QueryAlbum().Only(context.Background())
			if ent.IsNotFound(err) {
				want, err = nil, nil
			}
			if err != nil {
				t.Fatal(err)
			}
			if optID(a, albumID) != optID(want, albumID) {
				t.Errorf("track %d: album %s, want %s", tr.ID, optID(a, albumID), optID(want, albumID))
			}
			e.count.reset() // the reference queries
		}
		// Duplicated targets (several tracks of one album) are one node.
		a0, _ := tracks[1].Album(ctx)
		a1, _ := tracks[2].Album(ctx)
		if a0 == nil || a0 != a1 {
			t.Errorf("tracks of one album got different nodes: %p %p", a0, a1)
		}
	})
}

// TestManyParents: 40 000 parents in one load set are loaded in the fewest
// statements the bind-parameter limit allows (SQLite 32 766 → 2; PostgreSQL
// and MySQL 65 535 → 1).
func TestManyParents(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const n = 40000
	each(t, func(t *testing.T, e *env) {
		bg := context.Background()
		for start := 0; start < n; start += 2000 {
			builders := make([]*ent.BandCreate, 2000)
			for i := range builders {
				builders[i] = e.client.Band.Create().SetName(fmt.Sprint("band ", start+i))
			}
			bands, err := e.client.Band.CreateBulk(builders...).Save(bg)
			if err != nil {
				t.Fatal(err)
			}
			albums := make([]*ent.AlbumCreate, 0, 200)
			for i := 0; i < len(bands); i += 10 {
				albums = append(albums, e.client.Album.Create().SetTitle("a").SetYear(2000).SetBandID(bands[i].ID))
			}
			if _, err := e.client.Album.CreateBulk(albums...).Save(bg); err != nil {
				t.Fatal(err)
			}
		}
		ctx, scope := dataloader.NewScope(bg)
		defer scope.Close()
		e.count.reset()
		bands, err := e.client.Band.Query().All(ctx)
		if err != nil || len(bands) != n {
			t.Fatalf("%d bands, %v", len(bands), err)
		}
		e.count.reset()
		total := 0
		for _, b := range bands {
			as, err := b.Albums(ctx)
			if err != nil {
				t.Fatal(err)
			}
			total += len(as)
		}
		if total != n/10 {
			t.Errorf("%d albums, want %d", total, n/10)
		}
		want := map[string]int{"sqlite": 2, "postgres": 1, "mysql": 1}[e.db.Dialect]
		e.count.expect(t, "40 000 parents", want)
	})
}

// TestCommitClears: a write in a transaction clears the loaders again at
// commit, so a plain-client load between the write and the commit (which
// cannot see the write yet) is not served from the cache afterwards. Also
// for a write through the transaction's Debug() client, whose mutations'
// Tx() does not see the transaction under the Debug driver.
func TestCommitClears(t *testing.T) {
	log.SetOutput(io.Discard) // Debug() logs every statement
	t.Cleanup(func() { log.SetOutput(os.Stderr) })
	for _, debug := range []bool{false, true} {
		t.Run(fmt.Sprintf("debug=%v", debug), func(t *testing.T) {
			each(t, func(t *testing.T, e *env) {
				w := seed(t, e.client)
				ctx, scope := dataloader.NewScope(context.Background())
				defer scope.Close()
				b, err := e.client.Band.Load(ctx, w.bands[3].ID)
				if err != nil {
					t.Fatal(err)
				}
				tx, err := e.client.Tx(ctx)
				if err != nil {
					t.Fatal(err)
				}
				writer := tx.Client()
				if debug {
					writer = writer.Debug()
				}
				if _, err := writer.Album.Create().SetTitle("tx").SetYear(2031).SetBandID(b.ID).Save(ctx); err != nil {
					t.Fatal(err)
				}
				if as, err := b.Albums(ctx); err != nil || len(as) != 0 {
					t.Fatalf("before commit: %d %v", len(as), err)
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				if as, err := b.Albums(ctx); err != nil || len(as) != 1 {
					t.Fatalf("after commit: %d albums, %v; want the one the transaction wrote", len(as), err)
				}
			})
		})
	}
}

// TestNilForeignKeys: M2O edges whose edge field is NULL load nothing and
// issue no statement.
func TestNilForeignKeys(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		seed(t, e.client)
		ctx, scope := dataloader.NewScope(context.Background())
		defer scope.Close()
		bands, err := e.client.Band.Query().Where(band.LabelIDIsNil()).All(ctx)
		if err != nil || len(bands) != 3 {
			t.Fatalf("%d bands without label, %v", len(bands), err)
		}
		e.count.reset()
		for _, b := range bands {
			l, err := b.Label(ctx)
			if err != nil || l != nil {
				t.Errorf("band %d label: %v %v", b.ID, l, err)
			}
			// Edges now says "loaded, not found", as eager loading would.
			if _, err := b.Edges.LabelOrErr(); !ent.IsNotFound(err) {
				t.Errorf("band %d: Edges.LabelOrErr: %v", b.ID, err)
			}
		}
		e.count.expect(t, "nil FKs", 0)
	})
}

// Two query results that share rows (two root fields a: bands(first: 2)
// and b: bands(first: 100)) prime the bands' loader with the nodes of the
// larger one, whichever returned first: the albums' bands are then b's
// nodes, and their labels one statement. With a's nodes for the first two
// bands (the first result primed them), their labels were a statement of
// their own, and the other bands' labels a second one.
func TestOverlappingResultsPrimeTheLargerSet(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		w := seed(t, e.client)
		bg := context.Background()
		for i, b := range w.bands {
			e.client.Album.Create().SetTitle(fmt.Sprint("x", i)).SetYear(2000).SetBand(b).SaveX(bg)
		}
		ctx, scope := dataloader.NewScope(bg)
		defer scope.Close()
		few, err := e.client.Band.Query().Order(ent.Asc(band.FieldID)).Limit(2).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		all, err := e.client.Band.Query().Order(ent.Asc(band.FieldID)).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		albums, err := e.client.Album.Query().Where(album.TitleHasPrefix("x")).Order(ent.Asc(album.FieldID)).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e.count.reset()
		for i, a := range albums {
			b, err := a.Band(ctx)
			if err != nil || b.ID != w.bands[i].ID {
				t.Fatalf("album %d's band: %v, %v", a.ID, b, err)
			}
			if b != all[i] {
				t.Errorf("album %d's band is not the node of the larger result", a.ID)
			}
			l, err := b.Label(ctx)
			want := w.bands[i].LabelID
			if err != nil || (want == nil) != (l == nil) || want != nil && l.ID != *want {
				t.Errorf("band %d's label: %v, %v; want %v", b.ID, l, err, want)
			}
		}
		e.count.expect(t, "the albums' bands from the cache, their labels", 1)
		if few[0] == all[0] {
			t.Fatal("the two results share nodes: the test does not test anything")
		}
	})
}
