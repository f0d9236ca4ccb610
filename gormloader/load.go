package gormloader

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"gorm.io/gorm"

	"github.com/ormloader/ormloader/relations"
)

// LoadOption selects a variant of a load: per-parent limit and order, an
// extra filter. Loads with different options never share a batch or a cached
// result; loads with equal options do.
type LoadOption func(*loadConfig)

type loadConfig struct {
	limit int
	order string
	where string
	args  []any
	err   error

	page      bool // LoadPage's, of pageSize rows after the cursor
	pageSize  int
	after     string
	afterArgs []any
}

// Limit keeps at most n target rows per parent (ROW_NUMBER() OVER (PARTITION
// BY the foreign key ...), so the limit applies to each parent, not to the
// whole batch as GORM's Preload with Limit does). Combine it with Order to
// say which rows; without Order they are ordered by the primary key.
func Limit(n int) LoadOption {
	return func(c *loadConfig) {
		if n < 0 {
			c.err = fmt.Errorf("%w: Limit(%d)", ErrInvalidOption, n)
		}
		c.limit = n
	}
}

// Order orders the target rows of each parent: alone, it orders each
// parent's rows; with Limit, it also chooses which rows the limit keeps. It
// is an SQL fragment on the target table's columns, like GORM's Order ("year
// DESC, id"); never build it from user input. In a many-to-many load, which
// joins the join table, plain column names ("name DESC, id") are qualified
// with the target table; other fragments are used as written. Without Order,
// the order of the rows is whatever the database returns.
func Order(order string) LoadOption {
	return func(c *loadConfig) { c.order = order }
}

// Where adds a condition on the target rows, like GORM's Where with a string
// and ? placeholders. At most relations.MaxKeyColumns arguments, of
// comparable types (they are part of the batch key).
func Where(query string, args ...any) LoadOption {
	return func(c *loadConfig) { c.where, c.args = query, args }
}

func variantOf(opts []LoadOption, count bool) (relations.Variant, error) {
	var c loadConfig
	for _, o := range opts {
		o(&c)
	}
	if c.err != nil {
		return relations.Variant{}, c.err
	}
	if c.page {
		return pageVariant(c)
	}
	if c.after != "" {
		return relations.Variant{}, fmt.Errorf("%w: After is LoadPage's cursor", ErrInvalidOption)
	}
	if count && c.limit > 0 {
		return relations.Variant{}, fmt.Errorf("%w: Count with Limit", ErrInvalidOption)
	}
	if count {
		c.order = ""
	}
	v, err := relations.NewVariant(c.limit, c.order, count, c.where, c.args...)
	if err != nil {
		return relations.Variant{}, fmt.Errorf("%w: %v", ErrInvalidOption, err)
	}
	return v, nil
}

type dbKey struct{}

// WithDB returns a copy of ctx carrying db, for loads that are given no
// *gorm.DB (the generated LoadX methods). Put it in the context where the
// request scope is opened; pass a transaction's *gorm.DB to make the loads of
// that context run in the transaction.
func WithDB(ctx context.Context, db *gorm.DB) context.Context {
	return context.WithValue(ctx, dbKey{}, db)
}

// DBFromContext returns the *gorm.DB put in ctx by WithDB, or nil.
func DBFromContext(ctx context.Context) *gorm.DB {
	db, _ := ctx.Value(dbKey{}).(*gorm.DB)
	return db
}

// FromDB returns the Loader installed on db (db.Use(gormloader.New())).
func FromDB(db *gorm.DB) (*Loader, error) {
	if db == nil {
		return nil, ErrNoDB
	}
	p, ok := db.Config.Plugins[pluginName]
	if !ok {
		return nil, ErrNotInstalled
	}
	l, ok := p.(*Loader)
	if !ok {
		return nil, ErrNotInstalled
	}
	return l, nil
}

// resolve finds the loader and the partition (transaction) of a load: db if
// given, else the one in ctx.
func resolve(ctx context.Context, db *gorm.DB) (*Loader, any, error) {
	if db == nil {
		db = DBFromContext(ctx)
	}
	if db == nil {
		return nil, nil, ErrNoDB
	}
	l, err := FromDB(db)
	if err != nil {
		return nil, nil, err
	}
	conn, err := l.connOf(db)
	if err != nil {
		return nil, nil, err
	}
	return l, conn, nil
}

// parentValue checks that parent is a non-nil pointer to a struct.
func parentValue(parent any, relation string) (reflect.Value, error) {
	pv := reflect.ValueOf(parent)
	if pv.Kind() != reflect.Pointer || pv.IsNil() || pv.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, parentError(parent, relation)
	}
	return pv.Elem(), nil
}

// parentError says what is wrong with a parent that is not a non-nil pointer
// to a struct. Errors are built out of line: see load.
//
//go:noinline
func parentError(parent any, relation string) error {
	pv := reflect.ValueOf(parent)
	switch {
	case parent == nil:
		return fmt.Errorf("%w (loading %q)", ErrNilParent, relation)
	case pv.Kind() == reflect.Struct:
		return fmt.Errorf("%w: got the struct %T (loading %q); pass a pointer to the row, &row", ErrInvalidParent, parent, relation)
	case pv.Kind() != reflect.Pointer:
		return fmt.Errorf("%w: got %T (loading %q); pass a pointer to the row whose relation to load", ErrInvalidParent, parent, relation)
	case pv.IsNil():
		return fmt.Errorf("%w: %T(nil) (loading %q)", ErrNilParent, parent, relation)
	}
	return fmt.Errorf("%w: got %T (loading %q); pass a pointer to the row whose relation to load", ErrInvalidParent, parent, relation)
}

// load is the common path of Load, LoadOne and Count. want is the type
// parameter's type (nil for Count). A nil result with a nil error means "no
// rows and no statement" (a NULL foreign key).
//
// Every resolver goroutine runs load, on a stack that starts at 2 kB: its
// steps are separate functions that are not inlined, so that the deepest
// point of a load stays shallow and the stack is not copied to grow.
func load(ctx context.Context, db *gorm.DB, parent any, name string, want reflect.Type, count bool, opts []LoadOption) (any, *relation, error) {
	var bk relations.BatchKey
	l, m, r, row, err := prepareLoad(ctx, db, parent, name, want, count, opts, &bk)
	if err != nil || bk.Parent.IsZero() {
		return nil, r, err
	}
	if res, ok := r.cached(ctx, &bk); ok {
		return res, r, nil
	}
	if res, ok, err := r.joinExisting(ctx, l, m, row, &bk); ok {
		return res, r, err
	}
	if res, done, err := r.loadSet(ctx, l, m, row, &bk); done {
		return res, r, err
	}
	res, err := r.loader.Load(ctx, bk)
	return res, r, err
}

// cached returns bk's result if it is cached: the common case of a wide
// fan-out, answered without finding or claiming a load set. It is a step of
// its own, not part of loadSet, to keep the stack of a cached load shallow
// (see load).
//
//go:noinline
func (r *relation) cached(ctx context.Context, bk *relations.BatchKey) (any, bool) {
	return r.loader.Cached(ctx, *bk)
}

// joinExisting waits for bk's result if bk already has an entry (pending or
// in flight in a batch another load started, or cached with a per-key
// error): the second case of a wide fan-out, the rows after the first of a
// set whose keys the first enqueued. ok is false if bk has no entry. Such a
// load neither finds nor claims row's load set; if it gets an error, that is
// recorded on the set's claim as the claim's losers record theirs
// (relations.Claim.Fail), so that the row is not owed the failure again
// (relations.Claim.Owed) and its next load fetches. A key pending in a held
// batch (another root field's set, dataloader.Scope.HoldSiblings) is not
// joined: row's set is claimed instead, and its keys join that batch.
//
//go:noinline
func (r *relation) joinExisting(ctx context.Context, l *Loader, m *model, row reflect.Value, bk *relations.BatchKey) (res any, ok bool, err error) {
	res, ok, err = r.loader.LoadExistingUnlessHeld(ctx, *bk)
	if ok && err != nil {
		if set, sets, pk := r.setOf(ctx, l, m, row); set != nil {
			if c := sets.Claimed(set, claim{r, bk.Part}); c != nil {
				c.Fail(ctx, err, pk)
			}
		}
	}
	return res, ok, err
}

// setOf returns row's load set, the registry that holds it and row's
// primary key, or a nil set if loads of r do not go through one.
func (r *relation) setOf(ctx context.Context, l *Loader, m *model, row reflect.Value) (*relations.Set, *relations.Sets, relations.Key) {
	sets := relations.SetsOf(ctx)
	if sets == nil || l.cfg.noLoadSets || l.cfg.alone[r.Name] {
		return nil, nil, relations.Key{}
	}
	pk, err := m.pkKey(ctx, row)
	if err != nil {
		return nil, nil, relations.Key{}
	}
	set := sets.LookupAt(m.typ, pk, row.Addr().Interface())
	if set == nil || set.Source != l {
		return nil, nil, relations.Key{}
	}
	return set, sets, pk
}

// variantPart sets bk's partition to the variant of opts (and count) on
// bk's connection. Out of line: most loads have no variant, and its
// locals would enlarge every load's frame.
//
//go:noinline
func (r *relation) variantPart(ctx context.Context, opts []LoadOption, count bool, bk *relations.BatchKey) error {
	v, err := variantOf(opts, count)
	if err != nil {
		return r.loadError(err)
	}
	if v.Page {
		if err := r.checkPage(); err != nil {
			return err
		}
	}
	bk.Part = relations.NewPart(ctx, bk.Conn, v)
	return nil
}

// prepareLoad checks a load and computes its batch key into bk, which it
// leaves with a zero parent key for a NULL foreign key.
//
//go:noinline
func prepareLoad(ctx context.Context, db *gorm.DB, parent any, name string, want reflect.Type, count bool, opts []LoadOption, bk *relations.BatchKey) (*Loader, *model, *relation, reflect.Value, error) {
	row, err := parentValue(parent, name)
	if err != nil {
		return nil, nil, nil, row, err
	}
	l, conn, err := resolve(ctx, db)
	if err != nil {
		return nil, nil, nil, row, loadError(parent, name, err)
	}
	m, err := l.model(row.Type())
	if err != nil {
		return nil, nil, nil, row, err
	}
	r, err := m.relation(name)
	if err != nil {
		return nil, nil, nil, row, err
	}
	if want != nil && want != r.target.ModelType {
		return nil, nil, r, row, r.typeMismatch(want)
	}
	bk.Conn = conn
	if len(opts) > 0 || count {
		if err := r.variantPart(ctx, opts, count, bk); err != nil {
			return nil, nil, r, row, err
		}
	}
	if bk.Parent, err = fieldsKey(ctx, r.ownerFields, row); err != nil {
		if errors.Is(err, relations.ErrNullKey) {
			return l, m, r, row, nil // NULL foreign key: nothing to load, no statement
		}
		return nil, nil, r, row, r.parentKeyError(err)
	}
	return l, m, r, row, nil
}

//go:noinline
func loadError(parent any, name string, err error) error {
	return fmt.Errorf("loading %T.%s: %w", parent, name, err)
}

//go:noinline
func (r *relation) loadError(err error) error {
	return fmt.Errorf("loading %s: %w", r.Name, err)
}

//go:noinline
func (r *relation) parentKeyError(err error) error {
	return fmt.Errorf("gormloader: %s: parent key: %w", r.Name, err)
}

//go:noinline
func (r *relation) typeMismatch(want reflect.Type) error {
	return fmt.Errorf("%w: %s loads %v, not %v", ErrTypeMismatch, r.Name, r.target.ModelType, want)
}

// loadSet loads bk through row's load set, if it has one: the first load of
// the relation over the set enqueues every row's key; the others wait until
// it has, then load their own key. If the set's batch failed, every row gets
// the failure once, and a row that loads again fetches the whole set again
// (relations.Claim.Owed). done is false if there is no set.
//
//go:noinline
func (r *relation) loadSet(ctx context.Context, l *Loader, m *model, row reflect.Value, bk *relations.BatchKey) (res any, done bool, err error) {
	set, sets, pk := r.setOf(ctx, l, m, row)
	if set == nil {
		return nil, false, nil
	}
	token := claim{r, bk.Part}
	c, won := sets.Claim(set, token)
	for !won {
		if err := c.Wait(ctx); err != nil {
			return nil, true, err
		}
		if res, ok, err := r.loader.LoadExisting(ctx, *bk); ok {
			if err != nil {
				c.Fail(ctx, err, pk)
			}
			return res, true, err
		}
		// The set's batch is over and did not keep this row's result: it
		// failed, or a write cleared it.
		if err := c.WaitFinished(ctx); err != nil {
			return nil, true, err
		}
		if err := c.Owed(pk); err != nil {
			return nil, true, err // the set's batch failed: this row's share
		}
		c, won = sets.Retry(set, token, c)
	}
	res, err = r.loadWholeSet(ctx, c, set, pk, bk)
	return res, true, err
}

// loadWholeSet is the first load of r over set: it enqueues the keys of every
// row of the set with bk's, releases c, and waits for bk's result; a failure
// is owed to every other row of the set (relations.Claim.Owed), identified by
// primary key, as pk is this row: rows may share a parent key (a belongs-to
// target).
//
//go:noinline
func (r *relation) loadWholeSet(ctx context.Context, c *relations.Claim, set *relations.Set, pk relations.Key, bk *relations.BatchKey) (any, error) {
	defer c.Finish()  // after Fail: losers that missed the batch check it
	defer c.Release() // also if computing the keys panics: waiters never hang
	siblings := r.siblingKeys(ctx, set, bk.Part)
	wait, joined := r.loader.LoadWithThunk(ctx, *bk, siblings)
	c.Release() // after the enqueue: the others find their keys pending
	if joined {
		// This row's key is in another set's batch (or cached with an
		// error): nothing of this set was enqueued, so the next load of
		// it claims the set again, and that batch's failure is this
		// row's only.
		c.Finish()
		return wait()
	}
	res, err := wait()
	if err != nil {
		owed := make([]any, len(set.IDs))
		for i, id := range set.IDs {
			owed[i] = id
		}
		c.Fail(ctx, err, pk, owed...)
	}
	return res, err
}

// claim is the token of a relation load over a load set.
type claim struct {
	r    *relation
	part relations.Part
}

// Load loads the named relation (the association field's name, e.g. "Albums")
// of parent, a pointer to a model, and returns the target rows. It works for
// every kind; a to-one relation gives at most one row. T is the relation's
// target model type, or a pointer to it: Load[Album] returns []Album,
// Load[*Album] returns []*Album (gqlgen-bound models often hold []*Album),
// each pointing to the caller's own copy of the row.
//
// db is any *gorm.DB with the plugin installed (a session or a transaction);
// only its connection is used: its conditions, Unscoped and so on are not.
// A load on a transaction runs in it and never shares a batch or a cached
// result with loads outside it. A nil db means the one in ctx (WithDB).
//
// In a dataloader scope, the load is batched with the loads of the same
// relation pending at the same time and, through load sets, with every row
// that came back in the same query as parent. The result is cached for the
// scope (until a write through GORM to a table involved) and the slice is the
// caller's own copy.
//
// Without an Order option the rows come in the order the database returns
// them, which SQL leaves unspecified (for a many-to-many relation too); give
// Order (alone, or with Limit) for a defined order.
func Load[T any](ctx context.Context, db *gorm.DB, parent any, relation string, opts ...LoadOption) ([]T, error) {
	want := reflect.TypeFor[T]()
	if want.Kind() == reflect.Pointer {
		return loadPointers[T](ctx, db, parent, relation, want.Elem(), opts)
	}
	res, r, err := load(ctx, db, parent, relation, want, false, opts)
	if err != nil || res == nil {
		return nil, err
	}
	switch v := res.(type) {
	case []T:
		return slices.Clone(v), nil
	case *T:
		return []T{*v}, nil
	}
	return nil, fmt.Errorf("gormloader: %s: unexpected result %T", r.Name, res)
}

// loadPointers is Load for T = *elem: a copy of every row, by pointer.
func loadPointers[T any](ctx context.Context, db *gorm.DB, parent any, relation string, elem reflect.Type, opts []LoadOption) ([]T, error) {
	res, _, err := load(ctx, db, parent, relation, elem, false, opts)
	if err != nil || res == nil {
		return nil, err
	}
	rows := reflect.ValueOf(res)
	if rows.Kind() == reflect.Pointer { // a to-one result
		row := reflect.New(elem)
		row.Elem().Set(rows.Elem())
		return []T{row.Interface().(T)}, nil
	}
	copies := reflect.MakeSlice(rows.Type(), rows.Len(), rows.Len())
	reflect.Copy(copies, rows)
	out := make([]T, rows.Len())
	for i := range out {
		out[i] = copies.Index(i).Addr().Interface().(T)
	}
	return out, nil
}

// LoadOne loads a to-one relation (belongs-to, has-one) of parent and returns
// a copy of the target row, or nil if there is none (including a NULL foreign
// key, which issues no statement). On a to-many relation it returns the first
// row.
func LoadOne[T any](ctx context.Context, db *gorm.DB, parent any, relation string, opts ...LoadOption) (*T, error) {
	if err := modelParam[T]("LoadOne"); err != nil {
		return nil, err
	}
	res, r, err := load(ctx, db, parent, relation, reflect.TypeFor[T](), false, opts)
	if err != nil || res == nil {
		return nil, err
	}
	switch v := res.(type) {
	case *T:
		c := *v
		return &c, nil
	case []T:
		if len(v) == 0 {
			return nil, nil
		}
		c := v[0]
		return &c, nil
	}
	return nil, fmt.Errorf("gormloader: %s: unexpected result %T", r.Name, res)
}

// modelParam checks that the type parameter of fn is a model struct type:
// fn returns pointers to T already.
func modelParam[T any](fn string) error {
	t := reflect.TypeFor[T]()
	switch {
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		return fmt.Errorf("%w: %s[%v]: the type parameter is the model, %s[%v], which returns %v", ErrTypeMismatch, fn, t, fn, t.Elem(), t)
	case t.Kind() != reflect.Struct:
		return fmt.Errorf("%w: %s[%v]: the type parameter must be a model struct type", ErrTypeMismatch, fn, t)
	}
	return nil
}

// Count returns the number of target rows of the relation for parent, with
// one GROUP BY statement per batch. Where applies; Limit is an error.
func Count(ctx context.Context, db *gorm.DB, parent any, relation string, opts ...LoadOption) (int64, error) {
	res, _, err := load(ctx, db, parent, relation, nil, true, opts)
	if err != nil || res == nil {
		return 0, err
	}
	n, _ := res.(int64)
	return n, nil
}

// ByID loads the row of model T whose primary key is id (one value per
// primary-key column, in the model's order), batched and cached like the
// relation loads. A missing row gives an error matching ErrNotFound (and
// gorm.ErrRecordNotFound).
//
// Each value is converted to its key field's type first: a decimal string
// (a GraphQL ID) or any integer type for an integer key, an integer for a
// string key, anything the field's sql.Scanner accepts. A value that does
// not convert, or that the database cannot bind (-1 for an unsigned key, an
// unsigned value above MaxInt64 on SQLite or PostgreSQL), gives an error
// matching ErrInvalidID and runs no statement, so it never fails the batch
// that other loads of the same tick share.
func ByID[T any](ctx context.Context, db *gorm.DB, id ...any) (*T, error) {
	if err := modelParam[T]("ByID"); err != nil {
		return nil, err
	}
	l, conn, err := resolve(ctx, db)
	if err != nil {
		return nil, err
	}
	m, err := l.model(reflect.TypeFor[T]())
	if err != nil {
		return nil, err
	}
	key, err := l.idKey(m, id)
	if err != nil {
		return nil, err
	}
	m.byIDUsed.Store(true)
	res, err := m.byID.Load(ctx, relations.BatchKey{Part: relations.Part{Conn: conn}, Parent: key})
	if err != nil {
		return nil, err
	}
	p, _ := res.(*T)
	if p == nil {
		return nil, fmt.Errorf("%w: %v with primary key %v", ErrNotFound, m.typ, key)
	}
	c := *p
	return &c, nil
}

// ByIDs loads the rows of model T with single-column primary keys ids, in one
// batch, in the order of ids; a missing row gives a nil entry (not an error).
// The ids are converted as for ByID; one that does not convert fails the call
// with ErrInvalidID before any statement.
func ByIDs[T any](ctx context.Context, db *gorm.DB, ids ...any) ([]*T, error) {
	if err := modelParam[T]("ByIDs"); err != nil {
		return nil, err
	}
	l, conn, err := resolve(ctx, db)
	if err != nil {
		return nil, err
	}
	m, err := l.model(reflect.TypeFor[T]())
	if err != nil {
		return nil, err
	}
	if len(m.pkCols) != 1 {
		return nil, fmt.Errorf("%w: %v has %d primary-key columns; use ByID for composite keys", ErrInvalidOption, m.typ, len(m.pkCols))
	}
	keys := make([]relations.BatchKey, len(ids))
	for i, id := range ids {
		k, err := l.idKey(m, []any{id})
		if err != nil {
			return nil, err
		}
		keys[i] = relations.BatchKey{Part: relations.Part{Conn: conn}, Parent: k}
	}
	m.byIDUsed.Store(true)
	vals, errs := m.byID.LoadMany(ctx, keys)
	out := make([]*T, len(ids))
	for i, v := range vals {
		if errs != nil && errs[i] != nil {
			return nil, errs[i]
		}
		if p, _ := v.(*T); p != nil {
			c := *p
			out[i] = &c
		}
	}
	return out, nil
}

// Register checks at start-up that model, a pointer to a model struct (e.g.
// &Band{}), can be loaded from: it parses the model with the db's GORM
// parser, builds its relation loaders, and checks the named relations (all of
// the model's associations if none are named). An unknown relation name, a
// model GORM cannot parse, or a relation shape the loader cannot load is then
// an error at start-up, naming the model and the field, instead of on the
// first request that loads it. Call it once per model after db.Use, for the
// models and relations your resolvers load; without it, loads parse what
// they use on first use, and report the same errors then.
func (l *Loader) Register(model any, relationNames ...string) error {
	if l.db == nil {
		return fmt.Errorf("gormloader: Register before db.Use(loader)")
	}
	row, err := parentValue(model, "Register")
	if err != nil {
		return err
	}
	m, err := l.model(row.Type())
	if err != nil {
		return err
	}
	if len(relationNames) == 0 {
		var errs []error
		for _, e := range m.relErrs {
			errs = append(errs, e)
		}
		return errors.Join(errs...)
	}
	for _, n := range relationNames {
		if _, err := m.relation(n); err != nil {
			return err
		}
	}
	return nil
}

// Relation returns the relation model of a model's association, for
// inspection and tooling.
func (l *Loader) Relation(model any, name string) (*relations.Relation, error) {
	row, err := parentValue(model, name)
	if err != nil {
		return nil, err
	}
	m, err := l.model(row.Type())
	if err != nil {
		return nil, err
	}
	r, err := m.relation(name)
	if err != nil {
		return nil, err
	}
	rel := r.Relation
	return &rel, nil
}
