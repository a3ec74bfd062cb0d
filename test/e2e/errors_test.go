package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// errorsConfig has an open namespace, a closed one and a limit of two
// channels per connection.
func errorsConfig() Config {
	return v6Config(
		map[string]any{
			"name":                         "chat",
			"allow_subscribe_for_client":   true,
			"allow_publish_for_subscriber": true,
		},
		map[string]any{"name": "secret"},
	).Set("client.channel_limit", 2)
}

// TestSubscribeErrors checks the reply error codes of refused subscriptions
// and that the SDK reports them and leaves the subscription unsubscribed.
func TestSubscribeErrors(t *testing.T) {
	srv := Start(t, errorsConfig())
	cases := []struct {
		name    string
		before  []string // channels subscribed first
		channel string
		code    uint32
	}{
		{"permission denied", nil, "secret:plans", 103},
		{"unknown namespace", nil, "nosuch:room", 102},
		{"channel too long", nil, "chat:" + strings.Repeat("a", 300), 107},
		{"non-ascii channel", nil, "chat:żółw", 107},
		{"channel limit", []string{"chat:one", "chat:two"}, "chat:three", 106},
	}
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c, _ := connectUser(t, srv, enc, "alice")
				for _, ch := range tc.before {
					c.subscribe(t, ch)
				}
				s := c.newSub(t, tc.channel)
				u := s.unsubscribed.wait(t, 1, "unsubscribed events")[0]
				if u.Code != tc.code {
					t.Errorf("unsubscribed with %d %q, want %d", u.Code, u.Reason, tc.code)
				}
				errs := s.errs.wait(t, 1, "subscription errors")
				wantErrorCode(t, errs[0], tc.code)
				if n := s.subscribed.len(); n != 0 {
					t.Errorf("%d subscribed events for a refused subscription", n)
				}
			})
		}
	})
}

// TestPublishErrors checks the reply error codes of refused publications.
func TestPublishErrors(t *testing.T) {
	srv := Start(t, errorsConfig())
	cases := []struct {
		name    string
		channel string
		code    uint32
	}{
		{"not a subscriber", "chat:room", 103},
		{"closed namespace", "secret:plans", 103},
		{"unknown namespace", "nosuch:room", 102},
	}
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		c, _ := connectUser(t, srv, enc, "alice")
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := c.Publish(opCtx(t), tc.channel, []byte(`{"x":1}`))
				wantErrorCode(t, err, tc.code)
			})
		}
	})
}

// TestServerSideChannelLimit checks that more server-side channels than
// the channel limit close the connection with 3505, and that the limit
// itself is accepted.
func TestServerSideChannelLimit(t *testing.T) {
	srv := Start(t, errorsConfig())
	token := func(t *testing.T, channels ...string) string {
		return Token(t, secret, jwt.MapClaims{
			"sub":      "alice",
			"exp":      time.Now().Add(time.Hour).Unix(),
			"channels": channels,
		})
	}
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		t.Run("at the limit", func(t *testing.T) {
			c := newClient(t, srv, enc, token(t, "chat:a", "chat:b"))
			c.mustConnect(t)
			subs := c.serverSubscribed.wait(t, 2, "server-side subscriptions")
			got := map[string]bool{}
			for _, s := range subs {
				got[s.Channel] = true
			}
			if !got["chat:a"] || !got["chat:b"] {
				t.Fatalf("server-side subscriptions %+v, want chat:a and chat:b", subs)
			}
		})
		t.Run("over the limit", func(t *testing.T) {
			c := newClient(t, srv, enc, token(t, "chat:a", "chat:b", "chat:c"))
			if err := c.Connect(); err != nil {
				t.Fatalf("connect: %v", err)
			}
			d := c.disconnected.wait(t, 1, "disconnected events")[0]
			if d.Code != 3505 {
				t.Fatalf("disconnected with %d %q, want 3505 channel limit", d.Code, d.Reason)
			}
			assertStaysDisconnected(t, c)
		})
	})
}
