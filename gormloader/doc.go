// Package gormloader loads GORM associations without the N+1 problem: batched
// per request, one statement per relation per level, with no batch function to
// write.
//
// # Quick start
//
//	db, err := gorm.Open(sqlite.Open("app.db"), &gorm.Config{})
//	if err := db.Use(gormloader.New()); err != nil { ... }   // once, at start-up
//
//	// per request (the gqlgen integration does this per operation):
//	ctx, scope := dataloader.NewScope(r.Context())
//	defer scope.Close()
//	ctx = gormloader.WithDB(ctx, db)
//
//	var bands []Band
//	db.WithContext(ctx).Find(&bands)                          // recorded as a load set
//	for _, b := range bands {
//		albums, err := gormloader.Load[Album](ctx, db, &b, "Albums") // ONE statement for all bands
//	}
//
// With generated methods (go generate, see cmd/gormloader-gen) the loop body
// is albums, err := b.LoadAlbums(ctx).
//
// # What it does
//
// The plugin reads GORM's own schema (schema.Relationships, parsed once per Go
// type through the db's parser, naming strategy and cache) and builds one
// dataloader per relation. Every relation kind is one statement per batch:
//
//   - (on PostgreSQL, from relations.ArrayMinKeys keys of one column, every
//     IN (...) below is fk = ANY(?) with the keys as one
//     array parameter: one statement text for a relation's large batches)
//   - belongs-to: SELECT * FROM target WHERE pk IN (...); a NULL foreign key
//     loads nothing and issues no statement;
//   - has-one, has-many, polymorphic has-one/has-many (plus type = value),
//     custom foreignKey/references, composite keys (row-value IN; on SQLite
//     (a, b) IN (VALUES ...));
//   - many2many, self-referencing too, in ONE joined statement (GORM's Preload
//     uses two): SELECT target.*, j.owner_fk FROM target JOIN j ON ...;
//   - variants: Limit and Order per parent through ROW_NUMBER() OVER
//     (PARTITION BY fk ORDER BY ...) (Preload's Limit applies to the whole
//     batch), Where filters, Count with GROUP BY, and pages (LoadPage): the
//     rows after a cursor (After), whether more follow and the count, in one
//     statement with ROW_NUMBER() and COUNT(*) OVER (PARTITION BY fk) (on
//     SQLite the count is a subquery per returned row); on PostgreSQL,
//     LATERAL subqueries per parent that read the page through the foreign
//     key's index instead of sorting every row (benchmarks/statements).
//     A variant's arguments are part of the batch key.
//
// Rows are matched to their parents by key values in Go, where the database
// matched them under the compared column's collation: on MySQL and MariaDB
// the loader reads the collation of each compared string column once and
// folds keys the way it compares them (case for _ci, trailing spaces for
// PAD SPACE), so a row goes to every parent the database matched it with, in
// the statement's order; counts are grouped by the keys' bytes and folded
// alike. That is exact for printable ASCII under the generic collations; a
// batch with other strings under a collation that is not binary ('fé' =
// "fe" under general_ci, 'straße' = "strasse" under unicode_ci), and every
// batch under a language's collation (turkish_ci: 'I' is not 'i'), runs one
// more statement, through GORM: the database's WEIGHT_STRING of every key
// of the batch, by which its rows and counts are matched
// (relations.Collation).
//
// Every statement goes through GORM's Query callbacks, as GORM's own Preload
// and Count do, so soft delete, query clauses and the application's own
// callbacks apply (a tenant condition added before gorm:query from the
// statement's context, for one: put the tenant in the context before the
// request scope opens, since batches run under the scope's context), and
// hooks (AfterFind) run. The many-to-many and count statements carry columns
// the model does not have, so the plugin wraps gorm:query to scan them
// itself, in gorm:query's place; other statements are left to gorm:query. A
// plugin that replaces gorm:query must be installed before this one
// (ErrQueryReplaced says so otherwise), and its replacement does not run for
// those two kinds of statement (the callbacks before and after it do). A
// many-to-many load is one JOIN, whose callbacks run for the target model,
// where GORM's Preload runs a statement of its own on the join table first.
// A join model set up with SetupJoinTable is joined as a subquery of that
// model, which GORM builds through the Query callbacks and the model's
// query clauses as Preload's statement on it: its soft delete (or a
// soft-delete plugin's flag) and a condition that a callback adds for it (a
// tenant column on the links between shared rows) apply, so a deleted or
// another tenant's link links nothing, and an error a callback adds fails
// the load. The subquery has the table's name (without a schema), so Where
// and Order options may name the link's columns. PostgreSQL 15, MariaDB
// 10.11 and SQLite merge it into the join (checked with EXPLAIN). GORM's
// own join tables (only the key columns) are joined directly. (GORM's
// association Find applies the join model's query clauses but not the
// callbacks: it joins the table.) Keys are deduplicated, an empty key set
// issues no statement, and batches larger than the dialect's bind-parameter limit
// (SQLite: asked from the connection, 32766 on current versions; PostgreSQL
// and MySQL: 65535 divided by the key width) are split into the fewest
// statements.
//
// # Load sets
//
// After every query run with a context that carries a dataloader scope, the
// plugin records the rows that came back together (identified by model type
// and primary key, so copies of the structs still match). Loading a relation
// for one of them enqueues the keys of all of them: a sequential for loop
// over 100 bands calling LoadAlbums issues one statement, and so does a
// gqlgen list resolved in parallel, whatever the goroutines' timing. The
// results of a relation load form a load set too, so nested levels batch the
// same way.
//
// A row can come back in several results (a band in a list of two, and
// again among the influences of other bands). A load finds the set of the
// caller's instance: when parent points into the rows a query filled (the
// slice given to Find, or the structs its pointers point to), the set is
// that query's result, so the relations of a short list never fetch for the
// rows of a longer one that the caller did not ask about. For a row that is
// not such an instance (the copies that Load returns, or a struct the
// caller copied), the set is the largest result the row came back in, on a
// tie the latest, and a row whose result for the relation is already cached
// or in flight enqueues nobody else.
//
// The rows a load fetched also answer, without a statement, the to-one
// relations that reference them by primary key (a belongs-to such as
// Track.Album, a has-one on the target's primary key) and ByID once it has
// been used, in the same partition (connection): a level that resolves the
// parents of rows loaded above (every track's album, when the albums were
// loaded as a band's) costs nothing. Rows of your own queries are not reused
// that way, since such a query may bypass filters that loads apply (an
// unscoped or administrative query in the same request): their to-one
// relations load with one statement per level, as always.
//
// Recording costs one copy of the result's structs (so that callers may go on
// changing theirs while other goroutines read keys from the set); the keys
// are read only when a relation of that model is first loaded in the scope.
// A model whose key fields a copy would share with the caller (a nullable
// foreign key as *uint, a key in an embedded pointer, a slice, a serializer)
// has its key values read at once instead. A relation load's own results are
// recorded without a copy, and the slices the loads return are the caller's
// own (copies of the structs: their pointer fields point where the cached
// rows' do).
//
// # Which *gorm.DB, and transactions
//
// Load, LoadOne, Count, ByID and ByIDs take a *gorm.DB. Any session derived
// from the db the plugin is installed on works; only its connection is used
// (its Where, Unscoped and so on are not: use the load options). A nil db
// means the one put in the context with WithDB, which is how the generated
// LoadX methods get theirs: put the db in the context where the request scope
// is opened.
//
// A load runs on the connection of the db it is given. A transaction
// (db.Begin(), or the tx of db.Transaction) or a dedicated connection
// (db.Connection, e.g. for PostgreSQL row-level security set up with SET on
// that connection) is a partition of its own: its loads run on it, see what
// it sees (a transaction's uncommitted writes), and never share a batch or a
// cached result with loads on another connection. To make generated methods
// load on one, use gormloader.WithDB(ctx, tx). Such a connection runs one
// statement at a time: the scope's batches on it take turns, from a
// statement's execution to the end of its rows (hooks run outside the turn,
// so an AfterFind may load through the same transaction). Install the plugin right after
// gorm.Open: sessions derived before db.Use are on a connection of their own.
//
// With GORM's read/write splitting (gorm.io/plugin/dbresolver, tested with
// v1.6.2 in integration_test/plugins), batches read where GORM's own queries
// on the given db read: a replica by default, the source for a db that chose
// Clauses(dbresolver.Write) (to read what the request wrote), the named
// resolver's database for Clauses(dbresolver.Use(name)). Such a choice is a
// partition of its own; in a transaction, as for dbresolver, it changes
// nothing.
//
// # Writes
//
// A create, update or delete through GORM in a scope clears the scope's cached
// results of every relation whose owner, target or join table was written,
// and of that model's primary-key loader; a raw Exec clears everything. The
// next load reads fresh rows. Writes made outside GORM are not seen.
//
// A write in a transaction clears when it is made and again when the
// transaction commits: loads outside the transaction in between read the
// rows as they were, which are stale once it commits. For that the plugin
// wraps the db's connection pool (db.DB() still returns the *sql.DB) and
// sees the transactions begun on it end; a rollback needs no clearing (the
// rows outside are as they were; a rollback to a savepoint is a raw Exec,
// which clears). A transaction begun on a dedicated connection
// (db.Connection) is not seen: its writes clear when they are made only.
//
// A write clears the entries of batches in flight too: their waiters (loads
// made before the write) get the rows the batch read, which are not cached,
// and every load after the write reads again.
//
// # Errors
//
// Misuse returns errors matching the sentinels of this package
// (ErrUnknownRelation, ErrUnsupportedRelation, ErrInvalidParent, ErrNilParent,
// ErrTypeMismatch, ErrNoDB, ErrNotInstalled, ErrInvalidOption, ErrInvalidID, ErrNotFound,
// ErrQueryReplaced),
// naming the model and the field; nothing panics. Loader.Register checks
// models at start-up.
//
// Without a scope in the context, loads are correct but unbatched (see
// package dataloader).
package gormloader
