package relations

import (
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
)

// InSQL returns the condition "cols IN (...)" for n keys with ? placeholders:
// "a IN (?,?)" for one column, "(a, b) IN ((?,?),(?,?))" for a composite
// key, or with values true "(a, b) IN (VALUES (?,?),(?,?))", the form SQLite
// accepts since 3.15 and which also works before row-value IN lists did.
// cols must already be quoted (and qualified) by the caller.
func InSQL(cols []string, n int, values bool) string {
	var b strings.Builder
	if len(cols) == 1 {
		b.Grow(len(cols[0]) + 6 + 2*n)
		b.WriteString(cols[0])
		b.WriteString(" IN (")
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
		return b.String()
	}
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	b.Grow(n*(len(tuple)+1) + 32)
	b.WriteByte('(')
	b.WriteString(strings.Join(cols, ", "))
	b.WriteString(") IN (")
	if values {
		b.WriteString("VALUES ")
	}
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(tuple)
	}
	b.WriteByte(')')
	return b.String()
}

// RowNumberSQL returns the window expression of the per-parent limit variant:
// "ROW_NUMBER() OVER (PARTITION BY a, b ORDER BY <order>)". partitionBy must
// be quoted by the caller; an empty order numbers rows in an unspecified order.
func RowNumberSQL(partitionBy []string, order string) string {
	s := "ROW_NUMBER() OVER (PARTITION BY " + strings.Join(partitionBy, ", ")
	if order != "" {
		s += " ORDER BY " + order
	}
	return s + ")"
}

// ArrayMinKeys is the fewest keys a PostgreSQL statement binds as one array
// (= ANY(?)) rather than as an IN list: below it, the IN
// list is faster (benchmarks/statements, BenchmarkKeyList: 71 against 106
// µs for 5 keys, 103 against 149 for 10, 186 against 174 for 20, 395
// against 267 for 40), and it costs at most ArrayMinKeys-1 statement texts
// per relation.
const ArrayMinKeys = 20

// ArrayLiteral returns the PostgreSQL array literal of values, e.g.
// {1,2,3} or {"a","b \"c\""}, to bind a list of keys as one text parameter
// (col = ANY(?), whose parameter PostgreSQL types as an array of col's
// type) whatever the driver: one statement text whatever the number of
// keys. A driver.Valuer (a UUID) is written as its value. ok is false if a
// value is neither an integer nor a string: bind those as a list.
func ArrayLiteral[V any](values []V) (lit string, ok bool) {
	var b strings.Builder
	b.WriteByte('{')
	for i, value := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		v := any(value)
		if valuer, isValuer := v.(driver.Valuer); isValuer {
			var err error
			if v, err = valuer.Value(); err != nil {
				return "", false
			}
		}
		switch v := v.(type) {
		case int:
			b.WriteString(strconv.FormatInt(int64(v), 10))
		case int8, int16, int32, int64, uint8, uint16, uint32:
			b.WriteString(fmt.Sprint(v))
		case string:
			quoteElement(&b, v)
		default:
			return "", false
		}
	}
	b.WriteByte('}')
	return b.String(), true
}

// quoteElement writes s as a double-quoted array element.
func quoteElement(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
}
