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

// restartRun is the scaffolding of a test that takes a broker away under
// subscribed clients: readers subscribed to ch with recovery, and a log of
// which numbered publications the API accepted.
type restartRun struct {
	t        *testing.T
	ch       string
	subs     []*sdkSub
	clients  []*sdkClient
	n        int
	accepted []int
}

// newRestartRun connects one reader per node in nodes and subscribes it.
func newRestartRun(t *testing.T, ch string, nodes ...*Server) *restartRun {
	r := &restartRun{t: t, ch: ch}
	for i, srv := range nodes {
		c, _ := connectUser(t, srv, encodings[0], fmt.Sprintf("reader-%d", i))
		r.clients = append(r.clients, c)
		r.subs = append(r.subs, c.subscribe(t, ch))
	}
	return r
}

// publish publishes the next number through srv and reports whether the
// API accepted it.
func (r *restartRun) publish(srv *Server) bool {
	r.n++
	if tryPublish(r.t, srv, r.ch, r.n) {
		r.accepted = append(r.accepted, r.n)
		return true
	}
	return false
}

// publishUntilAccepted retries until the API accepts a publication again.
func (r *restartRun) publishUntilAccepted(srv *Server, what string) {
	r.t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	for !r.publish(srv) {
		if time.Now().After(deadline) {
			r.t.Fatalf("publishes still refused after %s came back", what)
		}
		time.Sleep(50 * time.Millisecond) // retry interval
	}
}

// check waits until every reader has as many publications as were
// accepted and fails unless they are exactly those, in order, with no
// client disconnected on the way.
func (r *restartRun) check(what string) {
	r.t.Helper()
	for i, s := range r.subs {
		pubs := pubsOf(s.pubs.wait(r.t, len(r.accepted), what))
		if got := seqOf(r.t, pubs); !slices.Equal(got, r.accepted) {
			r.t.Fatalf("subscriber %d got %v, want the accepted %v", i, got, r.accepted)
		}
	}
	for i, c := range r.clients {
		if d := c.disconnected.len(); d != 0 {
			r.t.Errorf("client %d was disconnected %d times", i, d)
		}
	}
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

	run := newRestartRun(t, "news:restart", b, b, a)
	for range 2 {
		if !run.publish(a) {
			t.Fatal("publish refused with Redis up")
		}
	}
	run.check("publications before the restart")

	r.Stop(t)
	start := time.Now()
	for range 3 {
		if run.publish(a) {
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
	run.publishUntilAccepted(a, "Redis")
	run.publish(b)
	run.check("publications after the restart")

	// Nothing else arrives: a final publication is the next event.
	if !run.publish(a) {
		t.Fatal("final publish refused")
	}
	run.check("the final publication")
}
