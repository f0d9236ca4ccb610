package gormloader

import (
	"reflect"
	"strings"

	"github.com/ormloader/ormloader/relations"
)

// collate gives the parents asked for the results that the database matched
// to them under its collation, where Go's equality differs: MySQL's and
// MariaDB's default collations compare strings without case and trailing
// spaces, so the statement for the parent "ab" returns the row whose key is
// "AB ", which no parent key equals. A result whose key is none of parents
// goes to every parent whose key is equal to it case-folded and without
// trailing spaces (merge combines two results of one parent). Results that
// match a parent exactly stay where they are, and other dialects compare
// as Go does.
func (l *Loader) collate(out map[relations.Key]any, parents []relations.Key, merge func(a, b any) any) {
	if l.db.Dialector.Name() != "mysql" {
		return
	}
	asked := make(map[relations.Key]bool, len(parents))
	for _, p := range parents {
		asked[p] = true
	}
	var byFold map[relations.Key][]relations.Key
	for k, v := range out {
		if asked[k] {
			continue
		}
		fk, ok := foldKey(k)
		if !ok {
			continue
		}
		if byFold == nil {
			byFold = make(map[relations.Key][]relations.Key, len(parents))
			for _, p := range parents {
				if fp, ok := foldKey(p); ok {
					byFold[fp] = append(byFold[fp], p)
				}
			}
		}
		for _, p := range byFold[fk] {
			if prev, ok := out[p]; ok {
				out[p] = merge(prev, v)
			} else {
				out[p] = v
			}
		}
	}
}

// foldKey returns k with its string parts case-folded and stripped of
// trailing spaces; ok is false if k has no string part.
func foldKey(k relations.Key) (relations.Key, bool) {
	vals := k.Values()
	folded := false
	for i, v := range vals {
		if s, isString := v.(string); isString {
			vals[i] = strings.ToLower(strings.TrimRight(s, " "))
			folded = true
		}
	}
	if !folded {
		return relations.Key{}, false
	}
	fk, err := relations.MakeKey(vals...)
	return fk, err == nil
}

// Merges for collate: the rows of a to-many result appended, the first row
// of a to-one result, counts added.
func appendRows(a, b any) any {
	return reflect.AppendSlice(reflect.ValueOf(a), reflect.ValueOf(b)).Interface()
}

func firstRow(a, _ any) any { return a }

func addCounts(a, b any) any { return a.(int64) + b.(int64) }
