//go:build unix

package bench

import (
	"syscall"
	"time"
)

// CPUTimeAvailable tells whether [Result.CPU] is measured: on Unix systems,
// from getrusage(RUSAGE_SELF).
const CPUTimeAvailable = true

// processCPU returns the CPU time, user and system, that the process has
// used so far, on all its threads; 0 if getrusage fails.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
