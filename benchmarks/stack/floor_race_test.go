//go:build race

package main

// floorRequests is how many requests TestOrmloaderAtTheFloor sends per
// query, ORM and dialect in each round (sequential, then concurrent): fewer
// than without the race detector (500), under which a request takes three
// to four times as long. With 500, the test took 55 s on SQLite alone (2
// cores), 165 s with PostgreSQL too on a busy machine; with 150, 13 s and
// 31 to 36 s.
const floorRequests = 150

// randomQueriesDefault is how many queries TestRandomQueries sends per
// dialect by default (40 without the race detector).
const randomQueriesDefault = 12
