//go:build !race

package main

// floorRequests is how many requests TestOrmloaderAtTheFloor sends per
// query, ORM and dialect in each round (sequential, then concurrent); fewer
// under the race detector (floor_race_test.go).
const floorRequests = 500

// randomQueriesDefault is how many queries TestRandomQueries sends per
// dialect by default (fewer under the race detector).
const randomQueriesDefault = 40
