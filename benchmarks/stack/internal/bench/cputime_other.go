//go:build !unix

package bench

import "time"

// CPUTimeAvailable tells whether [Result.CPU] is measured: not on this
// system, which has no getrusage; Result.CPU stays 0.
const CPUTimeAvailable = false

// processCPU returns 0: the process's CPU time is not measured here.
func processCPU() time.Duration { return 0 }
