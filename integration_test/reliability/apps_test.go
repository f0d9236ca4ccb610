package reliability

import (
	"context"
	"database/sql/driver"
	"net/http"
	"testing"
	"time"

	entexample "github.com/ormloader/ormloader/examples/ent-gqlgen/server"
	gormexample "github.com/ormloader/ormloader/examples/gorm-gqlgen/server"
)

// exampleApp is one of the example servers.
type exampleApp struct {
	name string
	// open opens the seeded database dsn (seeding it if it is empty) with
	// wrap around the driver, and returns the server's handler with
	// ormloader (naive false) or with the naive resolvers.
	open func(t *testing.T, dsn string, naive bool, wrap ...func(driver.Connector) driver.Connector) http.Handler
}

// exampleSize is small: 8 bands of 2 to 4 albums of 2 or 3 tracks, 2
// members each out of 16 people, 3 labels.
var exampleSize = gormexample.Size{Labels: 3, Bands: 8, Albums: 4, Tracks: 3, Members: 2}

var (
	gormApp = exampleApp{name: "gorm", open: func(t *testing.T, dsn string, naive bool, wrap ...func(driver.Connector) driver.Connector) http.Handler {
		t.Helper()
		db, closeDB, err := gormexample.Open(dsn, wrap...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { closeDB() })
		if _, err := gormexample.Seed(context.Background(), db, exampleSize); err != nil {
			t.Fatal(err)
		}
		return withTestContext(gormexample.Handler(db, gormexample.Options{Naive: naive, SQL: true}))
	}}
	entApp = exampleApp{name: "ent", open: func(t *testing.T, dsn string, naive bool, wrap ...func(driver.Connector) driver.Connector) http.Handler {
		t.Helper()
		client, closeDB, err := entexample.Open(dsn, wrap...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { closeDB() })
		if _, err := entexample.Seed(context.Background(), client, exampleSize); err != nil {
			t.Fatal(err)
		}
		return withTestContext(entexample.Handler(client, entexample.Options{Naive: naive, SQL: true}))
	}}
)

// Headers the test middleware reads.
const (
	markHeader     = "X-Test-Mark"     // puts its value into the request's context (see marked)
	deadlineHeader = "X-Test-Deadline" // a time.ParseDuration: the request's deadline
)

type markKey struct{}

// marked reports whether ctx is that of a request with the mark header:
// the rules of a test pick the statements of the requests it marks.
func marked(mark string) func(ctx context.Context) bool {
	return func(ctx context.Context) bool { return ctx.Value(markKey{}) == mark }
}

// withTestContext applies the test's headers to the request's context
// before h, where batches see it too (gqlgenloader runs them under the
// operation's context).
func withTestContext(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if m := r.Header.Get(markHeader); m != "" {
			ctx = context.WithValue(ctx, markKey{}, m)
		}
		if d, err := time.ParseDuration(r.Header.Get(deadlineHeader)); err == nil {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}
