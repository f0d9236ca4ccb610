package generated

import (
	"testing"

	"github.com/ormloader/ormloader/internal/difftest"
)

func TestGenerated(t *testing.T) {
	cfg, err := difftest.ConfigFromEnv(difftest.Config{Data: 2, Trees: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range All() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			difftest.Run(t, s, cfg)
		})
	}
}
