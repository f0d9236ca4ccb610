package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Budget bounds the measurement of one variant on one query.
type Budget struct {
	Time     time.Duration // sequential requests: at most this long...
	Requests int           // ...and at most this many, but at least MinRequests
	Clients  int           // concurrent clients for the throughput (0: no throughput)
	ConcTime time.Duration // how long they send requests
}

// MinRequests is the fewest sequential requests a measurement makes,
// whatever its time budget.
const MinRequests = 20

// Result is what one variant did with one query.
//
// CPU is the process's CPU time, user and system on all threads
// (getrusage(RUSAGE_SELF) delta), over the sequential requests divided by
// their number: the whole server's cost of a request, the goroutines that
// wait for a batch as well as the ones that work, the garbage collector and
// the Go runtime, and SQLite's, which runs in-process (cgo), but not
// PostgreSQL's, which runs in its own processes. It is 0 where
// [CPUTimeAvailable] is false (systems other than Unix).
type Result struct {
	Requests           int           // sequential requests measured
	MinStmts, MaxStmts int64         // statements per sequential request
	P50, P99           time.Duration // sequential latency
	CPU                time.Duration // process CPU time per sequential request (see above)
	Allocs, Bytes      float64       // per sequential request (runtime.MemStats delta / requests)
	Throughput         float64       // requests per second with Budget.Clients clients
	ConcStmts          float64       // mean statements per request under concurrency

	// Round trips per sequential request, counted by the proxies of
	// StartProxy (RoundTrips; 0 without a proxy): the median, the fewest
	// and the most.
	RoundTrips, MinRoundTrips, MaxRoundTrips int64
}

// Request sends query to h in-process and returns the response body, or an
// error unless it is a GraphQL response with data and no errors.
func Request(h http.Handler, body []byte) ([]byte, error) {
	return request(context.Background(), h, body)
}

// RequestStatements is Request, and also returns the SQL of the statements
// the request ran, counted at the driver (as Statements counts them) under
// the request's context: those of this request alone, whatever other
// requests run at the same time. The loaders' batches run under a context
// derived from the request's (gqlgenloader's scope, dataloadgen's and
// graph-gophers' loaders), so their statements are the request's; a
// statement run under a context that is not the request's is not in the
// list (compare the sum with Statements to check that there is none).
func RequestStatements(h http.Handler, body []byte) ([]byte, []string, error) {
	var r recorder
	out, err := request(withRecorder(context.Background(), &r), h, body)
	r.mu.Lock()
	defer r.mu.Unlock()
	return out, slices.Clone(r.sql), err
}

// request serves one request. Its context can be cancelled, as net/http's
// server makes every request's: a driver may pay for watching a context
// that can end (go-sqlite3 before v1.14.41 starts a goroutine per row
// scanned), and a real server's statements, eager or batched, all run
// under one.
func request(ctx context.Context, h http.Handler, body []byte) ([]byte, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out := rec.Body.Bytes()
	if rec.Code != http.StatusOK || !bytes.HasPrefix(out, []byte(`{"data":`)) || bytes.Contains(out, []byte(`"errors":`)) {
		return out, fmt.Errorf("HTTP %d: %.300s", rec.Code, out)
	}
	return out, nil
}

// Body returns the POST body of a GraphQL query.
func Body(query string) []byte {
	b, err := json.Marshal(map[string]string{"query": query})
	if err != nil {
		panic(err) // a string always marshals
	}
	return b
}

// Measure runs query against h: sequential requests for the statements,
// round trips, latencies, CPU time and allocations, then b.Clients
// concurrent clients for the throughput (none if b.Clients is 0). It stops
// early with ctx's error.
func Measure(ctx context.Context, h http.Handler, query string, b Budget) (Result, error) {
	body := Body(query)
	for range 3 { // warm up: connections, caches, the query cache
		if _, err := Request(h, body); err != nil {
			return Result{}, err
		}
	}
	var r Result
	lat := make([]time.Duration, 0, b.Requests)
	var trips []int64
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := processCPU()
	start := time.Now()
	for len(lat) < MinRequests || len(lat) < b.Requests && time.Since(start) < b.Time {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		s0, rt0, t0 := Statements(), RoundTrips(), time.Now()
		if _, err := Request(h, body); err != nil {
			return r, err
		}
		lat = append(lat, time.Since(t0))
		trips = append(trips, RoundTrips()-rt0)
		n := Statements() - s0
		if len(lat) == 1 || n < r.MinStmts {
			r.MinStmts = n
		}
		r.MaxStmts = max(r.MaxStmts, n)
	}
	cpu1 := processCPU()
	runtime.ReadMemStats(&m1)
	r.Requests = len(lat)
	r.CPU = (cpu1 - cpu0) / time.Duration(len(lat))
	r.Allocs = float64(m1.Mallocs-m0.Mallocs) / float64(len(lat))
	r.Bytes = float64(m1.TotalAlloc-m0.TotalAlloc) / float64(len(lat))
	slices.Sort(lat)
	r.P50 = percentile(lat, 50)
	r.P99 = percentile(lat, 99)
	slices.Sort(trips)
	r.RoundTrips, r.MinRoundTrips, r.MaxRoundTrips = trips[len(trips)/2], trips[0], trips[len(trips)-1]
	if b.Clients == 0 {
		return r, nil
	}

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		done     int
		firstErr error
	)
	s0 := Statements()
	start = time.Now()
	deadline := start.Add(b.ConcTime)
	for range b.Clients {
		wg.Go(func() {
			n := 0
			var err error
			for ctx.Err() == nil && time.Now().Before(deadline) {
				if _, err = Request(h, body); err != nil {
					break
				}
				n++
			}
			mu.Lock()
			done += n
			firstErr = cmp.Or(firstErr, err)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return r, firstErr
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	r.Throughput = float64(done) / elapsed.Seconds()
	if done > 0 {
		r.ConcStmts = float64(Statements()-s0) / float64(done)
	}
	return r, nil
}

// percentile returns the p-th percentile of sorted (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p+99)/100 - 1
	return sorted[max(i, 0)]
}

// Canonical returns a GraphQL response's JSON with every list of objects
// sorted by their "id": the variants return the same rows, but only the
// root field is ordered (ORDER BY id); relations come in the order the
// database returns them, which differs between a query per parent, an IN
// and a JOIN.
func Canonical(body []byte) (string, error) {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "", err
	}
	sortLists(v)
	out, err := json.Marshal(v)
	return string(out), err
}

func sortLists(v any) {
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			sortLists(e)
		}
	case []any:
		for _, e := range v {
			sortLists(e)
		}
		slices.SortStableFunc(v, func(a, b any) int {
			return cmp.Compare(id(a), id(b))
		})
	}
}

// id returns an object's "id" (an ID is a string in GraphQL's JSON) as a
// number, so that "10" sorts after "9"; 0 for anything else.
func id(v any) int {
	m, _ := v.(map[string]any)
	s, _ := m["id"].(string)
	n, _ := strconv.Atoi(s)
	return n
}
