package difftest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// coverage counts, per shape of step, the parents compared and those whose
// naive result was not empty, over every Run of the process.
var coverage struct {
	mu     sync.Mutex
	counts map[string]*[2]int
}

// shape names a step's relation kind, call and options for Coverage.
func shape(s *step) string {
	kind := string(s.rel.kind())
	switch {
	case s.rel.rel.Polymorphic != nil:
		kind = "polymorphic " + kind
	case s.rel.target == s.rel.owner:
		kind = "self " + kind
	}
	if len(s.rel.parentKey) > 1 {
		kind += " composite"
	}
	if len(s.rel.rel.Field.BindNames) > 1 {
		kind += " embedded"
	}
	if j := s.rel.rel.JoinTable; j != nil && j.ModelType.Name() != "" {
		kind += " join model" // SetupJoinTable's, not GORM's own
	}
	var opts []string
	if s.v.where != "" {
		opts = append(opts, "Where")
	}
	if s.v.order != "" {
		opts = append(opts, "Order")
	}
	if s.v.limit > 0 {
		opts = append(opts, "Limit")
	}
	return kind + "|" + s.call.String() + "|" + strings.Join(opts, "+")
}

func cover(s *step, nonEmpty bool) { coverKey(shape(s), nonEmpty) }

// coverKey counts one check of k: "kind|call|options", or a name.

func coverKey(k string, nonEmpty bool) {
	coverage.mu.Lock()
	defer coverage.mu.Unlock()
	if coverage.counts == nil {
		coverage.counts = map[string]*[2]int{}
	}
	c := coverage.counts[k]
	if c == nil {
		c = new([2]int)
		coverage.counts[k] = c
	}
	c[0]++
	if nonEmpty {
		c[1]++
	}
}

// Coverage returns a table of the step shapes checked so far in the
// process: parents compared, and of those parents with a non-empty naive
// result.
func Coverage() string {
	coverage.mu.Lock()
	defer coverage.mu.Unlock()
	keys := make([]string, 0, len(coverage.counts))
	for k := range coverage.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%-34s %-7s %-18s %8s %8s\n", "relation", "call", "options", "parents", "nonempty")
	for _, k := range keys {
		c := coverage.counts[k]
		f := strings.SplitN(k+"||", "|", 3)
		fmt.Fprintf(&b, "%-34s %-7s %-18s %8d %8d\n", f[0], f[1], strings.TrimSuffix(f[2], "||"), c[0], c[1])
	}
	return b.String()
}
