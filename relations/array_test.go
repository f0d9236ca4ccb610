package relations_test

import (
	"database/sql"
	"database/sql/driver"
	"slices"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/ormloader/ormloader/internal/testdb"
	"github.com/ormloader/ormloader/relations"
)

// valuer is a key type whose database value is not its string form (an
// enum, a UUID type).
type valuer int

func (v valuer) Value() (driver.Value, error) { return int64(v) * 10, nil }
func (v valuer) String() string               { return "label" }

func TestArrayLiteral(t *testing.T) {
	for _, c := range []struct {
		in   []any
		want string
		ok   bool
	}{
		{[]any{1, int64(2), int32(-3), uint8(4)}, "{1,2,-3,4}", true},
		{[]any{"a", `b "c"`, `d\e`, "", "{,}"}, `{"a","b \"c\"","d\\e","","{,}"}`, true},
		{[]any{valuer(4), valuer(5)}, "{40,50}", true}, // its value, not its String
		{nil, "{}", true},
		{[]any{1.5}, "", false},
		{[]any{uint64(1)}, "", false},
		{[]any{[]byte("x")}, "", false},
	} {
		got, ok := relations.ArrayLiteral(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ArrayLiteral(%#v) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	// PostgreSQL reads the literal back as the values.
	d, ok := testdb.Postgres(t)
	if !ok {
		return
	}
	db, err := sql.Open(d.DriverName, d.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	in := []string{"a", `b "c"`, `d\e`, "", "{,}", "é ü", "NULL", " x "}
	vals := make([]any, len(in))
	for i, s := range in {
		vals[i] = s
	}
	lit, _ := relations.ArrayLiteral(vals)
	rows, err := db.Query("SELECT k FROM unnest(CAST($1 AS text[])) WITH ORDINALITY AS p(k, i) ORDER BY i", lit)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var k sql.NullString
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		if !k.Valid {
			t.Fatalf("an element read back as NULL from %s", lit)
		}
		got = append(got, k.String)
	}
	if !slices.Equal(got, in) {
		t.Errorf("read back %q from %s, want %q", got, lit, in)
	}
	// Bound for col = ANY(?), the literal takes col's type: uuid, bigint,
	// varchar alike (a CAST to text[] would fail on uuid).
	for _, c := range []struct {
		col  string
		vals []any
	}{
		{"CAST('0190c6a2-0000-7000-8000-000000000001' AS uuid)", []any{"0190c6a2-0000-7000-8000-000000000000", "0190c6a2-0000-7000-8000-000000000001"}},
		{"CAST(7 AS bigint)", []any{int64(3), int64(7)}},
		{"CAST('b \"c' AS varchar(10))", []any{"a", `b "c`}},
	} {
		lit, _ := relations.ArrayLiteral(c.vals)
		var n int
		if err := db.QueryRow("SELECT count(*) FROM (SELECT "+c.col+" AS k) v WHERE k = ANY($1)", lit).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s = ANY(%s): %d rows, %v; want 1", c.col, lit, n, err)
		}
	}
}
