package gormloader

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	"gorm.io/gorm"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/relations"
)

// pluginName is the name under which the plugin is installed
// (gorm.Config.Plugins); loads find their Loader through it.
const pluginName = "ormloader"

// skipRecordKey marks the statements of the loader's own batches, whose rows
// it records itself as one load set per batch.
const skipRecordKey = "ormloader:skip_record"

// Loader is the GORM adapter. Install it once per *gorm.DB with db.Use; it is
// then found from that db and from every session and transaction derived from
// it. It holds the per-model reflection (one parse per Go type, through GORM's
// parser with the db's naming strategy) and the relation loader definitions;
// all per-request state lives in the dataloader.Scope of each load's context.
//
// A Loader is safe for concurrent use. It must not be installed on two
// *gorm.DB roots.
type Loader struct {
	cfg   config
	db    *gorm.DB // the root db, set by Initialize
	pool  *pool    // the root db's connection pool, wrapped by Initialize
	limit int      // bind-parameter limit of the dialect

	models sync.Map // reflect.Type -> *model

	refsMu sync.Mutex
	refs   map[reflect.Type][]*relation // to-one relations by primary key (byPrimaryKey), by target model
}

type config struct {
	bindLimit  int
	noLoadSets bool
	alone      map[string]bool // relations ("Band.Albums") loaded without their load sets
}

// PluginOption configures a Loader.
type PluginOption func(*config)

// WithBindLimit overrides the bind-parameter limit used to split large batches
// into statements. Zero or less keeps the dialect's limit (SQLite: asked from
// the connection; PostgreSQL and MySQL: 65535).
func WithBindLimit(n int) PluginOption {
	return func(c *config) { c.bindLimit = n }
}

// WithoutLoadSets turns load sets off: a load then batches only with the loads
// that happen to be pending at the same time, as a plain dataloader does.
func WithoutLoadSets() PluginOption {
	return func(c *config) { c.noLoadSets = true }
}

// WithoutLoadSetsFor turns load sets off for the named relations only
// ("Model.Field", e.g. "Band.Albums"): use it for a relation that is
// expensive and rarely needed for every row of a list.
func WithoutLoadSetsFor(relations ...string) PluginOption {
	return func(c *config) {
		if c.alone == nil {
			c.alone = map[string]bool{}
		}
		for _, r := range relations {
			c.alone[r] = true
		}
	}
}

// New returns the plugin; install it with db.Use(gormloader.New()).
func New(opts ...PluginOption) *Loader {
	l := &Loader{}
	for _, o := range opts {
		o(&l.cfg)
	}
	return l
}

var _ gorm.Plugin = (*Loader)(nil)

// Name implements gorm.Plugin.
func (l *Loader) Name() string { return pluginName }

// Initialize implements gorm.Plugin: it registers the callbacks that record
// load sets (after gorm:query) and clear cached results on writes (after
// gorm:create, gorm:update, gorm:delete and raw Exec), and wraps gorm:query
// so that the loader's many-to-many and count statements run through the
// Query callbacks like GORM's own Preload and Count (other statements are
// passed to gorm:query unchanged).
func (l *Loader) Initialize(db *gorm.DB) error {
	if l.db != nil {
		return fmt.Errorf("gormloader: this Loader is already installed on a *gorm.DB; create one per database with gormloader.New")
	}
	l.db = db
	if db.ConnPool != nil {
		// See pool: the plugin sees transactions begun on it commit.
		l.pool = &pool{ConnPool: db.ConnPool, l: l}
		if same(db.Statement.ConnPool, db.ConnPool) {
			db.Statement.ConnPool = l.pool
		}
		db.ConnPool = l.pool
	}
	l.limit = l.cfg.bindLimit
	if l.limit <= 0 {
		l.limit = bindLimit(db)
	}
	cb := db.Callback()
	query := cb.Query().Get("gorm:query")
	if query == nil {
		return fmt.Errorf("gormloader: the *gorm.DB has no gorm:query callback to run the loader's statements through")
	}
	if err := cb.Query().Replace("gorm:query", wrapQuery(query)); err != nil {
		return err
	}
	if err := cb.Query().After("gorm:query").Register("ormloader:record_load_set", l.afterQuery); err != nil {
		return err
	}
	if err := cb.Create().After("gorm:create").Register("ormloader:clear", l.afterWrite); err != nil {
		return err
	}
	if err := cb.Update().After("gorm:update").Register("ormloader:clear", l.afterWrite); err != nil {
		return err
	}
	if err := cb.Delete().After("gorm:delete").Register("ormloader:clear", l.afterWrite); err != nil {
		return err
	}
	return cb.Raw().After("gorm:raw").Register("ormloader:clear", l.afterWrite)
}

// BindLimit returns the bind-parameter limit the loader splits batches by.
func (l *Loader) BindLimit() int { return l.limit }

// bindLimit asks SQLite for its runtime limit (SQLITE_LIMIT_VARIABLE_NUMBER)
// when the driver exposes it (mattn/go-sqlite3 does), else uses the dialect's
// documented limit.
func bindLimit(db *gorm.DB) int {
	name := db.Dialector.Name()
	if name != "sqlite" && name != "sqlite3" {
		return relations.BindLimit(name)
	}
	const sqliteLimitVariableNumber = 9
	limit := 0
	if sqlDB, err := db.DB(); err == nil {
		if conn, err := sqlDB.Conn(context.Background()); err == nil {
			_ = conn.Raw(func(dc any) error {
				if g, ok := dc.(interface{ GetLimit(id int) int }); ok {
					limit = g.GetLimit(sqliteLimitVariableNumber)
				}
				return nil
			})
			conn.Close()
		}
		if limit <= 0 {
			var version string
			if sqlDB.QueryRow("SELECT sqlite_version()").Scan(&version) == nil && versionBefore(version, 3, 32) {
				limit = relations.SQLiteLegacyBindLimit
			}
		}
	}
	if limit <= 0 {
		limit = relations.SQLiteBindLimit
	}
	return limit
}

func versionBefore(v string, major, minor int) bool {
	var a, b int
	if n, _ := fmt.Sscanf(v, "%d.%d", &a, &b); n < 2 {
		return false
	}
	return a < major || (a == major && b < minor)
}

// afterQuery records the rows of a query run in a scope as a load set.
func (l *Loader) afterQuery(db *gorm.DB) {
	if db.Error != nil || db.Statement.Schema == nil || l.cfg.noLoadSets {
		return
	}
	if _, skip := db.Get(skipRecordKey); skip {
		return
	}
	ctx := db.Statement.Context
	if ctx == nil {
		return
	}
	sets := relations.SetsOf(ctx)
	if sets == nil {
		return
	}
	rv := db.Statement.ReflectValue
	if !rv.IsValid() {
		return
	}
	t := rv.Type()
	if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t != db.Statement.Schema.ModelType {
		return // a Pluck, a map, or a partial struct: not rows of a model
	}
	m, err := l.model(t)
	if err != nil {
		return
	}
	l.recordRows(ctx, sets, m, rv, false)
}

// afterWrite clears, in the write's scope, every cached result that the
// written table can affect (see clear). A write in a transaction begun on
// the plugin's pool clears again when the transaction commits (see txConn).
func (l *Loader) afterWrite(db *gorm.DB) {
	ctx := db.Statement.Context
	if ctx == nil {
		return
	}
	s := dataloader.FromContext(ctx)
	if s == nil {
		return // no scope: nothing is cached
	}
	table := db.Statement.Table
	if table == "" && db.Statement.Schema != nil {
		table = db.Statement.Schema.Table
	}
	all := table == "" // a raw Exec: any table may have changed
	l.clear(ctx, table, all)
	if t := txOf(db.Statement.ConnPool); t != nil {
		t.wrote(ctx, s, table, all)
	}
}

// clear clears, in ctx's scope, every cached result that a write to table
// (any table if all) can affect: relations whose owner, target or join table
// it is, and the primary-key loader of its models. Claims on load sets are
// forgotten, so the next loads enqueue whole sets again. Entries of batches
// in flight are forgotten too: their waiters get the rows the batch read,
// and later loads fetch again.
func (l *Loader) clear(ctx context.Context, table string, all bool) {
	l.models.Range(func(_, v any) bool {
		m := v.(*model)
		if all || m.schema.Table == table {
			m.byID.ClearAll(ctx)
		}
		for _, r := range m.rels {
			if all || r.Owner.Name == table || r.Target.Name == table || (r.Join != nil && r.Join.Name == table) {
				r.loader.ClearAll(ctx)
			}
		}
		return true
	})
	relations.SetsOf(ctx).Invalidate()
}

// session returns a fresh session on the loader's db for a partition,
// running on its connection if it has one (see connOf), under ctx.
func (l *Loader) session(ctx context.Context, conn any) *gorm.DB {
	tx := l.db.Session(&gorm.Session{NewDB: true, Context: ctx})
	if rc, ok := conn.(resolverChoice); ok {
		tx, conn = rc.choose(tx), nil
	}
	if pool, ok := conn.(gorm.ConnPool); ok && pool != nil {
		tx.Statement.ConnPool = pool
		if mu := relations.ConnLock(ctx, conn); mu != nil {
			tx = tx.Set(connLockKey, mu)
		}
	}
	return tx.Set(skipRecordKey, true)
}
