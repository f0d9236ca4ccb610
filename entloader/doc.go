// Package entloader is ormloader's ent adapter: an entc extension that
// generates batched, request-scoped loaders into the application's ent
// package, and the small runtime that the generated code calls.
package entloader
