package e2e

import (
	"fmt"
	"slices"
	"testing"

	"github.com/heraldhq/herald/internal/natstest"
)

// natsNews is a namespace with history and recovery.
var natsNews = map[string]any{
	"name":                       "news",
	"history_size":               100,
	"history_ttl":                "300s",
	"force_recovery":             true,
	"allow_subscribe_for_client": true,
	"allow_publish_for_client":   true,
	"presence":                   true,
	"join_leave":                 true,
}

// natsChat is a namespace without history: with the memory engine, each
// node would keep a history of its own.
var natsChat = map[string]any{
	"name":                       "chat",
	"allow_subscribe_for_client": true,
	"allow_publish_for_client":   true,
	"join_leave":                 true,
	"force_push_join_leave":      true,
}

// natsConfig is apiConfig with the NATS broker at url under prefix.
func natsConfig(url, prefix, name string) Config {
	return apiConfig(natsNews, natsChat).
		Set("broker.enabled", true).
		Set("broker.type", "nats").
		Set("broker.nats.url", url).
		Set("broker.nats.prefix", prefix).
		Set("node.name", name)
}

// TestNATSTwoNodes runs two nodes on NATS with the memory engine:
// publications made through either node, by the API and by clients,
// reach centrifuge-go subscribers on both, in order and once each, and
// joins cross nodes.
func TestNATSTwoNodes(t *testing.T) {
	srv := natstest.Start(t)
	a := Start(t, natsConfig(srv.URL, "herald-e2e", "node-a"))
	b := Start(t, natsConfig(srv.URL, "herald-e2e", "node-b"))

	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "chat:" + enc.name
		onA, _ := connectUser(t, a, enc, "alice")
		onB, bobID := connectUser(t, b, enc, "bob")
		subA, subB := onA.subscribe(t, ch), onB.subscribe(t, ch)

		apiPublish(t, a, ch, 1)
		if _, err := subB.Publish(opCtx(t), jsonData(t, seqData{N: 2})); err != nil {
			t.Fatalf("client publish on B: %v", err)
		}
		apiPublish(t, b, ch, 3)
		for name, s := range map[string]*sdkSub{"A": subA, "B": subB} {
			got := seqOf(t, pubsOf(s.pubs.wait(t, 3, "publications on "+name)))
			if !slices.Equal(got, seq(1, 3)) {
				t.Fatalf("subscriber on %s got %v, want [1 2 3]", name, got)
			}
		}
		// Joins cross nodes too: A saw bob join.
		waitClientEvent(t, &subA.joins, bobID, "bob", "join from B seen on A")
	})
}

// TestNATSMemoryHistory runs one node on NATS with the memory engine,
// which keeps history and recovers a client that missed publications.
func TestNATSMemoryHistory(t *testing.T) {
	srv := natstest.Start(t)
	node := Start(t, natsConfig(srv.URL, "herald-e2e-single", "node-a"))
	enc := encodings[0]
	const ch = "news:single"
	reader, _ := connectUser(t, node, enc, "reader")
	sub := reader.subscribe(t, ch)
	apiPublish(t, node, ch, 1)
	sub.pubs.wait(t, 1, "live publications")

	if err := reader.Disconnect(); err != nil {
		t.Fatal(err)
	}
	reader.disconnected.wait(t, 1, "disconnected events")
	apiPublish(t, node, ch, 2)
	reader.mustConnect(t)
	if ev := sub.subscribed.wait(t, 2, "subscribed events")[1]; !ev.Recovered {
		t.Errorf("resubscribe %+v, want recovered", ev)
	}
	pubs := pubsOf(sub.pubs.wait(t, 2, "publications after recovery"))
	if got := offsetsOf(pubs); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("offsets %v, want [1 2]", got)
	}
}

// TestNATSWithRedisHistory runs two nodes on NATS with the Redis engine
// beside it: NATS carries the publications, Redis keeps history and
// presence, so history, presence and recovery work across nodes.
func TestNATSWithRedisHistory(t *testing.T) {
	srv := natstest.Start(t)
	prefix := redisPrefix(t)
	cfg := func(name string) Config {
		return natsConfig(srv.URL, prefix, name).
			Set("engine.type", "redis").
			Set("engine.redis.address", []string{redisAddress}).
			Set("engine.redis.prefix", prefix)
	}
	a, b := Start(t, cfg("node-a")), Start(t, cfg("node-b"))

	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "news:wire-" + enc.name
		reader, readerID := connectUser(t, b, enc, "reader")
		sub := reader.subscribe(t, ch)
		apiPublish(t, a, ch, 1)
		sub.pubs.wait(t, 1, "live publications")

		// Presence on A lists the reader connected to B.
		var pres struct {
			Presence map[string]struct{ User string }
		}
		callAPI(t, a, "presence", fmt.Sprintf(`{"channel":%q}`, ch), &pres)
		if pres.Presence[readerID].User != "reader" {
			t.Fatalf("presence on A: %+v", pres)
		}

		if err := reader.Disconnect(); err != nil {
			t.Fatal(err)
		}
		reader.disconnected.wait(t, 1, "disconnected events")
		apiPublish(t, a, ch, 2)
		apiPublish(t, b, ch, 3)
		reader.mustConnect(t)
		ev := sub.subscribed.wait(t, 2, "subscribed events")[1]
		if !ev.WasRecovering || !ev.Recovered {
			t.Errorf("resubscribe %+v, want recovered", ev)
		}
		pubs := pubsOf(sub.pubs.wait(t, 3, "publications after recovery"))
		if got := seqOf(t, pubs); !slices.Equal(got, seq(1, 3)) {
			t.Fatalf("publications %v, want [1 2 3]", got)
		}
		if got := offsetsOf(pubs); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("offsets %v, want 1..3", got)
		}
	})
}

// TestNATSRestart restarts NATS under two nodes with Redis history while
// clients are subscribed with recovery: publishing fails with an error
// while NATS is down, clients stay connected, and every subscriber ends
// with exactly the publications the API accepted.
func TestNATSRestart(t *testing.T) {
	srv := natstest.Start(t)
	prefix := redisPrefix(t)
	cfg := func(name string) Config {
		return natsConfig(srv.URL, prefix, name).
			Set("engine.type", "redis").
			Set("engine.redis.address", []string{redisAddress}).
			Set("engine.redis.prefix", prefix)
	}
	a, b := Start(t, cfg("node-a")), Start(t, cfg("node-b"))

	run := newRestartRun(t, "news:restart", b, a)
	if !run.publish(a) {
		t.Fatal("publish refused with NATS up")
	}
	run.check("publications before the restart")

	srv.Stop(t)
	if !poll(WaitTimeout, func() bool { return !run.publish(a) }) {
		t.Fatal("publishes still accepted with NATS down")
	}

	srv.Restart(t)
	run.publishUntilAccepted(a, "NATS")
	run.publish(b)
	run.check("publications after the restart")
}

// TestNATSV3Config starts a node from a Centrifugo v3 flat file with
// "broker": "nats" beside a v6 node on the same NATS: they exchange
// publications.
func TestNATSV3Config(t *testing.T) {
	srv := natstest.Start(t)
	v3 := Start(t, Config{
		"token_hmac_secret_key": secret, "api_key": apiKey,
		"broker": "nats", "nats_url": srv.URL, "nats_prefix": "herald-v3",
		"namespaces": []map[string]any{{"name": "chat"}},
	})
	v6 := Start(t, natsConfig(srv.URL, "herald-v3", "node-v6"))
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "chat:v3-" + enc.name
		c, _ := connectUser(t, v6, enc, "bob")
		s := c.subscribe(t, ch)
		apiPublish(t, v3, ch, 1)
		if got := seqOf(t, pubsOf(s.pubs.wait(t, 1, "publications"))); !slices.Equal(
			got, []int{1}) {
			t.Fatalf("publications %v, want [1]", got)
		}
	})
}
