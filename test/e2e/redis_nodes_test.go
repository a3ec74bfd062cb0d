package e2e

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge-go"
)

// nodeCounts is one node of an info answer, reduced to what the tests
// compare.
type nodeCounts struct {
	UID        string `json:"uid"`
	Name       string `json:"name"`
	NumClients int    `json:"num_clients"`
}

// infoNodes returns srv's info nodes, by name.
func infoNodes(t testing.TB, srv *Server) []nodeCounts {
	t.Helper()
	var info struct{ Nodes []nodeCounts }
	callAPI(t, srv, "info", `{}`, &info)
	slices.SortFunc(info.Nodes, func(a, b nodeCounts) int {
		return cmp.Compare(a.Name, b.Name)
	})
	return info.Nodes
}

// clientsByName returns the client count of each node in nodes, by name.
func clientsByName(nodes []nodeCounts) map[string]int {
	out := map[string]int{}
	for _, n := range nodes {
		out[n.Name] = n.NumClients
	}
	return out
}

// TestRedisNodesInfo checks that info on any node lists every live node
// with its clients, that a node which stops drops out at once, and that
// one which dies drops out when its announcements lapse.
func TestRedisNodesInfo(t *testing.T) {
	prefix := redisPrefix(t)
	a := Start(t, redisConfig(prefix).Set("node.name", "node-a"))
	b := Start(t, redisConfig(prefix).Set("node.name", "node-b"))
	c := Start(t, redisConfig(prefix).Set("node.name", "node-c"))
	enc := encodings[0]
	connectUser(t, a, enc, "alice")
	connectUser(t, b, enc, "bob")
	connectUser(t, b, enc, "carol")

	want := map[string]int{"node-a": 1, "node-b": 2, "node-c": 0}
	for _, srv := range []*Server{a, b, c} {
		var got []nodeCounts
		Eventually(t, WaitTimeout, func() bool {
			got = infoNodes(t, srv)
			return len(got) == 3 && fmt.Sprint(clientsByName(got)) == fmt.Sprint(want)
		}, func() string {
			return fmt.Sprintf("info on %d: %+v, want %v", srv.Port, got, want)
		})
		if got[0].UID == got[1].UID || got[1].UID == got[2].UID || got[0].UID == "" {
			t.Fatalf("node uids not distinct: %+v", got)
		}
	}

	// A stopping node says so: no wait for its announcements to lapse.
	c.Stop(t)
	var got []nodeCounts
	Eventually(t, 2*time.Second, func() bool {
		got = infoNodes(t, a)
		return len(got) == 2
	}, func() string { return fmt.Sprintf("info on A after C stopped: %+v", got) })

	// A killed node cannot: it drops out after three missed announcements.
	b.kill()
	Eventually(t, 15*time.Second, func() bool {
		got = infoNodes(t, a)
		return len(got) == 1 && got[0].Name == "node-a"
	}, func() string { return fmt.Sprintf("info on A after B died: %+v", got) })
}

// TestRedisNodesUserCommands checks that subscribe, unsubscribe and
// disconnect called through node A act on a client connected to node B.
func TestRedisNodesUserCommands(t *testing.T) {
	a, b := startRedisPair(t, map[string]any{"name": "news"})
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "news:" + enc.name
		user := "dora-" + enc.name
		c := newClient(t, b, enc, UserToken(t, secret, user, time.Hour))
		var unsubscribed eventLog[centrifuge.ServerUnsubscribedEvent]
		c.OnUnsubscribed(unsubscribed.add)
		c.mustConnect(t)

		callAPI(t, a, "subscribe", fmt.Sprintf(
			`{"user":%q,"channel":%q,"data":{"welcome":1}}`, user, ch), nil)
		ev := c.serverSubscribed.wait(t, 1, "server-side subscriptions")[0]
		if ev.Channel != ch || string(ev.Data) != `{"welcome":1}` {
			t.Fatalf("subscribed event %+v (data %s), want %s with data", ev, ev.Data, ch)
		}
		apiPublish(t, a, ch, 1)
		if pub := c.serverPubs.wait(t, 1, "publications")[0]; pub.Channel != ch {
			t.Fatalf("publication %+v, want one in %s", pub, ch)
		}

		callAPI(t, a, "unsubscribe", fmt.Sprintf(`{"user":%q,"channel":%q}`, user, ch),
			nil)
		if ev := unsubscribed.wait(t, 1, "server-side unsubscriptions")[0]; ev.Channel != ch {
			t.Fatalf("unsubscribed from %q, want %q", ev.Channel, ch)
		}

		callAPI(t, a, "disconnect", fmt.Sprintf(
			`{"user":%q,"disconnect":{"code":4501,"reason":"banned"}}`, user), nil)
		dev := c.disconnected.wait(t, 1, "disconnected events")[0]
		if dev.Code != 4501 || dev.Reason != "banned" {
			t.Fatalf("disconnected %+v, want 4501 banned", dev)
		}
	})
}

// TestRedisNodesRefresh checks that refresh called through node A updates
// and expires a connection on node B.
func TestRedisNodesRefresh(t *testing.T) {
	a, b := startRedisPair(t, map[string]any{
		"name": "room", "presence": true,
	})
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "room:" + enc.name
		user := "erin-" + enc.name
		c, id := connectUser(t, b, enc, user)

		// Commands reach B in order: the subscription made after the
		// refresh carries the new connection info into presence.
		callAPI(t, a, "refresh", fmt.Sprintf(`{"user":%q,"info":{"v":2}}`, user), nil)
		callAPI(t, a, "subscribe", fmt.Sprintf(`{"user":%q,"channel":%q}`, user, ch), nil)
		var pres struct {
			Presence map[string]struct {
				ConnInfo json.RawMessage `json:"conn_info"`
			}
		}
		Eventually(t, WaitTimeout, func() bool {
			callAPI(t, a, "presence", fmt.Sprintf(`{"channel":%q}`, ch), &pres)
			return string(pres.Presence[id].ConnInfo) == `{"v":2}`
		}, func() string { return fmt.Sprintf("presence on A: %+v", pres) })

		n := c.connecting.len()
		callAPI(t, a, "refresh", fmt.Sprintf(`{"user":%q,"expired":true}`, user), nil)
		ev := c.connecting.wait(t, n+1, "connecting events")[n]
		if ev.Code != 3005 {
			t.Fatalf("connecting after refresh expired: %+v, want code 3005", ev)
		}
	})
}

// TestRedisKilledNodePresenceExpires kills a node whose client is present
// in a channel: the node cannot say goodbye, so the client's presence
// entry stays until the presence TTL runs out, and then it is gone on the
// surviving node, while a client of the survivor stays present.
func TestRedisKilledNodePresenceExpires(t *testing.T) {
	prefix := redisPrefix(t)
	ns := map[string]any{"name": "room", "presence": true, "allow_subscribe_for_client": true}
	cfg := func(name string) Config {
		// Sessions refresh their presence once per ping interval, so it
		// must be shorter than the TTL for the live client to stay.
		return redisConfig(prefix, ns).Set("node.name", name).
			Set("engine.redis.presence_ttl", "3s").
			Set("client.ping_interval", "1s").Set("client.pong_timeout", "500ms")
	}
	a, b := Start(t, cfg("node-a")), Start(t, cfg("node-b"))
	enc := encodings[0]
	const ch = "room:expiry"
	stay, stayID := connectUser(t, a, enc, "stays")
	stay.subscribe(t, ch)
	gone, goneID := connectUser(t, b, enc, "goes")
	gone.subscribe(t, ch)

	var pres redisPresence
	present := func() map[string]bool {
		pres = redisPresence{}
		callAPI(t, a, "presence", fmt.Sprintf(`{"channel":%q}`, ch), &pres)
		out := map[string]bool{}
		for id := range pres.Presence {
			out[id] = true
		}
		return out
	}
	Eventually(t, WaitTimeout, func() bool { p := present(); return p[stayID] && p[goneID] },
		func() string { return fmt.Sprintf("presence before the kill: %+v", pres) })

	b.kill()
	killed := time.Now()
	Eventually(t, 15*time.Second, func() bool { return !present()[goneID] },
		func() string { return fmt.Sprintf("presence after the kill: %+v", pres) })
	// Its last refresh came at most a ping interval (1 s) before the kill,
	// so its entry had at least 2 s of its 3 s TTL left; allow a tick.
	if d := time.Since(killed); d < time.Second {
		t.Errorf("the dead node's client left presence after %v, before its TTL", d)
	}
	if !present()[stayID] {
		t.Errorf("the surviving node's client left presence: %+v", pres)
	}
}
