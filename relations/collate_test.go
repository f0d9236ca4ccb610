package relations_test

import (
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
