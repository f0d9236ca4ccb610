// Command gen writes the generated schemas of the differential test: one
// file per seed and a list of them, in the package directory given.
//
//	go run ./gen -dir schemas -seeds 1-24
package main

import (
	"flag"
	"fmt"
	"log"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ormloader/ormloader/internal/difftest"
)

func main() {
	dir := flag.String("dir", "schemas", "package directory to write")
	seeds := flag.String("seeds", "1-24", "seeds: a range a-b or a comma-separated list")
	flag.Parse()
	list, err := parseSeeds(*seeds)
	if err != nil {
		log.Fatal(err)
	}
	if err := difftest.WritePackage(*dir, filepath.Base(*dir), list); err != nil {
		log.Fatal(err)
	}
}

func parseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("seeds %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 64); err != nil {
				return nil, fmt.Errorf("seeds %q: %w", s, err)
			}
		}
		for x := a; x <= b; x++ {
			out = append(out, x)
		}
	}
	return out, nil
}
