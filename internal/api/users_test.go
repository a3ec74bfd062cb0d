package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/protocol"
)

// TestConnectionMethods checks subscribe, unsubscribe, disconnect and
// refresh by what the connected clients see.
func TestConnectionMethods(t *testing.T) {
	for _, st := range styles {
		t.Run(st.name, func(t *testing.T) {
			t.Run("subscribe", func(t *testing.T) { testSubscribe(t, st) })
			t.Run("subscribe errors", func(t *testing.T) { testSubscribeErrors(t, st) })
			t.Run("unsubscribe", func(t *testing.T) { testUnsubscribe(t, st) })
			t.Run("disconnect", func(t *testing.T) { testDisconnect(t, st) })
			t.Run("refresh", func(t *testing.T) { testRefresh(t, st) })
		})
	}
}

func testSubscribe(t *testing.T, st style) {
	e := newEnv(t)
	a1, a2, b := e.connect(t, "alice"), e.connect(t, "alice"), e.connect(t, "bob")

	got := st.call(e, t, "subscribe",
		`{"user":"alice","channel":"hist:a","data":{"welcome":true},"b64info":"eyJpIjoxfQ=="}`)
	if got != wantEmpty {
		t.Fatalf("subscribe: %s", got)
	}
	for _, c := range []*client{a1, a2} {
		push := c.push(t, "subscribe", "hist:a")
		var sub struct{ Data json.RawMessage }
		if err := json.Unmarshal(push, &sub); err != nil || string(sub.Data) != `{"welcome":true}` {
			t.Fatalf("subscribe push %s", push)
		}
	}

	// Publications reach the new subscribers, data byte for byte.
	e.method(t, "publish", `{"channel":"hist:a","data":{ "x" : 1 }}`)
	if pub := a1.push(t, "pub", "hist:a"); !strings.Contains(string(pub),
		`"data":{ "x" : 1 }`) {
		t.Fatalf("publication %s", pub)
	}
	// Channel info from b64info shows in presence.
	jsonMatch(t, e.method(t, "presence", `{"channel":"hist:a"}`), fmt.Sprintf(
		`{"result":{"presence":{%q:{"user":"alice","client":%[1]q,"chan_info":{"i":1}},`+
			`%q:{"user":"alice","client":%[2]q,"chan_info":{"i":1}}}}}`, a1.id, a2.id))

	// Client and session select one connection.
	st.call(e, t, "subscribe", fmt.Sprintf(`{"user":"bob","channel":"news","client":%q}`, b.id))
	b.push(t, "subscribe", "news")
	st.call(e, t, "subscribe", fmt.Sprintf(`{"user":"alice","channel":"news","session":%q}`,
		a2.id))
	a2.push(t, "subscribe", "news")
	jsonMatch(t, e.method(t, "channels", `{"pattern":"news"}`),
		`{"result":{"channels":{"news":{"num_clients":2}}}}`)

	// Recovery from a position and overrides in both spellings decode.
	got = st.call(e, t, "subscribe", `{"user":"bob","channel":"hist:b","expire_at":`+
		fmt.Sprint(time.Now().Add(time.Hour).Unix())+`,"recover_since":{"offset":0,"epoch":""},`+
		`"override":{"presence":{"value":false},"join_leave":true,"position":{"value":true},`+
		`"force_recovery":{"value":false}}}`)
	if got != wantEmpty {
		t.Fatalf("subscribe with options: %s", got)
	}
	b.push(t, "subscribe", "hist:b")
	// The presence override keeps bob out of presence.
	jsonMatch(t, e.method(t, "presence", `{"channel":"hist:b"}`), `{"result":{"presence":{}}}`)
}

func testSubscribeErrors(t *testing.T, st style) {
	e := newEnv(t)
	e.connect(t, "alice")
	tests := []struct{ params, want string }{
		{`{"user":"alice"}`, wantNoChannel},
		{`{"user":"alice","channel":"nope:x"}`, wantUnknownChan},
		{`{"user":"alice","channel":"news","b64info":"!"}`,
			wantBad("b64info is not base64")},
		{`{"user":"alice","channel":"news","b64data":"!"}`,
			wantBad("b64data is not base64")},
		{`{"user":"alice","channel":"caf\u00e9"}`, wantBad(notASCII)},
	}
	for _, tt := range tests {
		if got := st.call(e, t, "subscribe", tt.params); got != tt.want {
			t.Errorf("subscribe %s: %s, want %s", tt.params, got, tt.want)
		}
	}
	jsonMatch(t, e.method(t, "channels", `{}`), `{"result":{"channels":{}}}`)
}

func testUnsubscribe(t *testing.T, st style) {
	e := newEnv(t)
	c := e.connect(t, "alice")
	e.method(t, "subscribe", `{"user":"alice","channel":"news"}`)
	c.push(t, "subscribe", "news")

	if got := st.call(e, t, "unsubscribe", `{"user":"alice","channel":"news"}`); got != wantEmpty {
		t.Fatalf("unsubscribe: %s", got)
	}
	c.push(t, "unsubscribe", "news")
	jsonMatch(t, e.method(t, "channels", `{}`), `{"result":{"channels":{}}}`)

	for params, want := range map[string]string{
		`{"user":"alice","channel":"nope:x"}`: wantUnknownChan,
		`{"user":"alice"}`:                    wantEmpty, // matches no subscription
		`{"user":"nobody","channel":"news"}`:  wantEmpty,
	} {
		if got := st.call(e, t, "unsubscribe", params); got != want {
			t.Errorf("unsubscribe %s: %s, want %s", params, got, want)
		}
	}
}

func testDisconnect(t *testing.T, st style) {
	e := newEnv(t)
	a1, a2, a3 := e.connect(t, "alice"), e.connect(t, "alice"), e.connect(t, "alice")
	b := e.connect(t, "bob")

	// Default: 3503 force disconnect, sparing the whitelist.
	got := st.call(e, t, "disconnect", fmt.Sprintf(`{"user":"alice","whitelist":[%q]}`, a3.id))
	if got != wantEmpty {
		t.Fatalf("disconnect: %s", got)
	}
	for _, c := range []*client{a1, a2} {
		if d := c.closedWith(t); d.Code != 3503 || d.Reason != "force disconnect" {
			t.Fatalf("closed with %+v, want 3503 force disconnect", d)
		}
	}
	if !a3.isOpen() || !b.isOpen() {
		t.Fatal("whitelisted or other user's connection closed")
	}

	// A custom code and reason, for one client.
	st.call(e, t, "disconnect", fmt.Sprintf(
		`{"user":"bob","client":%q,"disconnect":{"code":4001,"reason":"bye"}}`, b.id))
	if d := b.closedWith(t); d.Code != 4001 || d.Reason != "bye" || !d.Reconnect {
		t.Fatalf("closed with %+v, want 4001 bye", d)
	}
	st.call(e, t, "disconnect",
		`{"user":"alice","disconnect":{"code":4501,"reason":"banned","reconnect":false}}`)
	if d := a3.closedWith(t); d.Code != 4501 || d.Reconnect {
		t.Fatalf("closed with %+v, want 4501 without reconnect", d)
	}

	for _, code := range []int{0, 1000, 2999, 5000} {
		params := fmt.Sprintf(`{"user":"x","disconnect":{"code":%d}}`, code)
		want := wantBad("disconnect code must be in 3000-4999")
		if got := st.call(e, t, "disconnect", params); got != want {
			t.Errorf("disconnect code %d: %s", code, got)
		}
	}
}

// testRefresh checks that refresh acts on every connection of the user:
// each gets a refresh push with the new expiry, and the new connection
// info is what presence shows for subscriptions made afterwards.
func testRefresh(t *testing.T, st style) {
	e := newEnv(t)
	a1, a2, b := e.connect(t, "alice"), e.connect(t, "alice"), e.connect(t, "bob")

	exp := time.Now().Add(time.Hour).Unix()
	got := st.call(e, t, "refresh", fmt.Sprintf(`{"user":"alice","expire_at":%d,`+
		`"info":{"v":2}}`, exp))
	if got != wantEmpty {
		t.Fatalf("refresh: %s", got)
	}
	for _, c := range []*client{a1, a2} {
		raw := c.wait(t, "refresh push", func(m map[string]json.RawMessage) bool {
			var p map[string]json.RawMessage
			return json.Unmarshal(m["push"], &p) == nil && p["refresh"] != nil
		})
		var push struct {
			Push struct{ Refresh struct{ TTL int64 } }
		}
		if err := json.Unmarshal(raw, &push); err != nil || push.Push.Refresh.TTL < 3500 {
			t.Fatalf("refresh push to %s: %s", c.id, raw)
		}
	}
	presence := func(ch string) string {
		t.Helper()
		for _, u := range []string{"alice", "bob"} {
			e.method(t, "subscribe", fmt.Sprintf(`{"user":%q,"channel":%q}`, u, ch))
		}
		return e.method(t, "presence", fmt.Sprintf(`{"channel":%q}`, ch))
	}
	jsonMatch(t, presence("pres:a"), fmt.Sprintf(`{"result":{"presence":{`+
		`%q:{"user":"alice","client":%[1]q,"conn_info":{"v":2}},`+
		`%q:{"user":"alice","client":%[2]q,"conn_info":{"v":2}},`+
		`%q:{"user":"bob","client":%[3]q}}}}`, a1.id, a2.id, b.id))

	// A session narrows refresh to one connection.
	st.call(e, t, "refresh", fmt.Sprintf(`{"user":"alice","session":%q,`+
		`"info":{"v":3}}`, a2.id))
	jsonMatch(t, presence("pres:b"), fmt.Sprintf(`{"result":{"presence":{`+
		`%q:{"user":"alice","client":%[1]q,"conn_info":{"v":2}},`+
		`%q:{"user":"alice","client":%[2]q,"conn_info":{"v":3}},`+
		`%q:{"user":"bob","client":%[3]q}}}}`, a1.id, a2.id, b.id))

	st.call(e, t, "refresh", fmt.Sprintf(`{"user":"bob","session":%q,"expired":true}`, b.id))
	if d := b.closedWith(t); d.Code != protocol.DisconnectExpired.Code {
		t.Fatalf("closed with %+v, want 3005", d)
	}
}

func TestSessionError(t *testing.T) {
	h := NewHandler(Config{Logger: discard}, "/api").(*Handler)
	tests := []struct {
		err  error
		want *protocol.Error
	}{
		{protocol.ErrUnknownChannel, errUnknownChan},
		{fmt.Errorf("wrapped: %w", protocol.ErrUnrecoverablePosition), errUnrecoverable},
		{protocol.ErrNotAvailable, errNotAvailable},
		{protocol.ErrLimitExceeded, errInternal},
		{protocol.DisconnectChannelLimit, errInternal},
		{errors.New("engine down"), errInternal},
	}
	for _, tt := range tests {
		if got := h.sessionError("subscribe", tt.err, "ch"); got != tt.want {
			t.Errorf("%v: %v, want %v", tt.err, got, tt.want)
		}
	}
}
