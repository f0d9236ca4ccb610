//go:build ignore

package main

import (
	"log"
	"os"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"

	"github.com/ormloader/ormloader/entloader"
)

func main() {
	gql, err := entgql.NewExtension(entgql.WithWhereInputs(true))
	if err != nil {
		log.Fatalf("entgql: %v", err)
	}
	loaders, err := entloader.NewExtension()
	if err != nil {
		log.Fatalf("entloader: %v", err)
	}
	cfg := &gen.Config{Features: []gen.Feature{gen.FeaturePrivacy, gen.FeatureEntQL}}
	if dir := os.Getenv("ENTC_TARGET"); dir != "" {
		// The test that checks that the committed code is current generates
		// into a temporary directory.
		cfg.Target, cfg.Package = dir, "github.com/ormloader/ormloader/ent"
	}
	err = entc.Generate("./schema", cfg, entc.Extensions(gql, loaders))
	if err != nil {
		log.Fatalf("running ent codegen: %v", err)
	}
}
