// Package difftest is a differential test of gormloader on schemas nobody
// designed for it.
package difftest

//go:generate go run ./gen -dir schemas -seeds 1-24
