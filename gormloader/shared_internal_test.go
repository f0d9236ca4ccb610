package gormloader

import (
	"sync"
	"testing"

	"gorm.io/gorm/schema"
)

type SharedBase struct{ ID uint }

type sharedEmbedded struct {
	*SharedBase
	Name string
}

type sharedPlain struct {
	ID      uint
	OwnerID *uint
	Code    string
	Tags    []byte
}

// TestSharesMemory: the key fields a copy of a struct would share with the
// original are found (then load sets read keys when they are recorded).
func TestSharesMemory(t *testing.T) {
	cache := &sync.Map{}
	field := func(model any, name string) *schema.Field {
		t.Helper()
		s, err := schema.Parse(model, cache, schema.NamingStrategy{})
		if err != nil {
			t.Fatal(err)
		}
		f := s.LookUpField(name)
		if f == nil {
			t.Fatalf("%T has no field %s", model, name)
		}
		return f
	}
	for _, tt := range []struct {
		model any
		field string
		want  bool
	}{
		{&sharedPlain{}, "ID", false},
		{&sharedPlain{}, "Code", false},
		{&sharedPlain{}, "OwnerID", true},
		{&sharedPlain{}, "Tags", true},
		{&sharedEmbedded{}, "ID", true},
		{&sharedEmbedded{}, "Name", false},
	} {
		if got := sharesMemory(field(tt.model, tt.field)); got != tt.want {
			t.Errorf("%T.%s: sharesMemory = %v, want %v", tt.model, tt.field, got, tt.want)
		}
	}
}
