package difftest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/internal/sqlcount"
	"github.com/ormloader/ormloader/internal/testdb"
)

// Config says how much to check per schema and database.
type Config struct {
	Data  int // data sets
	Trees int // query trees per data set
	// Collation writes some string foreign keys in upper case or with a
	// trailing space: other keys where strings compare exactly, the same
	// key under MySQL's and MariaDB's default collations.
	Collation bool
}

// Environment variables of the on-demand run (see the package doc).
const (
	SeedsEnv = "ORMLOADER_DIFF_SEEDS" // new schemas to generate and check
	FirstEnv = "ORMLOADER_DIFF_FIRST" // the seed of the first one
	DataEnv  = "ORMLOADER_DIFF_DATA"  // data sets per schema and database
	TreesEnv = "ORMLOADER_DIFF_TREES" // query trees per data set
	// CollationEnv sets Config.Collation (a boolean).
	CollationEnv = "ORMLOADER_DIFF_COLLATION"
)

// ConfigFromEnv returns def with Data, Trees and Collation replaced by
// DataEnv, TreesEnv and CollationEnv where they are set.
func ConfigFromEnv(def Config) (Config, error) {
	if s := os.Getenv(CollationEnv); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return def, fmt.Errorf("%s=%q: want a boolean", CollationEnv, s)
		}
		def.Collation = b
	}
	for _, v := range []struct {
		env string
		dst *int
	}{{DataEnv, &def.Data}, {TreesEnv, &def.Trees}} {
		if s := os.Getenv(v.env); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return def, fmt.Errorf("%s=%q: want a number", v.env, s)
			}
			*v.dst = n
		}
	}
	return def, nil
}

// maxErrors bounds the mismatches reported per query tree.
const maxErrors = 4

// Run checks every relation gormloader loads for the models of s against
// the naive per-parent GORM query, on every database testdb offers, in
// subtests named dialect/dataN/treeN.
//
// The databases run at the same time (most of a check is waiting for a
// server), whatever go test's -parallel.
func Run(t *testing.T, s *Schema, cfg Config) {
	var wg sync.WaitGroup
	for _, d := range testdb.All(t) {
		wg.Go(func() { t.Run(d.Dialect, func(t *testing.T) { runOn(t, d, s, cfg) }) })
	}
	wg.Wait()
}

// env is one schema migrated on one database, with the plugin installed and
// a statement-counting driver under it.
type env struct {
	schema  string
	dialect string
	db      *gorm.DB
	loader  *gormloader.Loader
	mt      *meta
	opts    envOptions
}

// envOptions are the plugin and GORM options of an env, chosen from the
// schema's name and the dialect.
type envOptions struct {
	bindLimit int    // gormloader.WithBindLimit, 0 for the dialect's
	noSets    bool   // gormloader.WithoutLoadSets
	alone     string // gormloader.WithoutLoadSetsFor this relation
	singular  bool   // schema.NamingStrategy{SingularTable: true}
	prefix    string // schema.NamingStrategy{TablePrefix: prefix}
}

func (o envOptions) String() string {
	var parts []string
	if o.bindLimit > 0 {
		parts = append(parts, fmt.Sprintf("WithBindLimit(%d)", o.bindLimit))
	}
	if o.noSets {
		parts = append(parts, "WithoutLoadSets()")
	}
	if o.alone != "" {
		parts = append(parts, fmt.Sprintf("WithoutLoadSetsFor(%q)", o.alone))
	}
	if o.singular || o.prefix != "" {
		parts = append(parts, fmt.Sprintf("NamingStrategy{SingularTable: %v, TablePrefix: %q}", o.singular, o.prefix))
	}
	return strings.Join(parts, ", ")
}

// chooseOptions picks options: mostly none; sometimes a bind limit small
// enough to split batches into several statements, no load sets, a naming
// strategy.
func chooseOptions(r *rand.Rand) envOptions {
	var o envOptions
	if r.IntN(4) == 0 {
		o.bindLimit = []int{16, 20, 24}[r.IntN(3)]
	}
	o.noSets = r.IntN(10) == 0
	o.singular = r.IntN(4) == 0
	if r.IntN(5) == 0 {
		o.prefix = "t_"
	}
	return o
}

// probe is a dataloader scope whose statements are counted: the counting
// driver reports each statement with its context, which carries the probe
// (batches run under the scope's context) and, for a batch, the loader's
// name (from the probe's Tracer).
type probe struct {
	ctx   context.Context
	scope *dataloader.Scope
	ended atomic.Int64 // batches that have ended
	mu    sync.Mutex
	stmts []string
	stuck bool // a batch did not end within take's patience
}

type (
	probeKey  struct{}
	loaderKey struct{}
)

// newProbe opens a scope with db in its context (gormloader.WithDB).
func newProbe(db *gorm.DB) *probe {
	p := &probe{}
	ctx, sc := dataloader.NewScope(context.WithValue(context.Background(), probeKey{}, p), dataloader.WithTracer(p))
	p.ctx, p.scope = gormloader.WithDB(ctx, db), sc
	return p
}

func (p *probe) close() { p.scope.Close() }

// TraceBatchStart implements dataloader.Tracer.
func (p *probe) TraceBatchStart(ctx context.Context, d dataloader.BatchStartData) context.Context {
	return context.WithValue(ctx, loaderKey{}, d.Loader)
}

// TraceBatchEnd implements dataloader.Tracer.
func (p *probe) TraceBatchEnd(context.Context, dataloader.BatchEndData) { p.ended.Add(1) }

func countStatement(ctx context.Context, query string) {
	p, _ := ctx.Value(probeKey{}).(*probe)
	if p == nil {
		return
	}
	if l, _ := ctx.Value(loaderKey{}).(string); l != "" {
		query = "[" + l + "] " + query
	}
	if strings.Contains(query, "= ANY(") {
		coverKey("(statement) keys bound as one array", true)
	}
	if strings.Contains(query, "WEIGHT_STRING(") || strings.Contains(query, " AS i, CONVERT(") {
		// A batch's keys that are not ASCII, matched by the database's
		// weights or grouped by its = (relations.Collation): one statement
		// more than the floor, which the bounds leave out.
		coverKey("(statement) keys matched by their weights", true)
		return
	}
	p.mu.Lock()
	p.stmts = append(p.stmts, query)
	p.mu.Unlock()
}

// take waits until every batch dispatched in the scope has ended, then
// returns the statements since the last take. A load returns when its own
// key is resolved, and the statement for its siblings may still be running
// (a claim of a load set whose caller's key was already cached): waiting
// puts every statement with the loads that caused it.
func (p *probe) take() []string {
	deadline := time.Now().Add(10 * time.Second)
	for p.ended.Load() < p.scope.Stats().Batches {
		if time.Now().After(deadline) {
			p.stuck = true
			break
		}
		time.Sleep(20 * time.Microsecond)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stmts
	p.stmts = nil
	return s
}

func open(t *testing.T, d testdb.DB, s *Schema) *env {
	t.Helper()
	r := rand.New(rand.NewPCG(seedOf(s.Name, d.Dialect), 0xe4))
	o := chooseOptions(r)
	sqlDB, err := sqlcount.Open(d.DriverName, d.DSN, countStatement)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	var dial gorm.Dialector
	switch d.Dialect {
	case "sqlite":
		dial = sqlite.New(sqlite.Config{Conn: sqlDB})
	case "postgres":
		dial = postgres.New(postgres.Config{Conn: sqlDB})
	case "mysql":
		dial = mysql.New(mysql.Config{Conn: sqlDB})
	default:
		t.Fatalf("unknown dialect %s", d.Dialect)
	}
	db, err := gorm.Open(dial, &gorm.Config{
		Logger: logger.Discard,
		// The data has orphans on purpose.
		DisableForeignKeyConstraintWhenMigrating: true,
		NamingStrategy:                           schema.NamingStrategy{SingularTable: o.singular, TablePrefix: o.prefix},
	})
	if err != nil {
		t.Fatal(err)
	}
	models := make([]any, len(s.Models))
	for i, m := range s.Models {
		models[i] = reflect.New(m.typ).Interface()
	}
	for _, j := range s.JoinModels {
		if err := db.SetupJoinTable(j.Owner, j.Field, j.Join); err != nil {
			t.Fatalf("SetupJoinTable(%T, %q, %T): %v", j.Owner, j.Field, j.Join, err)
		}
	}
	if err := db.AutoMigrate(models...); err != nil {
		t.Fatalf("migrating %s: %v", s.Name, err)
	}
	mt, err := parseMeta(db, s)
	if err != nil {
		t.Fatal(err)
	}
	var plugin []gormloader.PluginOption
	if o.bindLimit > 0 {
		plugin = append(plugin, gormloader.WithBindLimit(o.bindLimit))
	}
	if o.noSets {
		plugin = append(plugin, gormloader.WithoutLoadSets())
	} else if m := mt.models[r.IntN(len(mt.models))]; len(m.rels) > 0 && r.IntN(4) == 0 {
		o.alone = m.rels[r.IntN(len(m.rels))].full
		plugin = append(plugin, gormloader.WithoutLoadSetsFor(o.alone))
	}
	l := gormloader.New(plugin...)
	if err := db.Use(l); err != nil {
		t.Fatal(err)
	}
	if o.String() != "" {
		t.Logf("options: %s", o)
	}
	return &env{schema: s.Name, dialect: d.Dialect, db: db, loader: l, mt: mt, opts: o}
}

// seedOf derives a seed from names and numbers.
func seedOf(parts ...any) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		fmt.Fprintf(h, "%v/", p)
	}
	return h.Sum64()
}

func runOn(t *testing.T, d testdb.DB, s *Schema, cfg Config) {
	e := open(t, d, s)
	e.checkRegister(t)
	for i := range cfg.Data {
		t.Run(fmt.Sprintf("data%d", i), func(t *testing.T) {
			seed := seedOf(s.Name, "data", i)
			ds := generate(seed, e.mt, cfg.Collation)
			if err := ds.insert(e.db, e.mt); err != nil {
				t.Fatal(err)
			}
			for j := range cfg.Trees {
				g := &treeGen{r: rand.New(rand.NewPCG(seed, uint64(j))), mt: e.mt}
				tr := g.tree()
				if tr == nil {
					t.Log("no model has a relation gormloader loads")
					break
				}
				t.Run(fmt.Sprintf("tree%d", j), func(t *testing.T) { e.checkTree(t, tr) })
			}
			e.checkByID(t, ds, rand.New(rand.NewPCG(seed, 0xb1d)))
		})
	}
}

// safe calls fn, turning a panic into an error: gormloader must never panic.
func safe(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("PANIC: %v", p)
		}
	}()
	return fn()
}

// checkRegister checks that Register accepts every supported relation and
// refuses each unsupported one with an error naming the model and the
// field, and that loading an unsupported relation fails the same way.
func (e *env) checkRegister(t *testing.T) {
	ctx, sc := dataloader.NewScope(context.Background())
	defer sc.Close()
	for _, m := range e.mt.models {
		var keep []*relMeta
		for _, r := range m.rels {
			if err := safe(func() error { return e.loader.Register(m.newPtr(), r.field) }); err != nil {
				t.Errorf("Register(&%s{}, %q) = %v; the relation is in the supported space (GORM: %s)", m.name(), r.field, err, r.rel.Type)
				continue
			}
			keep = append(keep, r)
		}
		m.rels = keep
		err := safe(func() error { return e.loader.Register(m.newPtr()) })
		if len(m.bad) == 0 {
			if err != nil {
				t.Errorf("Register(&%s{}) = %v, want nil", m.name(), err)
			}
			continue
		}
		for _, r := range m.bad {
			checkRefusal(t, "Register(&"+m.name()+"{})", err, r)
			lerr := safe(func() error {
				_, err := r.target.load(ctx, e.db, m.newPtr(), r.field, nil)
				return err
			})
			checkRefusal(t, "Load of "+r.full, lerr, r)
			cerr := safe(func() error {
				_, err := gormloader.Count(ctx, e.db, m.newPtr(), r.field)
				return err
			})
			checkRefusal(t, "Count of "+r.full, cerr, r)
		}
	}
}

func checkRefusal(t *testing.T, what string, err error, r *relMeta) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: no error for the unsupported relation %s (%s)", what, r.full, r.wantErr)
	case !errors.Is(err, gormloader.ErrUnsupportedRelation):
		t.Errorf("%s: %v, want an error matching ErrUnsupportedRelation", what, err)
	default:
		for _, want := range []string{r.owner.name(), r.field, r.wantErr} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q does not mention %q", what, err, want)
			}
		}
	}
}

// run is the state of one query tree's check.
type run struct {
	e  *env
	t  *testing.T
	tr *tree
	p  *probe
	tx *gorm.DB // the transaction of dbMode 3
	// wrote is the write after which the tree runs again; statements are
	// not counted then.
	wrote string
	errs  int
	// sets counts the load sets recorded in the scope per model, an upper
	// bound: a row belongs to one of them, and a load claims its row's set.
	sets map[*modelMeta]int
	// nulls are parents whose key for a step is NULL, checked afterwards in
	// a fresh scope.
	nulls []nullParents
}

type nullParents struct {
	step *step
	rows []reflect.Value
}

func (x *run) errorf(format string, args ...any) {
	x.t.Helper()
	x.errs++
	if x.errs > maxErrors {
		return
	}
	if x.errs == 1 {
		format = "%s (%s; options: %s), query tree:\n%s\n" + format
		args = append([]any{x.e.schema, x.e.dialect, x.e.opts, x.tr}, args...)
	}
	x.t.Errorf(format, args...)
}

// db returns the *gorm.DB a load is given, as the tree's dbMode says: the
// root db, a session of it, nil (the one in the context), or the tree's
// transaction.
func (x *run) db() *gorm.DB {
	switch x.tr.dbMode {
	case 1:
		return x.e.db.Session(&gorm.Session{})
	case 2:
		return nil
	case 3:
		return x.tx
	}
	return x.e.db
}

func (e *env) checkTree(t *testing.T, tr *tree) {
	p := newProbe(e.db)
	defer p.close()
	x := &run{e: e, t: t, tr: tr, p: p, sets: map[*modelMeta]int{}}
	roots := reflect.New(reflect.SliceOf(tr.root.typ))
	q := e.db.WithContext(p.ctx)
	if tr.dbMode == 3 {
		// The root query and every load in one transaction, which sees
		// the same rows as the naive queries outside it.
		x.tx = e.db.WithContext(p.ctx).Begin()
		if x.tx.Error != nil {
			t.Fatal(x.tx.Error)
		}
		defer x.tx.Rollback()
		p.ctx = gormloader.WithDB(p.ctx, x.tx)
		q = x.tx
	}
	if tr.twice {
		q = q.Joins(crossJoinTwice)
	}
	if tr.v.where != "" {
		q = q.Where(tr.v.where, tr.v.args...)
	}
	if tr.v.order != "" {
		q = q.Order(tr.v.order)
	}
	if tr.v.limit > 0 {
		q = q.Limit(tr.v.limit)
	}
	if err := q.Find(roots.Interface()).Error; err != nil {
		t.Fatalf("root query: %v\n%s", err, tr)
	}
	if roots.Elem().Len() > 0 {
		x.sets[tr.root] = 1
	}
	defer func() {
		if p.stuck {
			t.Errorf("a batch of the scope did not end within 10 s\n%s", tr)
		}
	}()
	p.take()
	x.level(tr.steps, roots.Elem(), !tr.copies)
	x.checkNulls()
	if tr.write == 0 || tr.dbMode == 3 || x.errs > 0 {
		return // a write in the transaction would be invisible to the naive queries
	}
	desc, err := x.write(tr.write)
	if err != nil {
		t.Fatalf("%s: %v", desc, err)
	}
	if desc != "" {
		// Again in the same scope: cached results the write did not
		// touch are reused, the others must be read again.
		x.wrote = desc
		p.take()
		x.level(tr.steps, roots.Elem(), !tr.copies)
	}
}

// outcome is what one gormloader call returned.
type outcome struct {
	rows reflect.Value // []T (Load, LoadPage), or *T (LoadOne)
	n    int64         // Count, LoadPage's TotalCount
	more bool          // LoadPage's HasNextPage
	err  error
}

// call runs step s for parent (a pointer to a row) in the tree's scope.
func (x *run) call(s *step, parent any) (o outcome) {
	o.err = safe(func() error {
		var res any
		var err error
		switch s.call {
		case callLoad:
			res, err = s.rel.target.load(x.p.ctx, x.db(), parent, s.rel.field, s.v.options())
		case callLoadOne:
			res, err = s.rel.target.loadOne(x.p.ctx, x.db(), parent, s.rel.field, s.v.options())
		case callCount:
			o.n, err = gormloader.Count(x.p.ctx, x.db(), parent, s.rel.field, s.v.options()...)
		case callPage:
			res, o.more, o.n, err = s.rel.target.page(x.p.ctx, x.db(), parent, s.rel.field, s.v.limit, s.v.pageOptions())
		}
		if res != nil {
			o.rows = reflect.ValueOf(res)
		}
		return err
	})
	return o
}

// parentArg returns what a load is given for row i of parents: a pointer
// into the slice, or to a copy.
func (x *run) parentArg(parents reflect.Value, i int) any {
	if !x.tr.copies {
		return parents.Index(i).Addr().Interface()
	}
	p := reflect.New(parents.Type().Elem())
	p.Elem().Set(parents.Index(i))
	return p.Interface()
}

// level runs steps for every row of parents (a []T), checks the statements
// and the results, and goes on below each step with its results.
// held says that parents are the instances a query filled (the root
// query's result, passed by pointer): their load set is that result, so
// each step is one statement however many sets of their model the scope
// holds.
func (x *run) level(steps []*step, parents reflect.Value, held bool) {
	if len(steps) == 0 || parents.Len() == 0 {
		return
	}
	n := parents.Len()
	results := make([][]outcome, len(steps))
	for i := range results {
		results[i] = make([]outcome, n)
	}
	bounds := make([]int, len(steps))
	owner := steps[0].rel.owner
	recordsOwner := slices.ContainsFunc(steps, func(s *step) bool { return s.rel.target == owner && s.call != callCount })
	// A relation of the parents' model to itself records a set of their
	// model during the level, which takes over rows whose other loads of
	// the level have not run yet: then those claim two sets.
	strict := held || x.sets[owner] == 1 && (len(steps) == 1 || !recordsOwner)
	for k, s := range steps {
		bounds[k] = x.bound(s, parents, strict, recordsOwner)
	}
	if x.tr.concurrent {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				for k, s := range steps {
					results[k][i] = x.call(s, x.parentArg(parents, i))
				}
			})
		}
		wg.Wait()
		stmts := x.p.take()
		total := 0
		for _, b := range bounds {
			if b == unbounded {
				total = unbounded
				break
			}
			total += b
		}
		if total != unbounded && len(stmts) > total {
			x.errorf("level of %d steps over %d %s rows: %d statements, want at most %d (strict=%v, %d load sets of %s):%s",
				len(steps), n, owner.name(), len(stmts), total, strict, x.sets[owner], owner.name(), listStatements(stmts))
		}
		x.countSets(steps, stmts)
	} else {
		for k, s := range steps {
			for i := range n {
				results[k][i] = x.call(s, x.parentArg(parents, i))
			}
			stmts := x.p.take()
			if bounds[k] != unbounded && len(stmts) > bounds[k] {
				x.errorf("step %s over %d %s rows: %d statements, want at most %d (strict=%v, %d load sets of %s):%s",
					s, n, owner.name(), len(stmts), bounds[k], strict, x.sets[owner], owner.name(), listStatements(stmts))
			}
			x.countSets([]*step{s}, stmts)
		}
	}
	for k, s := range steps {
		next := reflect.MakeSlice(reflect.SliceOf(s.rel.target.typ), 0, n)
		nulls := nullParents{step: s}
		for i := range n {
			o := results[k][i]
			row := parents.Index(i)
			x.compare(s, row, o)
			if s.rel.nullKey(x.p.ctx, row) && len(nulls.rows) < 3 {
				nulls.rows = append(nulls.rows, row)
			}
			switch {
			case !o.rows.IsValid():
			case o.rows.Kind() == reflect.Slice:
				next = reflect.AppendSlice(next, o.rows)
			case !o.rows.IsNil():
				next = reflect.Append(next, o.rows.Elem())
			}
		}
		if len(nulls.rows) > 0 {
			x.nulls = append(x.nulls, nulls)
		}
		x.level(s.children, next, false)
	}
}

// unbounded is the bound of a step whose statements are not counted.
const unbounded = -1

// bound is the most statements step s may issue over parents. None if no
// parent has a non-NULL key. One if every parent belongs to the one load
// set of their model in the scope, and no other step of the level records
// a set of that model (strict): the promise, one statement per relation
// per level and variant. (A single step of a relation of a model to itself
// records one, which may take over rows, since a row goes to the largest
// set, on a tie to the latest; but their keys have been loaded with the
// first set's by then, and a claim whose own key is cached fetches
// nothing.)
//
// Else a row may belong to another set that holds it too (a row reached
// twice in one scope, or taken over during the level), and each load whose
// key is not loaded yet claims its row's set, which costs a statement: at
// most one statement per load, and one per load set of the model recorded
// so far unless the level records more (recordsOwner).
func (x *run) bound(s *step, parents reflect.Value, strict, recordsOwner bool) int {
	loads := 0
	for i := range parents.Len() {
		if !s.rel.nullKey(x.p.ctx, parents.Index(i)) {
			loads++
		}
	}
	switch {
	case loads == 0:
		return 0
	case x.wrote != "":
		return unbounded // after a write: whatever it left cached
	case x.e.opts.bindLimit > 0:
		return unbounded // a batch takes as many statements as its chunks
	case x.e.opts.noSets || x.e.opts.alone == s.rel.full:
		return loads // batched only with the loads pending at the same time
	case strict:
		return 1
	case !recordsOwner:
		return max(1, min(loads, x.sets[s.rel.owner]))
	}
	return loads
}

// countSets adds the load sets that statements of steps may have recorded:
// one per statement of a relation load, on its target's model.
func (x *run) countSets(steps []*step, stmts []string) {
	seen := map[*modelMeta]bool{}
	for _, s := range steps {
		m := s.rel.target
		if s.call == callCount || seen[m] {
			continue
		}
		seen[m] = true
		if len(steps) == 1 {
			x.sets[m] += len(stmts)
			continue
		}
		for _, q := range stmts {
			if mentions(q, m.s.Table) {
				x.sets[m]++
			}
		}
	}
}

func mentions(q, table string) bool {
	return strings.Contains(q, `"`+table+`"`) || strings.Contains(q, "`"+table+"`")
}

func listStatements(stmts []string) string {
	var b strings.Builder
	for i, s := range stmts {
		if len(s) > 400 {
			s = s[:400] + "..."
		}
		fmt.Fprintf(&b, "\n  %d: %s", i+1, s)
	}
	return b.String()
}

// naive runs the per-parent GORM query for s with variant v: the
// association's Find (or Count) with v's Where, Order and Limit, outside
// any scope.
func (x *run) naive(s *step, row reflect.Value, v variant) (reflect.Value, int64, error) {
	if s.rel.nullKey(x.p.ctx, row) || s.rel.zeroKey(x.p.ctx, row) {
		// NULL matches nothing, and no generated row has a zero key.
		// (GORM's Association treats a key whose parts are all zero as no
		// key, and for a composite one builds an invalid statement:
		// "(a, b) IN (NULL)".)
		return reflect.MakeSlice(reflect.SliceOf(s.rel.target.typ), 0, 0), 0, nil
	}
	p := reflect.New(row.Type())
	p.Elem().Set(row)
	tx := x.e.db.Session(&gorm.Session{NewDB: true}).Model(p.Interface())
	if v.where != "" {
		tx = tx.Where(v.where, v.args...)
	}
	if v.order != "" {
		tx = tx.Order(v.order)
	}
	if v.limit > 0 {
		tx = tx.Limit(v.limit)
	}
	if s.call == callCount {
		a := tx.Association(s.rel.field)
		n := a.Count()
		return reflect.Value{}, n, a.Error
	}
	dest := reflect.New(reflect.SliceOf(s.rel.target.typ))
	err := tx.Association(s.rel.field).Find(dest.Interface())
	return dest.Elem(), 0, err
}

// compare checks one gormloader result against the naive query:
//   - Count: equal counts;
//   - a to-many Load with an Order: the same rows in the same order (the
//     generated orders end with the primary key, so they are total);
//     without one: the same multiset, or with a Limit, min(limit, all) rows
//     of the naive result;
//   - LoadOne, and Load of a to-one relation: no row iff the naive query
//     has none; with an Order, its first row; else one of its rows. (A
//     has-one with several matching rows keeps one of them; Preload keeps
//     the last, and an unordered statement promises no order: an expected
//     difference, not a bug.)
func (x *run) compare(s *step, row reflect.Value, o outcome) {
	where := func() string {
		if x.wrote != "" {
			return fmt.Sprintf("after the write %s, in the same scope:\nstep %s\nparent %s", x.wrote, s, jsonOf(row))
		}
		return fmt.Sprintf("step %s\nparent %s", s, jsonOf(row))
	}
	if o.err != nil {
		x.errorf("%s\ngormloader error: %v", where(), o.err)
		return
	}
	if s.call == callCount {
		_, want, err := x.naive(s, row, s.v)
		if err != nil {
			x.t.Fatalf("naive count for %s, parent %s: %v", s, jsonOf(row), err)
		}
		if o.n != want {
			x.errorf("%s\nCount = %d, naive Association Count = %d", where(), o.n, want)
		}
		cover(s, want > 0)
		return
	}
	all, _, err := x.naive(s, row, variant{where: s.v.where, args: s.v.args})
	if err != nil {
		x.t.Fatalf("naive query for %s, parent %s: %v", s, jsonOf(row), err)
	}
	cover(s, all.Len() > 0)
	var ordered reflect.Value
	if s.v.order != "" {
		ordered, _, err = x.naive(s, row, s.v)
		if err != nil {
			x.t.Fatalf("naive ordered query: %v", err)
		}
	}
	got := o.rows
	if s.call == callLoadOne {
		got = reflect.MakeSlice(reflect.SliceOf(s.rel.target.typ), 0, 1)
		if o.rows.IsValid() && !o.rows.IsNil() {
			got = reflect.Append(got, o.rows.Elem())
		}
	} else if !got.IsValid() {
		got = reflect.MakeSlice(reflect.SliceOf(s.rel.target.typ), 0, 0)
	}
	if s.call == callPage {
		x.comparePage(s, row, o, all, ordered, where)
		return
	}
	one := s.call == callLoadOne || !s.rel.many()
	limit := s.v.limit
	if one {
		limit = 1
	}
	switch {
	case s.v.order != "":
		want := ordered
		if one && want.Len() > 1 {
			want = want.Slice(0, 1)
		}
		if d := diffSeq(got, want); d != "" {
			x.errorf("%s\n%s (ordered: compared as sequences)\ngormloader: %s\nnaive:      %s", where(), d, jsonList(got), jsonList(want))
		}
	case limit > 0:
		want := min(limit, all.Len())
		if got.Len() != want || !subset(got, all) {
			x.errorf("%s\n%d rows, want %d of the naive rows (no order: any %d of them)\ngormloader: %s\nnaive (all): %s",
				where(), got.Len(), want, want, jsonList(got), jsonList(all))
		}
	default:
		if d := diffSet(got, all); d != "" {
			x.errorf("%s\n%s (no order: compared as multisets)\ngormloader: %s\nnaive:      %s", where(), d, jsonList(got), jsonList(all))
		}
	}
}

// comparePage checks a LoadPage of s.v.limit rows against the naive rows
// (all, and ordered by s.v.order if it has one; without one the page is by
// primary key, so any rows of the naive result): TotalCount is the naive
// count, HasNextPage whether it exceeds the size, and the rows the first
// size of the order.
func (x *run) comparePage(s *step, row reflect.Value, o outcome, all, ordered reflect.Value, where func() string) {
	size := s.v.limit
	if want := int64(all.Len()); o.n != want {
		x.errorf("%s\nTotalCount = %d, naive rows %d", where(), o.n, want)
	}
	if want := all.Len() > size; o.more != want {
		x.errorf("%s\nHasNextPage = %v with %d naive rows and a page of %d", where(), o.more, all.Len(), size)
	}
	got := o.rows
	if !got.IsValid() || got.IsNil() {
		got = reflect.MakeSlice(reflect.SliceOf(s.rel.target.typ), 0, 0)
	}
	if s.v.order != "" {
		want := ordered.Slice(0, min(size, ordered.Len()))
		if d := diffSeq(got, want); d != "" {
			x.errorf("%s\n%s (ordered page: compared as sequences)\ngormloader: %s\nnaive:      %s", where(), d, jsonList(got), jsonList(want))
		}
		return
	}
	if want := min(size, all.Len()); got.Len() != want || !subset(got, all) {
		x.errorf("%s\n%d rows, want %d of the naive rows\ngormloader: %s\nnaive (all): %s", where(), got.Len(), want, jsonList(got), jsonList(all))
	}
}

func jsonOf(v reflect.Value) string {
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return fmt.Sprintf("%#v", v.Interface())
	}
	return string(b)
}

func jsonList(rows reflect.Value) string {
	parts := make([]string, rows.Len())
	for i := range parts {
		parts[i] = jsonOf(rows.Index(i))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// diffSeq compares rows as sequences: by their JSON form (which follows
// pointers), then with reflect.DeepEqual, which also sees Go-level
// differences JSON hides (a time's location).
func diffSeq(got, want reflect.Value) string {
	if got.Len() != want.Len() {
		return fmt.Sprintf("%d rows, want %d", got.Len(), want.Len())
	}
	for i := range got.Len() {
		if a, b := jsonOf(got.Index(i)), jsonOf(want.Index(i)); a != b {
			return fmt.Sprintf("row %d differs", i)
		}
	}
	for i := range got.Len() {
		if !reflect.DeepEqual(got.Index(i).Interface(), want.Index(i).Interface()) {
			return fmt.Sprintf("row %d: same JSON, different Go values: %#v vs %#v", i, got.Index(i).Interface(), want.Index(i).Interface())
		}
	}
	return ""
}

// sortedByJSON returns a copy of rows sorted by JSON form.
func sortedByJSON(rows reflect.Value) reflect.Value {
	out := reflect.MakeSlice(rows.Type(), rows.Len(), rows.Len())
	reflect.Copy(out, rows)
	keys := make([]string, out.Len())
	idx := make([]int, out.Len())
	for i := range keys {
		keys[i] = jsonOf(out.Index(i))
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
	sorted := reflect.MakeSlice(rows.Type(), rows.Len(), rows.Len())
	for i, j := range idx {
		sorted.Index(i).Set(out.Index(j))
	}
	return sorted
}

func diffSet(got, want reflect.Value) string {
	return diffSeq(sortedByJSON(got), sortedByJSON(want))
}

// subset reports whether the rows of got are a sub-multiset of all's.
func subset(got, all reflect.Value) bool {
	have := map[string]int{}
	for i := range all.Len() {
		have[jsonOf(all.Index(i))]++
	}
	for i := range got.Len() {
		k := jsonOf(got.Index(i))
		if have[k] == 0 {
			return false
		}
		have[k]--
	}
	return true
}

// checkNulls loads, in a fresh scope, each step for a few parents whose key
// is NULL: no statement, no rows, a zero count.
func (x *run) checkNulls() {
	p := newProbe(x.e.db)
	defer p.close()
	y := *x
	y.p = p
	for _, n := range x.nulls {
		s := n.step
		for _, row := range n.rows {
			parent := reflect.New(row.Type())
			parent.Elem().Set(row)
			o := y.call(s, parent.Interface())
			if stmts := p.take(); len(stmts) > 0 {
				x.errorf("step %s for a parent with a NULL key %s: %d statements, want none:%s", s, jsonOf(row), len(stmts), listStatements(stmts))
			}
			empty := o.n == 0 && (!o.rows.IsValid() || (o.rows.Kind() == reflect.Slice && o.rows.Len() == 0) || (o.rows.Kind() == reflect.Pointer && o.rows.IsNil()))
			if o.err != nil || !empty {
				x.errorf("step %s for a parent with a NULL key %s: got %v (count %d, error %v), want nothing", s, jsonOf(row), o.rows, o.n, o.err)
			}
		}
	}
}
