package gormloader

import (
	"errors"

	"gorm.io/gorm"
)

// Errors returned by this package; match them with errors.Is. The returned
// errors wrap them with the model, the relation and what to do.
var (
	// ErrNotInstalled: the *gorm.DB passed to a load does not have the plugin
	// (db.Use(gormloader.New())).
	ErrNotInstalled = errors.New("gormloader: plugin not installed on this *gorm.DB (call db.Use(gormloader.New()))")
	// ErrNoDB: a load got no *gorm.DB and found none in the context.
	ErrNoDB = errors.New("gormloader: no *gorm.DB for this load (pass one, or put one in the context with gormloader.WithDB)")
	// ErrUnknownRelation: the model has no relation (GORM association) of that name.
	ErrUnknownRelation = errors.New("gormloader: unknown relation")
	// ErrUnsupportedRelation: the relation has a shape the loader cannot load.
	ErrUnsupportedRelation = errors.New("gormloader: unsupported relation")
	// ErrInvalidParent: the parent is not a pointer to a struct model.
	ErrInvalidParent = errors.New("gormloader: parent must be a non-nil pointer to a model struct")
	// ErrNilParent: the parent is a nil pointer (or nil).
	ErrNilParent = errors.New("gormloader: parent is nil")
	// ErrTypeMismatch: the type parameter is not the relation's target model.
	ErrTypeMismatch = errors.New("gormloader: type parameter does not match the relation")
	// ErrInvalidOption: a load option is invalid (negative limit, filter
	// arguments that cannot be compared, Count with a limit, ...).
	ErrInvalidOption = errors.New("gormloader: invalid load option")
	// ErrQueryReplaced: a statement of the loader did not reach the plugin's
	// gorm:query, because another plugin replaced gorm:query after this one
	// was installed. Install gormloader after such plugins.
	ErrQueryReplaced = errors.New("gormloader: GORM's gorm:query callback was replaced after the plugin was installed; install the plugin (db.Use(gormloader.New())) after the plugins that replace gorm:query")
	// ErrInvalidID: a value given to ByID or ByIDs is not a value of the
	// model's primary key (wrong type, out of range, wrong number of values).
	ErrInvalidID = errors.New("gormloader: invalid primary-key value")
	// ErrNotFound is returned by ByID for a primary key with no row. It also
	// matches gorm.ErrRecordNotFound.
	ErrNotFound error = notFound{}
)

type notFound struct{}

func (notFound) Error() string { return "gormloader: record not found" }

// Is makes ErrNotFound match gorm.ErrRecordNotFound.
func (notFound) Is(target error) bool { return target == gorm.ErrRecordNotFound }
