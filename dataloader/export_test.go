package dataloader

// RunningForTest returns how many tracked workers of s run, and how many of
// them are root workers.
func RunningForTest(s *Scope) (running, roots int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running, s.rootsRunning
}
