package difftest_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ormloader/ormloader/internal/difftest"
	"github.com/ormloader/ormloader/internal/difftest/schemas"
)

var (
	seeds = flag.Int("seeds", 0, "generate this many new schemas and check them (also "+difftest.SeedsEnv+")")
	first = flag.Uint64("first", 1000, "seed of the first generated schema (also "+difftest.FirstEnv+")")
	data  = flag.Int("data", 0, "data sets per schema and database (default 2; also "+difftest.DataEnv+")")
	trees = flag.Int("trees", 0, "query trees per data set (default 4; also "+difftest.TreesEnv+")")
	keep  = flag.Bool("keep", false, "keep the generated package of -seeds (under testdata/) to rerun or read it")
	race  = flag.Bool("gorace", false, "build the generated package of -seeds with -race")
	coll  = flag.Bool("collation", true, "write string keys that only MySQL's collations match (also "+difftest.CollationEnv+"=0 to leave them out)")
)

// ciConfig is the budget of the checked-in schemas in CI.
var ciConfig = difftest.Config{Data: 2, Trees: 4}

func config(t *testing.T) difftest.Config {
	cfg, err := difftest.ConfigFromEnv(ciConfig)
	if err != nil {
		t.Fatal(err)
	}
	if *data > 0 {
		cfg.Data = *data
	}
	if *trees > 0 {
		cfg.Trees = *trees
	}
	if *coll {
		cfg.Collation = true
	}
	return cfg
}

// TestSchemas checks the checked-in schemas (package schemas).
func TestSchemas(t *testing.T) {
	cfg := config(t)
	t.Cleanup(func() { t.Log("steps checked (go test -v shows this):\n" + difftest.Coverage()) })
	for _, s := range schemas.All() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			difftest.Run(t, s, cfg)
		})
	}
}

// TestSchemasAreCurrent regenerates the checked-in schemas and compares:
// the generator is deterministic and go generate has been run.
func TestSchemasAreCurrent(t *testing.T) {
	for _, s := range schemas.All() {
		want, err := difftest.GenerateSchema(s.Seed, "schemas")
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("schemas", s.Name+".go"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("schemas/%s.go is not what seed %d generates: run go generate ./internal/difftest", s.Name, s.Seed)
		}
	}
}

// TestGenerated generates -seeds new schemas into a package under testdata
// and runs its test (the same check as TestSchemas) with go test.
func TestGenerated(t *testing.T) {
	n, from := *seeds, *first
	if s := os.Getenv(difftest.SeedsEnv); s != "" && n == 0 {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatalf("%s=%q: %v", difftest.SeedsEnv, s, err)
		}
	}
	if s := os.Getenv(difftest.FirstEnv); s != "" {
		var err error
		if from, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", difftest.FirstEnv, s, err)
		}
	}
	if n <= 0 {
		t.Skipf("no new schemas asked for (-seeds N or %s=N)", difftest.SeedsEnv)
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("testdata", "generated-")
	if err != nil {
		t.Fatal(err)
	}
	if *keep {
		t.Logf("generated package kept in internal/difftest/%s", dir)
	} else {
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	list := make([]uint64, n)
	for i := range list {
		list[i] = from + uint64(i)
	}
	if err := difftest.WritePackage(dir, "generated", list); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "generated_test.go"), []byte(generatedTest), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config(t)
	args := []string{"test", "-count=1", "-timeout=2h"}
	if *race {
		args = append(args, "-race")
	}
	if testing.Verbose() {
		args = append(args, "-v")
	}
	cmd := exec.Command("go", append(args, "./"+dir)...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", difftest.DataEnv, cfg.Data), fmt.Sprintf("%s=%d", difftest.TreesEnv, cfg.Trees),
		fmt.Sprintf("%s=%v", difftest.CollationEnv, cfg.Collation))
	out, err := cmd.CombinedOutput()
	t.Logf("seeds %d to %d, %d data sets x %d trees per schema and database:\n%s", from, from+uint64(n)-1, cfg.Data, cfg.Trees, out)
	if err != nil {
		t.Errorf("go test ./%s: %v (rerun with -keep -first %d -seeds %d to read the schemas)", dir, err, from, n)
	}
}

const generatedTest = `package generated

import (
	"testing"

	"github.com/ormloader/ormloader/internal/difftest"
)

func TestGenerated(t *testing.T) {
	cfg, err := difftest.ConfigFromEnv(difftest.Config{Data: 2, Trees: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { t.Log("steps checked:\n" + difftest.Coverage()) })
	for _, s := range All() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			difftest.Run(t, s, cfg)
		})
	}
}
`
