// Package entloader is ormloader's ent adapter: an entc extension that
// generates batched, request-scoped loaders into the application's ent
// package, and the small runtime that the generated code calls.
//
// # Setup
//
// Register the extension in entc.go (with entgql, if you use it, in either
// order):
//
//	ex, err := entloader.NewExtension()
//	if err != nil {
//		log.Fatal(err)
//	}
//	err = entc.Generate("./schema", &gen.Config{}, entc.Extensions(gqlExt, ex))
//
// Then open one [dataloader.Scope] per request (the gqlgen integration does it
// per operation) and call the generated edge methods:
//
//	ctx, scope := dataloader.NewScope(ctx)
//	defer scope.Close()
//	bands, err := client.Band.Query().All(ctx)
//	for _, b := range bands {
//		albums, err := b.Albums(ctx) // one statement for all bands
//	}
//
// # What is generated
//
// For every edge E of every type T (O2O on both sides, O2M, M2O with and
// without an edge field, M2M, M2M through an edge schema, and the edge to
// the edge schema's rows):
//
//   - func (t *T) E(ctx) ([]*U, error), or (*U, error) for a unique edge. It
//     returns the eager-loaded edge if the query loaded it (WithE), and
//     otherwise loads it through the scope's loader and stores the result in
//     t.Edges.E as eager loading does. A missing unique edge is (nil, nil)
//     if the edge is optional and a *NotFoundError if it is required. With
//     entgql, these methods replace entgql's in gql_edge.go (entloader adds
//     its gql_edge template last, and the later definition wins) and keep
//     entgql's alias-named eager loading (CollectFields).
//   - with entgql, for Relay connection edges (entgql.RelayConnection), the
//     connection method that entgql's schema binds to: first and last pages,
//     after or before a cursor or not, are loaded with their totalCount for
//     every parent of the load set at once, in one statement (EPage below;
//     a GROUP BY statement when only totalCount or pageInfo is asked for),
//     with the same result as entgql's Paginate; orders by an edge count use
//     Paginate. A first or last of math.MaxInt is taken as math.MaxInt-1 (a
//     page asks for one row more than its size; no edge has that many rows).
//   - for to-many edges, func (t *T) EWith(ctx, UVariant) filtered, ordered
//     and limited per parent (see [Variant]), func (t *T) ECount(ctx,
//     where ...predicate.U) (int, error), and func (t *T) EPage(ctx,
//     UVariant) (entloader.Page[*U], error): a page of v.Limit rows after
//     the cursor v.After, whether more follow and the count of v.Where's
//     rows, in one statement per batch ([Page]).
//   - for every type, func (c *TClient) Load(ctx, id) and LoadMany(ctx, ids):
//     primary-key loaders. M2O edges with an edge field load through them.
//   - type UVariant = entloader.Variant[predicate.U, u.OrderOption].
//
// [WithMethodPrefix] renames the edge methods (LoadE instead of E) if the
// types already have methods with those names.
//
// # Statements
//
// Every edge is one statement per batch (more only past the dialect's bind
// limit: 32 766 parameters on SQLite, 65 535 on PostgreSQL and MySQL):
//
//	O2M, O2O       SELECT fk, u.* FROM u WHERE u.fk IN (...)
//	M2M, Through   SELECT j.t_id, u.* FROM u JOIN j ON j.u_id = u.id WHERE j.t_id IN (...)
//	M2O, field     SELECT u.* FROM u WHERE u.id IN (...)              -- keys: the FK values; nil FK: no load
//	M2O, hidden FK the same if the FK column was selected (rows that loaders loaded), else
//	               SELECT c.id, u.* FROM u JOIN t AS c ON c.fk = u.id WHERE c.id IN (...)
//	limit          SELECT ... FROM (SELECT ..., ROW_NUMBER() OVER (PARTITION BY key ORDER BY ...) ...) WHERE rn <= ?
//	count          SELECT key, COUNT(*) ... GROUP BY key
//	page           SELECT ... FROM (SELECT ..., ROW_NUMBER() OVER (PARTITION BY key ORDER BY o) AS rn,
//	               COUNT(*) OVER (PARTITION BY key) AS total ...) WHERE rn <= size+1
//	page, cursor   the same, numbering only the rows after the cursor:
//	               CASE WHEN c THEN SUM(CASE WHEN c THEN 1 ELSE 0 END) OVER (PARTITION BY key
//	               ORDER BY o ROWS UNBOUNDED PRECEDING) ELSE 0 END AS pos ... WHERE pos BETWEEN 1
//	               AND size+1 OR rn = 1 (the first row carries the count when none follows c)
//	page, SQLite   the same with the count as a subquery per returned row (SQLite buffers each
//	               partition for COUNT(*) OVER: 27 against 49 ms on the skewed data below)
//	page, Postgres per key a LATERAL subquery that reads the page in order (ORDER BY o LIMIT size+1,
//	               through an index) and one that counts, driven by unnest(CAST($1 AS bigint[])), the
//	               keys as one array literal: the window form sorts every row of every parent
//	               (benchmarks/statements: 3.8 against 19 ms when ten parents of a hundred have 5 000 rows)
//
// On PostgreSQL, a batch of at least relations.ArrayMinKeys keys binds them
// as one array parameter, u.fk = ANY($1) (integer, text
// and uuid keys), instead of an IN list: one statement text for every large
// batch of an edge, which pgx prepares once per connection
// (benchmarks/statements: 267 against 395 µs for 40 keys).
//
// The hidden-FK form joins through the child's primary key, so it works when
// the query that loaded the child did not select the FK column (ent's own
// eager loading of such an edge needs it).
//
// Rows are handed to their parents by key values in Go, where the database
// matched them under the key column's collation: on MySQL and MariaDB a
// string key column compares without trailing spaces under most collations
// (utf8mb4_bin, ent's default, included) and without case under _ci ones,
// so the statement for the parent "ab" returns the row whose key is "AB ".
// For string keys on MySQL the loaders read the key column's collation once
// per client (information_schema, through the batch's own connection: a
// transaction's batch on the transaction's; a batch that cannot read it
// fails) and hand a row to every parent whose key folds as the row's does,
// as the naive per-parent query would return it; Load by key and counts do
// the same. That is exact for printable ASCII under the generic collations;
// a batch with other strings under a collation that is not binary ('fé' =
// "fe" under utf8mb4_general_ci, 'straße' = "strasse" under
// utf8mb4_unicode_ci), and every batch under a language's collation
// (utf8mb4_turkish_ci: 'I' is not 'i'), runs one more statement: the
// database's WEIGHT_STRING of every key of the batch, by which its rows and
// counts are matched (relations.Collation).
//
// # Load sets
//
// The generated interceptors record the rows of every query result run in a
// scope as one load set (a pointer kept on each node, so recording costs one
// allocation per query). When the edge of one row is asked for, the keys of
// every row of its load set are enqueued with it, so a sequential loop over a
// result issues one statement per edge, and a GraphQL tree one statement per
// edge per level, whatever the goroutines' timing. Rows loaded by a batch are
// a load set too, so the next level batches the same way. Query results of
// types that many-to-one edges point to also prime the primary-key loader, so
// a back-reference (album → band of an already loaded band) costs nothing.
// Only results of queries that selected every field prime it (with the
// sql/modifier feature: and had no Modify, which may change the select
// list), and not those of a query run under a privacy decision
// (privacy.DecisionContext, e.g. a system query with privacy.Allow inside a
// request): loads run under the scope's context, and such rows may be ones
// the viewer's loads would not return. An interceptor of your own that
// returns more rows when the context says so (a soft-delete skip) is not
// detected: give such a query a Select of its fields, and its rows prime
// nothing ([MayPrime]).
//
// # Contracts
//
//   - Queries go through the ent client: interceptors and privacy policies
//     apply. Batches run under the scope's context (dataloader), so put the
//     viewer (and anything privacy rules read) in the context before
//     dataloader.NewScope.
//   - A transactional client (tx.Client(), tx.Band, and rows it loaded) loads
//     through its transaction and never shares a batch or cache entry with
//     other clients.
//   - Mutations through the client clear, in the scope of their context, the
//     loaders of every edge that touches the mutated type, and again when a
//     transaction commits. A write to an edge schema's rows (Through) clears
//     the edges of both directions through it, their counts and the edge to
//     the rows. Edges filled by a loader are re-read through the loader, so
//     they see the write; eager-loaded edges are left alone.
//   - A to-many result that a loader returns (E, EWith) is a new slice on
//     every call, the caller's own to sort or change: the scope caches one
//     slice per parent, which callers never see. t.Edges.E holds the slice
//     of the last such call on t. An eager-loaded edge (WithE, entgql's
//     field collection) is ent's own: E returns t.Edges.E itself, as ent
//     does. The nodes in a result are shared: a row reached from several
//     parents is one node.
//   - Loaders fill Edges under process-wide striped locks, held only to read
//     or write a few fields and released by defer; read t.Edges directly only
//     after the edge method returned in the same goroutine, or use the
//     method.
//   - Every generated method called on a nil node returns an error naming
//     the type and the method (e.g. "ent: Band.Albums called on a nil
//     *Band"); none panics.
//   - A Variant with a Limit cannot order by another table (an edge count or
//     a neighbour's field): Intern returns an error matching ErrVariant.
//   - Without a scope in the context, the methods load unbatched (and
//     dataloader warns once per loader).
package entloader
