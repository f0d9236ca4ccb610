// Package difftest is a differential test of gormloader on schemas nobody
// designed for it: random GORM models, random rows and random query trees,
// with every result gormloader loads compared with the naive per-parent
// GORM query, and the statements it issues counted.
//
// # Running
//
//	go test ./internal/difftest
//
// checks the checked-in schemas (package schemas, seeds 1 to 24) with 2 data
// sets of 4 query trees each, on SQLite and, when ORMLOADER_TEST_POSTGRES_DSN
// and ORMLOADER_TEST_MYSQL_DSN are set, PostgreSQL and MariaDB/MySQL: this is
// the CI budget. -data N and -trees N (or ORMLOADER_DIFF_DATA and
// ORMLOADER_DIFF_TREES) check more of each. New schemas are checked on demand:
//
//	go test ./internal/difftest -run TestGenerated -seeds 500 [-first 1000] [-keep] [-gorace]
//	ORMLOADER_DIFF_SEEDS=500 ORMLOADER_DIFF_FIRST=1000 go test ./internal/difftest -run TestGenerated
//
// generates the schemas of seeds first to first+N-1 into a package under
// testdata/ (inside the module, so it imports this one) and runs its test
// with go test; -keep leaves it there to read and rerun, -gorace builds it
// with -race, and -collation=false (ORMLOADER_DIFF_COLLATION=0) leaves out
// the string keys that only MySQL's collations match. Every check is a subtest named schema/dialect/dataN/treeN
// (TestSchemas/s0007/postgres/data1/tree3), so one failure reruns alone with
// -run, and a failure prints the query tree, the parent row, both results
// and the statements. The string keys that only MySQL's collations match are
// in upper case, with a trailing space or with an accent ('á', 'é'); the
// last are matched by the database's weights (relations.Collation), whose
// statement is covered and not counted against the floor.
//
// # Layout
//
//   - gen.go: the generator. A seed gives an abstract schema (3 to 6
//     models, random keys, columns and relations), rendered as Go source
//     (GenerateSchema, WritePackage; go run ./gen is the go:generate
//     command). GORM models are named Go types, which reflect cannot make
//     (StructOf makes neither names nor self-referencing types), hence
//     source.
//   - schemas/: the generated package of the CI seeds, checked in and
//     rewritten by go generate; TestSchemasAreCurrent fails when it is
//     stale.
//   - schema.go, data.go, tree.go, check.go, byid.go: the checker. It reads
//     everything from GORM's parse of the models (keys, relations, join
//     tables, polymorphic columns), so Run works on any GORM models, not
//     only generated ones.
//
// # What the generator covers
//
// Keys: single-column primary keys of int, int32, int64, uint, short
// strings and uuid-like strings, named ID or not; composite primary keys of
// two columns. Foreign keys of the referenced type, another integer type, a
// pointer or a sql.Null type (so NULL), composite foreign keys (a NULL part
// too), custom foreignKey/references tags and GORM's default names, keys
// referencing a unique non-key column (nullable too). Relations: belongs-to,
// has-one, has-many ([]T and []*T), many2many (self-referencing too, custom
// join columns with joinForeignKey/joinReferences, custom foreignKey and
// references, declared on one or both sides, a join model of its own set up
// with SetupJoinTable whose rows are soft-deleted), polymorphic has-one and
// has-many (polymorphic:X or polymorphicType/polymorphicId, default and
// custom polymorphicValue, one to three owner models), self references,
// several relations between the same two models, a belongs-to inside an
// anonymous embedded struct. Columns: int, string, bool, float64,
// time.Time, *int, *string, sql.NullInt64 data; column: tags on data and
// foreign-key columns; a serializer:json field; data columns in an
// embedded struct (tagged with a prefix, or anonymous); soft delete
// (gorm.DeletedAt); AfterFind hooks (a row must have gone through one
// exactly once); TableName methods. Shapes gormloader refuses: a
// belongs-to inside a struct tagged embedded, and a has-many on five key
// columns; Register and the loads must return ErrUnsupportedRelation naming
// the model and the field, and never panic.
//
// Each schema and database also gets random options: a bind limit small
// enough to split batches into several statements (WithBindLimit),
// WithoutLoadSets or WithoutLoadSetsFor one relation, GORM naming
// strategies (singular tables, a table prefix).
//
// Data: 0, 1 or up to 14 rows per table; foreign keys that are NULL,
// orphaned (a missing key, or 0), or shared by many rows, so that some
// parents have many children and others none; soft-deleted rows; polymorphic
// rows of other owner types and of no owner; join rows of missing owners,
// and soft-deleted ones in join models;
// columns with few values, so that filters match some rows and orders tie.
//
// Query trees: a root Find with random Where, Order and Limit (and now and
// then every row twice, for duplicates in a load set), then paths of 1 to 4
// relation steps, branching now and then; each step loads a relation for
// every row of the previous step's results with Load, LoadOne (on to-one
// relations mostly) or Count, with random Where (arguments of several
// types), Order (always ending with the primary key: a total order) and
// per-parent Limit. A tree runs sequentially or with a goroutine per row,
// passing pointers into the result slices or copies, and giving the loads
// the root *gorm.DB, a session of it, nil (the db in the context) or a
// transaction. Some trees then write through GORM in their scope (a data
// column updated, a foreign key moved or set to NULL, a row deleted, a join
// row added, a join model's row deleted) and run again in the same scope:
// gormloader must have cleared what the write changed. ByID and ByIDs run on existing, soft-deleted and
// missing keys, given as the key's type, int64 or int, in one call, in a
// loop and from goroutines.
//
// # What is compared
//
// The oracle is GORM's own association query, one parent at a time, outside
// any scope: db.Model(&parent).Where(...).Order(...).Limit(...)
// .Association(field).Find (or .Count). Results compare as sequences when
// the step has an Order, as multisets when it has none, and as "min(limit,
// all) of the naive rows" for a Limit without an Order. LoadOne, and Load of
// a to-one relation, give no row iff the naive query finds none, else its
// first row when ordered and one of its rows when not: a has-one with
// several matching rows keeps one of them (Preload keeps the last; an
// unordered statement promises no order), an expected difference. Rows
// compare by their JSON form, then with reflect.DeepEqual. A parent whose
// key is NULL expects nothing (GORM's Association itself builds an invalid
// statement for a composite key that is all NULL).
//
// Statements are counted at the driver (internal/sqlcount), per scope, and a
// step's count waits for every batch the scope dispatched (a Tracer counts
// their ends), so that a statement is counted with the loads that caused
// it. A step whose parents all belong to the one load set of their model
// in the scope may issue at most one statement (the promise: one per
// relation per level and variant), and none if every parent's key is
// NULL, which is also checked for each such parent alone in a fresh scope.
// When a model's rows are in several load sets of the scope (a row reached
// twice), a step may issue one statement per set its rows belong to (one
// per load if the level records sets of that model itself). With a bind
// limit that splits batches, and after a write, statements are not
// counted.
//
// # What it found
//
// Fixed since (commit 093f343, with regression tests in gormloader's
// found_test.go): on MySQL and MariaDB, rows whose string key equals the
// parent's only under the column's collation ("AB" or "ab " for "ab") were
// dropped; in a transaction, two batches at once on its one connection
// failed ("conn busy", "invalid connection"; pgx even panicked inside
// Rows.Next, recovered by the dataloader), from concurrent loads and even
// from a plain loop over a relation of a model to itself, whose second
// load-set claim fetched in the background.
//
// Fixed since too: on MySQL and MariaDB, the rows that match a parent only
// under the collation came after the others whatever the Order, and when one
// batch held both "ab" and "AB" as parent keys, "AB" got nothing (gormloader
// now groups by keys folded as the column's collation compares them; tests
// TestCollationKeepsOrder and TestCollationBothKeysInOneBatch in gormloader).
//
// Fixed since too (2026-12-08): with the accented keys added to the data,
// 32 checks of the checked-in schemas failed on the previous code, which
// grouped rows by a fold in Go that leaves accents alone: rows, counts,
// pages and by-key results lost the rows that MariaDB's utf8mb4_general_ci
// matched ('4é24...' for the parent '4e24...'); TestCollationAccentsAndExpansions in
// gormloader.
//
// Fixed since too: a level that loaded a relation of a model to itself and
// another relation or variant over the same root rows issued two statements
// for the other one (the self relation's results took the rows over by
// primary key; now a load finds the set of the caller's instance:
// TestSelfRelationThenVariant in gormloader). Below the root, the parents
// are copies, whose set is found by primary key; there the checker still
// allows one statement per load set of the level's model.
package difftest

//go:generate go run ./gen -dir schemas -seeds 1-24
