package entloader

import (
	"context"
	"slices"
	"testing"

	"github.com/ormloader/ormloader/relations"
)

type node struct{ id int }

// TestGroup: rows are handed to their parents in row order whatever the
// order of the parents in the result, rows that the interceptors dropped are
// left out, and a parent's rows from an earlier chunk stay first.
func TestGroup(t *testing.T) {
	n := make([]*node, 6)
	for i := range n {
		n[i] = &node{i}
	}
	newBatch := func() *Batch[int, *node] {
		b := &Batch[int, *node]{Keys: []int{10, 20, 30}}
		b.rowKeys = []int{10, 20, 10, 30, 20, 10}
		if _, err := b.Rows(context.Background(), slices.Clone(n), nil); err != nil {
			t.Fatal(err)
		}
		return b
	}
	ids := func(ns []*node) []int {
		var out []int
		for _, x := range ns {
			out = append(out, x.id)
		}
		return out
	}

	b := newBatch()
	out := map[int][]*node{30: {&node{99}}} // from an earlier chunk
	if err := b.Group(b.unique, out); err != nil {
		t.Fatal(err)
	}
	want := map[int][]int{10: {0, 2, 5}, 20: {1, 4}, 30: {99, 3}}
	for k, w := range want {
		if got := ids(out[k]); !slices.Equal(got, w) {
			t.Errorf("parent %d: rows %v, want %v", k, got, w)
		}
		if len(out[k]) != cap(out[k]) {
			t.Errorf("parent %d: an append would write into another parent's rows", k)
		}
	}

	b = newBatch()
	kept := []*node{n[1], n[2], n[3]} // the interceptors dropped rows 0, 4 and 5
	out = map[int][]*node{}
	if err := b.Group(kept, out); err != nil {
		t.Fatal(err)
	}
	if got := ids(out[10]); !slices.Equal(got, []int{2}) || !slices.Equal(ids(out[20]), []int{1}) || !slices.Equal(ids(out[30]), []int{3}) {
		t.Errorf("filtered: %v %v %v", ids(out[10]), ids(out[20]), ids(out[30]))
	}

	// Interceptors that filter or sort the slice they are given in place.
	b = newBatch()
	out = map[int][]*node{}
	filtered := slices.DeleteFunc(b.unique, func(x *node) bool { return x.id == 0 })
	if err := b.Group(filtered, out); err != nil {
		t.Fatal(err)
	}
	if got := ids(out[10]); !slices.Equal(got, []int{2, 5}) || !slices.Equal(ids(out[20]), []int{1, 4}) || !slices.Equal(ids(out[30]), []int{3}) {
		t.Errorf("filtered in place: %v %v %v", ids(out[10]), ids(out[20]), ids(out[30]))
	}
	b = newBatch()
	out = map[int][]*node{}
	slices.Reverse(b.unique)
	if err := b.Group(b.unique, out); err != nil {
		t.Fatal(err)
	}
	for k, w := range map[int][]int{10: {0, 2, 5}, 20: {1, 4}, 30: {3}} {
		if got := ids(out[k]); !slices.Equal(got, w) {
			t.Errorf("sorted in place: parent %d: rows %v, want %v", k, got, w)
		}
	}

	b = newBatch()
	one := map[int]*node{}
	if err := b.GroupOne([]*node{n[2], n[4], n[5]}, one); err != nil {
		t.Fatal(err)
	}
	if one[10] != n[2] || one[20] != n[4] || one[30] != nil {
		t.Errorf("GroupOne: %v %v %v", one[10], one[20], one[30])
	}

	b = newBatch()
	b.rowKeys = b.rowKeys[:5]
	if err := b.Group(b.unique, map[int][]*node{}); err == nil {
		t.Error("rows and keys of different lengths must be an error")
	}
}

// A key of a named string type folds as its string does.
func TestFoldKeyOfANamedStringType(t *testing.T) {
	type code string
	f := &Fold[code]{coll: relations.Collation{Fold: relations.FoldCase | relations.FoldPad}}
	key, err := f.keyer(context.Background(), []code{"AB  "})
	if err != nil {
		t.Fatal(err)
	}
	if got := key("AB  "); got != "ab" {
		t.Errorf("key(%q) = %q, want %q", "AB  ", got, "ab")
	}
	if got := parents([]code{"ab", "AB ", "ab"}, key); len(got) != 1 || len(got["ab"]) != 2 {
		t.Errorf("parents = %v, want ab: [ab AB ]", got)
	}
}
