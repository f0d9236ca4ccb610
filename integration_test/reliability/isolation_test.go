package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// isolationRequests is the number of requests an isolation test sends on
// the i-th database of testdb.All: 1 000 on the first (SQLite), 300 on each
// other, which keeps the suite's run time near a minute with -race on a
// 2-core machine (the statements are the same on every dialect; the scope's
// concurrency is the ORM's and gqlgen's, not the database's).
func isolationRequests(i int) int {
	if i == 0 {
		return 1000
	}
	return 300
}

// isoCase is one viewer's (or tenant's) request in an isolation test.
type isoCase struct {
	who string // the viewer or tenant, for foreign and for messages
	req request
}

// foreignFunc returns the paths of the rows in data (a decoded response)
// that who must not see.
type foreignFunc func(data any, who string) []string

// testIsolation sends the cases to the naive server, then n requests
// (the cases round-robin, shuffled) to orm from workers goroutines at once,
// and checks every response: no error, no foreign row, and the naive
// server's answer to the same viewer's request.
func testIsolation(t *testing.T, orm, naive *server, cases []isoCase, n, workers int, foreign foreignFunc) {
	t.Helper()
	want := make([]response, len(cases))
	run(t, len(cases), workers, func(i int) error {
		r, err := naive.do(context.Background(), cases[i].req)
		if err != nil {
			return err
		}
		if len(r.Errors) > 0 {
			return fmt.Errorf("naive server, %s: errors %+v", cases[i].who, r.Errors)
		}
		if f := foreign(decode(t, r.Data), cases[i].who); len(f) > 0 {
			return fmt.Errorf("naive server, %s: foreign rows at %v (the test's data or scope is wrong)", cases[i].who, f)
		}
		want[i] = r
		return nil
	})
	if t.Failed() {
		return
	}
	order := rand.Perm(n)
	var leaks, wrong atomic.Int32
	start := time.Now()
	run(t, n, workers, func(k int) error {
		c := cases[order[k]%len(cases)]
		got, err := orm.do(context.Background(), c.req)
		switch {
		case err != nil:
			return err
		case len(got.Errors) > 0:
			return fmt.Errorf("%s: errors %+v", c.who, got.Errors)
		}
		if f := foreign(decode(t, got.Data), c.who); len(f) > 0 {
			if leaks.Add(1) <= 3 {
				return fmt.Errorf("%s sees foreign rows at %s\nquery: %s", c.who, strings.Join(f, ", "), c.req.query)
			}
			return nil
		}
		if !sameData(t, got, want[order[k]%len(cases)]) {
			if wrong.Add(1) <= 3 {
				return fmt.Errorf("%s: data differs from the naive resolvers'\n got: %s\nwant: %s", c.who, got.Data, want[order[k]%len(cases)].Data)
			}
		}
		return nil
	})
	t.Logf("%d requests (%d distinct) from %d goroutines in %v: %d with foreign rows, %d otherwise wrong",
		n, len(cases), workers, time.Since(start).Round(time.Millisecond), leaks.Load(), wrong.Load())
	if leaks.Load() > 0 {
		t.Errorf("%d of %d responses have foreign rows", leaks.Load(), n)
	}
}

// run calls f(0) to f(n-1) from workers goroutines and reports their
// errors (at most 10).
func run(t *testing.T, n, workers int, f func(i int) error) {
	t.Helper()
	var next atomic.Int64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := f(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if i == 10 {
			t.Errorf("... and %d more errors", len(errs)-10)
			break
		}
		t.Error(err)
	}
}
