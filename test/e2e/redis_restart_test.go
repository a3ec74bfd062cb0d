package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/redistest"
)

// tryPublish publishes {"n": n} into ch through srv's API and reports
// whether Herald accepted it. An answer that is neither a result nor an
// error with a code fails the test.
func tryPublish(t *testing.T, srv *Server, ch string, n int) bool {
	t.Helper()
	a := postAPI(t, srv, "/api/publish", fmt.Sprintf(`{"channel":%q,"data":{"n":%d}}`, ch, n),
		"X-API-Key", apiKey)
	if a.status != http.StatusOK {
		t.Fatalf("publish %d: status %d: %s", n, a.status, a.body)
	}
	var reply struct {
		Result json.RawMessage
		Error  *struct{ Code uint32 }
	}
	if err := json.Unmarshal(a.body, &reply); err != nil {
		t.Fatalf("publish %d: answer %q: %v", n, a.body, err)
	}
	if reply.Error != nil {
		if reply.Error.Code == 0 {
			t.Fatalf("publish %d: error without a code: %s", n, a.body)
		}
		return false
	}
	return reply.Result != nil
}

// TestRedisRestartLosesNoAcceptedPublication restarts the Redis two nodes
// share while clients on both are subscribed with recovery. Publishing
// fails with an error while Redis is down; clients stay connected; once
// Redis is back, every subscriber ends up with exactly the publications the
// API accepted, in order, also when the ones it missed were the last: the
// node checks the stream positions of the channels its PUB/SUB connection
// carries again.
func TestRedisRestartLosesNoAcceptedPublication(t *testing.T) {
	// Persistence on every write, so that what Redis acknowledged survives
	// the restart, as in a deployment that relies on recovery.
	r := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	ns := map[string]any{
		"name":                       "news",
		"history_size":               100,
		"history_ttl":                "300s",
		"force_recovery":             true,
		"allow_subscribe_for_client": true,
	}
	cfg := func(name string) Config {
		return apiConfig(ns).
			Set("engine.type", "redis").
			Set("engine.redis.address", []string{"redis://" + r.Addr}).
			Set("engine.redis.prefix", "herald-restart").
			Set("node.name", name)
	}
	a := Start(t, cfg("node-a"))
	b := Start(t, cfg("node-b"))

	enc := encodings[0]
	const ch = "news:restart"
	var subs []*sdkSub
	var clients []*sdkClient
	for i, srv := range []*Server{b, b, a} {
		c, _ := connectUser(t, srv, enc, fmt.Sprintf("reader-%d", i))
		clients = append(clients, c)
		subs = append(subs, c.subscribe(t, ch))
	}

	var accepted []int
	n := 0
	publish := func(srv *Server) bool {
		n++
		if tryPublish(t, srv, ch, n) {
			accepted = append(accepted, n)
			return true
		}
		return false
	}
	for range 2 {
		if !publish(a) {
			t.Fatal("publish refused with Redis up")
		}
	}
	for _, s := range subs {
		s.pubs.wait(t, 2, "publications before the restart")
	}

	r.Stop(t)
	start := time.Now()
	for range 3 {
		if publish(a) {
			t.Fatal("publish accepted with Redis down")
		}
	}
	// Bounded by the engine's operation timeout, not hanging.
	if d := time.Since(start); d > 3*10*time.Second {
		t.Errorf("three refused publishes took %v", d)
	}

	r.Restart(t)
	// The first publishes after the restart may be refused while the
	// nodes reconnect; the ones accepted go straight to a PUB/SUB
	// connection that may not be back yet, so some subscribers miss them
	// live and must recover them.
	deadline := time.Now().Add(WaitTimeout)
	for !publish(a) {
		if time.Now().After(deadline) {
			t.Fatal("publishes still refused after Redis came back")
		}
		time.Sleep(50 * time.Millisecond) // retry interval
	}
	publish(b)

	for i, s := range subs {
		pubs := pubsOf(s.pubs.wait(t, len(accepted), "publications after the restart"))
		if got := seqOf(t, pubs); !slices.Equal(got, accepted) {
			t.Fatalf("subscriber %d got %v, want the accepted %v", i, got, accepted)
		}
	}

	// Nothing else arrives: a final publication is the next event.
	if !publish(a) {
		t.Fatal("final publish refused")
	}
	for i, s := range subs {
		pubs := pubsOf(s.pubs.wait(t, len(accepted), "the final publication"))
		if got := seqOf(t, pubs); !slices.Equal(got, accepted) {
			t.Fatalf("subscriber %d got %v, want %v", i, got, accepted)
		}
	}
	for i, c := range clients {
		if d := c.disconnected.len(); d != 0 {
			t.Errorf("client %d was disconnected %d times", i, d)
		}
	}
}
