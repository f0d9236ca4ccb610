package main

import (
	"fmt"
	"testing"

	"github.com/ormloader/ormloader/benchmarks/stack/internal/bench"
	gormserver "github.com/ormloader/ormloader/examples/gorm-gqlgen/server"
)

// rootFieldsQuery has two root fields whose lists overlap: the first 30
// bands and all 100, with relations at the first level (one of them only
// under the second root field) and the second.
const rootFieldsQuery = `{ top: bands(first: 30) { id name label { id name } albums { id title } } ` +
	`all: bands(first: 100) { id name label { id name } members { id name } albums { id title tracks { id title } } } }`

// BenchmarkRootFieldSets measures rootFieldsQuery on SQLite with the
// command's catalogue (100 bands, 901 albums, 8 576 tracks), one request
// after the other, for ormloader, the eager variants and dataloadgen, and
// reports the statements per request. The floor is 6: the two root
// queries, then labels, members and albums in one statement each, then
// tracks. Before the root fields' sets were held together, ormloader ran 8
// (labels and albums once per root field).
//
//	go test ./benchmarks/stack -run '^$' -bench RootFieldSets -benchtime 100x -count 3
func BenchmarkRootFieldSets(b *testing.B) {
	size := gormserver.Size{Labels: 10, Bands: 100, Albums: 10, Tracks: 10, Members: 4}
	body := bench.Body(rootFieldsQuery)
	err := withVariants(b.Context(), "", size, func(variants []bench.Variant) error {
		want := map[string]string{} // ORM → the naive variant's response
		for _, v := range variants {
			out, err := bench.Request(v.Handler, body)
			if err != nil {
				return fmt.Errorf("%s/%s: %w", v.ORM, v.Name, err)
			}
			got, err := bench.Canonical(out)
			if err != nil {
				return err
			}
			if v.Name == bench.Naive {
				want[v.ORM] = got
				continue
			}
			if got != want[v.ORM] {
				return fmt.Errorf("%s/%s: the response differs from the naive variant's", v.ORM, v.Name)
			}
			if v.Name == bench.GraphGophers { // its 16 ms wait is the whole story
				continue
			}
			b.Run(v.ORM+"/"+v.Name, func(b *testing.B) {
				var stmts int
				for b.Loop() {
					_, sql, err := bench.RequestStatements(v.Handler, body)
					if err != nil {
						b.Fatal(err)
					}
					stmts += len(sql)
				}
				b.ReportMetric(float64(stmts)/float64(b.N), "stmts/op")
			})
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
