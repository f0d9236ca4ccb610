// Package entcount reports the statements of an ent client to an
// [ormloadertest.Counter], through a dialect.Driver wrapper:
// ormloadertest's Statements, Operation and Guard then see them.
//
//	var counter ormloadertest.Counter
//	drv := entcount.Driver(entsql.OpenDB(dialect.SQLite, db), &counter)
//	client := ent.NewClient(ent.Driver(drv))
//
// Every Exec and Query of the driver and of its transactions is one
// statement (entloader's batches included, since they run on the client's
// driver), reported before it runs, with its context and SQL; so are
// ExecContext and QueryContext, which the generated client's methods of the
// same names use. A transaction's BEGIN, COMMIT and ROLLBACK are not
// reported.
package entcount

import (
	"context"
	stdsql "database/sql"
	"errors"

	"entgo.io/ent/dialect"

	"github.com/ormloader/ormloader/ormloadertest"
)

// Driver returns drv with every statement run through it reported to c.
func Driver(drv dialect.Driver, c *ormloadertest.Counter) dialect.Driver {
	return &countingDriver{Driver: drv, c: c}
}

type countingDriver struct {
	dialect.Driver
	c *ormloadertest.Counter
}

var _ dialect.Driver = (*countingDriver)(nil)

func (d *countingDriver) Exec(ctx context.Context, query string, args, v any) error {
	d.c.Record(ctx, query)
	return d.Driver.Exec(ctx, query, args, v)
}

func (d *countingDriver) Query(ctx context.Context, query string, args, v any) error {
	d.c.Record(ctx, query)
	return d.Driver.Query(ctx, query, args, v)
}

// ExecContext and QueryContext are those of the wrapped driver (ent's SQL
// driver has them), for the generated client's ExecContext and
// QueryContext.
func (d *countingDriver) ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error) {
	e, ok := d.Driver.(interface {
		ExecContext(context.Context, string, ...any) (stdsql.Result, error)
	})
	if !ok {
		return nil, errors.New("entcount: the wrapped driver has no ExecContext")
	}
	d.c.Record(ctx, query)
	return e.ExecContext(ctx, query, args...)
}

func (d *countingDriver) QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error) {
	q, ok := d.Driver.(interface {
		QueryContext(context.Context, string, ...any) (*stdsql.Rows, error)
	})
	if !ok {
		return nil, errors.New("entcount: the wrapped driver has no QueryContext")
	}
	d.c.Record(ctx, query)
	return q.QueryContext(ctx, query, args...)
}

func (d *countingDriver) Tx(ctx context.Context) (dialect.Tx, error) {
	tx, err := d.Driver.Tx(ctx)
	if err != nil {
		return nil, err
	}
	return &countingTx{Tx: tx, c: d.c}, nil
}

// BeginTx is the wrapped driver's (ent's SQL driver has it), for the
// generated client's BeginTx.
func (d *countingDriver) BeginTx(ctx context.Context, opts *stdsql.TxOptions) (dialect.Tx, error) {
	b, ok := d.Driver.(interface {
		BeginTx(context.Context, *stdsql.TxOptions) (dialect.Tx, error)
	})
	if !ok {
		return nil, errors.New("entcount: the wrapped driver has no BeginTx")
	}
	tx, err := b.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &countingTx{Tx: tx, c: d.c}, nil
}

type countingTx struct {
	dialect.Tx
	c *ormloadertest.Counter
}

var _ dialect.Tx = (*countingTx)(nil)

func (t *countingTx) Exec(ctx context.Context, query string, args, v any) error {
	t.c.Record(ctx, query)
	return t.Tx.Exec(ctx, query, args, v)
}

func (t *countingTx) Query(ctx context.Context, query string, args, v any) error {
	t.c.Record(ctx, query)
	return t.Tx.Query(ctx, query, args, v)
}
