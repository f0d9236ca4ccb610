//go:build ignore

package main

import (
	"log"
	"os"

	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"

	"github.com/ormloader/ormloader/entloader"
)

func main() {
	loaders, err := entloader.NewExtension()
	if err != nil {
		log.Fatalf("entloader: %v", err)
	}
	// sql/modifier: entloader must not prime from a query whose Modify may
	// have changed what it selects (TestModifiedQueryDoesNotPrime).
	cfg := &gen.Config{Features: []gen.Feature{gen.FeatureModifier}}
	if dir := os.Getenv("ENTC_TARGET"); dir != "" {
		// The test that checks that the committed code is current generates
		// into a temporary directory.
		cfg.Target, cfg.Package = dir, "github.com/ormloader/ormloader/entloader/internal/plainent"
	}
	if err := entc.Generate("./schema", cfg, entc.Extensions(loaders)); err != nil {
		log.Fatalf("running ent codegen: %v", err)
	}
}
