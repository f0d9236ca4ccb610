package relations_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/relations"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type myString string

func TestKeyEquality(t *testing.T) {
	one := int64(1)
	now := time.Now()
	tests := []struct {
		name  string
		a, b  []any
		equal bool
	}{
		{"int kinds", []any{int(1)}, []any{uint8(1)}, true},
		{"pointer", []any{&one}, []any{1}, true},
		{"sql.Null", []any{sql.NullInt64{Int64: 1, Valid: true}}, []any{int32(1)}, true},
		{"named string", []any{myString("a")}, []any{"a"}, true},
		{"time location and monotonic", []any{now}, []any{now.In(time.FixedZone("x", 3600)).Round(0)}, true},
		{"int vs string", []any{1}, []any{"1"}, false},
		{"bytes vs string", []any{[]byte("a")}, []any{"a"}, false},
		{"joined parts do not collide", []any{"a", "b,c"}, []any{"a,b", "c"}, false},
		{"separator lookalike", []any{"a|b", "c"}, []any{"a", "b|c"}, false},
		{"width", []any{1}, []any{1, 1}, false},
		{"composite equal", []any{1, "x"}, []any{int16(1), myString("x")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := relations.MakeKey(tt.a...)
			if err != nil {
				t.Fatal(err)
			}
			b, err := relations.MakeKey(tt.b...)
			if err != nil {
				t.Fatal(err)
			}
			if (a == b) != tt.equal {
				t.Fatalf("%v == %v: got %v, want %v", a, b, a == b, tt.equal)
			}
		})
	}
}

func TestKeyErrors(t *testing.T) {
	var nilPtr *int64
	tests := []struct {
		name string
		vals []any
		want error
	}{
		{"nil", []any{nil}, relations.ErrNullKey},
		{"nil pointer", []any{nilPtr}, relations.ErrNullKey},
		{"invalid NullInt64", []any{sql.NullInt64{}}, relations.ErrNullKey},
		{"null part of composite", []any{1, nil}, relations.ErrNullKey},
		{"slice", []any{[]int{1}}, relations.ErrKeyType},
		{"too wide", []any{1, 2, 3, 4, 5}, relations.ErrKeyType},
		{"empty", nil, relations.ErrKeyType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := relations.MakeKey(tt.vals...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestKeyValues(t *testing.T) {
	k := relations.MustKey(uint(7), []byte("ab"), "s")
	vals := k.Values()
	if vals[0] != int64(7) || string(vals[1].([]byte)) != "ab" || vals[2] != "s" {
		t.Fatalf("Values() = %#v", vals)
	}
	if got := k.String(); got != `(7, []byte{0x61, 0x62}, "s")` {
		t.Fatalf("String() = %s", got)
	}
}

func TestChunks(t *testing.T) {
	keys := make([]int, 40000)
	tests := []struct {
		name                   string
		n, limit, width, resvd int
		want                   []int
	}{
		{"empty: no statement", 0, 32766, 1, 0, nil},
		{"fits", 10, 32766, 1, 0, []int{10}},
		{"sqlite 40000", 40000, 32766, 1, 0, []int{20000, 20000}},
		{"postgres 40000", 40000, 65535, 1, 0, []int{40000}},
		{"postgres composite 40000", 40000, 65535, 2, 0, []int{20000, 20000}},
		{"reserved params", 32766, 32766, 1, 1, []int{16383, 16383}},
		{"uneven", 7, 9, 3, 0, []int{3, 2, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks, err := relations.Chunks(keys[:tt.n], tt.limit, tt.width, tt.resvd)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, c := range chunks {
				got = append(got, len(c))
				if len(c)*tt.width+tt.resvd > tt.limit {
					t.Fatalf("chunk of %d exceeds the limit", len(c))
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("sizes %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := relations.Chunks(keys[:1], 3, 2, 2); err == nil {
		t.Fatal("want an error when one key cannot fit")
	}
}

func TestPartitionAndFetch(t *testing.T) {
	tx := new(int)
	k := relations.MustKey
	lim, _ := relations.NewVariant(2, "year", false, "")
	keys := []relations.BatchKey{
		{Parent: k(1)}, {Parent: k(2)}, {Parent: k(1)}, // duplicate
		{Part: relations.Part{Conn: tx}, Parent: k(1)},
		{Part: relations.NewPart(context.Background(), nil, lim), Parent: k(2)},
		// Made apart (no scope), the same variant: the same partition.
		{Part: relations.NewPart(context.Background(), nil, lim), Parent: k(3)},
		{Part: relations.NewPart(context.Background(), nil, lim), Parent: k(2)}, // duplicate
	}
	groups := relations.Partition(keys)
	if len(groups) != 3 || len(groups[0].Keys) != 2 || len(groups[1].Keys) != 1 || len(groups[2].Keys) != 2 {
		t.Fatalf("groups = %+v", groups)
	}
	calls := 0
	vals, errs, err := relations.Fetch(context.Background(), keys, func(_ context.Context, p relations.Part, parents []relations.Key) (map[relations.Key]string, error) {
		calls++
		m := map[relations.Key]string{}
		for _, pk := range parents {
			m[pk] = fmt.Sprintf("%v/%v/%v", p.Conn != nil, p.Variant().Limit, pk)
		}
		return m, nil
	})
	if errs != nil || err != nil || calls != 3 {
		t.Fatalf("errs %v, err %v, calls %d", errs, err, calls)
	}
	want := []string{"false/0/1", "false/0/2", "false/0/1", "true/0/1", "false/2/2", "false/2/3", "false/2/2"}
	if fmt.Sprint(vals) != fmt.Sprint(want) {
		t.Fatalf("vals %v, want %v", vals, want)
	}
	// A failing partition fails its own keys only.
	boom := errors.New("boom")
	vals, errs, err = relations.Fetch(context.Background(), keys, func(_ context.Context, p relations.Part, parents []relations.Key) (map[relations.Key]string, error) {
		if p.Conn != nil {
			return nil, boom
		}
		return map[relations.Key]string{parents[0]: "ok"}, nil
	})
	if err != nil || len(errs) != len(keys) {
		t.Fatalf("err %v, errs %v", err, errs)
	}
	for i, k := range keys {
		if failed := errors.Is(errs[i], boom); failed != (k.Conn != nil) {
			t.Errorf("key %d (%+v): err %v", i, k, errs[i])
		}
	}
	if vals[0] != "ok" {
		t.Errorf("the other partitions load: %v", vals)
	}
}

// TestNewPart: in one scope, equal variants make equal parts (one batch,
// one cache entry), different variants or connections different ones, and
// a part reads back its variant; the batch key stays a few words.
func TestNewPart(t *testing.T) {
	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()
	tx := new(int)
	lim := func(n int, where string, args ...any) relations.Variant {
		v, err := relations.NewVariant(n, "year", false, where, args...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	a, b := relations.NewPart(ctx, nil, lim(2, "year > ?", 1990)), relations.NewPart(ctx, nil, lim(2, "year > ?", 1990))
	if a != b {
		t.Fatal("equal variants in one scope made different parts")
	}
	for _, other := range []relations.Part{
		relations.NewPart(ctx, nil, lim(3, "year > ?", 1990)),
		relations.NewPart(ctx, nil, lim(2, "year > ?", 1991)),
		relations.NewPart(ctx, tx, lim(2, "year > ?", 1990)),
		relations.NewPart(ctx, nil, relations.Variant{}),
	} {
		if other == a {
			t.Fatalf("%+v equals %+v", other.Variant(), a.Variant())
		}
	}
	if got := a.Variant(); got != lim(2, "year > ?", 1990) {
		t.Fatalf("Variant() = %v", got)
	}
	if (relations.NewPart(ctx, tx, relations.Variant{}) != relations.Part{Conn: tx}) || !(relations.Part{}).Variant().IsZero() {
		t.Fatal("the zero variant is not the zero Part's")
	}
	// Without a scope a part is its own: it batches with nothing anyway.
	if p := relations.NewPart(context.Background(), nil, lim(2, "")); p.Variant() != lim(2, "") {
		t.Fatalf("Variant() = %v", p.Variant())
	}
	// A NaN argument equals nothing, itself included: such a part batches
	// with nothing and adds nothing to the scope's table.
	nan := relations.NewPart(ctx, nil, lim(2, "score > ?", math.NaN()))
	if nan == relations.NewPart(ctx, nil, lim(2, "score > ?", math.NaN())) {
		t.Fatal("two NaN variants made one part")
	}
	if got := fmt.Sprint(relations.BatchKey{Part: a, Parent: relations.MustKey(7)}); !strings.Contains(got, "7") || !strings.Contains(got, "pool") || !strings.Contains(got, `where "year > ?"`) {
		t.Fatalf("a batch key prints as %q", got)
	}
	if size := unsafe.Sizeof(relations.BatchKey{}); size > 96 {
		t.Fatalf("BatchKey is %d bytes: it is copied through every load's frames", size)
	}
}

func TestVariant(t *testing.T) {
	if _, err := relations.NewVariant(0, "", false, "a = ? AND b = ?", 1); err == nil {
		t.Fatal("placeholder count mismatch accepted")
	}
	if _, err := relations.NewVariant(-1, "", false, ""); err == nil {
		t.Fatal("negative limit accepted")
	}
	a, _ := relations.NewVariant(0, "", false, "year > ?", 1990)
	b, _ := relations.NewVariant(0, "", false, "year > ?", int32(1990))
	c, _ := relations.NewVariant(0, "", false, "year > ?", 1991)
	if a != b || a == c || a.Params() != 1 {
		t.Fatalf("variant keys: %v %v %v", a, b, c)
	}
	// A page binds its filter up to three times and its cursor up to
	// twice, besides its limit.
	page := relations.Variant{Limit: 4, Where: "year > ?", After: "id > ?", Args: relations.MustKey(1990, 7), Page: true}
	if n := page.Params(); n != 3+2+1 {
		t.Errorf("page Params = %d, want 6", n)
	}
	if w, a := page.WhereArgs(), page.AfterArgs(); len(w) != 1 || w[0] != int64(1990) || len(a) != 1 || a[0] != int64(7) {
		t.Errorf("WhereArgs %v, AfterArgs %v", w, a)
	}
}

func TestInSQL(t *testing.T) {
	tests := []struct {
		cols   []string
		n      int
		values bool
		want   string
	}{
		{[]string{"a"}, 3, false, "a IN (?,?,?)"},
		{[]string{"a", "b"}, 2, false, "(a, b) IN ((?,?),(?,?))"},
		{[]string{"a", "b"}, 2, true, "(a, b) IN (VALUES (?,?),(?,?))"},
	}
	for _, tt := range tests {
		if got := relations.InSQL(tt.cols, tt.n, tt.values); got != tt.want {
			t.Errorf("InSQL(%v, %d, %v) = %q, want %q", tt.cols, tt.n, tt.values, got, tt.want)
		}
	}
	if got := relations.RowNumberSQL([]string{"band_id"}, "year"); got != "ROW_NUMBER() OVER (PARTITION BY band_id ORDER BY year)" {
		t.Error(got)
	}
}

func TestRelationValidate(t *testing.T) {
	ok := relations.Relation{Name: "Band.Albums", Kind: relations.HasMany,
		Owner: relations.Table{Name: "bands"}, Target: relations.Table{Name: "albums"},
		Keys: []relations.KeyPair{{From: "id", To: "band_id"}}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := ok
	bad.Kind = relations.ManyToMany
	if err := bad.Validate(); !errors.Is(err, relations.ErrInvalidRelation) {
		t.Fatalf("m2m without join table: %v", err)
	}
	bad = ok
	bad.Kind = relations.BelongsTo
	bad.Polymorphic = &relations.Polymorphic{TypeColumn: "t", Value: "v"}
	if err := bad.Validate(); err == nil {
		t.Fatal("polymorphic belongs-to accepted")
	}
}

func TestSets(t *testing.T) {
	if relations.SetsOf(context.Background()) != nil {
		t.Fatal("sets without a scope")
	}
	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()
	sets := relations.SetsOf(ctx)
	if sets == nil || sets != relations.SetsOf(ctx) {
		t.Fatal("SetsOf must return the scope's registry")
	}
	k := relations.MustKey
	list := &relations.Set{Model: "bands", IDs: []relations.Key{k(1), k(2), k(3)}}
	one := &relations.Set{Model: "bands", IDs: []relations.Key{k(2)}}
	bigger := &relations.Set{Model: "bands", IDs: []relations.Key{k(3), k(4), k(5), k(6)}}
	sets.Record(list)
	sets.Record(one)
	sets.Record(bigger)
	for _, tt := range []struct {
		pk   int
		want *relations.Set
	}{{1, list}, {2, list}, {3, bigger}, {6, bigger}, {7, nil}} {
		if got := sets.Lookup("bands", k(tt.pk)); got != tt.want {
			t.Errorf("row %d: wrong set", tt.pk)
		}
	}
	if sets.Lookup("albums", k(1)) != nil {
		t.Error("model must be part of the row id")
	}
	won := func(token string) bool { _, ok := sets.Claim(list, token); return ok }
	c, ok := sets.Claim(list, "albums")
	if !ok || won("albums") || !won("label") {
		t.Error("claim")
	}
	loser, _ := sets.Claim(list, "albums")
	if loser != c {
		t.Error("a loser must get the winner's claim")
	}
	waitCtx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	if err := loser.Wait(waitCtx); err == nil {
		t.Error("Wait before Release must wait")
	}
	cancel()
	c.Release()
	c.Release()
	if err := loser.Wait(context.Background()); err != nil {
		t.Error(err)
	}
	sets.Invalidate()
	if !won("albums") {
		t.Error("claim after invalidate")
	}
	// A failed claim: every key of its batch is owed the failure once; a
	// load owed nothing retries, and the loads after it join the retry.
	failing, _ := sets.Claim(list, "tracks")
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	failing.Fail(done, errors.New("cancelled caller"), 1) // a done caller's error is not the batch's
	if failing.Failed() {
		t.Error("the failure of a load whose own context is done was recorded")
	}
	boom := errors.New("db down")
	failing.Fail(context.Background(), boom, 1, 2, 3)
	failing.Fail(context.Background(), errors.New("second failure"), 2)
	failing.Release()
	if c, won := sets.Claim(list, "tracks"); won || c != failing || !c.Failed() {
		t.Error("a failed claim stays until a load retries")
	}
	if err := failing.Owed(3); !errors.Is(err, boom) {
		t.Errorf("Owed(3) = %v, want the first failure", err)
	}
	for _, k := range []int{1, 2, 3, 4} { // 1 and 2 have had it, 3 just did, 4 was not in the batch
		if err := failing.Owed(k); err != nil {
			t.Errorf("Owed(%d) = %v, want nil", k, err)
		}
	}
	retry, retried := sets.Retry(list, "tracks", failing)
	if !retried || retry == failing {
		t.Error("Retry of the failed claim must win a new claim")
	}
	if c, again := sets.Retry(list, "tracks", failing); again || c != retry {
		t.Error("a second Retry of the same failed claim must join the first retry")
	}
	// concurrent use
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sets.Record(&relations.Set{Model: "x", IDs: []relations.Key{k(i)}})
			sets.Lookup("x", k(i))
			sets.Claim(list, i)
		}()
	}
	wg.Wait()
}

// TestSetsFill: a set recorded with Fill is filled once, on the first lookup
// of its model, and rows without a primary key are not indexed.
func TestSetsFill(t *testing.T) {
	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()
	sets := relations.SetsOf(ctx)
	k := relations.MustKey
	fills := 0
	lazy := &relations.Set{Model: "albums", Fill: func(s *relations.Set) {
		fills++
		s.IDs = []relations.Key{k(1), {}, k(2)}
	}}
	sets.Record(lazy)
	sets.Record(&relations.Set{Model: "albums"}) // no rows, no Fill: ignored
	if sets.Lookup("bands", k(1)) != nil || fills != 0 {
		t.Fatalf("a lookup of another model filled the set (%d fills)", fills)
	}
	if got := sets.Lookup("albums", k(2)); got != lazy || fills != 1 {
		t.Fatalf("lookup after Fill: %v, %d fills", got, fills)
	}
	if sets.Lookup("albums", k(1)) != lazy || sets.Lookup("albums", relations.Key{}) != nil || fills != 1 {
		t.Fatalf("second lookup: %d fills, or the zero key was indexed", fills)
	}
	if lazy.Len() != 3 || lazy.Fill != nil {
		t.Errorf("filled set: %d rows, Fill kept", lazy.Len())
	}
}

// TestSetsFillPanics: a Fill that panics leaves its set without rows (they
// load one by one) and the model's other sets are still indexed.
func TestSetsFillPanics(t *testing.T) {
	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()
	sets := relations.SetsOf(ctx)
	k := relations.MustKey
	good := &relations.Set{Model: "albums", IDs: []relations.Key{k(1)}}
	bad := &relations.Set{Model: "albums", Fill: func(*relations.Set) { panic("boom") }}
	later := &relations.Set{Model: "albums", Fill: func(s *relations.Set) { s.IDs = []relations.Key{k(3)} }}
	sets.Record(good)
	sets.Record(bad)
	sets.Record(later)
	if sets.Lookup("albums", k(1)) != good || sets.Lookup("albums", k(3)) != later {
		t.Error("the sets recorded around a panicking Fill must be indexed")
	}
	if bad.Len() != 0 {
		t.Errorf("a set whose Fill panicked has %d rows", bad.Len())
	}
}
