package e2e

import (
	"fmt"
	"maps"
	"strconv"
	"testing"
)

// apiChannels returns srv's answer to the channels method with params, as
// channel -> num_clients.
func apiChannels(t testing.TB, srv *Server, params string) map[string]int {
	t.Helper()
	var res struct {
		Channels map[string]struct {
			NumClients int `json:"num_clients"`
		}
	}
	callAPI(t, srv, "channels", params, &res)
	out := make(map[string]int, len(res.Channels))
	for ch, info := range res.Channels {
		out[ch] = info.NumClients
	}
	return out
}

// TestRedisChannelsAcrossNodes checks that the channels method on either
// of two nodes counts the subscribers of both, filters by pattern, and
// leaves out a node that stopped.
func TestRedisChannelsAcrossNodes(t *testing.T) {
	open := func(name string) map[string]any {
		return map[string]any{"name": name, "allow_subscribe_for_client": true}
	}
	a, b := startRedisPair(t, open("room"), open("lobby"))
	enc := encodings[0]
	alice, _ := connectUser(t, a, enc, "alice")
	for _, ch := range []string{"room:1", "room:2", "lobby:main"} {
		alice.subscribe(t, ch)
	}
	bob, _ := connectUser(t, b, enc, "bob")
	for _, ch := range []string{"room:2", "room:3"} {
		bob.subscribe(t, ch)
	}
	carol, _ := connectUser(t, b, enc, "carol")
	carol.subscribe(t, "room:2")

	tests := []struct {
		pattern string
		want    map[string]int
	}{
		{"", map[string]int{"room:1": 1, "room:2": 3, "room:3": 1, "lobby:main": 1}},
		{"room:*", map[string]int{"room:1": 1, "room:2": 3, "room:3": 1}},
		{"{lobby:*,room:[3-9]}", map[string]int{"room:3": 1, "lobby:main": 1}},
		{"nothing:*", map[string]int{}},
	}
	for _, tt := range tests {
		params := `{}`
		if tt.pattern != "" {
			params = `{"pattern":` + strconv.Quote(tt.pattern) + `}`
		}
		for name, srv := range map[string]*Server{"A": a, "B": b} {
			// The nodes learn of each other from their first
			// announcements; until then each counts only its own.
			var got map[string]int
			Eventually(t, WaitTimeout, func() bool {
				got = apiChannels(t, srv, params)
				return maps.Equal(got, tt.want)
			}, func() string {
				return fmt.Sprintf("channels %s on %s: %v, want %v", params, name, got,
					tt.want)
			})
		}
	}

	// B says it is leaving when it stops: A answers without it at once.
	b.Stop(t)
	want := map[string]int{"room:1": 1, "room:2": 1, "lobby:main": 1}
	var got map[string]int
	Eventually(t, WaitTimeout, func() bool {
		got = apiChannels(t, a, `{}`)
		return maps.Equal(got, want)
	}, func() string { return fmt.Sprintf("channels on A after B stopped: %v", got) })
}
