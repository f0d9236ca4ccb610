package gormloader

import (
	"database/sql"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm/schema"

	"github.com/ormloader/ormloader/relations"
)

// idKey converts the values given to ByID or ByIDs for m's primary key to
// the key fields' Go types and makes the key. A value that cannot be a value
// of its field (a string that is not a number for an integer key, -1 for an
// unsigned one, 1.5) or that the database cannot bind is an error matching
// ErrInvalidID, returned before any statement: one bad id never fails the
// batch that the valid ones share. GraphQL IDs arrive as strings, so a
// decimal string converts to an integer key.
func (l *Loader) idKey(m *model, ids []any) (relations.Key, error) {
	if len(ids) != len(m.pk) {
		return relations.Key{}, fmt.Errorf("%w: %v has %d primary-key columns, got %d values", ErrInvalidID, m.typ, len(m.pk), len(ids))
	}
	var parts [relations.MaxKeyColumns]any
	for i, id := range ids {
		v, err := l.convertID(m.pk[i], id)
		if err != nil {
			return relations.Key{}, fmt.Errorf("%w: %v by %s %s: %v", ErrInvalidID, m.typ, m.pk[i].Name, describeID(id), err)
		}
		parts[i] = v
	}
	return relations.MakeKey(parts[:len(ids)]...)
}

var scannerType = reflect.TypeFor[sql.Scanner]()

// convertID returns id as a value of f's type (its element type if f is a
// pointer).
func (l *Loader) convertID(f *schema.Field, id any) (any, error) {
	t := f.FieldType
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.TypeOf(id) == t { // the common case: nothing to convert
		return id, l.bindable(t, id)
	}
	v := reflect.ValueOf(id)
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if !v.IsValid() || v.Kind() == reflect.Pointer {
		return nil, fmt.Errorf("the id is nil")
	}
	out := reflect.New(t).Elem()
	switch {
	case v.Type() == t || (v.Type().ConvertibleTo(t) && v.Kind() == t.Kind()):
		out.Set(v.Convert(t))
	case isInt(t.Kind()) || isUint(t.Kind()):
		if err := setInteger(out, v); err != nil {
			return nil, err
		}
	case t.Kind() == reflect.String && (isInt(v.Kind()) || isUint(v.Kind())):
		out.SetString(fmt.Sprint(v.Interface()))
	case reflect.PointerTo(t).Implements(scannerType):
		if err := out.Addr().Interface().(sql.Scanner).Scan(v.Interface()); err != nil {
			return nil, fmt.Errorf("not a %v: %v", t, err)
		}
	default:
		return nil, fmt.Errorf("a %T cannot be a %v", id, t)
	}
	id = out.Interface()
	return id, l.bindable(t, id)
}

// bindable reports an error for a key value of type t that the database
// cannot take as a parameter: it would fail the statement, and with it every
// other key of the batch.
func (l *Loader) bindable(t reflect.Type, id any) error {
	dialect := l.db.Dialector.Name()
	v := reflect.ValueOf(id)
	switch {
	// database/sql binds unsigned integers above MaxInt64 only for drivers
	// that accept them (MySQL's); no such key exists in a signed column.
	case isUint(t.Kind()) && v.Uint() > math.MaxInt64 && dialect != "mysql":
		return fmt.Errorf("out of range for the %s database", dialect)
	// PostgreSQL rejects text that is not UTF-8 or holds a NUL byte.
	case t.Kind() == reflect.String && dialect == "postgres" && (!utf8.ValidString(v.String()) || strings.IndexByte(v.String(), 0) >= 0):
		return fmt.Errorf("not valid UTF-8 text without NUL bytes, which the postgres database requires")
	}
	return nil
}

// setInteger sets the integer out from v, an integer, a float or a decimal
// string, if v's value fits.
func setInteger(out, v reflect.Value) error {
	var (
		i   int64
		u   uint64
		neg bool
	)
	switch {
	case isInt(v.Kind()):
		i = v.Int()
		neg, u = i < 0, uint64(i)
	case isUint(v.Kind()):
		u = v.Uint()
		i = int64(u)
		if u > math.MaxInt64 {
			i = math.MaxInt64 // any value above what an int64 holds: overflows every signed type
		}
	case v.Kind() == reflect.Float32 || v.Kind() == reflect.Float64:
		f := v.Float()
		switch {
		case f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxUint64:
			return fmt.Errorf("%v is not an integer in range", f)
		case f < 0:
			i, neg = int64(f), true
		case f < math.MaxInt64: // 2⁶³ as a float
			i, u = int64(f), uint64(f)
		default:
			i, u = math.MaxInt64, uint64(f)
		}
	case v.Kind() == reflect.String:
		s := v.String()
		if isUint(out.Kind()) {
			n, err := strconv.ParseUint(s, 10, out.Type().Bits())
			if err != nil {
				return fmt.Errorf("%q is not a %v", s, out.Type())
			}
			out.SetUint(n)
			return nil
		}
		n, err := strconv.ParseInt(s, 10, out.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a %v", s, out.Type())
		}
		out.SetInt(n)
		return nil
	default:
		return fmt.Errorf("a %v cannot be a %v", v.Type(), out.Type())
	}
	if isUint(out.Kind()) {
		if neg || out.OverflowUint(u) {
			return fmt.Errorf("%v is out of range for %v", v.Interface(), out.Type())
		}
		out.SetUint(u)
		return nil
	}
	if (!neg && u > math.MaxInt64) || out.OverflowInt(i) {
		return fmt.Errorf("%v is out of range for %v", v.Interface(), out.Type())
	}
	out.SetInt(i)
	return nil
}

func isInt(k reflect.Kind) bool  { return k >= reflect.Int && k <= reflect.Int64 }
func isUint(k reflect.Kind) bool { return k >= reflect.Uint && k <= reflect.Uintptr }

// describeID formats an id for an error: strings quoted, numbers in decimal.
func describeID(id any) string {
	if s, ok := id.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(id)
}
