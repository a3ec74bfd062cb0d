package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge-go"
	"github.com/centrifugal/protocol"
	"github.com/redis/rueidis"
)

// redisAddress is the Redis server the Redis engine tests share. Each test
// keeps to its own key prefix, so tests never see each other's data and
// nothing else in that Redis is touched.
const redisAddress = "redis://127.0.0.1:6379"

// redisPrefix returns a key prefix no other test or run uses, and deletes
// the keys under it when the test ends.
func redisPrefix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "herald-e2e-" + hex.EncodeToString(b)
	t.Cleanup(func() { deleteRedisKeys(t, prefix) })
	return prefix
}

// deleteRedisKeys removes the keys that start with prefix; it runs after
// the servers of the test have stopped, so nothing writes them again.
func deleteRedisKeys(t *testing.T, prefix string) {
	c, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress: []string{"127.0.0.1:6379"}, DisableCache: true,
		ForceSingleClient: true,
	})
	if err != nil {
		t.Logf("redis cleanup: %v", err)
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var cursor uint64
	for {
		e, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).
			Build()).AsScanEntry()
		if err != nil {
			t.Logf("redis cleanup: scan: %v", err)
			return
		}
		if len(e.Elements) > 0 {
			if err := c.Do(ctx, c.B().Del().Key(e.Elements...).Build()).Error(); err != nil {
				t.Logf("redis cleanup: del: %v", err)
				return
			}
		}
		if cursor = e.Cursor; cursor == 0 {
			return
		}
	}
}

// redisConfig is apiConfig with the Redis engine under prefix.
func redisConfig(prefix string, namespaces ...map[string]any) Config {
	return apiConfig(namespaces...).
		Set("engine.type", "redis").
		Set("engine.redis.address", []string{redisAddress}).
		Set("engine.redis.prefix", prefix)
}

// startRedisPair starts two nodes, A and B, on one Redis with a fresh
// prefix; both have the given namespaces.
func startRedisPair(t *testing.T, namespaces ...map[string]any) (a, b *Server) {
	t.Helper()
	prefix := redisPrefix(t)
	a = Start(t, redisConfig(prefix, namespaces...).Set("node.name", "node-a"))
	b = Start(t, redisConfig(prefix, namespaces...).Set("node.name", "node-b"))
	return a, b
}

// apiPublish publishes {"n": n} into ch through srv's HTTP API.
func apiPublish(t testing.TB, srv *Server, ch string, n int) {
	t.Helper()
	callAPI(t, srv, "publish", fmt.Sprintf(`{"channel":%q,"data":{"n":%d}}`, ch, n), nil)
}

// TestRedisPublishAcrossNodes checks that publications made on node A, by
// the HTTP API and by a client, reach subscribers on node B and on A, in
// order and once each.
func TestRedisPublishAcrossNodes(t *testing.T) {
	a, b := startRedisPair(t, map[string]any{
		"name":                         "chat",
		"allow_subscribe_for_client":   true,
		"allow_publish_for_subscriber": true,
	})
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "chat:room-" + enc.name
		onB, _ := connectUser(t, b, enc, "bob")
		subB := onB.subscribe(t, ch)
		writer, writerID := connectUser(t, a, enc, "alice")
		subA := writer.subscribe(t, ch)

		apiPublish(t, a, ch, 1)
		if _, err := subA.Publish(opCtx(t), jsonData(t, seqData{N: 2})); err != nil {
			t.Fatalf("client publish on A: %v", err)
		}
		apiPublish(t, a, ch, 3)

		for name, s := range map[string]*sdkSub{"B": subB, "A": subA} {
			pubs := pubsOf(s.pubs.wait(t, 3, "publications on "+name))
			if got := seqOf(t, pubs); !slices.Equal(got, seq(1, 3)) {
				t.Fatalf("subscriber on %s got %v, want %v", name, got, seq(1, 3))
			}
			if info := pubs[1].Info; info == nil || info.User != "alice" ||
				info.Client != writerID {
				t.Errorf("subscriber on %s: client publication info %+v, want alice/%s",
					name, info, writerID)
			}
			if pubs[0].Info != nil {
				t.Errorf("subscriber on %s: API publication has info %+v", name, pubs[0].Info)
			}
		}
		// A fourth publication, from B this time, arrives as the fourth
		// event on both nodes: nothing above was delivered twice.
		apiPublish(t, b, ch, 4)
		for name, s := range map[string]*sdkSub{"B": subB, "A": subA} {
			if got := seqOf(t, pubsOf(s.pubs.wait(t, 4, "publications"))); !slices.Equal(
				got, seq(1, 4)) {
				t.Fatalf("subscriber on %s got %v, want %v", name, got, seq(1, 4))
			}
		}
	})
}

// TestRedisHistoryAcrossNodes checks that node B serves the history of
// publications made through node A, to clients and to the API, with the
// same offsets and epoch.
func TestRedisHistoryAcrossNodes(t *testing.T) {
	a, b := startRedisPair(t, map[string]any{
		"name":                         "feed",
		"history_size":                 10,
		"history_ttl":                  "300s",
		"allow_subscribe_for_client":   true,
		"allow_history_for_subscriber": true,
	})
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "feed:news-" + enc.name
		const published = 12 // the stream keeps 3..12
		for i := 1; i <= published; i++ {
			apiPublish(t, a, ch, i)
		}

		c, _ := connectUser(t, b, enc, "bob")
		s := c.subscribe(t, ch)
		res, err := s.History(opCtx(t), centrifuge.WithHistoryLimit(-1))
		if err != nil {
			t.Fatalf("history on B: %v", err)
		}
		if got := seqOf(t, res.Publications); !slices.Equal(got, seq(3, published)) {
			t.Fatalf("history on B %v, want %v", got, seq(3, published))
		}
		if got := offsetsOf(res.Publications); got[0] != 3 || got[len(got)-1] != published {
			t.Errorf("offsets %v, want 3..%d", got, published)
		}
		if res.Offset != published || res.Epoch == "" {
			t.Errorf("position %d/%q, want %d and an epoch", res.Offset, res.Epoch, published)
		}

		var hist struct {
			Publications []struct{ Offset uint64 }
			Epoch        string
			Offset       uint64
		}
		callAPI(t, a, "history", fmt.Sprintf(`{"channel":%q,"limit":2,"reverse":true}`, ch),
			&hist)
		if hist.Epoch != res.Epoch || hist.Offset != published || len(hist.Publications) != 2 ||
			hist.Publications[0].Offset != published {
			t.Errorf("API history on A %+v, want epoch %q, newest first", hist, res.Epoch)
		}
	})
}

// TestRedisRecoveryAcrossNodes checks that a subscriber on node B that
// misses publications made through node A recovers exactly those, whether
// it comes back to B (SDK reconnect) or to A (a recovering subscribe from
// the position it last saw).
func TestRedisRecoveryAcrossNodes(t *testing.T) {
	a, b := startRedisPair(t, map[string]any{
		"name":                       "news",
		"history_size":               100,
		"history_ttl":                "300s",
		"force_recovery":             true,
		"allow_subscribe_for_client": true,
		"allow_publish_for_client":   true,
	})
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "news:wire-" + enc.name
		reader, _ := connectUser(t, b, enc, "alice")
		sub := reader.subscribe(t, ch)
		if ev := sub.subscribed.all()[0]; !ev.Recoverable || !ev.Positioned {
			t.Fatalf("first subscribe %+v, want recoverable and positioned", ev)
		}
		writer, _ := connectUser(t, a, enc, "bob")
		publish := func(n int) {
			t.Helper()
			if _, err := writer.Publish(opCtx(t), ch, jsonData(t, seqData{N: n})); err != nil {
				t.Fatalf("publish %d on A: %v", n, err)
			}
		}

		publish(1)
		sub.pubs.wait(t, 1, "live publications")
		if err := reader.Disconnect(); err != nil {
			t.Fatalf("disconnect: %v", err)
		}
		reader.disconnected.wait(t, 1, "disconnected events")
		for n := 2; n <= 4; n++ {
			publish(n)
		}

		reader.mustConnect(t)
		ev := sub.subscribed.wait(t, 2, "subscribed events")[1]
		if !ev.WasRecovering || !ev.Recovered {
			t.Errorf("resubscribe on B %+v, want was_recovering and recovered", ev)
		}
		sub.pubs.wait(t, 4, "publications after recovery")
		publish(5)
		pubs := pubsOf(sub.pubs.wait(t, 5, "publications"))
		if got := seqOf(t, pubs); !slices.Equal(got, seq(1, 5)) {
			t.Fatalf("publications on B %v, want %v", got, seq(1, 5))
		}
		if got := offsetsOf(pubs); !slices.Equal(got, []uint64{1, 2, 3, 4, 5}) {
			t.Fatalf("offsets %v, want 1..5", got)
		}
		epoch := ev.StreamPosition
		if epoch == nil || epoch.Epoch == "" {
			t.Fatalf("resubscribe without a stream position: %+v", ev)
		}

		// The reader moves to node A after offset 5; 6 and 7 are published
		// while it is away.
		if err := reader.Disconnect(); err != nil {
			t.Fatalf("disconnect: %v", err)
		}
		reader.disconnected.wait(t, 2, "disconnected events")
		publish(6)
		publish(7)
		raw := dialRaw(t, a, enc, nil)
		raw.connect(UserToken(t, secret, "alice", time.Hour))
		r := raw.call(&protocol.Command{Subscribe: &protocol.SubscribeRequest{
			Channel: ch, Recover: true, Offset: 5, Epoch: epoch.Epoch,
		}})
		if r.Error != nil || r.Subscribe == nil {
			t.Fatalf("recovering subscribe on A: %+v", r)
		}
		res := r.Subscribe
		if !res.Recovered || !res.WasRecovering || res.Offset != 7 || res.Epoch != epoch.Epoch {
			t.Fatalf("subscribe on A: recovered %v, was_recovering %v, position %d/%q; "+
				"want recovered at 7/%q", res.Recovered, res.WasRecovering, res.Offset,
				res.Epoch, epoch.Epoch)
		}
		var got []int
		for _, p := range res.Publications {
			var d seqData
			if err := json.Unmarshal(p.Data, &d); err != nil {
				t.Fatalf("recovered data %q: %v", p.Data, err)
			}
			got = append(got, d.N)
		}
		if !slices.Equal(got, []int{6, 7}) {
			t.Fatalf("recovered on A %v, want [6 7]", got)
		}
	})
}

// redisPresence is the presence API result.
type redisPresence struct {
	Presence map[string]struct{ User, Client string }
}

// TestRedisPresenceAcrossNodes checks presence and presence_stats of a
// channel with subscribers on both nodes, asked from either node, by
// clients and through the API, and that a client leaving one node drops
// out of what the other node reports.
func TestRedisPresenceAcrossNodes(t *testing.T) {
	a, b := startRedisPair(t, map[string]any{
		"name":                          "room",
		"presence":                      true,
		"allow_subscribe_for_client":    true,
		"allow_presence_for_subscriber": true,
	})
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "room:lobby-" + enc.name
		want := map[string]string{}   // client id -> user
		subs := map[*Server]*sdkSub{} // the first subscriber on each node
		var leaver *sdkClient
		var leaverID string
		for _, m := range []struct {
			srv  *Server
			user string
		}{{a, "alice"}, {b, "alice"}, {b, "bob"}} {
			c, id := connectUser(t, m.srv, enc, m.user)
			s := c.subscribe(t, ch)
			if subs[m.srv] == nil {
				subs[m.srv] = s
			}
			want[id] = m.user
			if m.srv == b && m.user == "bob" {
				leaver, leaverID = c, id
			}
		}

		check := func(want map[string]string, users int) {
			t.Helper()
			for name, srv := range map[string]*Server{"A": a, "B": b} {
				var got centrifuge.PresenceResult
				Eventually(t, WaitTimeout, func() bool {
					res, err := subs[srv].Presence(opCtx(t))
					if err != nil {
						return false
					}
					got = res
					return len(res.Clients) == len(want)
				}, func() string {
					return fmt.Sprintf("presence on %s %+v, want %d clients", name,
						got.Clients, len(want))
				})
				for id, user := range want {
					if info, ok := got.Clients[id]; !ok || info.User != user {
						t.Errorf("presence on %s [%s] = %+v, %v; want user %s", name, id, info,
							ok, user)
					}
				}
				stats, err := subs[srv].PresenceStats(opCtx(t))
				if err != nil {
					t.Fatalf("presence stats on %s: %v", name, err)
				}
				if int(stats.NumClients) != len(want) || int(stats.NumUsers) != users {
					t.Errorf("presence stats on %s %+v, want %d clients, %d users", name,
						stats.PresenceStats, len(want), users)
				}

				var api redisPresence
				callAPI(t, srv, "presence", fmt.Sprintf(`{"channel":%q}`, ch), &api)
				if len(api.Presence) != len(want) {
					t.Errorf("API presence on %s %+v, want %d clients", name, api.Presence,
						len(want))
				}
			}
		}
		check(want, 2)

		if err := leaver.Disconnect(); err != nil {
			t.Fatalf("disconnect: %v", err)
		}
		delete(want, leaverID)
		check(want, 1) // alice, on both nodes
	})
}

// TestRedisJoinLeaveAcrossNodes checks that join and leave pushes cross
// nodes in both directions.
func TestRedisJoinLeaveAcrossNodes(t *testing.T) {
	a, b := startRedisPair(t, map[string]any{
		"name":                       "lobby",
		"join_leave":                 true,
		"force_push_join_leave":      true,
		"allow_subscribe_for_client": true,
	})
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "lobby:hall-" + enc.name
		alice, _ := connectUser(t, a, enc, "alice")
		watchA := alice.subscribe(t, ch)

		bob, bobID := connectUser(t, b, enc, "bob")
		bobSub := bob.subscribe(t, ch)
		waitClientEvent(t, &watchA.joins, bobID, "bob", "join from B seen on A")

		carol, carolID := connectUser(t, a, enc, "carol")
		carol.subscribe(t, ch)
		waitClientEvent(t, &bobSub.joins, carolID, "carol", "join from A seen on B")

		if err := bobSub.Unsubscribe(); err != nil {
			t.Fatalf("unsubscribe: %v", err)
		}
		waitClientEvent(t, &watchA.leaves, bobID, "bob", "leave from B seen on A")

		dave, daveID := connectUser(t, b, enc, "dave")
		dave.subscribe(t, ch)
		waitClientEvent(t, &watchA.joins, daveID, "dave", "join from B seen on A")
		if err := dave.Disconnect(); err != nil {
			t.Fatalf("disconnect: %v", err)
		}
		waitClientEvent(t, &watchA.leaves, daveID, "dave", "leave on disconnect from B")
	})
}

// TestRedisV3Config checks that a node configured with the v3 flat keys
// (engine, redis_address, redis_prefix) joins a v6-configured node on the
// same Redis prefix.
func TestRedisV3Config(t *testing.T) {
	prefix := redisPrefix(t)
	v3 := Start(t, Config{
		"token_hmac_secret_key": secret, "api_key": apiKey,
		"engine": "redis", "redis_address": "127.0.0.1:6379", "redis_prefix": prefix,
		"presence_ttl": 30,
		"namespaces": []map[string]any{{"name": "chat", "history_size": 10,
			"history_ttl": 300, "presence": true}},
	})
	v6 := Start(t, redisConfig(prefix, map[string]any{
		"name": "chat", "history_size": 10, "history_ttl": "300s", "presence": true,
		"allow_subscribe_for_client": true, "allow_presence_for_subscriber": true,
	}))
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "chat:v3-" + enc.name
		c, id := connectUser(t, v6, enc, "bob")
		s := c.subscribe(t, ch)
		apiPublish(t, v3, ch, 1)
		if got := seqOf(t, pubsOf(s.pubs.wait(t, 1, "publications"))); !slices.Equal(
			got, []int{1}) {
			t.Fatalf("publications %v, want [1]", got)
		}
		var api redisPresence
		callAPI(t, v3, "presence", fmt.Sprintf(`{"channel":%q}`, ch), &api)
		if p, ok := api.Presence[id]; !ok || p.User != "bob" {
			t.Fatalf("presence on the v3 node %+v, want %s of bob", api.Presence, id)
		}
	})
}
