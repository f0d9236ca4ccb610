package relations

import "fmt"

// Bind-parameter limits of the dialects ormloader supports.
const (
	// SQLiteBindLimit is SQLITE_MAX_VARIABLE_NUMBER's default since SQLite
	// 3.32.0. The limit is a runtime setting: adapters should ask the
	// connection (sqlite3_limit) and fall back to this value.
	SQLiteBindLimit = 32766
	// SQLiteLegacyBindLimit is the default before SQLite 3.32.0.
	SQLiteLegacyBindLimit = 999
	// PostgresBindLimit: the wire protocol sends the parameter count as an
	// unsigned 16-bit number.
	PostgresBindLimit = 65535
	// MySQLBindLimit: prepared statements take at most 65535 placeholders.
	MySQLBindLimit = 65535
)

// BindLimit returns the bind-parameter limit of a dialect by name ("sqlite",
// "sqlite3", "postgres", "pgx", "mysql"); unknown dialects get the
// conservative SQLiteLegacyBindLimit.
func BindLimit(dialect string) int {
	switch dialect {
	case "sqlite", "sqlite3":
		return SQLiteBindLimit
	case "postgres", "postgresql", "pgx":
		return PostgresBindLimit
	case "mysql", "mariadb":
		return MySQLBindLimit
	}
	return SQLiteLegacyBindLimit
}

// ChunkSize returns how many keys of width columns fit in one statement whose
// other parameters take reserved of the limit.
func ChunkSize(limit, width, reserved int) (int, error) {
	if width < 1 {
		width = 1
	}
	n := (limit - reserved) / width
	if n < 1 {
		return 0, fmt.Errorf("relations: a key of %d columns and %d other parameters do not fit the bind limit %d", width, reserved, limit)
	}
	return n, nil
}

// Chunks splits keys into the fewest statements the bind limit allows, in
// order, with sizes that differ by at most one (40 000 keys under a limit of
// 32 766 give two chunks of 20 000). It returns nil for no keys: no statement.
// width is the number of parameters per key, reserved the number of other
// parameters in each statement (a polymorphic type value, filter arguments, a
// limit).
func Chunks[T any](keys []T, limit, width, reserved int) ([][]T, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	size, err := ChunkSize(limit, width, reserved)
	if err != nil {
		return nil, err
	}
	n := (len(keys) + size - 1) / size
	out := make([][]T, 0, n)
	base, extra := len(keys)/n, len(keys)%n
	for i, start := 0, 0; i < n; i++ {
		end := start + base
		if i < extra {
			end++
		}
		out = append(out, keys[start:end:end])
		start = end
	}
	return out, nil
}
