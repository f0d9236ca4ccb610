//go:build !linux

package bench

import "time"

// waiter is what a proxy's writer waits with until a chunk is due.
type waiter interface {
	wait(until time.Time)
	close()
}

// newWaiter returns a time.Sleep waiter: on systems other than Linux, the
// proxy's delays are Go's timers', which may overshoot a sub-millisecond
// wait by a millisecond (see Proxy).
func newWaiter() waiter { return sleepWaiter{} }
