package relations_test

import (
	"context"
	"fmt"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/relations"
)

// Keys compare by normalized value and type, part by part.
func ExampleMakeKey() {
	a, _ := relations.MakeKey(uint(7), "UK")
	b, _ := relations.MakeKey(int64(7), "UK")
	c, _ := relations.MakeKey("7", "UK")
	_, err := relations.MakeKey(nil)
	fmt.Println(a == b, a == c, a, err)
	// Output: true false (7, "UK") relations: key has a NULL part
}

// 40 000 parent keys on SQLite (32 766 parameters) take two statements of
// 20 000; on PostgreSQL, one.
func ExampleChunks() {
	keys := make([]int, 40000)
	sqlite, _ := relations.Chunks(keys, relations.BindLimit("sqlite"), 1, 0)
	pg, _ := relations.Chunks(keys, relations.BindLimit("postgres"), 1, 0)
	pg2, _ := relations.Chunks(keys, relations.BindLimit("postgres"), 2, 0) // composite key
	none, _ := relations.Chunks(keys[:0], relations.BindLimit("postgres"), 1, 0)
	fmt.Println(len(sqlite), len(sqlite[0]), len(pg), len(pg2), len(none))
	// Output: 2 20000 1 2 0
}

// A batch function: one call per partition, duplicates dropped, results lined
// up with the keys.
func ExampleFetch() {
	k := relations.MustKey
	tx := new(struct{}) // a transaction, as the adapter identifies it
	keys := []relations.BatchKey{
		{Parent: k(1)}, {Parent: k(2)}, {Parent: k(1)},
		{Part: relations.Part{Conn: tx}, Parent: k(1)},
	}
	vals, _, _ := relations.Fetch(context.Background(), keys, func(_ context.Context, p relations.Part, parents []relations.Key) (map[relations.Key]string, error) {
		fmt.Println("statement for", parents, "in tx:", p.Conn != nil)
		out := map[relations.Key]string{}
		for _, pk := range parents {
			out[pk] = fmt.Sprintf("albums of %v", pk)
		}
		return out, nil
	})
	fmt.Println(vals)
	// Output:
	// statement for [1 2] in tx: false
	// statement for [1] in tx: true
	// [albums of 1 albums of 2 albums of 1 albums of 1]
}

// Rows that came back together form a load set; a copy of a row finds it by
// primary key.
func ExampleSets() {
	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()
	sets := relations.SetsOf(ctx)
	k := relations.MustKey
	sets.Record(&relations.Set{Model: "bands", IDs: []relations.Key{k(1), k(2), k(3)}})

	set := sets.Lookup("bands", k(2))
	c, won := sets.Claim(set, "Band.Albums")
	fmt.Println(set.Len(), won)
	c.Release() // after computing the siblings' keys, right before enqueueing them
	_, won = sets.Claim(set, "Band.Albums")
	fmt.Println(won)
	// Output:
	// 3 true
	// false
}

func ExampleInSQL() {
	fmt.Println(relations.InSQL([]string{"band_id"}, 3, false))
	fmt.Println(relations.InSQL([]string{"album_id", "country"}, 2, true))
	fmt.Println(relations.RowNumberSQL([]string{"band_id"}, "year DESC"))
	// Output:
	// band_id IN (?,?,?)
	// (album_id, country) IN (VALUES (?,?),(?,?))
	// ROW_NUMBER() OVER (PARTITION BY band_id ORDER BY year DESC)
}
