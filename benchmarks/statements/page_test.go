// Package statements measures the statement shapes of a page per parent on
// PostgreSQL (issue 13: "a per-parent page in one statement ... or a LATERAL
// join where the planner does better — measure both"): the window statement
// that entloader's <Edge>Page and gormloader's LoadPage run (ROW_NUMBER and
// COUNT(*) OVER, with a cursor a running SUM), a LATERAL join per parent
// (LIMIT through the (parent_id, id) index, and a count per parent), and the
// two statements a page and its count cost before (ROW_NUMBER, then GROUP
// BY). Each is one round trip, with the parents' keys bound as one IN list;
// the LATERAL forms are driven by the keys as one array parameter (what
// ormloader runs) or as a VALUES list of one parameter each.
//
// BenchmarkPageStatementPortable compares the window forms with the two
// statements on SQLite and MariaDB, which have no LATERAL.
//
//	ORMLOADER_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	ORMLOADER_TEST_MYSQL_DSN='root@tcp(127.0.0.1:3306)/test?parseTime=true' \
//	  go test ./benchmarks/statements -run '^$' -bench . -benchtime 100x
//
// Without a DSN its database is skipped (SQLite always runs).
package statements

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql" // registers "mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "github.com/mattn/go-sqlite3"    // registers "sqlite3"

	"github.com/ormloader/ormloader/relations"
)

// shape is a data set: parents, and the children of each.
type shape struct {
	name     string
	parents  int
	children func(parent int) int
}

var shapes = []shape{
	{"uniform 100x10", 100, func(int) int { return 10 }},
	{"skewed 100, 10 of them x5000", 100, func(p int) int {
		if p%10 == 0 {
			return 5000
		}
		return 5
	}},
	{"wide 1000x3", 1000, func(int) int { return 3 }},
}

const pageSize = 3

// statement is one way to load the pages: it returns the rows it scanned.
type statement struct {
	name string
	run  func(ctx context.Context, db *sql.DB, keys []int64, cursor int64) (int, error)
}

func inList(n, from int) string {
	ph := make([]string, n)
	for i := range ph {
		ph[i] = fmt.Sprintf("$%d", from+i)
	}
	return strings.Join(ph, ", ")
}

func keyArgs(keys []int64) []any {
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	return args
}

func count(rows *sql.Rows, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	dest := make([]any, len(cols))
	for i := range dest {
		dest[i] = new(any)
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

var statements = []statement{
	{"window", func(ctx context.Context, db *sql.DB, keys []int64, cursor int64) (int, error) {
		args := keyArgs(keys)
		var q string
		if cursor < 0 {
			q = `SELECT * FROM (SELECT c.*, ROW_NUMBER() OVER (PARTITION BY parent_id ORDER BY id) AS rn,
				COUNT(*) OVER (PARTITION BY parent_id) AS total FROM children c WHERE parent_id IN (` + inList(len(keys), 1) + `)) w
				WHERE rn <= $` + fmt.Sprint(len(keys)+1)
			args = append(args, pageSize+1)
		} else {
			n := len(keys)
			q = fmt.Sprintf(`SELECT * FROM (SELECT c.*, ROW_NUMBER() OVER (PARTITION BY parent_id ORDER BY id) AS rn,
				COUNT(*) OVER (PARTITION BY parent_id) AS total,
				CASE WHEN id > $%d THEN SUM(CASE WHEN id > $%d THEN 1 ELSE 0 END) OVER (PARTITION BY parent_id ORDER BY id ROWS UNBOUNDED PRECEDING) ELSE 0 END AS pos
				FROM children c WHERE parent_id IN (%s)) w WHERE (pos BETWEEN 1 AND $%d) OR rn = 1`, n+1, n+2, inList(n, 1), n+3)
			args = append(args, cursor, cursor, pageSize+1)
		}
		return count(db.QueryContext(ctx, q, args...))
	}},
	{"window, one ordering", func(ctx context.Context, db *sql.DB, keys []int64, cursor int64) (int, error) {
		args := keyArgs(keys)
		const w = "OVER (PARTITION BY parent_id ORDER BY id"
		var q string
		if cursor < 0 {
			q = `SELECT * FROM (SELECT c.*, ROW_NUMBER() ` + w + `) AS rn,
				COUNT(*) ` + w + ` ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS total FROM children c WHERE parent_id IN (` + inList(len(keys), 1) + `)) w
				WHERE rn <= $` + fmt.Sprint(len(keys)+1)
			args = append(args, pageSize+1)
		} else {
			n := len(keys)
			q = fmt.Sprintf(`SELECT * FROM (SELECT c.*, ROW_NUMBER() %[5]s) AS rn,
				COUNT(*) %[5]s ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS total,
				CASE WHEN id > $%[1]d THEN SUM(CASE WHEN id > $%[2]d THEN 1 ELSE 0 END) %[5]s ROWS UNBOUNDED PRECEDING) ELSE 0 END AS pos
				FROM children c WHERE parent_id IN (%[3]s)) w WHERE (pos BETWEEN 1 AND $%[4]d) OR rn = 1`, n+1, n+2, inList(n, 1), n+3, w)
			args = append(args, cursor, cursor, pageSize+1)
		}
		return count(db.QueryContext(ctx, q, args...))
	}},
	{"lateral, VALUES", func(ctx context.Context, db *sql.DB, keys []int64, cursor int64) (int, error) {
		n := len(keys)
		vals := make([]string, n)
		for i := range vals {
			vals[i] = fmt.Sprintf("($%d::bigint)", i+1)
		}
		args := append(keyArgs(keys), pageSize+1)
		after, first := "", ""
		if cursor >= 0 {
			// Each parent's first row carries the count when no row
			// follows the cursor (without one, the page starts with it).
			after = fmt.Sprintf(" AND id > $%d", n+2)
			args = append(args, cursor)
			first = " UNION ALL (SELECT c.*, 0 FROM children c WHERE parent_id = p.k ORDER BY id LIMIT 1)"
		}
		q := fmt.Sprintf(`SELECT p.k, n.total, t.* FROM (VALUES %s) AS p(k)
			CROSS JOIN LATERAL (SELECT count(*) AS total FROM children WHERE parent_id = p.k) n
			CROSS JOIN LATERAL ((SELECT c.*, ROW_NUMBER() OVER (ORDER BY id) AS pos FROM children c WHERE parent_id = p.k%s ORDER BY id LIMIT $%d)%s) t`, strings.Join(vals, ", "), after, n+1, first)
		return count(db.QueryContext(ctx, q, args...))
	}},
	{"lateral, array (what ormloader runs)", func(ctx context.Context, db *sql.DB, keys []int64, cursor int64) (int, error) {
		// The keys as one text parameter, an array literal, as
		// relations.ArrayLiteral writes it.
		lit, _ := relations.ArrayLiteral(keyArgs(keys))
		after, first := "", ""
		args := []any{lit, pageSize + 1}
		if cursor >= 0 {
			after = " AND id > $3"
			args = append(args, cursor)
			first = " UNION ALL (SELECT c.*, 0 FROM children c WHERE parent_id = p.k ORDER BY id LIMIT 1)"
		}
		q := `SELECT p.k, n.total, t.* FROM unnest(CAST($1 AS bigint[])) AS p(k)
			CROSS JOIN LATERAL (SELECT count(*) AS total FROM children WHERE parent_id = p.k) n
			CROSS JOIN LATERAL ((SELECT c.*, ROW_NUMBER() OVER (ORDER BY id) AS pos FROM children c WHERE parent_id = p.k` + after + ` ORDER BY id LIMIT $2)` + first + `) t`
		return count(db.QueryContext(ctx, q, args...))
	}},
	{"two statements (page, then GROUP BY)", func(ctx context.Context, db *sql.DB, keys []int64, cursor int64) (int, error) {
		args := keyArgs(keys)
		n := len(keys)
		after := ""
		pageArgs := append(args[:n:n], pageSize+1)
		if cursor >= 0 {
			after = fmt.Sprintf(" AND id > $%d", n+2)
			pageArgs = append(pageArgs, cursor)
		}
		rows, err := count(db.QueryContext(ctx, `SELECT * FROM (SELECT c.*, ROW_NUMBER() OVER (PARTITION BY parent_id ORDER BY id) AS rn
			FROM children c WHERE parent_id IN (`+inList(n, 1)+`)`+after+`) w WHERE rn <= $`+fmt.Sprint(n+1), pageArgs...))
		if err != nil {
			return rows, err
		}
		counts, err := count(db.QueryContext(ctx, `SELECT parent_id, COUNT(*) FROM children WHERE parent_id IN (`+inList(n, 1)+`) GROUP BY parent_id`, args...))
		return rows + counts, err
	}},
}

func BenchmarkPageStatement(b *testing.B) {
	dsn := os.Getenv("ORMLOADER_TEST_POSTGRES_DSN")
	if dsn == "" {
		b.Skip("ORMLOADER_TEST_POSTGRES_DSN is not set")
	}
	ctx := context.Background()
	for _, sh := range shapes {
		db := seed(b, dsn, sh)
		keys := make([]int64, sh.parents)
		for i := range keys {
			keys[i] = int64(i + 1)
		}
		for _, cursor := range []int64{-1, 2} { // no cursor; after the second child of the first parent
			for _, st := range statements {
				name := fmt.Sprintf("%s/cursor=%v/%s", sh.name, cursor >= 0, st.name)
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						if _, err := st.run(ctx, db, keys, cursor); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// TestPageStatementsAgree: the three forms return the same pages and counts
// on every shape (so the benchmark compares like with like).
func TestPageStatementsAgree(t *testing.T) {
	dsn := os.Getenv("ORMLOADER_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("ORMLOADER_TEST_POSTGRES_DSN is not set")
	}
	ctx := context.Background()
	for _, sh := range shapes[:1] {
		db := seed(t, dsn, sh)
		keys := []int64{1, 2, 3}
		for _, cursor := range []int64{-1, 2, 1 << 40} {
			type page struct{ ids, total string }
			got := map[string]map[int64]page{}
			for _, form := range []struct {
				name string
				q    string
				args []any
			}{
				{"window", fmt.Sprintf(`SELECT parent_id, id, total, pos FROM (SELECT c.*, ROW_NUMBER() OVER (PARTITION BY parent_id ORDER BY id) AS rn,
					COUNT(*) OVER (PARTITION BY parent_id) AS total,
					CASE WHEN id > $4 THEN SUM(CASE WHEN id > $4 THEN 1 ELSE 0 END) OVER (PARTITION BY parent_id ORDER BY id ROWS UNBOUNDED PRECEDING) ELSE 0 END AS pos
					FROM children c WHERE parent_id IN ($1, $2, $3)) w WHERE (pos BETWEEN 1 AND %d) OR rn = 1 ORDER BY parent_id, id`, pageSize), []any{keys[0], keys[1], keys[2], cursor}},
				{"lateral", fmt.Sprintf(`SELECT p.k, t.id, n.total, CASE WHEN t.id IS NULL THEN 0 ELSE 1 END FROM unnest($1::bigint[]) AS p(k)
					CROSS JOIN LATERAL (SELECT count(*) AS total FROM children WHERE parent_id = p.k) n
					LEFT JOIN LATERAL (SELECT * FROM children WHERE parent_id = p.k AND id > $2 ORDER BY id LIMIT %d) t ON true ORDER BY p.k, t.id`, pageSize), []any{keys, cursor}},
			} {
				rows, err := db.QueryContext(ctx, form.q, form.args...)
				if err != nil {
					t.Fatal(err)
				}
				m := map[int64]page{}
				for rows.Next() {
					var k, total, pos int64
					var id sql.NullInt64
					if err := rows.Scan(&k, &id, &total, &pos); err != nil {
						t.Fatal(err)
					}
					p := m[k]
					p.total = fmt.Sprint(total)
					if pos >= 1 && pos <= pageSize && id.Valid {
						p.ids += fmt.Sprint(id.Int64, " ")
					}
					m[k] = p
				}
				rows.Close()
				got[form.name] = m
			}
			if fmt.Sprint(got["window"]) != fmt.Sprint(got["lateral"]) {
				t.Errorf("cursor %d: window %v, lateral %v", cursor, got["window"], got["lateral"])
			}
		}
	}
}

// seed creates the children table in a schema of its own and fills it.
func seed(tb testing.TB, dsn string, sh shape) *sql.DB {
	tb.Helper()
	ctx := context.Background()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	schema := fmt.Sprintf("ormloader_page_%d", os.Getpid())
	if _, err := admin.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE; CREATE SCHEMA "+schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		admin.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		admin.Close()
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	db, err := sql.Open("pgx", dsn+sep+"search_path="+schema)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.ExecContext(ctx, `CREATE TABLE children (id bigserial PRIMARY KEY, parent_id bigint NOT NULL, title text NOT NULL);
		CREATE INDEX children_parent ON children (parent_id, id)`); err != nil {
		tb.Fatal(err)
	}
	for p := 1; p <= sh.parents; p++ {
		if _, err := db.ExecContext(ctx, `INSERT INTO children (parent_id, title) SELECT $1, 'child ' || g FROM generate_series(1, $2) g`, p, sh.children(p-1)); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, "ANALYZE children"); err != nil {
		tb.Fatal(err)
	}
	return db
}

// portableForm is a form of the page statement on SQLite and MariaDB: the
// rows of the pages of keys after cursor (none if negative), each with its
// parent's count of all its rows, and with a cursor each parent's first row
// (position 0), which carries the count when no row follows the cursor.
type portableForm struct {
	name string
	// statements returns the statements and their arguments.
	statements func(table string, keys []any, cursor int64) (stmts []string, args [][]any)
}

// portableWindow is the window statement, with the count as COUNT(*) OVER
// in the inner statement (over) or as a subquery per returned row.
func portableWindow(table string, keys []any, cursor int64, over bool) ([]string, [][]any) {
	in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(keys)), ",") + ")"
	inner, outerSel := "c.*, ROW_NUMBER() OVER (PARTITION BY parent_id ORDER BY id) AS rn", "w.*"
	if over {
		inner += ", COUNT(*) OVER (PARTITION BY parent_id) AS total"
	} else {
		outerSel += ", (SELECT COUNT(*) FROM " + table + " n WHERE n.parent_id = w.parent_id) AS total"
	}
	var args []any
	outer := "rn <= ?"
	if cursor >= 0 {
		inner += ", CASE WHEN id > ? THEN SUM(CASE WHEN id > ? THEN 1 ELSE 0 END) OVER (PARTITION BY parent_id ORDER BY id ROWS UNBOUNDED PRECEDING) ELSE 0 END AS pos"
		args = append(args, cursor, cursor)
		outer = "(pos BETWEEN 1 AND ?) OR rn = 1"
	}
	args = append(append(args, keys...), pageSize+1)
	return []string{"SELECT " + outerSel + " FROM (SELECT " + inner + " FROM " + table + " c WHERE parent_id IN " + in + ") w WHERE " + outer}, [][]any{args}
}

var portableForms = []portableForm{
	{"window, COUNT(*) OVER (what ormloader runs on MariaDB)", func(table string, keys []any, cursor int64) ([]string, [][]any) {
		return portableWindow(table, keys, cursor, true)
	}},
	{"window page, count as a subquery per returned row (what ormloader runs on SQLite)", func(table string, keys []any, cursor int64) ([]string, [][]any) {
		return portableWindow(table, keys, cursor, false)
	}},
	{"two statements (page, then GROUP BY)", func(table string, keys []any, cursor int64) ([]string, [][]any) {
		in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(keys)), ",") + ")"
		page, args := "SELECT * FROM (SELECT c.*, ROW_NUMBER() OVER (PARTITION BY parent_id ORDER BY id) AS rn FROM "+table+" c WHERE parent_id IN "+in, keys[:len(keys):len(keys)]
		if cursor >= 0 {
			page += " AND id > ?"
			args = append(args, cursor)
		}
		return []string{page + ") w WHERE rn <= ?", "SELECT parent_id, COUNT(*) FROM " + table + " WHERE parent_id IN " + in + " GROUP BY parent_id"},
			[][]any{append(args, pageSize+1), keys}
	}},
}

// portableDBs returns the databases of the portable forms: SQLite, and
// MariaDB when ORMLOADER_TEST_MYSQL_DSN is set.
func portableDBs(tb testing.TB) [][2]string {
	dbs := [][2]string{{"sqlite", "file:" + tb.TempDir() + "/page.db"}}
	if dsn := os.Getenv("ORMLOADER_TEST_MYSQL_DSN"); dsn != "" {
		dbs = append(dbs, [2]string{"mariadb", dsn})
	}
	return dbs
}

// BenchmarkPageStatementPortable compares, on SQLite and MariaDB (which have
// no LATERAL), the window statements of a page, without and after a cursor,
// with the two statements a page and its count cost before.
func BenchmarkPageStatementPortable(b *testing.B) {
	ctx := context.Background()
	for _, d := range portableDBs(b) {
		for _, sh := range shapes {
			db, table := seedPortable(b, d[0], d[1], sh)
			keys := make([]any, sh.parents)
			for i := range keys {
				keys[i] = int64(i + 1)
			}
			for _, cursor := range []int64{-1, 2} { // no cursor; after the second child of the first parent
				for _, f := range portableForms {
					stmts, args := f.statements(table, keys, cursor)
					b.Run(fmt.Sprintf("%s/%s/cursor=%v/%s", d[0], sh.name, cursor >= 0, f.name), func(b *testing.B) {
						for b.Loop() {
							for i, q := range stmts {
								if _, err := count(db.QueryContext(ctx, q, args[i]...)); err != nil {
									b.Fatal(err)
								}
							}
						}
					})
				}
			}
		}
	}
}

// TestPortablePageStatementsAgree: the portable forms return the same pages
// (the rows after the cursor, at most the page size and the one past it)
// and counts, so that the benchmark compares like with like.
func TestPortablePageStatementsAgree(t *testing.T) {
	ctx := context.Background()
	for _, d := range portableDBs(t) {
		db, table := seedPortable(t, d[0], d[1], shapes[0])
		keys := []any{int64(1), int64(2), int64(10)}
		for _, cursor := range []int64{-1, 2, 1 << 40} {
			var want string
			for _, f := range portableForms {
				stmts, args := f.statements(table, keys, cursor)
				got := portablePages(ctx, t, db, stmts, args, cursor)
				if want == "" {
					want = got
				} else if got != want {
					t.Errorf("%s, cursor %d: %s gives\n%s\nwant (as %s)\n%s", d[0], cursor, f.name, got, portableForms[0].name, want)
				}
			}
		}
	}
}

// portablePages runs a form's statements and describes, per parent, the
// ids of its page (the rows after the cursor) and its count.
func portablePages(ctx context.Context, t *testing.T, db *sql.DB, stmts []string, args [][]any, cursor int64) string {
	t.Helper()
	ids, totals := map[int64][]int64{}, map[int64]int64{}
	asInt := func(v any) int64 {
		switch v := v.(type) {
		case int64:
			return v
		case []byte:
			var n int64
			if _, err := fmt.Sscan(string(v), &n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		t.Fatalf("value %v (%T)", v, v)
		return 0
	}
	for i, q := range stmts {
		rows, err := db.QueryContext(ctx, q, args[i]...)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for j := range vals {
				ptrs[j] = &vals[j]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			col := map[string]any{}
			for j, c := range cols {
				col[strings.ToLower(c)] = vals[j]
			}
			parent := asInt(col["parent_id"])
			if v, ok := col["count(*)"]; ok {
				totals[parent] = asInt(v)
				continue
			}
			if v, ok := col["total"]; ok {
				totals[parent] = asInt(v)
			}
			if id := asInt(col["id"]); cursor < 0 || id > cursor {
				ids[parent] = append(ids[parent], id)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	var b strings.Builder
	for _, p := range slices.Sorted(maps.Keys(totals)) {
		fmt.Fprintf(&b, "parent %d: %v of %d\n", p, ids[p], totals[p])
	}
	return b.String()
}

// seedPortable creates and fills a children table of its own on SQLite or
// MariaDB.
func seedPortable(tb testing.TB, dialect, dsn string, sh shape) (*sql.DB, string) {
	tb.Helper()
	ctx := context.Background()
	driver := "sqlite3"
	if dialect == "mariadb" {
		driver = "mysql"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	table := fmt.Sprintf("ormloader_page_%d", os.Getpid())
	tb.Cleanup(func() {
		db.ExecContext(ctx, "DROP TABLE IF EXISTS "+table)
		db.Close()
	})
	for _, q := range []string{
		"DROP TABLE IF EXISTS " + table,
		"CREATE TABLE " + table + " (id INTEGER PRIMARY KEY AUTO_INCREMENT, parent_id BIGINT NOT NULL, title VARCHAR(64) NOT NULL)",
		"CREATE INDEX " + table + "_parent ON " + table + " (parent_id, id)",
	} {
		if dialect == "sqlite" {
			q = strings.Replace(q, " AUTO_INCREMENT", "", 1)
		}
		if _, err := db.ExecContext(ctx, q); err != nil {
			tb.Fatal(err)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for p := 1; p <= sh.parents; p++ {
		for i := range sh.children(p - 1) {
			if _, err := tx.ExecContext(ctx, "INSERT INTO "+table+" (parent_id, title) VALUES (?, ?)", p, fmt.Sprint("child ", i)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	return db, table
}
