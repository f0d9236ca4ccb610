// Package reliability is ormloader's reliability suite: the example servers
// (examples/gorm-gqlgen, examples/ent-gqlgen) and two test-only servers are
// run in-process and sent real GraphQL over HTTP while their database
// misbehaves (faults injected at the database/sql driver by
// internal/faultdb) or while many viewers and tenants query them at once.
//
//   - faults_test.go: a failing, blocking, stuck or panicking statement
//     fails exactly the fields it serves, is not cached, costs no extra
//     statements, never holds up other requests, and leaks no goroutine.
//   - isolation_ent_test.go: ent privacy (the Review policy) under 1 000
//     concurrent requests of 50 viewers.
//   - isolation_gorm_test.go: a GORM tenant scope (a Query callback) under
//     1 000 concurrent requests of 50 tenants.
//
// SQLite always; PostgreSQL and MariaDB when ORMLOADER_TEST_POSTGRES_DSN and
// ORMLOADER_TEST_MYSQL_DSN are set (see internal/testdb).
package reliability

import (
	"testing"

	"go.uber.org/goleak"
)

// Nothing a request started outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
