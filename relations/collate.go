package relations

import (
	"context"
	"database/sql"
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
// them ([Fold]). Accent-insensitive comparisons are not folded.

// CollationQuery reads a column's collation on MySQL and MariaDB; its
// arguments are the table's and the column's names. It returns no row for
// an unknown column and NULL for a column that is not a string.
const CollationQuery = "SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?"

// FoldOfRows reads the answer to CollationQuery (the caller closes rows): a
// column that is not found, or not a string, compares exactly.
func FoldOfRows(rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}) (Fold, error) {
	var f Fold
	if rows.Next() {
		var name sql.NullString
		if err := rows.Scan(&name); err != nil {
			return 0, err
		}
		if name.Valid {
			f = FoldOf(name.String)
		}
	}
	return f, rows.Err()
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
