package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/heraldhq/herald/internal/redistest"
)

// TestRedisClusterNodes runs two nodes on a Redis Cluster of three
// masters: publications cross nodes over sharded PUB/SUB, history is
// shared, and a subscriber that reconnects to the other node recovers what
// it missed.
func TestRedisClusterNodes(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	ns := map[string]any{
		"name":                       "news",
		"history_size":               100,
		"history_ttl":                "300s",
		"force_recovery":             true,
		"allow_subscribe_for_client": true,
		"allow_history_for_client":   true,
	}
	cfg := func(name string) Config {
		return apiConfig(ns).
			Set("engine.type", "redis").
			Set("engine.redis.cluster_address", c.Addrs()).
			Set("engine.redis.prefix", "herald-cluster").
			Set("node.name", name)
	}
	a := Start(t, cfg("node-a"))
	b := Start(t, cfg("node-b"))

	forEachEncoding(t, func(t *testing.T, enc encoding) {
		// Several channels, so that more than one partition and master
		// carry them.
		var chans []string
		for i := range 8 {
			chans = append(chans, fmt.Sprintf("news:%s-%d", enc.name, i))
		}
		reader, _ := connectUser(t, b, enc, "alice")
		var subs []*sdkSub
		for _, ch := range chans {
			subs = append(subs, reader.subscribe(t, ch))
		}
		for _, ch := range chans {
			apiPublish(t, a, ch, 1)
			apiPublish(t, a, ch, 2)
		}
		for i, s := range subs {
			if got := seqOf(t, pubsOf(s.pubs.wait(t, 2, "publications"))); !slices.Equal(
				got, seq(1, 2)) {
				t.Fatalf("%s on B: %v, want [1 2]", chans[i], got)
			}
		}

		var hist struct {
			Publications []json.RawMessage `json:"publications"`
		}
		callAPI(t, b, "history", fmt.Sprintf(`{"channel":%q,"limit":-1}`, chans[0]), &hist)
		if len(hist.Publications) != 2 {
			t.Fatalf("history on B: %d publications, want 2", len(hist.Publications))
		}

		// Missed while away, recovered on reconnect.
		if err := reader.Disconnect(); err != nil {
			t.Fatal(err)
		}
		reader.disconnected.wait(t, 1, "disconnected events")
		for _, ch := range chans {
			apiPublish(t, a, ch, 3)
		}
		reader.mustConnect(t)
		for i, s := range subs {
			ev := s.subscribed.wait(t, 2, "subscribed events")[1]
			if !ev.WasRecovering || !ev.Recovered {
				t.Errorf("%s: resubscribe %+v, want recovered", chans[i], ev)
			}
			if got := seqOf(t, pubsOf(s.pubs.wait(t, 3, "publications"))); !slices.Equal(
				got, seq(1, 3)) {
				t.Fatalf("%s after recovery: %v, want [1 2 3]", chans[i], got)
			}
		}
	})
}
