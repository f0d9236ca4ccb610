//go:build linux

package bench

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// waiter is what a proxy's writer waits with until a chunk is due.
type waiter interface {
	wait(until time.Time)
	close()
}

// timerfdWaiter waits on a Linux timerfd read through the Go netpoller: the
// goroutine parks like on a socket, and the kernel's high-resolution timer
// wakes it within some tens of microseconds of the due time, where Go's own
// timers may take a millisecond more (see Proxy).
type timerfdWaiter struct {
	f  *os.File
	rc syscall.RawConn
}

// itimerspec is struct itimerspec of timerfd_settime(2).
type itimerspec struct {
	interval, value syscall.Timespec
}

// newWaiter returns a timerfd waiter, or a time.Sleep one if the timerfd
// cannot be created.
func newWaiter() waiter {
	const clockMonotonic = 1
	// TFD_NONBLOCK and TFD_CLOEXEC are O_NONBLOCK and O_CLOEXEC; non-blocking,
	// os.NewFile gives a file the netpoller waits for.
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errno != 0 {
		return sleepWaiter{}
	}
	f := os.NewFile(fd, "timerfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return sleepWaiter{}
	}
	return &timerfdWaiter{f, rc}
}

func (w *timerfdWaiter) wait(until time.Time) {
	d := time.Until(until)
	if d <= 0 {
		return
	}
	spec := itimerspec{value: syscall.NsecToTimespec(int64(d))} // relative, one shot
	var errno syscall.Errno
	err := w.rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	})
	if err == nil && errno == 0 {
		var expirations [8]byte
		if _, err = w.f.Read(expirations[:]); err == nil {
			return
		}
	}
	sleepWaiter{}.wait(until)
}

func (w *timerfdWaiter) close() { w.f.Close() }
