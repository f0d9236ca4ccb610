package entcount_test

import (
	"context"
	stdsql "database/sql"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/ormloader/ormloader/ent"
	"github.com/ormloader/ormloader/ent/band"
	_ "github.com/ormloader/ormloader/ent/runtime" // the schema's hooks
	"github.com/ormloader/ormloader/internal/testdb"
	"github.com/ormloader/ormloader/ormloadertest"
	"github.com/ormloader/ormloader/ormloadertest/entcount"
)

var dialects = map[string]string{"sqlite": dialect.SQLite, "postgres": dialect.Postgres, "mysql": dialect.MySQL}

// Every statement of the client, of its transactions and of the driver's
// ExecContext and QueryContext is reported once; BEGIN and COMMIT are not.
func TestDriverCountsEveryStatement(t *testing.T) {
	for _, d := range testdb.All(t) {
		t.Run(d.Dialect, func(t *testing.T) {
			db, err := stdsql.Open(d.DriverName, d.DSN)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var c ormloadertest.Counter
			drv := entcount.Driver(entsql.OpenDB(dialects[d.Dialect], db), &c)
			client := ent.NewClient(ent.Driver(drv))
			if err := client.Schema.Create(context.Background()); err != nil {
				t.Fatal(err)
			}
			execQuerier := drv.(interface {
				ExecContext(context.Context, string, ...any) (stdsql.Result, error)
				QueryContext(context.Context, string, ...any) (*stdsql.Rows, error)
			})
			for _, tc := range []struct {
				name string
				want int
				run  func(ctx context.Context) error
			}{
				{"Create", 1, func(ctx context.Context) error { return client.Band.Create().SetName("a").Exec(ctx) }},
				{"CreateBulk", 1, func(ctx context.Context) error {
					return client.Band.CreateBulk(client.Band.Create().SetName("b"), client.Band.Create().SetName("c")).Exec(ctx)
				}},
				{"All", 1, func(ctx context.Context) error { _, err := client.Band.Query().All(ctx); return err }},
				{"Count", 1, func(ctx context.Context) error { _, err := client.Band.Query().Count(ctx); return err }},
				{"Update", 1, func(ctx context.Context) error {
					return client.Band.Update().Where(band.Name("a")).SetName("d").Exec(ctx)
				}},
				{"Delete", 1, func(ctx context.Context) error {
					_, err := client.Band.Delete().Where(band.Name("c")).Exec(ctx)
					return err
				}},
				{"Tx", 2, func(ctx context.Context) error {
					tx, err := client.Tx(ctx)
					if err != nil {
						return err
					}
					if err := tx.Band.Create().SetName("e").Exec(ctx); err != nil {
						return err
					}
					if _, err := tx.Band.Query().Count(ctx); err != nil {
						return err
					}
					return tx.Commit()
				}},
				{"BeginTx", 1, func(ctx context.Context) error {
					tx, err := client.BeginTx(ctx, &stdsql.TxOptions{})
					if err != nil {
						return err
					}
					if _, err := tx.Band.Query().All(ctx); err != nil {
						return err
					}
					return tx.Rollback()
				}},
				{"ExecContext and QueryContext", 2, func(ctx context.Context) error {
					if _, err := execQuerier.ExecContext(ctx, "UPDATE bands SET name = name"); err != nil {
						return err
					}
					rows, err := execQuerier.QueryContext(ctx, "SELECT id FROM bands")
					if err != nil {
						return err
					}
					return rows.Close()
				}},
			} {
				rep := ormloadertest.Statements(t, &c, tc.want, func(ctx context.Context) {
					if err := tc.run(ctx); err != nil {
						t.Errorf("%s: %v", tc.name, err)
					}
				})
				if rep.Statements != tc.want {
					t.Errorf("%s: %d statements, want %d:\n%s", tc.name, rep.Statements, tc.want, rep)
				}
			}
		})
	}
}
