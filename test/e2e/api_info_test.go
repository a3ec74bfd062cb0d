package e2e

import (
	"fmt"
	"testing"
	"time"
)

// TestAPIInfoUptime checks that info's uptime counts the real seconds since
// the node started: it reaches one second, and never more than the process
// can have run.
func TestAPIInfoUptime(t *testing.T) {
	before := time.Now()
	srv := Start(t, apiConfig())
	var info struct {
		Nodes []struct{ Uptime int }
	}
	Eventually(t, WaitTimeout, func() bool {
		callAPI(t, srv, "info", `{}`, &info)
		return len(info.Nodes) == 1 && info.Nodes[0].Uptime >= 1
	}, func() string { return fmt.Sprintf("info %+v", info) })
	if up, most := info.Nodes[0].Uptime, time.Since(before); up > int(most.Seconds()) {
		t.Fatalf("uptime %d s, but the server started less than %v ago", up, most)
	}
}
