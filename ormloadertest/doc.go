// Package ormloadertest catches N+1 queries in tests and in a development
// server: it counts the SQL statements that a block of code or one GraphQL
// operation runs, groups them by relation and GraphQL path, and fails a
// test that exceeds its budget with a message that names the N+1:
//
//	ormloadertest: operation Bands: N+1: 1 relation loaded in more than 1 batch at one GraphQL path, or one key at a time under a list:
//	  Band.albums ×20 at bands[*].albums: 20 statements in 20 resolver calls, one key each, at graph/naive.go:83 (graph.naiveBand.Albums)
//	      20× SELECT * FROM `albums` WHERE band_id = ? ORDER BY id LIMIT 4
//
// # Counting
//
// A [Counter] receives every statement of the databases hooked to it:
// package gormcount registers GORM callbacks (after gorm:query, gorm:row,
// gorm:raw, gorm:create, gorm:update and gorm:delete), package entcount
// wraps ent's dialect.Driver; any other hook can call [Counter.Record].
// The ORM-specific code is in those packages, so a GORM application does
// not build ent and the other way round.
//
//   - [Statements] runs a block of code and fails the test if it ran more
//     statements than its budget.
//   - [Operation] sends a GraphQL operation to an http.Handler (your
//     server, with its middleware) and fails the test if its response has
//     errors, if a relation was loaded in more than [Budget].Batches
//     batches at one GraphQL path (one by default), or one key at a time
//     under a list, or if the operation ran more than [Budget].Statements
//     statements.
//   - [Guard] is the same check as HTTP middleware for a running server
//     (development mode, off unless installed): each N+1 is logged once
//     with its GraphQL path and call site, and fails the test given by
//     [WithTest]. With [CheckContext], it also reports loads whose
//     context carries a value (a viewer) that their batches do not see.
//
// # Attribution
//
// Statements are attributed by their context, so that a test's count is
// exact even when other tests use the same database (pass the context
// down), and so that each is charged to what caused it:
//
//   - A statement of a dataloader batch belongs to the batch's loader (for
//     ormloader's adapters, one loader per relation: "Album.tracks",
//     "gormloader Band.Albums"), at the GraphQL paths of the loads that
//     waited for the batch. The scopes opened under the measured context
//     (gqlgenloader's per operation, or your own) report their batches and
//     loads through dataloader.TraceScopes; a load's path is that of the
//     resolver whose context it was given (gqlgen's field context), with
//     list indexes written [*].
//   - A statement that a resolver ran itself, with its own context,
//     belongs to the resolver's field ("Band.albums") at its path: every
//     resolver call that ran one counts as a batch of one key. This is how
//     a naive resolver (one query per parent) shows up.
//   - Other statements are grouped by the code that ran them.
//
// The call site of a relation is the resolver that gqlgen called (the frame
// below gqlgen's generated code), or else the first frame outside
// ormloader, the ORMs, gqlgen and the standard library.
//
// # Context values
//
// Batches run under their scope's context, never under the context of the
// resolver that loads: a value put into a resolver's context after the
// scope opened (a viewer set in a field middleware) is not seen by the
// batches, silently. [CheckContext] registers an accessor of such a value
// with the Guard, which then compares, per load, the caller's value with
// that of the batches of its scope. The fix is always to put the value into
// the context before the scope opens: HTTP middleware in front of the
// GraphQL handler, gqlgenloader.WithContext, or gqlgenloader's
// Extension.Middleware behind your authentication.
package ormloadertest
