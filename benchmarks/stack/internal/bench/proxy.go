package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy is a TCP proxy on the loopback interface that forwards every
// connection to a target address and delays every chunk of bytes by half a
// round-trip time in each direction, so that a client waits a whole rtt for
// every answer, as across a network.
//
// The delay is latency, not a bandwidth limit: for each direction of a
// connection, a reader goroutine timestamps every chunk it reads (one Read:
// what the sender had sent by then) and queues it, and a writer goroutine
// writes each chunk no earlier than its timestamp + rtt/2. Chunks read one
// after the other are written one after the other at their own due times,
// so a pipelined stream is shifted by rtt/2 as a whole, not slowed down by
// rtt/2 per chunk. On Linux the writer waits on a timerfd, which the Go
// netpoller wakes within some tens of microseconds: Go's timers
// (time.Sleep, time.Timer) round a sub-millisecond wait up to a millisecond
// or more when the process is otherwise idle (1.1 ms for 250 µs on the
// benchmark's machine), which would turn rtt 500µs into more than 2 ms.
//
// What it does not model: the TCP handshake (the client's connect to the
// proxy and the proxy's to the target are not delayed, so a new connection
// costs one rtt fewer than across a network), bandwidth, and loss.
//
// It counts round trips ([Proxy.RoundTrips], and all proxies' together in
// [RoundTrips]): the flights from the client to the server, a flight being
// what the client sends from the moment it starts sending after it received
// something from the server (or on a new connection) until the server's
// next answer reaches it. That is the number of times the client waited for
// the server. A flight is counted when the proxy reads its first chunk, and
// "received" means that the proxy has started writing the server's chunk to
// the client, after the delay: a chunk the client sends before then belongs
// to its current flight (pipelining). The count is per connection, summed:
// statements run at the same time on several connections count a round
// trip each though the client waits for them together.
type Proxy struct {
	target     string
	delay      time.Duration // one way: rtt/2
	ln         net.Listener
	ctx        context.Context // canceled by Close: ends the dials in progress
	cancel     context.CancelFunc
	wg         sync.WaitGroup // every goroutine of the proxy
	roundTrips atomic.Int64

	mu     sync.Mutex
	links  map[*proxyLink]struct{}
	closed bool
}

var roundTrips atomic.Int64

// RoundTrips returns the round trips counted so far by every proxy
// [StartProxy] started (see [Proxy]): one counter for the process, which
// the benchmark reads before and after each request, as it does
// [Statements].
func RoundTrips() int64 { return roundTrips.Load() }

// StartProxy starts a proxy to target (host:port) with the round-trip time
// rtt (0: no delay), listening on 127.0.0.1 on a port of the system's
// choosing ([Proxy.Addr]), until [Proxy.Close].
func StartProxy(target string, rtt time.Duration) (*Proxy, error) {
	if rtt < 0 {
		return nil, fmt.Errorf("proxy: negative round-trip time %v", rtt)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{
		target: target,
		delay:  rtt / 2,
		ln:     ln,
		ctx:    ctx,
		cancel: cancel,
		links:  make(map[*proxyLink]struct{}),
	}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr returns the address the proxy listens on, 127.0.0.1:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// RoundTrips returns the round trips this proxy has counted so far, on all
// its connections (see [Proxy]).
func (p *Proxy) RoundTrips() int64 { return p.roundTrips.Load() }

// Close stops accepting connections, closes every connection in progress
// (both sides), and returns once every goroutine of the proxy has ended: at
// most rtt/2 after the call, the time a writer may still be waiting.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	links := make([]*proxyLink, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	p.cancel()
	err := p.ln.Close()
	for _, l := range links {
		l.close()
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A transient failure (too many open files): the client's
			// connect waits in the backlog meanwhile.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.wg.Add(1) // this goroutine's count is held: never from zero during Close's Wait
		go p.open(c)
	}
}

// open dials the target for the accepted client connection and starts
// relaying; if the dial fails, the client's connection is closed.
func (p *Proxy) open(client net.Conn) {
	defer p.wg.Done()
	var d net.Dialer
	server, err := d.DialContext(p.ctx, "tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	l := &proxyLink{p: p, client: client, server: server, done: make(chan struct{})}
	l.serverSpoke.Store(true) // a connection's first flight is a round trip too
	l.open.Store(2)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	p.links[l] = struct{}{}
	p.mu.Unlock()
	up, down := make(chan chunk, chunkQueue), make(chan chunk, chunkQueue)
	p.wg.Add(4)
	go l.read(client, up, true)
	go l.write(server, up, false)
	go l.read(server, down, false)
	go l.write(client, down, true)
}

// chunkSize is the most a reader reads at once; chunkQueue how many chunks
// a direction holds in flight before its reader stops reading (16 MB at
// most: a bound, not a bandwidth limit at the benchmark's sizes).
const (
	chunkSize  = 64 << 10
	chunkQueue = 256
)

var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// chunk is what one Read returned, due to be written at due.
type chunk struct {
	buf *[]byte // from chunkPool
	n   int
	due time.Time
}

// proxyLink is one proxied connection: the client's, and the proxy's to
// the target.
type proxyLink struct {
	p              *Proxy
	client, server net.Conn
	done           chan struct{} // closed by close
	closeOnce      sync.Once
	open           atomic.Int32 // directions whose writer has not finished
	// serverSpoke is set when the writer towards the client has delivered
	// a chunk, and cleared when the client's next chunk is read: the
	// clearing counts a round trip.
	serverSpoke atomic.Bool
}

// read reads src into out, chunk by chunk, each stamped with the time it
// is due on the other side, until src fails or ends; then it closes out.
func (l *proxyLink) read(src net.Conn, out chan<- chunk, fromClient bool) {
	defer l.p.wg.Done()
	defer close(out)
	for {
		buf := chunkPool.Get().(*[]byte)
		n, err := src.Read(*buf)
		if n > 0 {
			due := time.Now().Add(l.p.delay)
			if fromClient && l.serverSpoke.Swap(false) {
				l.p.roundTrips.Add(1)
				roundTrips.Add(1)
			}
			select {
			case out <- chunk{buf, n, due}:
			case <-l.done:
				return
			}
		} else {
			chunkPool.Put(buf)
		}
		if err != nil {
			return
		}
	}
}

// write writes the chunks of in to dst, each no earlier than it is due;
// when in ends (its source has ended), it closes dst for writing so that
// the other side sees the end too, and the link once both directions have
// ended. A failed write closes the link.
func (l *proxyLink) write(dst net.Conn, in <-chan chunk, toClient bool) {
	defer l.p.wg.Done()
	w := newWaiter()
	defer w.close()
	for {
		var c chunk
		var ok bool
		select {
		case c, ok = <-in:
		case <-l.done:
			return
		}
		if !ok {
			if tc, isTCP := dst.(*net.TCPConn); isTCP {
				tc.CloseWrite()
			}
			if l.open.Add(-1) == 0 {
				l.close()
			}
			return
		}
		w.wait(c.due)
		if toClient {
			// Before the write, not after: once the bytes are in the
			// client's socket, the client may answer and its next chunk be
			// read before this goroutine runs again, which would then miss
			// that round trip (seen on 2 cores: 2 round trips counted for
			// 3 sequential statements).
			l.serverSpoke.Store(true)
		}
		_, err := dst.Write((*c.buf)[:c.n])
		chunkPool.Put(c.buf)
		if err != nil {
			l.close()
			return
		}
	}
}

// close closes both connections of the link, which ends its readers (their
// Read fails) and its writers (done), and forgets the link.
func (l *proxyLink) close() {
	l.closeOnce.Do(func() {
		close(l.done)
		l.client.Close()
		l.server.Close()
		l.p.mu.Lock()
		delete(l.p.links, l)
		l.p.mu.Unlock()
	})
}

// sleepWaiter waits with time.Sleep: where there is no timerfd, or if it
// fails.
type sleepWaiter struct{}

func (sleepWaiter) wait(until time.Time) {
	if d := time.Until(until); d > 0 {
		time.Sleep(d)
	}
}

func (sleepWaiter) close() {}
