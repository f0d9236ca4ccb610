package entloader_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"go.uber.org/goleak"

	"github.com/ormloader/ormloader/ent"
	_ "github.com/ormloader/ormloader/ent/runtime" // privacy policies
	"github.com/ormloader/ormloader/internal/testdb"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// database/sql's connection opener of pools that tests closed may
		// still be returning when goleak looks.
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
	)
}

// counter is a dialect.Driver that counts the statements that reach the
// database (queries, not execs), inside transactions too.
type counter struct {
	dialect.Driver
	mu      sync.Mutex
	queries []string
}

func (c *counter) record(q string) {
	c.mu.Lock()
	c.queries = append(c.queries, q)
	c.mu.Unlock()
}

func (c *counter) Query(ctx context.Context, q string, args, v any) error {
	c.record(q)
	return c.Driver.Query(ctx, q, args, v)
}

func (c *counter) Tx(ctx context.Context) (dialect.Tx, error) {
	tx, err := c.Driver.Tx(ctx)
	if err != nil {
		return nil, err
	}
	return &countingTx{Tx: tx, c: c}, nil
}

type countingTx struct {
	dialect.Tx
	c *counter
}

func (t *countingTx) Query(ctx context.Context, q string, args, v any) error {
	t.c.record(q)
	return t.Tx.Query(ctx, q, args, v)
}

// reset forgets the statements so far.
func (c *counter) reset() {
	c.mu.Lock()
	c.queries = nil
	c.mu.Unlock()
}

// n returns the number of statements since the last reset.
func (c *counter) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queries)
}

// first returns the first statement since the last reset ("" for none).
func (c *counter) first() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queries) == 0 {
		return ""
	}
	return c.queries[0]
}

func (c *counter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for i, q := range c.queries {
		if len(q) > 300 {
			q = q[:300] + "..."
		}
		fmt.Fprintf(&b, "  %d: %s\n", i+1, q)
	}
	return b.String()
}

// expect fails the test unless exactly want statements ran since the last
// reset, and resets.
func (c *counter) expect(t *testing.T, what string, want int) {
	t.Helper()
	if got := c.n(); got != want {
		t.Errorf("%s: %d statements, want %d:\n%s", what, got, want, c)
	}
	c.reset()
}

var entDialects = map[string]string{"sqlite": dialect.SQLite, "postgres": dialect.Postgres, "mysql": dialect.MySQL}

// env is one database with a migrated schema and a counting client.
type env struct {
	db     testdb.DB
	client *ent.Client
	count  *counter
}

// each runs fn on every available database.
func each(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, db := range testdb.All(t) {
		t.Run(db.Dialect, func(t *testing.T) {
			fn(t, open(t, db))
		})
	}
}

func open(t testing.TB, db testdb.DB) *env {
	t.Helper()
	sqldb, err := sql.Open(db.DriverName, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{Driver: entsql.OpenDB(entDialects[db.Dialect], sqldb)}
	client := ent.NewClient(ent.Driver(c))
	t.Cleanup(func() { client.Close() })
	if err := client.Schema.Create(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	c.reset()
	return &env{db: db, client: client, count: c}
}

// world is the small data set most tests use. IDs are in creation order.
type world struct {
	labels  []*ent.Label
	bands   []*ent.Band
	people  []*ent.Person
	albums  []*ent.Album
	tracks  []*ent.Track
	reviews []*ent.Review
}

// seed creates: 2 labels; 6 bands (b0,b1 on label 0, b2 on label 1, b3-b5
// without label); members b0{p0,p1} b1{p1,p2} b2{p3} b4{p4,p5,p0}; albums
// per band 3,1,2,0,4,0; album i has i%3 tracks, plus one track without
// album; profiles for b0, b2, b4; influences b0→b1, b0→b2, b1→b2, b4→b0;
// two reviews per album, by alice and bob.
func seed(t *testing.T, c *ent.Client) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		l, err := c.Label.Create().SetName(fmt.Sprintf("label %d", i)).Save(ctx)
		must(err)
		w.labels = append(w.labels, l)
	}
	for i := range 6 {
		p, err := c.Person.Create().SetName(fmt.Sprintf("person %d", i)).SetInstrument("guitar").Save(ctx)
		must(err)
		w.people = append(w.people, p)
	}
	members := [][]int{{0, 1}, {1, 2}, {3}, {}, {4, 5, 0}, {}}
	labels := []int{0, 0, 1, -1, -1, -1}
	for i := range 6 {
		bc := c.Band.Create().SetName(fmt.Sprintf("band %d", i)).SetFormed(1990 + i)
		if labels[i] >= 0 {
			bc.SetLabelID(w.labels[labels[i]].ID)
		}
		for _, p := range members[i] {
			bc.AddMembers(w.people[p])
		}
		b, err := bc.Save(ctx)
		must(err)
		w.bands = append(w.bands, b)
	}
	years := [][]int{{2001, 2003, 2002}, {1999}, {2010, 2011}, {}, {1980, 1985, 1983, 1981}, {}}
	for bi, ys := range years {
		for _, y := range ys {
			a, err := c.Album.Create().SetTitle(fmt.Sprintf("album %d/%d", bi, y)).SetYear(y).SetBand(w.bands[bi]).Save(ctx)
			must(err)
			w.albums = append(w.albums, a)
		}
	}
	for ai, a := range w.albums {
		for k := range ai % 3 {
			tr, err := c.Track.Create().SetTitle(fmt.Sprintf("track %d.%d", ai, k)).SetPosition(k + 1).SetAlbum(a).Save(ctx)
			must(err)
			w.tracks = append(w.tracks, tr)
		}
		for _, who := range []string{"alice", "bob"} {
			r, err := c.Review.Create().SetAuthor(who).SetBody(who + " on " + a.Title).SetAlbum(a).Save(ctx)
			must(err)
			w.reviews = append(w.reviews, r)
		}
	}
	orphan, err := c.Track.Create().SetTitle("orphan").SetPosition(1).Save(ctx)
	must(err)
	w.tracks = append(w.tracks, orphan)
	for _, bi := range []int{0, 2, 4} {
		_, err := c.Profile.Create().SetBio(fmt.Sprintf("bio %d", bi)).SetBand(w.bands[bi]).Save(ctx)
		must(err)
	}
	for _, in := range [][2]int{{0, 1}, {0, 2}, {1, 2}, {4, 0}} {
		_, err := c.Influence.Create().SetBandID(w.bands[in[0]].ID).SetInfluencedID(w.bands[in[1]].ID).SetNote(fmt.Sprintf("%d→%d", in[0], in[1])).Save(ctx)
		must(err)
	}
	return w
}

// ids returns the sorted IDs of nodes.
func ids[N any](nodes []N, id func(N) int) []int {
	out := make([]int, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, id(n))
	}
	slices.Sort(out)
	return out
}
