package entloader_test

import (
	"testing"

	"github.com/ormloader/ormloader/entloader"
)

func TestNewExtensionOptions(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		ok     bool
	}{
		{"", true},
		{"Load", true},
		{"load", false}, // unexported
		{"Load ", false},
		{"1Load", false},
	} {
		ex, err := entloader.NewExtension(entloader.WithMethodPrefix(tc.prefix))
		if (err == nil) != tc.ok {
			t.Errorf("WithMethodPrefix(%q): %v", tc.prefix, err)
		}
		if err == nil && len(ex.Templates()) == 0 {
			t.Errorf("WithMethodPrefix(%q): no templates", tc.prefix)
		}
	}
}
