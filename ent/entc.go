//go:build ignore

package main

import (
	"log"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"

	"github.com/ormloader/ormloader/entloader"
)

func main() {
	gql, err := entgql.NewExtension()
	if err != nil {
		log.Fatalf("entgql: %v", err)
	}
	loaders, err := entloader.NewExtension()
	if err != nil {
		log.Fatalf("entloader: %v", err)
	}
	err = entc.Generate("./schema", &gen.Config{
		Features: []gen.Feature{gen.FeaturePrivacy, gen.FeatureEntQL},
	}, entc.Extensions(gql, loaders)) // entloader after entgql: its gql_edge replaces entgql's
	if err != nil {
		log.Fatalf("running ent codegen: %v", err)
	}
}
