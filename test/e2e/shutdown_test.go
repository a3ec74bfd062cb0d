package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestShutdownTimeout checks that shutdown.timeout bounds the drain: a
// client that never reads cannot take its close frame, let alone answer
// it, yet the process exits within the timeout after SIGTERM.
func TestShutdownTimeout(t *testing.T) {
	const (
		timeout = 2 * time.Second
		// margin covers what follows the drain: closing the engines and
		// the process exit, under the race detector too.
		margin = 3 * time.Second
	)
	// The queue holds the whole flood, so the stuck client is not dropped
	// as slow, and the long write timeout keeps the server's write to it
	// blocked past the shutdown timeout.
	srv := Start(t, floodConfig().
		Set("shutdown.timeout", timeout.String()).
		Set("client.queue_max_size", 128<<20).
		Set("websocket.write_timeout", "60s"))
	const ch = "feed:shutdown"
	stuckClient(t, srv, "stuck", ch)

	// 24 MB is several times what loopback sockets buffer, so the writer to
	// the stuck client is blocked with messages still queued.
	pad := strings.Repeat("x", 240_000)
	for n := 1; n <= 100; n++ {
		publishSeq(t, srv, ch, n, pad)
	}

	start := time.Now()
	srv.Stop(t)
	took := time.Since(start)
	t.Logf("exited %v after SIGTERM", took)
	if took > timeout+margin {
		t.Fatalf("exited %v after SIGTERM, want within shutdown.timeout %v + %v",
			took, timeout, margin)
	}
	// Exiting well before the timeout would mean the client was not stuck
	// and the timeout was never put to the test.
	if took < timeout {
		t.Fatalf("exited %v after SIGTERM, before shutdown.timeout %v: the drain "+
			"did not wait for the stuck client", took, timeout)
	}
}
