package dataloader

// RunningForTest returns how many tracked workers of s run, how many of
// them are root workers, and how many are reserved (Reserve).
func RunningForTest(s *Scope) (running, roots, reserved int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running, s.rootsRunning, s.reserved
}
