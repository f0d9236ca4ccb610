package relations

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Collations.
//
// The adapters match rows to their parents by key values in Go, but the
// database matched them under the collation of the compared column: MySQL's
// and MariaDB's usual collations compare strings without case (_ci) and,
// for most, without trailing spaces (PAD SPACE, utf8mb4_bin included), so
// the statement for the parent "ab" returns the row whose key is "AB ". The
// adapters read a compared column's collation once ([CollationQuery]) and
// group rows and parents by their keys folded the way the column compares
// them ([Fold]). That is exact for binary collations, and for printable
// ASCII ([Plain]) under the generic ones. Other strings may be equal in
// ways that no fold in Go reproduces (utf8mb4_general_ci: 'fé' = 'fe';
// utf8mb4_unicode_ci: 'ß' = 'ss', and a trailing no-break space pads as a
// space), and a language's collation compares even ASCII its own way
// (utf8mb4_turkish_ci: 'I' is not 'i'); so such a batch asks the database
// for the weights of its keys ([Collation.Weigh]: one more statement) and
// groups by those ([Collation.Weighs]).

// CollationQuery reads a column's collation and character set on MySQL
// and MariaDB; its arguments are [CollationArgs]. It returns no row for an
// unknown column and NULLs for a column that is not a string.
const CollationQuery = "SELECT COLLATION_NAME, CHARACTER_SET_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND TABLE_NAME = ? AND COLUMN_NAME = ?"

// CollationArgs returns the arguments of CollationQuery for a column of
// table, which may name its database ("db.table"; else the connection's).
func CollationArgs(table, column string) []any {
	db, name, ok := strings.Cut(table, ".")
	if !ok {
		db, name = "", table
	}
	return []any{db, name, column}
}

// Rows is what the adapters read statements' answers from: a database/sql
// or an ent sql.Rows.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// Collation is how a column compares strings. The zero Collation compares
// them exactly.
type Collation struct {
	Name    string // e.g. utf8mb4_general_ci
	Charset string // e.g. utf8mb4
	Fold    Fold
}

// CollationOfRows reads the answer to CollationQuery (the caller closes
// rows): a column that is not found, or not a string, compares exactly.
func CollationOfRows(rows Rows) (Collation, error) {
	var c Collation
	if rows.Next() {
		var name, charset sql.NullString
		if err := rows.Scan(&name, &charset); err != nil {
			return c, err
		}
		if name.Valid && charset.Valid && identifier(name.String) && identifier(charset.String) {
			c = Collation{Name: name.String, Charset: charset.String, Fold: FoldOf(name.String)}
		}
	}
	return c, rows.Err()
}

// identifier reports whether s can be written into a statement as a
// collation's or a character set's name.
func identifier(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return s != ""
}

// Folds reports whether the collation compares any two different strings
// as equal: if not, keys compare exactly.
func (c Collation) Folds() bool { return c.Fold != 0 || c.Name != "" && !c.binary() }

func (c Collation) binary() bool {
	n := strings.ToLower(c.Name)
	return n == "binary" || strings.HasSuffix(n, "_bin")
}

// Plain reports whether s is printable ASCII, which Fold compares as every
// MySQL and MariaDB collation does.
func Plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Weighs reports whether a batch must group its keys (the parents' and
// the rows') by their weights ([Collation.Weigh]) rather than by the fold;
// plain tells that every key is Plain. Not under a binary collation, which
// compares by code points as the fold does; under a generic one (general,
// unicode, UCA 5.2, 9.0 and 14.0 without a language's tailoring, latin1's
// swedish) unless plain; under any other one always, since the tailorings
// compare even printable ASCII in ways that no fold reproduces (turkish_ci:
// 'I' and 'i' differ; czech_ci: 'CH' and 'cH' differ; roman_ci: 'I' and 'J'
// are equal; thai_520_w2 ignores case without saying so in its name).
func (c Collation) Weighs(plain bool) bool {
	switch {
	case c.Name == "" || c.binary():
		return false
	case !c.generic():
		return true
	}
	return !plain
}

// generic reports whether the collation compares printable ASCII as the
// fold does.
func (c Collation) generic() bool {
	rest, ok := strings.CutPrefix(strings.ToLower(c.Name), strings.ToLower(c.Charset)+"_")
	if !ok {
		return false
	}
	switch rest {
	case "general_ci", "general_nopad_ci", "unicode_ci", "unicode_nopad_ci", "unicode_520_ci", "unicode_520_nopad_ci",
		"0900_ai_ci", "0900_as_ci", "0900_as_cs",
		"uca1400_ai_ci", "uca1400_ai_cs", "uca1400_as_ci", "uca1400_as_cs",
		"uca1400_nopad_ai_ci", "uca1400_nopad_ai_cs", "uca1400_nopad_as_ci", "uca1400_nopad_as_cs",
		"swedish_ci":
		return true
	}
	return false
}

// maxWeighed is the most strings one weight statement asks for.
const maxWeighed = 5000

// Weigh asks the database, with query (one statement per 5 000 strings),
// for the weight of each of strs under the collation (WEIGHT_STRING): two
// strings are equal under the collation when their weights are, except that
// under PAD SPACE trailing weights of a space do not count (WEIGHT_STRING
// keeps them, and under the UCA collations a trailing no-break space weighs
// as a space does), so the statement also reads a space's weight and each
// weight is cut before its trailing copies of it. The result maps each
// string to its key, the weight behind a 0 byte (which no Plain string
// holds), for [Collation.Key].
func (c Collation) Weigh(ctx context.Context, strs []string, query func(ctx context.Context, query string, args []any, read func(Rows) error) error) (map[string]string, error) {
	out := make(map[string]string, len(strs))
	distinct := make([]string, 0, len(strs))
	for _, s := range strs {
		if _, ok := out[s]; !ok {
			out[s] = ""
			distinct = append(distinct, s)
		}
	}
	weight := fmt.Sprintf("WEIGHT_STRING(CONVERT(? USING %s) COLLATE %s)", c.Charset, c.Name)
	for len(distinct) > 0 {
		chunk := distinct[:min(len(distinct), maxWeighed)]
		distinct = distinct[len(chunk):]
		var b strings.Builder
		args := make([]any, 0, len(chunk)+1)
		for i, s := range chunk {
			if i > 0 {
				b.WriteString(" UNION ALL ")
			}
			fmt.Fprintf(&b, "SELECT %d, %s", i, weight)
			args = append(args, s)
		}
		pad := c.Fold&FoldPad != 0
		if pad {
			fmt.Fprintf(&b, " UNION ALL SELECT -1, %s", weight)
			args = append(args, " ")
		}
		weights := make([][]byte, len(chunk))
		var space []byte
		err := query(ctx, b.String(), args, func(rows Rows) error {
			n := 0
			for rows.Next() {
				var (
					i int
					w []byte
				)
				if err := rows.Scan(&i, &w); err != nil {
					return err
				}
				switch {
				case i == -1 && pad:
					space = w
					continue
				case i < 0 || i >= len(chunk):
					return fmt.Errorf("relations: weight of string %d of %d", i, len(chunk))
				}
				weights[i] = w
				n++
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if n != len(chunk) || pad && len(space) == 0 {
				return fmt.Errorf("relations: %d weights for %d strings", n, len(chunk))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading the weights of %d keys under %s: %w", len(chunk), c.Name, err)
		}
		for i, w := range weights {
			if pad {
				w = trimUnits(w, space)
			}
			out[chunk[i]] = "\x00" + string(w)
		}
	}
	return out, nil
}

// trimUnits cuts w before its trailing copies of unit, a weight's unit:
// only whole units, counted from w's start.
func trimUnits(w, unit []byte) []byte {
	for len(w) >= len(unit) && len(w)%len(unit) == 0 && string(w[len(w)-len(unit):]) == string(unit) {
		w = w[:len(w)-len(unit)]
	}
	return w
}

// Key returns the key under which s is grouped: its weight if weights
// (from Weigh) has it, else s folded.
func (c Collation) Key(s string, weights map[string]string) string {
	if w, ok := weights[s]; ok {
		return w
	}
	return c.Fold.Apply(s)
}

// Fold says how a column's collation compares strings; the zero Fold
// compares them exactly.
type Fold uint8

// The ways a collation folds strings.
const (
	FoldCase Fold = 1 << iota // case-insensitive (_ci): compare lower-cased
	FoldPad                   // PAD SPACE: trailing spaces do not count
)

// FoldOf tells from a MySQL or MariaDB collation's name how it compares:
// _ci without case; PAD SPACE unless it is a NO PAD collation (MariaDB's
// _nopad_, MySQL 8's UCA 9.0.0 ones, utf8mb4_0900_*) or the binary one.
func FoldOf(collation string) Fold {
	collation = strings.ToLower(collation)
	var f Fold
	if strings.Contains(collation, "_ci") {
		f |= FoldCase
	}
	if !strings.Contains(collation, "nopad") && !strings.Contains(collation, "_0900_") && collation != "binary" {
		f |= FoldPad
	}
	return f
}

// Apply returns s folded.
func (f Fold) Apply(s string) string {
	if f&FoldPad != 0 {
		s = strings.TrimRight(s, " ")
	}
	if f&FoldCase != 0 {
		s = strings.ToLower(s)
	}
	return s
}

// Detach returns a context that carries none of ctx's values and is
// cancelled when ctx is (or by the returned cancel): for a statement that an
// adapter runs on a request's behalf but that is not the request's own (the
// read of a column's collation), so that the per-request statement counters
// and tracers that find themselves in the context do not see it.
func Detach(ctx context.Context) (context.Context, context.CancelFunc) {
	d, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	return d, func() {
		stop()
		cancel()
	}
}
