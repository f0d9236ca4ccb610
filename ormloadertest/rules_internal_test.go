package ormloadertest

import (
	"testing"
)

func TestRepeated(t *testing.T) {
	for _, tc := range []struct {
		rel        Relation
		maxBatches int
		want       bool
	}{
		{Relation{Name: "Band.albums", Path: "bands[*].albums", Batches: 1, Keys: 1}, 1, false},
		{Relation{Name: "Band.albums", Path: "bands[*].albums", Batches: 2, Keys: 30}, 1, true},
		{Relation{Name: "Band.albums", Path: "bands[*].albums", Batches: 2, Keys: 30}, 2, false},
		// One key at a time under a list, whatever the limit.
		{Relation{Name: "Band.albums", Path: "bands[*].albums", Batches: 2, Keys: 2}, 5, true},
		// Not under a list: two single-key batches (a band(id) lookup in
		// two waves) are within a limit of 2.
		{Relation{Name: "Band", Path: "band", Batches: 2, Keys: 2}, 2, false},
		// Statements outside resolvers and batches are no relation.
		{Relation{Batches: 0, Statements: 50}, 1, false},
	} {
		if got := tc.rel.repeated(tc.maxBatches); got != tc.want {
			t.Errorf("%s, at most %d batches: repeated = %v, want %v", &tc.rel, tc.maxBatches, got, tc.want)
		}
	}
}

func TestCompactSQL(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT *\n  FROM t WHERE id IN (?,?,?,?)":        "SELECT * FROM t WHERE id IN (?, …)",
		"SELECT * FROM t WHERE id IN ($1, $2, $3)":        "SELECT * FROM t WHERE id IN ($1, …)",
		"SELECT * FROM t WHERE a = ? AND b IN (?, ?)":     "SELECT * FROM t WHERE a = ? AND b IN (?, ?)",
		"INSERT INTO t (a, b, c) VALUES (?, ?, ?)":        "INSERT INTO t (a, b, c) VALUES (?, …)",
		"SELECT * FROM t WHERE id = ? ORDER BY a LIMIT 1": "SELECT * FROM t WHERE id = ? ORDER BY a LIMIT 1",
	} {
		if got := compactSQL(in); got != want {
			t.Errorf("compactSQL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLibraryFrame(t *testing.T) {
	for fn, want := range map[string]bool{
		"github.com/ormloader/ormloader/dataloader.(*keyed[...]).load":               true,
		"github.com/ormloader/ormloader/dataloader/dataloaderotel.Tracer.Start":      true,
		"github.com/ormloader/ormloader/ormloadertest.(*Counter).Record":             true,
		"github.com/ormloader/ormloader/ormloadertest_test.TestStatements.func1":     false,
		"github.com/ormloader/ormloader/examples/gorm-gqlgen/graph.naiveBand.Albums": false,
		"gorm.io/gorm.(*DB).Find": true,
		"runtime.goexit":          true,
		"runtimex.F":              false,
		"github.com/ormloader/ormloader/ent.(*Band).Albums": false,
	} {
		if got := libraryFrame(fn); got != want {
			t.Errorf("libraryFrame(%q) = %v, want %v", fn, got, want)
		}
	}
}
