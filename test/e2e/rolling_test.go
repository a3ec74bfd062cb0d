package e2e

import (
	"testing"
)

// TestRedisRollingRestart restarts two nodes on Redis one after the other,
// as a deployment does, while readers on both are subscribed with recovery
// and publications keep coming through whichever node is up. Each stopped
// node drains (its clients are told to reconnect), its clients come back
// when it does, and every reader ends with exactly the publications the
// API accepted, in order.
func TestRedisRollingRestart(t *testing.T) {
	prefix := redisPrefix(t)
	cfg := func(name string) Config {
		return redisConfig(prefix, map[string]any{
			"name": "news", "history_size": 100, "history_ttl": "300s",
			"force_recovery": true, "allow_subscribe_for_client": true,
		}).Set("node.name", name)
	}
	a, b := Start(t, cfg("node-a")), Start(t, cfg("node-b"))
	run := newRestartRun(t, "news:rolling", a, a, b, b)
	publish := func(srv *Server, n int) {
		t.Helper()
		for range n {
			if !run.publish(srv) {
				t.Fatalf("publish through the node on port %d refused", srv.Port)
			}
		}
	}

	publish(b, 3)
	a.Stop(t)
	publish(b, 3)
	a = StartOnPort(t, cfg("node-a"), a.Port)
	publish(a, 3)
	b.Stop(t)
	publish(a, 3)
	b = StartOnPort(t, cfg("node-b"), b.Port)
	publish(b, 1)
	run.check("publications after the rolling restart")
}
