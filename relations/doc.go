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
//     plus the partition ([Part]: the transaction, the [Variant] and its
//     arguments), so loads in a transaction, or with different limits or
//     filters, never share a batch or a cache entry. [Partition] groups a
//     batch's keys by partition and drops duplicates; [Chunks] splits one
//     partition's keys into the fewest statements the dialect's
//     bind-parameter limit allows ([BindLimit]); an empty key set gives no
//     chunk, so no statement.
//   - [Fetch] is the body of a relation loader's batch function: it
//     partitions the keys, calls the adapter once per partition and lines the
//     results up with the keys. [InSQL] and [RowNumberSQL]
//     build the IN list (row values for composite keys) and the window of the
//     per-parent limit/order variant.
//   - [Sets] records load sets: rows that came back together in one result.
//     Loading a relation for one row lets the adapter enqueue the keys of
//     every row of that row's load set (dataloader.Loader.LoadWith), so a
//     sequential loop over the rows issues one statement. Rows are identified
//     by (model, primary key), not by pointer, so copies of a struct (a
//     range loop variable) still find their set. [Sets.Claim] makes one load
//     per relation and set enqueue the whole set while the others wait for
//     that enqueue, so a loop stays O(n) and concurrent loads stay one batch.
//
// # Using it from an adapter
//
//	// once per relation, at registration:
//	loader := dataloader.New(func(ctx context.Context, keys []relations.BatchKey) ([]Result, []error, error) {
//		return relations.Fetch(ctx, keys, func(ctx context.Context, p relations.Part, parents []relations.Key) (map[relations.Key]Result, error) {
//			chunks, err := relations.Chunks(parents, bindLimit, rel.Width(), p.Variant().Params())
//			// one statement per chunk on p.Conn; record all rows as one set,
//			// whose keys are read on the first lookup of its model:
//			// relations.SetsOf(ctx).Record(&relations.Set{Model: m, Data: rows, Fill: readPKs})
//		})
//	})
//
//	// per load:
//	key, err := relations.MakeKey(parentFK) // ErrNullKey: no statement, no result
//	bk := relations.BatchKey{Part: relations.NewPart(ctx, tx, v), Parent: key}
//	sets := relations.SetsOf(ctx)
//	if set := sets.Lookup(model, parentPK); set != nil {
//		if c, won := sets.Claim(set, token{rel, bk.Part}); won {
//			siblings := ... // the keys of every row of set
//			wait, joined := loader.LoadWithThunk(ctx, bk, siblings)
//			c.Release() // after the enqueue: the others find their keys pending
//			// if joined, bk was in another batch and no sibling was
//			// enqueued: Finish at once, and record no failure for the set
//			return wait()
//		} else if err := c.Wait(ctx); err != nil {
//			return err
//		}
//	}
//	return loader.Load(ctx, bk)
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
// (a, b) IN (VALUES (?, ?), ...). On PostgreSQL, from [ArrayMinKeys] keys of
// one column, the list is one parameter: fk = ANY(?) with
// an [ArrayLiteral], so a relation's large batches share one statement text.
//
// # Per-scope state
//
// [SetsOf] keeps each scope's registry as a value of the dataloader.Scope
// ([dataloader.Scope.Local]): it lives and dies with the request.
package relations
