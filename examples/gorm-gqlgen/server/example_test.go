package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/ormloader/ormloader/examples/gorm-gqlgen/server"
)

// The same query on the naive resolvers and with ormloader, counting the
// statements each runs (the response's "extensions"). Naive: 1 for the bands,
// then per band 1 for the album count and 1 for the page, then 1 per album
// for its tracks. ormloader: bands, album pages, album counts, tracks.
func Example() {
	db, closeDB, err := server.Open("") // a temporary SQLite database
	if err != nil {
		log.Fatal(err)
	}
	defer closeDB()
	if _, err := server.Seed(context.Background(), db, server.Size{Labels: 3, Bands: 20, Albums: 5, Tracks: 4, Members: 2}); err != nil {
		log.Fatal(err)
	}

	const query = `{ bands(first: 20) { name albums(first: 3) { totalCount edges { node { title tracks { name } } } } } }`
	body, _ := json.Marshal(map[string]string{"query": query})
	for _, naive := range []bool{true, false} {
		req := httptest.NewRequest("POST", "/query", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		server.Handler(db, server.Options{Naive: naive}).ServeHTTP(rec, req)

		var resp struct {
			Extensions struct {
				Stats struct{ Statements int }
			}
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			log.Fatal(err)
		}
		name := "ormloader"
		if naive {
			name = "naive"
		}
		fmt.Printf("%s: %d statements\n", name, resp.Extensions.Stats.Statements)
	}
	// Output:
	// naive: 101 statements
	// ormloader: 3 statements
}
