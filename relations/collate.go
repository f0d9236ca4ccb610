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
// adapters read a compared column's collation once ([ReadCollation]) and
// group rows and parents by their keys folded the way the column compares
// them ([Fold]). That is exact for binary collations, and for printable
// ASCII ([Plain]) under the generic ones. Other strings may be equal in
// ways that no fold in Go reproduces (utf8mb4_general_ci: 'fé' = 'fe';
// utf8mb4_unicode_ci: 'ß' = 'ss', and a trailing no-break space pads as a
// space), and a language's collation compares even ASCII its own way
// (utf8mb4_turkish_ci: 'I' is not 'i'); so such a batch asks the database
// for the weights of its keys ([Collation.Weigh]: one more statement) and
// groups by those ([Collation.Weighs]), or, under a collation whose weights
// have several levels (MariaDB's uca1400 _as_ and _cs ones, where equal
// strings may weigh differently), has the database group them with its =.

// collationQuery reads a column's collation and character set on MySQL
// and MariaDB; its arguments are collationArgs. It returns no row for an
// unknown column and NULLs for a column that is not a string.
const collationQuery = "SELECT COLLATION_NAME, CHARACTER_SET_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND TABLE_NAME = ? AND COLUMN_NAME = ?"

// collationArgs returns the arguments of collationQuery for a column of
// table, which may name its database ("db.table"; else the connection's).
func collationArgs(table, column string) []any {
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

// QueryFunc runs a statement on an adapter's connection and reads its rows
// with read.
type QueryFunc func(ctx context.Context, query string, args []any, read func(Rows) error) error

// Collation is how a column compares strings. The zero Collation compares
// them exactly.
type Collation struct {
	Name    string // e.g. utf8mb4_general_ci
	Charset string // e.g. utf8mb4
	Fold    Fold
	// multiLevel: the collation's weights have several levels, which
	// WEIGHT_STRING concatenates (MariaDB's uca1400 _as_ and _cs ones,
	// thai_520_w2), so that strings the collation equates may weigh
	// differently ('a' and 'á' under uca1400_ai_cs); the keys of its
	// batches are grouped by the database's = instead.
	multiLevel bool
}

// ReadCollation reads, with query, how column of table (which may name its
// database: "db.table") compares strings on MySQL and MariaDB: a column that
// is not found, or not a string, compares exactly.
func ReadCollation(ctx context.Context, table, column string, query QueryFunc) (Collation, error) {
	var c Collation
	err := query(ctx, collationQuery, collationArgs(table, column), func(rows Rows) error {
		if !rows.Next() {
			return rows.Err()
		}
		var name, charset sql.NullString
		if err := rows.Scan(&name, &charset); err != nil {
			return err
		}
		if name.Valid && charset.Valid && identifier(name.String) && identifier(charset.String) {
			c = Collation{Name: name.String, Charset: charset.String, Fold: FoldOf(name.String)}
		}
		return rows.Err()
	})
	if err != nil || c.Name == "" || c.binary() {
		return c, err
	}
	// One level: the weight of two spaces is the weight of one, twice.
	w := c.weight("?")
	err = query(ctx, "SELECT "+w+", "+w, []any{" ", "  "}, func(rows Rows) error {
		if !rows.Next() {
			return fmt.Errorf("relations: no weights of spaces under %s", c.Name)
		}
		var one, two []byte
		if err := rows.Scan(&one, &two); err != nil {
			return err
		}
		c.multiLevel = string(two) != string(one)+string(one)
		return rows.Err()
	})
	return c, err
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

// Plain reports whether s is printable ASCII, which Fold compares as the
// generic collations do (see Weighs).
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
// plain tells whether every key is Plain (called only under a generic
// collation, so that a batch under any other never scans its keys). Not
// under a binary collation, which
// compares by code points as the fold does; under a generic one (general,
// unicode, UCA 5.2, 9.0 and 14.0 without a language's tailoring, latin1's
// swedish) unless plain; under any other one always, since the tailorings
// compare even printable ASCII in ways that no fold reproduces (turkish_ci:
// 'I' and 'i' differ; czech_ci: 'CH' and 'cH' differ; roman_ci: 'I' and 'J'
// are equal; thai_520_w2 ignores case without saying so in its name).
func (c Collation) Weighs(plain func() bool) bool {
	switch {
	case c.Name == "" || c.binary():
		return false
	case !c.generic():
		return true
	}
	return !plain()
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
		"uca1400_nopad_ai_ci", "uca1400_nopad_ai_cs", "uca1400_nopad_as_ci", "uca1400_nopad_as_cs":
		return true
	}
	return strings.EqualFold(c.Name, "latin1_swedish_ci")
}

// maxWeighed is the most strings one weight statement asks for;
// maxGrouped the most that a multi-level collation's batch may have (its
// statement binds each twice).
const (
	maxWeighed = 5000
	maxGrouped = 20000
)

// weight is the expression of the weight of arg under the collation.
func (c Collation) weight(arg string) string {
	return fmt.Sprintf("WEIGHT_STRING(CONVERT(%s USING %s) COLLATE %s)", arg, c.Charset, c.Name)
}

// Weigh asks the database, with query, for a key of each of strs under the
// collation, for [Collation.Key]: two strings are equal under the collation
// when their keys are. A key is a string's weight (WEIGHT_STRING; one
// statement per 5 000 strings) behind a 0 byte, which no Plain string
// holds; under PAD SPACE trailing weights of a space do not count
// (WEIGHT_STRING keeps them, and under the UCA collations a trailing
// no-break space weighs as a space does), so the statement also reads a
// space's weight and each weight is cut before its trailing copies of it.
// Under a collation whose weights have several levels, which equal strings
// need not share, the database groups the strings with its own = instead
// (one statement, for at most 20 000 strings), and a string's key is the
// first string of its group.
func (c Collation) Weigh(ctx context.Context, strs []string, query QueryFunc) (map[string]string, error) {
	out := make(map[string]string, len(strs))
	distinct := make([]string, 0, len(strs))
	for _, s := range strs {
		if _, ok := out[s]; !ok {
			out[s] = ""
			distinct = append(distinct, s)
		}
	}
	if c.multiLevel {
		return out, c.group(ctx, distinct, out, query)
	}
	weight := c.weight("?")
	pad := c.Fold&FoldPad != 0
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

// group keys the distinct strings in out by the group that the database's
// = puts them in: each string's key is the first string of its group.
func (c Collation) group(ctx context.Context, distinct []string, out map[string]string, query QueryFunc) error {
	if len(distinct) > maxGrouped {
		return fmt.Errorf("relations: %d distinct keys to compare under %s, more than one statement groups (%d)", len(distinct), c.Name, maxGrouped)
	}
	var b strings.Builder
	table := func() {
		b.WriteString("(")
		for i := range distinct {
			if i > 0 {
				b.WriteString(" UNION ALL ")
			}
			fmt.Fprintf(&b, "SELECT %d AS i, CONVERT(? USING %s) COLLATE %s AS s", i, c.Charset, c.Name)
		}
		b.WriteString(")")
	}
	b.WriteString("SELECT a.i, MIN(b.i) FROM ")
	table()
	b.WriteString(" a JOIN ")
	table()
	b.WriteString(" b ON a.s = b.s GROUP BY a.i")
	args := make([]any, 0, 2*len(distinct))
	for range 2 {
		for _, s := range distinct {
			args = append(args, s)
		}
	}
	err := query(ctx, b.String(), args, func(rows Rows) error {
		n := 0
		for rows.Next() {
			var i, first int
			if err := rows.Scan(&i, &first); err != nil {
				return err
			}
			if i < 0 || i >= len(distinct) || first < 0 || first >= len(distinct) {
				return fmt.Errorf("relations: group of string %d of %d", i, len(distinct))
			}
			out[distinct[i]] = "\x00" + distinct[first]
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if n != len(distinct) {
			return fmt.Errorf("relations: %d groups for %d strings", n, len(distinct))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("grouping %d keys under %s: %w", len(distinct), c.Name, err)
	}
	return nil
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
