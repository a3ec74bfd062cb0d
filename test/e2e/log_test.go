package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestOriginRejectedLog checks the log line of a refused WebSocket origin:
// it names the websocket component once, not the app's as well.
func TestOriginRejectedLog(t *testing.T) {
	srv := Start(t, v6Config().Set("client.allowed_origins", []string{"http://good.example"}))
	_, resp, err := dialWS(srv, encodings[0], http.Header{"Origin": {"http://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("dial from a foreign origin: %v %+v, want 403", err, resp)
	}
	var line string
	Eventually(t, WaitTimeout, func() bool {
		for l := range strings.Lines(srv.Output()) {
			if strings.Contains(l, `msg="origin rejected"`) {
				line = l
				return true
			}
		}
		return false
	}, func() string { return "no origin rejected line in the log" })
	if strings.Count(line, "component=") != 1 ||
		!strings.Contains(line, "component=websocket") {
		t.Fatalf("log line %q, want component=websocket once", line)
	}
}
