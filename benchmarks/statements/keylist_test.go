package statements

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/ormloader/ormloader/relations"
)

// BenchmarkKeyList compares, on PostgreSQL, the two ways of binding a
// batch's keys (issue 13: "PostgreSQL binds a key list as one array"): an
// IN list of one parameter per key, whose statement text changes with the
// batch size, and "= ANY($1)" with the keys as one array
// literal (what ormloader runs), one text for every size. Batch sizes are
// drawn from 1 to maxKeys, as a resolver level's batches vary with the data;
// pgx (QueryExecModeCacheStatement, its default through database/sql)
// prepares each text once per connection, so the IN list pays a Parse and
// Describe round trip for every new size on every connection. Reported:
// ns/op per batch, and prepared/op, the statements pgx prepared per batch
// (new texts on a connection, from pg_prepared_statements).
func BenchmarkKeyList(b *testing.B) {
	dsn := os.Getenv("ORMLOADER_TEST_POSTGRES_DSN")
	if dsn == "" {
		b.Skip("ORMLOADER_TEST_POSTGRES_DSN is not set")
	}
	ctx := context.Background()
	sh := shape{"100x10", 1000, func(int) int { return 10 }}
	for _, run := range []struct {
		maxKeys int
		warm    bool
		fixed   bool // every batch of maxKeys keys
	}{{1, false, false}, {10, false, false}, {100, false, false}, {10, true, false}, {100, true, false},
		{5, true, true}, {10, true, true}, {20, true, true}, {40, true, true}} {
		maxKeys := run.maxKeys
		for _, form := range []struct {
			name string
			run  func(ctx context.Context, c *sql.Conn, keys []int64) error
		}{
			{"IN list", func(ctx context.Context, c *sql.Conn, keys []int64) error {
				_, err := count(c.QueryContext(ctx, "SELECT * FROM children WHERE parent_id IN ("+inList(len(keys), 1)+")", keyArgs(keys)...))
				return err
			}},
			{"= ANY(array)", func(ctx context.Context, c *sql.Conn, keys []int64) error {
				lit, _ := relations.ArrayLiteral(keyArgs(keys))
				_, err := count(c.QueryContext(ctx, "SELECT * FROM children WHERE parent_id = ANY($1)", lit))
				return err
			}},
		} {
			name := fmt.Sprintf("keys 1-%d/%s", maxKeys, form.name)
			switch {
			case run.fixed:
				name = fmt.Sprintf("keys %d, prepared before/%s", maxKeys, form.name)
			case run.warm:
				name = fmt.Sprintf("keys 1-%d, every size prepared before/%s", maxKeys, form.name)
			}
			b.Run(name, func(b *testing.B) {
				db := seed(b, dsn, sh) // a fresh pool: nothing prepared yet
				c, err := db.Conn(ctx)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				if run.warm { // a server that has run for a while: no new text
					for n := 1; n <= maxKeys; n++ {
						for range 8 { // past PostgreSQL's five custom plans
							if err := form.run(ctx, c, make([]int64, n)); err != nil {
								b.Fatal(err)
							}
						}
					}
				}
				before := 0
				if err := c.QueryRowContext(ctx, "SELECT count(*) FROM pg_prepared_statements WHERE NOT from_sql").Scan(&before); err != nil {
					b.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(1, 2))
				batches := 0
				for b.Loop() {
					n := 1 + rng.IntN(maxKeys)
					if run.fixed {
						n = maxKeys
					}
					keys := make([]int64, n)
					for i := range keys {
						keys[i] = 1 + rng.Int64N(int64(sh.parents))
					}
					if err := form.run(ctx, c, keys); err != nil {
						b.Fatal(err)
					}
					batches++
				}
				var prepared int
				if err := c.QueryRowContext(ctx, "SELECT count(*) FROM pg_prepared_statements WHERE NOT from_sql").Scan(&prepared); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(prepared-before)/float64(batches), "prepared/op")
			})
		}
	}
}

// TestKeyListFormsAgree: both forms return the same rows.
func TestKeyListFormsAgree(t *testing.T) {
	dsn := os.Getenv("ORMLOADER_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("ORMLOADER_TEST_POSTGRES_DSN is not set")
	}
	ctx := context.Background()
	db := seed(t, dsn, shapes[0])
	keys := []int64{3, 1, 7, 3}
	var got []string
	lit, _ := relations.ArrayLiteral(keyArgs(keys))
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"SELECT id FROM children WHERE parent_id IN (" + inList(len(keys), 1) + ") ORDER BY id", keyArgs(keys)},
		{"SELECT id FROM children WHERE parent_id = ANY($1) ORDER BY id", []any{lit}},
	} {
		rows, err := db.QueryContext(ctx, q.sql, q.args...)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, fmt.Sprint(id))
		}
		rows.Close()
		got = append(got, strings.Join(ids, ","))
	}
	if got[0] != got[1] || got[0] == "" {
		t.Errorf("IN list %s, = ANY %s", got[0], got[1])
	}
}
