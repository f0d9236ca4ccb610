// Package ent is ormloader's reference schema, the music domain (schema/),
// generated with entgql and entloader: Label 1–N Band (a Relay connection in
// GraphQL), Band N–M Person (members), Band 1–N Album, Album 1–N Track (hidden
// FK), Album 1–N Review (privacy policy by viewer), Band 1–1 Profile (hidden
// FK), Band N–M Band (influences) through the edge schema Influence. Tests and
// examples use it. Regenerate with go generate ./ent.
package ent

//go:generate go run entc.go
