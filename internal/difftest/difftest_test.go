package difftest_test

import (
	"testing"

	"github.com/ormloader/ormloader/internal/difftest"
	"github.com/ormloader/ormloader/internal/difftest/schemas"
)

func TestSchemas(t *testing.T) {
	cfg := difftest.Config{Data: 2, Trees: 4}
	for _, s := range schemas.All() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			difftest.Run(t, s, cfg)
		})
	}
}
