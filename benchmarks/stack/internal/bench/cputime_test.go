package bench

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"
)

// TestMeasureCPU serves requests that each burn at least a millisecond of
// the process's CPU time, and checks that Measure reports at least that per
// request (and not absurdly more).
func TestMeasureCPU(t *testing.T) {
	if !CPUTimeAvailable {
		t.Skip("no process CPU time on this system")
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for t0 := processCPU(); processCPU()-t0 < time.Millisecond; {
		}
		io.WriteString(w, `{"data":{}}`)
	})
	r, err := Measure(context.Background(), h, "{ x }", Budget{Time: time.Millisecond, Requests: 1, Clients: 1, ConcTime: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != MinRequests || r.CPU < time.Millisecond || r.CPU > 100*time.Millisecond {
		t.Errorf("%d requests, CPU %v per request; want %d, 1 ms to 100 ms", r.Requests, r.CPU, MinRequests)
	}
}
