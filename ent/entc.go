//go:build ignore

package main

import (
	"log"
	"os"
	"path/filepath"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"

	"github.com/ormloader/ormloader/entloader"
)

func main() {
	// ENTC_TARGET: the test that checks that the committed code is current
	// generates into a temporary directory.
	target := os.Getenv("ENTC_TARGET")
	gql, err := entgql.NewExtension(
		entgql.WithWhereInputs(true),
		entgql.WithSchemaGenerator(),
		entgql.WithSchemaPath(filepath.Join(target, "ent.graphql")),
	)
	if err != nil {
		log.Fatalf("entgql: %v", err)
	}
	loaders, err := entloader.NewExtension()
	if err != nil {
		log.Fatalf("entloader: %v", err)
	}
	cfg := &gen.Config{Features: []gen.Feature{gen.FeaturePrivacy, gen.FeatureEntQL}}
	if target != "" {
		cfg.Target, cfg.Package = target, "github.com/ormloader/ormloader/ent"
	}
	err = entc.Generate("./schema", cfg, entc.Extensions(gql, loaders))
	if err != nil {
		log.Fatalf("running ent codegen: %v", err)
	}
}
