package e2e

import (
	"fmt"
	"slices"
	"testing"

	"github.com/centrifugal/centrifuge-go"
)

// TestPublishSubscribe checks that a client publication reaches every
// subscriber, in order and once, whatever encoding each subscriber uses.
func TestPublishSubscribe(t *testing.T) {
	srv := Start(t, v6Config(map[string]any{
		"name":                         "chat",
		"allow_subscribe_for_client":   true,
		"allow_publish_for_subscriber": true,
	}))
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "chat:room-" + enc.name
		alice, aliceID := connectUser(t, srv, enc, "alice")
		bob, _ := connectUser(t, srv, encodings[0], "bob")
		carol, _ := connectUser(t, srv, encodings[1], "carol")
		pubSub := alice.subscribe(t, ch)
		subs := map[string]*sdkSub{
			"alice (publisher)": pubSub,
			"bob (json)":        bob.subscribe(t, ch),
			"carol (protobuf)":  carol.subscribe(t, ch),
		}

		const n = 5
		for i := 1; i <= n; i++ {
			if _, err := pubSub.Publish(opCtx(t), jsonData(t, seqData{N: i})); err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
		}

		for name, s := range subs {
			evs := s.pubs.wait(t, n, name+" publications")
			pubs := pubsOf(evs)
			if got := seqOf(t, pubs); !slices.Equal(got, seq(1, n)) {
				t.Errorf("%s got %v, want %v", name, got, seq(1, n))
			}
			for _, p := range pubs {
				if p.Info == nil || p.Info.User != "alice" || p.Info.Client != aliceID {
					t.Errorf("%s: publication info %+v, want user alice, client %s",
						name, p.Info, aliceID)
				}
			}
		}
	})
}

// TestPresence checks presence and presence_stats for subscribers, and
// that a client that is not subscribed is denied.
func TestPresence(t *testing.T) {
	srv := Start(t, v6Config(map[string]any{
		"name":                          "room",
		"presence":                      true,
		"allow_subscribe_for_client":    true,
		"allow_presence_for_subscriber": true,
	}))
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "room:lobby-" + enc.name
		want := map[string]string{} // client id -> user
		var first *sdkSub
		for _, user := range []string{"alice", "bob", "alice"} {
			c, id := connectUser(t, srv, enc, user)
			s := c.subscribe(t, ch)
			if first == nil {
				first = s
			}
			want[id] = user
		}

		var got centrifuge.PresenceResult
		Eventually(t, WaitTimeout, func() bool {
			res, err := first.Presence(opCtx(t))
			if err != nil {
				return false
			}
			got = res
			return len(res.Clients) == len(want)
		}, func() string { return fmt.Sprintf("presence %+v, want %d clients", got.Clients, len(want)) })
		for id, user := range want {
			info, ok := got.Clients[id]
			if !ok || info.User != user || info.Client != id {
				t.Errorf("presence[%s] = %+v, %v; want user %s", id, info, ok, user)
			}
		}

		stats, err := first.PresenceStats(opCtx(t))
		if err != nil {
			t.Fatalf("presence stats: %v", err)
		}
		if stats.NumClients != 3 || stats.NumUsers != 2 {
			t.Errorf("presence stats %+v, want 3 clients, 2 users", stats.PresenceStats)
		}

		outsider, _ := connectUser(t, srv, enc, "dave")
		_, err = outsider.Presence(opCtx(t), ch)
		wantErrorCode(t, err, 103)
		_, err = outsider.PresenceStats(opCtx(t), ch)
		wantErrorCode(t, err, 103)
	})
}

// TestHistory checks history with limit, since and reverse over a stream
// that has already been trimmed to history_size.
func TestHistory(t *testing.T) {
	srv := Start(t, v6Config(map[string]any{
		"name":                         "feed",
		"history_size":                 10,
		"history_ttl":                  "300s",
		"allow_subscribe_for_client":   true,
		"allow_publish_for_subscriber": true,
		"allow_history_for_subscriber": true,
	}))
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "feed:news-" + enc.name
		c, _ := connectUser(t, srv, enc, "alice")
		s := c.subscribe(t, ch)
		const published = 12 // the stream keeps 3..12
		for i := 1; i <= published; i++ {
			if _, err := s.Publish(opCtx(t), jsonData(t, seqData{N: i})); err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
		}

		top, err := s.History(opCtx(t))
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		if top.Offset != published || top.Epoch == "" || len(top.Publications) != 0 {
			t.Fatalf("history without limit = offset %d epoch %q %d publications; "+
				"want offset %d, an epoch, no publications",
				top.Offset, top.Epoch, len(top.Publications), published)
		}
		cases := []struct {
			name    string
			limit   int32
			since   uint64 // an offset in the current epoch; 0 for none
			reverse bool
			want    []int
		}{
			{"limit 3", 3, 0, false, seq(3, 5)},
			{"limit above size", 100, 0, false, seq(3, 12)},
			{"reverse limit 2", 2, 0, true, []int{12, 11}},
			{"since 8", 10, 8, false, seq(9, 12)},
			{"since 8 limit 2", 2, 8, false, seq(9, 10)},
			{"since top", 10, published, false, nil},
			{"since 6 reverse", 2, 6, true, []int{5, 4}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				opts := []centrifuge.HistoryOption{
					centrifuge.WithHistoryLimit(tc.limit),
					centrifuge.WithHistoryReverse(tc.reverse),
				}
				if tc.since > 0 {
					pos := &centrifuge.StreamPosition{Offset: tc.since, Epoch: top.Epoch}
					opts = append(opts, centrifuge.WithHistorySince(pos))
				}
				res, err := s.History(opCtx(t), opts...)
				if err != nil {
					t.Fatalf("history: %v", err)
				}
				if got := seqOf(t, res.Publications); !slices.Equal(got, tc.want) {
					t.Errorf("publications %v, want %v", got, tc.want)
				}
				for i, n := range seqOf(t, res.Publications) {
					if off := res.Publications[i].Offset; off != uint64(n) {
						t.Errorf("publication %d has offset %d", n, off)
					}
				}
				if res.Offset != published || res.Epoch != top.Epoch {
					t.Errorf("position %d/%q, want %d/%q", res.Offset, res.Epoch, published, top.Epoch)
				}
			})
		}

		outsider, _ := connectUser(t, srv, enc, "dave")
		_, err = outsider.History(opCtx(t), ch, centrifuge.WithHistoryLimit(1))
		wantErrorCode(t, err, 103)
	})
}

// TestJoinLeave checks join and leave pushes when the namespace forces them.
func TestJoinLeave(t *testing.T) {
	srv := Start(t, v6Config(map[string]any{
		"name":                       "lobby",
		"join_leave":                 true,
		"force_push_join_leave":      true,
		"allow_subscribe_for_client": true,
	}))
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "lobby:hall-" + enc.name
		alice, _ := connectUser(t, srv, enc, "alice")
		watcher := alice.subscribe(t, ch)

		bob, bobID := connectUser(t, srv, enc, "bob")
		bobSub := bob.subscribe(t, ch)
		waitClientEvent(t, &watcher.joins, bobID, "bob", "join")

		if err := bobSub.Unsubscribe(); err != nil {
			t.Fatalf("unsubscribe: %v", err)
		}
		waitClientEvent(t, &watcher.leaves, bobID, "bob", "leave")

		carol, carolID := connectUser(t, srv, enc, "carol")
		carol.subscribe(t, ch)
		waitClientEvent(t, &watcher.joins, carolID, "carol", "join")
		if err := carol.Disconnect(); err != nil {
			t.Fatalf("disconnect: %v", err)
		}
		waitClientEvent(t, &watcher.leaves, carolID, "carol", "leave on disconnect")
	})
}

// clientEvent is a join or a leave event.
type clientEvent interface {
	centrifuge.JoinEvent | centrifuge.LeaveEvent
}

// waitClientEvent waits for a join or leave of the given client.
func waitClientEvent[T clientEvent](t *testing.T, log *eventLog[T], client, user, what string) {
	t.Helper()
	match := func() bool {
		for _, ev := range log.all() {
			var info centrifuge.ClientInfo
			switch e := any(ev).(type) {
			case centrifuge.JoinEvent:
				info = e.ClientInfo
			case centrifuge.LeaveEvent:
				info = e.ClientInfo
			}
			if info.Client == client && info.User == user {
				return true
			}
		}
		return false
	}
	Eventually(t, WaitTimeout, match, func() string {
		return fmt.Sprintf("%s of %s (%s); events so far: %+v", what, user, client, log.all())
	})
}

// TestRecovery checks that a subscriber that reconnects gets exactly the
// publications it missed, and is told they were recovered.
func TestRecovery(t *testing.T) {
	srv := Start(t, v6Config(map[string]any{
		"name":                       "news",
		"history_size":               100,
		"history_ttl":                "300s",
		"force_recovery":             true,
		"allow_subscribe_for_client": true,
		"allow_publish_for_client":   true,
	}))
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "news:wire-" + enc.name
		reader, _ := connectUser(t, srv, enc, "alice")
		sub := reader.subscribe(t, ch)
		if ev := sub.subscribed.all()[0]; !ev.Recoverable || !ev.Positioned {
			t.Fatalf("first subscribe %+v, want recoverable and positioned", ev)
		}
		writer, _ := connectUser(t, srv, enc, "bob")
		publish := func(n int) {
			t.Helper()
			if _, err := writer.Publish(opCtx(t), ch, jsonData(t, seqData{N: n})); err != nil {
				t.Fatalf("publish %d: %v", n, err)
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
			t.Errorf("resubscribe %+v, want was_recovering and recovered", ev)
		}
		sub.pubs.wait(t, 4, "publications after recovery")

		// A live publication after the recovered ones proves that none of
		// them is delivered twice: it must be the fifth event exactly.
		publish(5)
		pubs := pubsOf(sub.pubs.wait(t, 5, "publications"))
		if got := seqOf(t, pubs); !slices.Equal(got, seq(1, 5)) {
			t.Fatalf("publications %v, want %v", got, seq(1, 5))
		}
		if got := offsetsOf(pubs); !slices.Equal(got, []uint64{1, 2, 3, 4, 5}) {
			t.Fatalf("offsets %v, want 1..5", got)
		}
	})
}

// TestPersonalChannel checks the server-side subscription to the user's
// personal channel, in both config dialects: the SDK reports it, and a
// publication into it arrives through the client-level publication event.
func TestPersonalChannel(t *testing.T) {
	dialects := []struct {
		name string
		cfg  Config
	}{
		{"v3", Config{
			"token_hmac_secret_key":      secret,
			"user_subscribe_to_personal": true,
			"publish":                    true,
		}},
		{"v6", v6Config().
			Set("client.subscribe_to_user_personal_channel.enabled", true).
			Set("channel.without_namespace.allow_publish_for_client", true)},
	}
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			srv := Start(t, d.cfg)
			forEachEncoding(t, func(t *testing.T, enc encoding) {
				user := "carol-" + enc.name
				personal := "#" + user
				carol, _ := connectUser(t, srv, enc, user)
				subs := carol.serverSubscribed.wait(t, 1, "server-side subscriptions")
				if subs[0].Channel != personal {
					t.Fatalf("server-side subscription to %q, want %q", subs[0].Channel, personal)
				}

				bob, _ := connectUser(t, srv, enc, "bob")
				data := jsonData(t, map[string]string{"text": "for carol"})
				if _, err := bob.Publish(opCtx(t), personal, data); err != nil {
					t.Fatalf("publish to %s: %v", personal, err)
				}
				got := carol.serverPubs.wait(t, 1, "publications on the personal channel")[0]
				if got.Channel != personal || !sameJSON(got.Data, data) {
					t.Fatalf("publication %q on %q, want %s on %q",
						got.Data, got.Channel, data, personal)
				}
			})
		})
	}
}
