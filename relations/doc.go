// Package relations is the ORM-agnostic core of ormloader's relation loaders.
// The adapters (gormloader, entloader) describe their ORM's relations with it
// and share its batching rules; it knows nothing about GORM or ent.
//
// # Pieces
//
//   - [Relation] is plain data: the [Kind] (has-one, has-many, belongs-to,
//     many-to-many), the owner and target tables, the key columns as
//     [KeyPair]s (composite keys are just more pairs), the [JoinTable] of a
//     many-to-many relation and the [Polymorphic] type column and value.
//     Helpers answer the questions a statement builder asks (ParentColumns,
//     MatchColumns, OwnsFK, Composite).
//   - [Key] is a typed key tuple: a comparable value made of normalized column
//     values. Distinct keys never collide (no values are joined into strings),
//     and equal values of different Go types that the database treats alike
//     (int and int64, a string and a named string type, a value and a pointer
//     to it) give equal keys. A NULL part gives [ErrNullKey]: nil foreign keys
//     load nothing and issue no statement.
//   - [BatchKey] is what a relation loader is keyed by: the parent's [Key]
//     plus the partition (the transaction, the [Variant] and its arguments),
//     so loads in a transaction, or with different limits or filters, never
//     share a batch or a cache entry. [Partition] groups a batch's keys by
//     partition and drops duplicates; [Chunks] splits one partition's keys
//     into the fewest statements the dialect's bind-parameter limit allows
//     ([BindLimit]); an empty key set gives no chunk, so no statement.
//   - [Sets] records load sets: rows that came back together in one result.
//     Loading a relation for one row lets the adapter enqueue the keys of
//     every row of that row's load set (dataloader.Loader.LoadWith), so a
//     sequential loop over the rows issues one statement. Rows are identified
//     by (model, primary key), not by pointer, so copies of a struct (a
//     range loop variable) still find their set.
//   - [GroupMany] and [GroupOne] turn the rows of one statement into one
//     result per parent key; [RowNumberSQL] and [CountSQL] help the adapters
//     build the per-parent limit/order and count variants.
//
// # Statement shapes
//
// Every relation kind is one statement per batch and partition (more only past
// the bind-parameter limit):
//
//	belongs-to   SELECT * FROM target WHERE pk IN (...)        -- keys: the owners' FK values
//	has-one/many SELECT * FROM target WHERE fk IN (...) [AND type = ?]
//	many-to-many SELECT target.*, j.owner_fk FROM target JOIN j ON j.target_fk = target.pk
//	             WHERE j.owner_fk IN (...)
//	limit/order  SELECT * FROM (SELECT t.*, ROW_NUMBER() OVER (PARTITION BY fk ORDER BY ...) AS rn
//	             FROM target t WHERE fk IN (...)) w WHERE rn <= ?
//	count        SELECT fk, COUNT(*) FROM target WHERE fk IN (...) GROUP BY fk
//
// Composite keys use row values: (a, b) IN ((?, ?), ...), or on SQLite
// (a, b) IN (VALUES (?, ?), ...).
package relations
