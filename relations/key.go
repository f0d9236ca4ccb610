package relations

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
)

// MaxKeyColumns is the largest number of values a [Key] holds: the widest
// composite key, and the most arguments a [Variant] filter takes.
const MaxKeyColumns = 4

// Key is a typed key tuple: the values of a row's key columns, normalized so
// that the Go types a database driver treats alike compare equal:
//
//   - NULL (nil, a nil pointer, an invalid sql.Null*) is not a value: MakeKey
//     returns ErrNullKey;
//   - pointers are dereferenced, and driver.Valuer types (sql.NullInt64,
//     uuid.UUID, ...) are replaced by their Value;
//   - every integer type becomes int64 (uint64 above MaxInt64 stays uint64),
//     floats float64, named string and bool types string and bool;
//   - time.Time is stripped of its monotonic reading and location (UTC);
//   - []byte is held as an unexported string type, so it never equals a
//     string key.
//
// Keys are comparable and compare part by part, dynamic type included: the
// integer 1 and the string "1" are different keys, and so are ("a", "b") and
// ("a,b"). The zero Key has no parts and matches nothing.
type Key struct {
	n uint8
	v [MaxKeyColumns]any
}

// bytesKey holds a []byte part; it is converted back for binding.
type bytesKey string

// ErrNullKey is returned by [MakeKey] when a part is NULL. For a belongs-to
// relation it means "no parent": load nothing, issue no statement.
var ErrNullKey = errors.New("relations: key has a NULL part")

// ErrKeyType is matched by the error for a value that cannot be a key part
// (a slice, a map, a function, a struct that is not comparable, too many parts).
var ErrKeyType = errors.New("relations: unsupported key value")

// MakeKey builds a key from column values, in column order.
func MakeKey(values ...any) (Key, error) {
	var k Key
	if len(values) == 0 || len(values) > MaxKeyColumns {
		return Key{}, fmt.Errorf("%w: %d parts (1 to %d allowed)", ErrKeyType, len(values), MaxKeyColumns)
	}
	for i, v := range values {
		nv, err := Normalize(v)
		if err != nil {
			return Key{}, err
		}
		k.v[i] = nv
	}
	k.n = uint8(len(values))
	return k, nil
}

// MustKey is MakeKey for tests and constants: it panics on error.
func MustKey(values ...any) Key {
	k, err := MakeKey(values...)
	if err != nil {
		panic(err)
	}
	return k
}

// Len returns the number of parts.
func (k Key) Len() int { return int(k.n) }

// IsZero reports whether k is the zero Key.
func (k Key) IsZero() bool { return k.n == 0 }

// At returns part i as normalized (a []byte part as []byte).
func (k Key) At(i int) any {
	if b, ok := k.v[i].(bytesKey); ok {
		return []byte(b)
	}
	return k.v[i]
}

// Values returns the parts, ready to be bound as statement arguments.
func (k Key) Values() []any {
	out := make([]any, k.n)
	for i := range out {
		out[i] = k.At(i)
	}
	return out
}

// AppendValues appends the parts to dst, ready to be bound.
func (k Key) AppendValues(dst []any) []any {
	for i := 0; i < int(k.n); i++ {
		dst = append(dst, k.At(i))
	}
	return dst
}

// String formats the key for error messages: 7, or (7, "a") when composite.
func (k Key) String() string {
	if k.n == 1 {
		return fmt.Sprintf("%#v", k.At(0))
	}
	parts := make([]string, k.n)
	for i := range parts {
		parts[i] = fmt.Sprintf("%#v", k.At(i))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

var (
	valuerType = reflect.TypeFor[driver.Valuer]()
	timeType   = reflect.TypeFor[time.Time]()
)

// Normalize returns the comparable form of one key part (see [Key]).
// It returns ErrNullKey for NULL and an error matching ErrKeyType for values
// that cannot be compared.
func Normalize(v any) (any, error) {
	switch v.(type) {
	case int64, string, bool, float64:
		return v, nil // already normal: keep the interface, no allocation
	}
	for range 8 { // a Valuer may return another Valuer; bound the chain
		if v == nil {
			return nil, ErrNullKey
		}
		rv := reflect.ValueOf(v)
		if (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) && rv.IsNil() {
			return nil, ErrNullKey
		}
		if t, ok := v.(time.Time); ok {
			return t.Round(0).UTC(), nil
		}
		if rv.Type().Implements(valuerType) {
			dv, err := v.(driver.Valuer).Value()
			if err != nil {
				return nil, fmt.Errorf("%w: %T.Value: %v", ErrKeyType, v, err)
			}
			if dv != nil && reflect.TypeOf(dv) == rv.Type() {
				v = dv // a Valuer returning itself: treat as a plain value
				break
			}
			v = dv
			continue
		}
		if rv.Kind() == reflect.Pointer {
			v = rv.Elem().Interface()
			continue
		}
		break
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u <= math.MaxInt64 {
			return int64(u), nil
		}
		return u, nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return bytesKey(rv.Bytes()), nil
		}
	case reflect.Struct:
		if rv.Type().ConvertibleTo(timeType) {
			return rv.Convert(timeType).Interface().(time.Time).Round(0).UTC(), nil
		}
		if rv.Comparable() {
			return v, nil
		}
	case reflect.Array:
		if rv.Comparable() {
			return v, nil
		}
	}
	return nil, fmt.Errorf("%w: %T cannot be a key part", ErrKeyType, v)
}
