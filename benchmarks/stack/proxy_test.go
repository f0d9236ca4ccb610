package main

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ormloader/ormloader/benchmarks/stack/internal/bench"
)

// testRTT is the round-trip time of the proxy tests: long enough that a
// missing delay cannot hide in the scheduling noise of a busy machine.
const testRTT = 20 * time.Millisecond

// TestProxyEchoRoundTrip sends a message through a proxy to an echo server
// and back, twice: each takes at least the rtt (and not absurdly more) and
// is one round trip.
func TestProxyEchoRoundTrip(t *testing.T) {
	p := startProxy(t, startEcho(t), testRTT)
	c := dial(t, p.Addr())
	for i := range 2 {
		t0 := time.Now()
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		var got [4]byte
		if _, err := io.ReadFull(c, got[:]); err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(t0)
		if string(got[:]) != "ping" {
			t.Fatalf("echo %q, want ping", got[:])
		}
		if elapsed < testRTT || elapsed >= 200*time.Millisecond {
			t.Errorf("round trip %d took %v, want at least the rtt, %v, and under 200ms", i+1, elapsed, testRTT)
		}
		if n := p.RoundTrips(); n != int64(i+1) {
			t.Errorf("after round trip %d: %d counted", i+1, n)
		}
	}
}

// TestProxyEchoPipelined sends pipelinedMessages messages to an echo server
// through a proxy, a millisecond apart, without waiting for the echoes: each
// echo comes back at least an rtt after its message left (every chunk is
// delayed), and the last one much sooner than if the proxy delayed the
// chunks one after the other (latency, not serialization): the rtt plus
// the time spent sending (about 11 ms), against at least
// (pipelinedMessages+1) × rtt/2 (110 ms). Sent within the rtt, before any
// echo came back, the messages are one round trip.
func TestProxyEchoPipelined(t *testing.T) {
	const (
		pipelinedMessages = 10
		gap               = time.Millisecond // so that every message is a chunk of its own
	)
	p := startProxy(t, startEcho(t), testRTT)
	c := dial(t, p.Addr())
	var sent, arrived [pipelinedMessages]time.Time
	readErr := make(chan error, 1)
	go func() {
		for range pipelinedMessages {
			var msg [8]byte
			if _, err := io.ReadFull(c, msg[:]); err != nil {
				readErr <- err
				return
			}
			if i := binary.BigEndian.Uint64(msg[:]); i < pipelinedMessages {
				arrived[i] = time.Now()
			}
		}
		readErr <- nil
	}()
	for i := range pipelinedMessages {
		var msg [8]byte
		binary.BigEndian.PutUint64(msg[:], uint64(i))
		sent[i] = time.Now()
		if _, err := c.Write(msg[:]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(gap)
	}
	sending := time.Since(sent[0])
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
	for i := range pipelinedMessages {
		if d := arrived[i].Sub(sent[i]); d < testRTT {
			t.Errorf("message %d came back after %v, less than the rtt, %v", i, d, testRTT)
		}
	}
	total := arrived[pipelinedMessages-1].Sub(sent[0])
	if serialized := pipelinedMessages * testRTT / 2; total >= serialized {
		t.Errorf("%d pipelined messages sent in %v took %v to come back, not under %v: the delays add up", pipelinedMessages, sending, total, serialized)
	}
	t.Logf("%d messages sent in %v, all back in %v (rtt %v)", pipelinedMessages, sending, total, testRTT)
	if n := p.RoundTrips(); n != 1 && sending < testRTT {
		t.Errorf("%d round trips counted, want 1 (the messages were sent before any echo came back)", n)
	}
}

// TestProxyCloseEndsConnections closes a proxy while a connection through it
// has bytes in flight: Close returns within the rtt (plus scheduling), the
// client sees its connection end, and no goroutine of the proxy is left
// (startProxy's cleanup checks).
func TestProxyCloseEndsConnections(t *testing.T) {
	p := startProxy(t, startEcho(t), testRTT)
	c := dial(t, p.Addr())
	if _, err := c.Write([]byte("in flight")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(testRTT / 4) // read by the proxy, not yet delivered
	t0 := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > testRTT+200*time.Millisecond {
		t.Errorf("Close took %v", d)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := io.ReadFull(c, make([]byte, 9)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read %d bytes, %v: want the connection closed by the proxy", n, err)
	}
	checkNoProxyGoroutines(t)
}

// TestProxyPostgres runs SELECT 1 through a proxy to PostgreSQL with
// database/sql and pgx, on one connection: each round trip takes at least
// the rtt, and the counts are what pgx's protocol says.
//
// What pgx (v5, its default QueryExecModeCacheStatement) sends:
//   - connecting is one round trip: the startup message, answered (trust
//     authentication) with AuthenticationOk, the parameters and
//     ReadyForQuery; database/sql's Ping on the new connection is another
//     (pgx pings with an empty query);
//   - whenever database/sql takes a connection from its pool, pgx's
//     ResetSession pings it first if it has not done so for a second: a
//     round trip more on the first reuse of a connection and after a
//     second idle (in the benchmark, a connection the previous requests
//     did not need);
//   - the first SELECT 1 on a connection is two: Parse, Describe and Sync
//     (pgx prepares the statement and caches it per connection, by its SQL
//     text), then Bind, Describe, Execute and Sync;
//   - the next SELECT 1 is one: the cached statement's Bind, Describe,
//     Execute and Sync, sent at once.
func TestProxyPostgres(t *testing.T) {
	dsn := os.Getenv("ORMLOADER_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("ORMLOADER_TEST_POSTGRES_DSN is not set")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p, db := openOneThroughProxy(t, dsn, u.Host, testRTT)
	ctx := t.Context()
	// step runs f and checks that it took want round trips, and at least
	// an rtt for each.
	step := func(what string, want int64, f func() error) {
		t.Helper()
		rt0, t0 := p.RoundTrips(), time.Now()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		elapsed, n := time.Since(t0), p.RoundTrips()-rt0
		t.Logf("%s: %d round trips, %v", what, n, elapsed)
		if n != want {
			t.Errorf("%s: %d round trips, want %d", what, n, want)
		}
		if elapsed < time.Duration(n)*testRTT || n < 1 {
			t.Errorf("%s: %v for %d round trips of %v", what, elapsed, n, testRTT)
		}
	}
	selectOne := func() error {
		var one int
		if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
			return errors.Join(err, errors.New("SELECT 1 did not return 1"))
		}
		return nil
	}
	ping := func() error { return db.PingContext(ctx) }
	step("connect, ping", 2, ping)
	step("ping on the first reuse (ResetSession's ping, Ping's)", 2, ping)
	step("first SELECT 1 (prepare, execute)", 2, selectOne)
	step("second SELECT 1 (prepared)", 1, selectOne)
	step("third SELECT 1 (prepared)", 1, selectOne)
	time.Sleep(1100 * time.Millisecond)
	step("SELECT 1 after a second idle (ResetSession's ping, execute)", 2, selectOne)
}

// startEcho starts a server on loopback that sends back whatever it
// receives, until the test ends, and returns its address.
func startEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { io.Copy(c, c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// openOneThroughProxy opens a pool of one connection to the PostgreSQL of
// dsn through a proxy to target that delays by rtt; both close with t.
func openOneThroughProxy(t *testing.T, dsn, target string, rtt time.Duration) (*bench.Proxy, *sql.DB) {
	t.Helper()
	p := startProxy(t, target, rtt)
	proxied, err := proxyDSN(dsn, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", proxied)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	return p, db
}

// startProxy starts a proxy to target with rtt; the test's cleanup closes
// it and checks that none of its goroutines is left.
func startProxy(t *testing.T, target string, rtt time.Duration) *bench.Proxy {
	t.Helper()
	p, err := bench.StartProxy(target, rtt)
	if err != nil {
		t.Fatal(err)
	}
	if host, _, _ := net.SplitHostPort(p.Addr()); host != "127.0.0.1" {
		t.Errorf("the proxy listens on %s, want 127.0.0.1", p.Addr())
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
		checkNoProxyGoroutines(t)
	})
	return p
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// checkNoProxyGoroutines fails t if a goroutine is running a function of
// bench.Proxy's (a leak: Close waits for them all) a second after the
// call; a goroutine that has just returned from Close's WaitGroup may still
// be ending meanwhile. The module does not require go.uber.org/goleak, which
// would check every goroutine; these are the ones the proxy starts.
func checkNoProxyGoroutines(t *testing.T) {
	t.Helper()
	var left []string
	for deadline := time.Now().Add(time.Second); ; time.Sleep(10 * time.Millisecond) {
		left = proxyGoroutines()
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, g := range left {
		t.Errorf("a goroutine of the proxy is left:\n%s", g)
	}
}

func proxyGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "/internal/bench.(*Proxy).") || strings.Contains(g, "/internal/bench.(*proxyLink).") {
			found = append(found, g)
		}
	}
	return found
}
