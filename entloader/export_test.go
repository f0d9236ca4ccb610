package entloader

import (
	"sync"
	"time"
)

// LockedStripes returns the stripes (see Lock) that cannot be locked within
// wait: none, unless something left a stripe locked.
func LockedStripes(wait time.Duration) []int {
	deadline := time.Now().Add(wait)
	var locked []int
	for i := range stripes {
		if lockBy(&stripes[i], deadline) {
			stripes[i].Unlock()
		} else {
			locked = append(locked, i)
		}
	}
	return locked
}

func lockBy(mu *sync.Mutex, deadline time.Time) bool {
	for !mu.TryLock() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}
