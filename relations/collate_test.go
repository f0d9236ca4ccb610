package relations_test

import (
	"context"
	"database/sql"
	"strings"
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

func TestPlainAndWeighs(t *testing.T) {
	for s, want := range map[string]bool{"ab ": true, "A-b_9~": true, "fé": false, "a\x01": false, "": true, "ß": false} {
		if got := relations.Plain(s); got != want {
			t.Errorf("Plain(%q) = %v, want %v", s, got, want)
		}
	}
	for _, c := range []struct {
		name, charset string
		plain, want   bool
	}{
		{"utf8mb4_general_ci", "utf8mb4", true, false},
		{"utf8mb4_general_ci", "utf8mb4", false, true},
		{"utf8mb4_0900_as_cs", "utf8mb4", false, true},
		{"latin1_swedish_ci", "latin1", true, false},
		{"utf8mb4_turkish_ci", "utf8mb4", true, true}, // 'I' and 'i' differ: always
		{"utf8mb4_thai_520_w2", "utf8mb4", true, true},
		{"utf8mb4_bin", "utf8mb4", false, false},
		{"utf8mb4_nopad_bin", "utf8mb4", false, false},
		{"binary", "binary", false, false},
		{"", "", false, false},
	} {
		coll := relations.Collation{Name: c.name, Charset: c.charset, Fold: relations.FoldOf(c.name)}
		if got := coll.Weighs(func() bool { return c.plain }); got != c.want {
			t.Errorf("%s.Weighs(plain=%v) = %v, want %v", c.name, c.plain, got, c.want)
		}
	}
}

// fakeRows serves rows of values.
type fakeRows struct {
	rows [][]any
	i    int
}

func (r *fakeRows) Next() bool { r.i++; return r.i <= len(r.rows) }
func (r *fakeRows) Err() error { return nil }
func (r *fakeRows) Scan(dest ...any) error {
	for j, d := range dest {
		switch d := d.(type) {
		case *int:
			*d = r.rows[r.i-1][j].(int)
		case *[]byte:
			*d = r.rows[r.i-1][j].([]byte)
		case *sql.NullString:
			v, ok := r.rows[r.i-1][j].(string)
			*d = sql.NullString{String: v, Valid: ok}
		}
	}
	return nil
}

// TestReadCollation: the collation's name and character set, from the
// table's database if it names one, and whether its weights have levels.
func TestReadCollation(t *testing.T) {
	answers := func(name, charset any, spaces ...[]byte) (relations.QueryFunc, *[][]any) {
		var asked [][]any
		return func(_ context.Context, q string, args []any, read func(relations.Rows) error) error {
			asked = append(asked, args)
			if strings.Contains(q, "information_schema") {
				return read(&fakeRows{rows: [][]any{{name, charset}}})
			}
			return read(&fakeRows{rows: [][]any{{spaces[0], spaces[1]}}})
		}, &asked
	}
	q, asked := answers("utf8mb4_general_ci", "utf8mb4", []byte{0, 0x20}, []byte{0, 0x20, 0, 0x20})
	c, err := relations.ReadCollation(context.Background(), "other.pets", "code", q)
	if err != nil || c.Name != "utf8mb4_general_ci" || c.Charset != "utf8mb4" || c.Fold != relations.FoldCase|relations.FoldPad {
		t.Errorf("ReadCollation = %+v, %v", c, err)
	}
	if a := (*asked)[0]; len(*asked) != 2 || a[0] != "other" || a[1] != "pets" || a[2] != "code" {
		t.Errorf("asked %v, want the database other, the table pets, the column code, then the spaces' weights", *asked)
	}
	q, _ = answers("utf8mb4_general_ci", "utf8mb4", []byte{0, 0x20}, []byte{0, 0x20, 0, 0x20})
	if c, _ := relations.ReadCollation(context.Background(), "pets", "code", q); c.Name == "" {
		t.Error("no collation for a table of the connection's database")
	}
	// not a string column; and a name that could not be written into a statement
	for _, row := range [][]any{{nil, nil}, {"x; DROP", "utf8mb4"}} {
		q, asked := answers(row[0], row[1])
		if c, err := relations.ReadCollation(context.Background(), "pets", "code", q); err != nil || c.Folds() || len(*asked) != 1 {
			t.Errorf("ReadCollation(%v) = %+v, %v after %d statements; want one that compares exactly, after one", row, c, err, len(*asked))
		}
	}
}

// TestGroupMultiLevel: under a collation whose weights have levels (two
// spaces do not weigh as one space twice), the database groups the keys.
func TestGroupMultiLevel(t *testing.T) {
	q := func(_ context.Context, q string, args []any, read func(relations.Rows) error) error {
		switch {
		case strings.Contains(q, "information_schema"):
			return read(&fakeRows{rows: [][]any{{"utf8mb4_uca1400_ai_cs", "utf8mb4"}}})
		case strings.Contains(q, "JOIN"):
			// the database's =, as this test has it: an accent does not count
			n := len(args) / 2
			norm := func(a any) string { return strings.NewReplacer("á", "a").Replace(a.(string)) }
			rows := &fakeRows{}
			for i := range n {
				first := i
				for j := range n {
					if norm(args[j]) == norm(args[i]) {
						first = min(first, j)
					}
				}
				rows.rows = append(rows.rows, []any{i, first})
			}
			return read(rows)
		}
		return read(&fakeRows{rows: [][]any{{[]byte{2, 9, 0, 2}, []byte{2, 9, 2, 9, 0, 2, 0, 2}}}})
	}
	c, err := relations.ReadCollation(context.Background(), "pets", "code", q)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := c.Weigh(context.Background(), []string{"á", "a", "b"}, q)
	if err != nil {
		t.Fatal(err)
	}
	if c.Key("á", keys) != c.Key("a", keys) || c.Key("a", keys) == c.Key("b", keys) {
		t.Errorf("keys %q", keys)
	}
}

// TestWeigh: the statement asks for the weight of each distinct string and,
// under PAD SPACE, of a space, whose trailing copies do not count.
func TestWeigh(t *testing.T) {
	c := relations.Collation{Name: "utf8mb4_general_ci", Charset: "utf8mb4", Fold: relations.FoldCase | relations.FoldPad}
	var asked []any
	var statements int
	// the collation, as this test has it: case and accents fold, and a
	// no-break space weighs as a space
	weigh := strings.NewReplacer("é", "E", "e", "E", "\u00a0", " ")
	weights, err := c.Weigh(context.Background(), []string{"fé", "FE ", "fé", "x", "x\u00a0"}, func(_ context.Context, q string, args []any, read func(relations.Rows) error) error {
		statements++
		if !strings.Contains(q, "WEIGHT_STRING(CONVERT(? USING utf8mb4) COLLATE utf8mb4_general_ci)") || !strings.Contains(q, "SELECT -1, ") {
			t.Errorf("statement %s", q)
		}
		asked = args
		rows := &fakeRows{}
		for i, a := range args {
			if i == len(args)-1 {
				i = -1 // the space
			}
			rows.rows = append(rows.rows, []any{i, []byte(strings.ToUpper(weigh.Replace(a.(string))))})
		}
		return read(rows)
	})
	if err != nil {
		t.Fatal(err)
	}
	if statements != 1 || len(asked) != 5 || asked[4] != " " {
		t.Errorf("%d statements for %q; want one for the four strings and a space", statements, asked)
	}
	if c.Key("fé", weights) != c.Key("FE ", weights) || c.Key("x", weights) != c.Key("x\u00a0", weights) || c.Key("fé", weights) == c.Key("x", weights) {
		t.Errorf("keys: fé %q, FE %q, x %q, x+NBSP %q", c.Key("fé", weights), c.Key("FE ", weights), c.Key("x", weights), c.Key("x\u00a0", weights))
	}
	if got := c.Key("AB ", nil); got != "ab" {
		t.Errorf("Key without weights = %q, want the fold", got)
	}
	_, err = c.Weigh(context.Background(), []string{"a", "b"}, func(_ context.Context, _ string, _ []any, read func(relations.Rows) error) error {
		return read(&fakeRows{rows: [][]any{{0, []byte("A")}, {-1, []byte(" ")}}}) // one weight missing
	})
	if err == nil {
		t.Error("a weight missing from the answer must fail")
	}
}
