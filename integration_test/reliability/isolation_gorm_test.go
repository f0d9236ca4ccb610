package reliability

import (
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/ormloader/ormloader/integration_test/reliability/internal/tenantapp"
	"github.com/ormloader/ormloader/internal/testdb"
)

// tenants is the number of tenants of the GORM isolation test.
const tenants = 50

// tenantQueries are the GORM isolation test's queries for tenant t, over
// every relation kind of the tenant app, with counts and per-parent limits;
// the last looks up one of t's users and one of the next tenant's by ID.
func tenantQueries(t int) []string {
	own, next := 10*(t-1)+1, 10*(t%tenants)+1
	return []string{
		`{ users { id tenantID name profile { id tenantID bio user { id tenantID name } } posts { id tenantID title }
			latestPosts(first: 1) { id tenantID title } postCount teams { id tenantID name } teamCount } }`,
		`{ teams { id tenantID name members { id tenantID name } firstMembers(first: 1) { id tenantID } memberCount
			comments { id tenantID body } commentCount } }`,
		`{ posts { id tenantID title author { id tenantID name } tags { id tenantID name posts { id tenantID title } postCount }
			tagCount comments(first: 1) { id tenantID body } commentCount } }`,
		fmt.Sprintf(`{ own: user(id: %d) { id tenantID teams { id tenantID members { id tenantID teams { id tenantID } } } }
			foreign: user(id: %d) { id tenantID } }`, own, next),
	}
}

// foreignTenantRows returns the paths of the objects in data whose
// tenantID is not tenant.
func foreignTenantRows(data any, tenant string) []string {
	var out []string
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch v := v.(type) {
		case map[string]any:
			if id, ok := v["tenantID"]; ok && fmt.Sprint(id) != tenant {
				out = append(out, fmt.Sprintf("%s (tenant %v)", path, id))
			}
			for k, x := range v {
				walk(x, path+"."+k)
			}
		case []any:
			for i, x := range v {
				walk(x, path+"."+strconv.Itoa(i))
			}
		}
	}
	walk(data, "")
	slices.Sort(out)
	return out
}

// TestGORMTenantIsolation: concurrent requests of 50 tenants to a
// gqlgen server over GORM whose tenant is enforced by a Query callback;
// every relation kind would show foreign rows without the scope (see
// tenantapp.Seed), and no response may have one.
func TestGORMTenantIsolation(t *testing.T) {
	for i, db := range testdb.All(t) {
		t.Run(db.Dialect, func(t *testing.T) {
			gdb, err := tenantapp.Open(db.Dialect, db.DSN)
			if err != nil {
				t.Fatal(err)
			}
			sqlDB, err := gdb.DB()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sqlDB.Close() })
			if err := tenantapp.Seed(gdb, tenants); err != nil {
				t.Fatal(err)
			}
			orm := startServer(t, "ormloader", tenantapp.Handler(gdb, false))
			naive := startServer(t, "naive", tenantapp.Handler(gdb, true))
			var cases []isoCase
			for tenant := 1; tenant <= tenants; tenant++ {
				for _, q := range tenantQueries(tenant) {
					who := strconv.Itoa(tenant)
					cases = append(cases, isoCase{who: who, req: request{query: q, header: map[string]string{tenantapp.TenantHeader: who}}})
				}
			}
			testIsolation(t, orm, naive, cases, isolationRequests(i), 32, foreignTenantRows)
		})
	}
}
