//go:build race

package integration

// raceDetector: the race detector slows every goroutine several times over,
// enough for a running resolver to be descheduled past the 5 ms watchdog.
const raceDetector = true
