package tenantapp

//go:generate go tool gqlgen generate --config gqlgen.yml

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/ormloader/ormloader/gormloader"
)

// Resolver is the resolver root: relations load with gormloader, batched in
// the operation's scope, or, if naive, with a query of their own per parent
// (the answers the tests compare with). Every query goes through the tenant
// scope either way.
type Resolver struct {
	db    *gorm.DB
	naive bool
}

// many loads a to-many relation of parent: with gormloader and opts, or
// with the query naive builds on a query of T in the request's context.
func many[T any](ctx context.Context, r *Resolver, parent any, relation string, opts []gormloader.LoadOption, naive func(*gorm.DB) *gorm.DB) ([]T, error) {
	if !r.naive {
		return gormloader.Load[T](ctx, nil, parent, relation, opts...)
	}
	var rows []T
	err := naive(r.db.WithContext(ctx).Model(new(T))).Find(&rows).Error
	return rows, err
}

// one loads a to-one relation of parent; a missing row (another tenant's,
// say) is nil.
func one[T any](ctx context.Context, r *Resolver, parent any, relation string, naive func(*gorm.DB) *gorm.DB) (*T, error) {
	var row *T
	var err error
	if r.naive {
		row = new(T)
		err = naive(r.db.WithContext(ctx).Model(new(T))).First(row).Error
	} else {
		row, err = gormloader.LoadOne[T](ctx, nil, parent, relation)
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	return row, err
}

// count counts a relation of parent, whose target model is T.
func count[T any](ctx context.Context, r *Resolver, parent any, relation string, naive func(*gorm.DB) *gorm.DB) (int, error) {
	var n int64
	var err error
	if r.naive {
		err = naive(r.db.WithContext(ctx).Model(new(T))).Count(&n).Error
	} else {
		n, err = gormloader.Count(ctx, nil, parent, relation)
	}
	return int(n), err
}

// all lists the tenant's rows of T in ID order.
func all[T any](ctx context.Context, r *Resolver) ([]T, error) {
	var rows []T
	err := r.db.WithContext(ctx).Order("id").Find(&rows).Error
	return rows, err
}

// Naive query builders.

func where(cond string, args ...any) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB { return q.Where(cond, args...) }
}

func ordered(f func(*gorm.DB) *gorm.DB, order string) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB { return f(q).Order(order) }
}

func limited(f func(*gorm.DB) *gorm.DB, n int) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB { return f(q).Limit(n) }
}

// joined selects the targets of a many-to-many relation through join, whose
// column ownerCol is the parent's key and targetCol the target's.
func joined(join, targetTable, targetCol, ownerCol string, owner uint) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		return q.Joins("JOIN "+join+" ON "+join+"."+targetCol+" = "+targetTable+".id").Where(join+"."+ownerCol+" = ?", owner)
	}
}

func byID(id uint) func(*gorm.DB) *gorm.DB { return where("id = ?", id) }

// byOrder orders every to-many relation by ID.
var byOrder = []gormloader.LoadOption{gormloader.Order("id")}
