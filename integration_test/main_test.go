package integration

import (
	"testing"

	"go.uber.org/goleak"
)

// Nothing a request started (scopes, batches, deferred resolvers) outlives
// the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
