package relations_test

import (
	"database/sql"
	"slices"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/ormloader/ormloader/internal/testdb"
	"github.com/ormloader/ormloader/relations"
)

type stringer string

func (s stringer) String() string { return string(s) }

func TestArrayLiteral(t *testing.T) {
	for _, c := range []struct {
		in   []any
		want string
		ok   bool
	}{
		{[]any{1, int64(2), int32(-3), uint8(4)}, "{1,2,-3,4}", true},
		{[]any{"a", `b "c"`, `d\e`, "", "{,}"}, `{"a","b \"c\"","d\\e","","{,}"}`, true},
		{[]any{stringer("0190c6a2-0000-7000-8000-000000000000")}, `{"0190c6a2-0000-7000-8000-000000000000"}`, true},
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
}
