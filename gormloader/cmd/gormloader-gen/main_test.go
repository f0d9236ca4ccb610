package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedUpToDate regenerates the test domain's methods and compares
// them with the committed file (run go generate ./gormloader/... to update).
func TestGeneratedUpToDate(t *testing.T) {
	dir := filepath.Join("..", "..", "internal", "music")
	pkg, err := loadPackage(dir, "gormloader_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	got, err := generate(pkg.Types, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, "gormloader_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("internal/music/gormloader_gen.go is stale: run go generate ./gormloader/...")
	}
	for _, want := range []string{
		"func (b *Band) LoadAlbums(ctx context.Context, opts ...gormloader.LoadOption) ([]Album, error)",
		"func (b *Band) LoadLabel(ctx context.Context, opts ...gormloader.LoadOption) (*Label, error)",
		"func (b *Band) LoadInfluences(",
		"func (b *Band) CountMembers(",
		"func (c *ChartEntry) LoadRelease(",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("generated code lacks %q", want)
		}
	}
	for _, absent := range []string{"LoadDeletedAt", "LoadReleased"} {
		if strings.Contains(string(got), absent) {
			t.Errorf("generated code has %s: a column type taken for an association", absent)
		}
	}
}

func TestSkipTag(t *testing.T) {
	for tag, want := range map[string]bool{
		`gorm:"-"`:                          true,
		`gorm:"embedded;embeddedPrefix:x_"`: true,
		`gorm:"serializer:json"`:            true,
		`gorm:"type:jsonb"`:                 true,
		`gorm:"many2many:band_members"`:     false,
		`json:"x"`:                          false,
	} {
		if got := skipTag(tag); got != want {
			t.Errorf("skipTag(%s) = %v, want %v", tag, got, want)
		}
	}
}
