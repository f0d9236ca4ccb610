// Package plainent is ent generated from ./schema with entloader and without
// entgql; entloader's tests use it.
package plainent

//go:generate go run entc.go
