package relations_test

import (
	"context"
	"testing"

	"github.com/ormloader/ormloader/relations"
)

func TestFoldOf(t *testing.T) {
	for _, c := range []struct {
		collation string
		in, want  string
	}{
		{"utf8mb4_general_ci", "Ab  ", "ab"},
		{"utf8mb4_unicode_ci", " A B ", " a b"},
		{"utf8mb4_bin", "Ab  ", "Ab"},
		{"latin1_swedish_ci", "ÅB ", "åb"},
		{"utf8mb4_nopad_bin", "Ab  ", "Ab  "},
		{"utf8mb4_general_nopad_ci", "Ab  ", "ab  "},
		{"utf8mb4_0900_ai_ci", "Ab  ", "ab  "},
		{"utf8mb4_0900_bin", "Ab  ", "Ab  "},
		{"binary", "Ab  ", "Ab  "},
		{"UTF8MB4_GENERAL_CI", "AB", "ab"},
	} {
		if got := relations.FoldOf(c.collation).Apply(c.in); got != c.want {
			t.Errorf("%s: %q folds to %q, want %q", c.collation, c.in, got, c.want)
		}
	}
}

func TestDetach(t *testing.T) {
	type key struct{}
	parent, cancelParent := context.WithCancel(context.WithValue(context.Background(), key{}, "request"))
	d, cancel := relations.Detach(parent)
	defer cancel()
	if d.Value(key{}) != nil {
		t.Error("the detached context carries the request's value")
	}
	if d.Err() != nil {
		t.Fatal("the detached context is done before its parent")
	}
	cancelParent()
	<-d.Done() // cancelled with its parent
}
