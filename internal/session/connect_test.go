package session

import (
	"testing"
	"testing/synctest"
	"time"

	cf "github.com/centrifugal/protocol"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/channel"
)

// openChannels lets any authenticated client subscribe to and publish in
// top-level channels.
func openChannels() channel.Config {
	return channels(channel.Options{
		AllowSubscribeForClient: true,
		AllowPublishForClient:   true,
	})
}

// TestDispatchRules checks the command order rules of spec §4.1: each
// frame ends the connection with the code, stops the reader, and nothing
// later is processed.
func TestDispatchRules(t *testing.T) {
	cases := []struct {
		name      string
		connected bool
		frame     string
		code      uint32
	}{
		{"subscribe before connect", false, `{"id":1,"subscribe":{"channel":"a"}}`, 3501},
		{"pong before connect", false, `{}`, 3501},
		{"connect without id", false, `{"connect":{}}`, 3501},
		{"second connect", true, `{"id":7,"connect":{}}`, 3501},
		{"pong without ping", true, `{}`, 3501},
		{"command with id and no request", true, `{"id":7}`, 3501},
		{"ping request", true, `{"id":7,"ping":{}}`, 3501},
		{"request without id", true, `{"subscribe":{"channel":"a"}}`, 3501},
		{"empty frame", true, ``, 3501},
		{"malformed JSON", true, `{"id":7,`, 3501},
		{"empty line", true, "\n{\"id\":7,\"rpc\":{}}", 3501},
		{"invalid UTF-8", true, "{\"id\":7,\"publish\":{\"channel\":\"\xff\"}}", 3501},
		{"empty subscribe channel", true, `{"id":7,"subscribe":{"channel":""}}`, 3501},
		{"empty unsubscribe channel", true, `{"id":7,"unsubscribe":{}}`, 3501},
		{"empty publish channel", true, `{"id":7,"publish":{"data":{}}}`, 3501},
		{"send without handler", true, `{"send":{"data":{"x":1}}}`, 3508},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, openChannels(), nil)
				c := e.dial(t)
				if tc.connected {
					c.connect(token(t, "42", 0, nil))
				}
				if c.send(tc.frame) {
					t.Fatal("HandleFrame reported true, want the reader to stop")
				}
				c.wantClosed(tc.code)
				c.expectNothing()
				if c.send(`{"id":99,"rpc":{}}`) {
					t.Error("HandleFrame after the disconnect reported true")
				}
				c.expectNothing()
				if n := e.m.NumClients(); n != 0 {
					t.Errorf("NumClients = %d after the disconnect, want 0", n)
				}
			})
		})
	}
}

// TestFrameOrder checks that the commands of one frame run in order, that
// replies queued before a disconnect are written before the close, and that
// nothing after the offending command runs.
func TestFrameOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, openChannels(), nil)
		c := e.dial(t)
		ok := c.send(
			`{"id":1,"connect":{"token":"`+token(t, "42", 0, nil)+`"}}`,
			`{"id":2,"subscribe":{"channel":"news"}}`,
			`{"id":3,"rpc":{"method":"m"}}`,
			`{"id":4}`,
			`{"id":5,"publish":{"channel":"news","data":{}}}`,
		)
		if ok {
			t.Fatal("HandleFrame reported true")
		}
		c.sync()
		var ids []uint32
		for _, r := range c.inbox {
			ids = append(ids, r.Id)
		}
		if len(ids) != 3 || ids[0] != 1 || ids[1] != 2 || ids[2] != 3 {
			t.Fatalf("reply ids %v, want [1 2 3]", ids)
		}
		if code := c.inbox[2].GetError().GetCode(); code != 108 {
			t.Errorf("rpc error %d, want 108", code)
		}
		c.wantClosed(3501)
		if h := e.hub.NumSubscribers("news"); h != 0 {
			t.Errorf("%d hub subscribers of news after the disconnect, want 0", h)
		}
		c.tr.mu.Lock()
		defer c.tr.mu.Unlock()
		if c.tr.afterClose != 0 {
			t.Errorf("%d writes after Close", c.tr.afterClose)
		}
	})
}

// TestBatchedFrameJSON checks that the JSON lines of one frame may end with
// a single newline, as spec §3 allows.
func TestBatchedFrameJSON(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, openChannels(), nil)
		c := e.dial(t)
		tok := token(t, "42", 0, nil)
		if !c.send(`{"id":1,"connect":{"token":"`+tok+`"}}`,
			`{"id":2,"subscribe":{"channel":"news"}}`+"\n") {
			t.Fatalf("frame refused, close %d", c.closeCode())
		}
		if r := c.reply(1); r.Connect == nil {
			t.Errorf("connect reply %v", r)
		}
		if r := c.reply(2); r.Subscribe == nil {
			t.Errorf("subscribe reply %v", r)
		}
	})
}

func TestRPCNotAvailable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, openChannels(), nil)
		c := e.connected(t, "42")
		if code := c.callErr("rpc", `{"method":"m","data":{}}`); code != 108 {
			t.Errorf("rpc error %d, want 108", code)
		}
		c.wantOpen()
	})
}

// TestConnectResult checks the fields of a successful connect reply.
func TestConnectResult(t *testing.T) {
	cases := []struct {
		name    string
		tune    func(*Config)
		ttl     time.Duration
		ping    uint32
		pong    bool
		expires bool
		time    bool
	}{
		{name: "defaults", ping: 25, pong: true},
		{name: "expiring token", ttl: 90 * time.Second, ping: 25, pong: true,
			expires: true},
		{name: "pings disabled", tune: func(c *Config) { c.PingInterval = 0 }},
		{name: "pong check disabled", tune: func(c *Config) { c.PongTimeout = 0 },
			ping: 25},
		{name: "server time", tune: func(c *Config) { c.IncludeServerTime = true },
			ping: 25, pong: true, time: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, openChannels(), tc.tune)
				c := e.dial(t)
				res := c.connect(token(t, "42", tc.ttl, nil))
				if res.Client != c.s.ID() || len(res.Client) != 36 {
					t.Errorf("client %q, want the session ID %q", res.Client, c.s.ID())
				}
				if res.Version != testVersion {
					t.Errorf("version %q, want %q", res.Version, testVersion)
				}
				if res.Ping != tc.ping || res.Pong != tc.pong {
					t.Errorf("ping %d pong %v, want %d %v", res.Ping, res.Pong,
						tc.ping, tc.pong)
				}
				wantTTL := uint32(tc.ttl / time.Second)
				if res.Expires != tc.expires || res.Ttl != wantTTL {
					t.Errorf("expires %v ttl %d, want %v %d", res.Expires, res.Ttl,
						tc.expires, wantTTL)
				}
				if now := time.Now().UnixMilli(); tc.time && res.Time != now {
					t.Errorf("time %d, want %d", res.Time, now)
				} else if !tc.time && res.Time != 0 {
					t.Errorf("time %d, want none", res.Time)
				}
				if len(res.Subs) != 0 {
					t.Errorf("subs %v, want none", res.Subs)
				}
				if u := c.s.User(); u != "42" {
					t.Errorf("User() = %q, want 42", u)
				}
				if n, u := e.m.NumClients(), e.m.NumUsers(); n != 1 || u != 1 {
					t.Errorf("NumClients %d NumUsers %d, want 1 1", n, u)
				}
			})
		})
	}
}

// TestConnectAuth checks who may connect: tokens, anonymous access and the
// insecure mode.
func TestConnectAuth(t *testing.T) {
	other := func(t *testing.T) string {
		tok, err := auth.GenerateHMACToken("another-secret", "42", 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	valid := func(user string) func(*testing.T) string {
		return func(t *testing.T) string { return token(t, user, 0, nil) }
	}
	none := func(*testing.T) string { return "" }
	insecure := func(c *Config) { c.Insecure = true }
	cases := []struct {
		name  string
		tune  func(*Config)
		token func(*testing.T) string
		user  string // on success
		close uint32 // disconnect code
		err   uint32 // reply error code
	}{
		{name: "valid token", token: valid("42"), user: "42"},
		{name: "no token", token: none, close: 3500},
		{name: "no token, anonymous allowed", token: none, user: "",
			tune: func(c *Config) { c.AllowAnonymous = true }},
		{name: "no token, insecure", token: none, tune: insecure},
		{name: "wrong signature", token: other, close: 3500},
		{name: "garbage token", token: func(*testing.T) string { return "x.y.z" },
			close: 3500},
		{name: "wrong signature, insecure", token: other, tune: insecure},
		{name: "expired token", err: 109, token: func(t *testing.T) string {
			return token(t, "42", -time.Minute, nil)
		}},
		{name: "expire_at in the past", err: 110, token: func(t *testing.T) string {
			past := time.Now().Add(-time.Minute).Unix()
			return token(t, "42", time.Hour, map[string]any{"expire_at": past})
		}},
		{name: "anonymous token", token: valid(""), user: ""},
		{name: "anonymous token disallowed", token: valid(""), close: 3507,
			tune: func(c *Config) { c.DisallowAnonymousTokens = true }},
		{name: "token without a key", token: valid("42"), close: 3500,
			tune: func(c *Config) { c.Verifier = nil }},
		{name: "token without a key, insecure", token: valid("42"), user: "",
			tune: func(c *Config) { c.Verifier, c.Insecure = nil, true }},
		{name: "subscription token", close: 3500, token: func(t *testing.T) string {
			return subToken(t, "42", "news", 0, nil)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, openChannels(), tc.tune)
				c := e.dial(t)
				ok := c.send(`{"id":1,"connect":` + connectBody(tc.token(t)) + `}`)
				switch {
				case tc.close != 0:
					if ok {
						t.Error("HandleFrame reported true")
					}
					c.wantClosed(tc.close)
					c.expectNothing()
				case tc.err != 0:
					if !ok {
						t.Error("HandleFrame reported false after a reply error")
					}
					if code := c.reply(1).GetError().GetCode(); code != tc.err {
						t.Fatalf("connect error %d, want %d", code, tc.err)
					}
					// The connection is unusable: later frames are ignored,
					// even malformed ones, until the client closes it.
					for _, f := range []string{`{"id":2,"connect":{}}`,
						`{"id":3,"subscribe":{"channel":"news"}}`, `garbage`} {
						if !c.send(f) {
							t.Errorf("frame %s stopped the reader", f)
						}
					}
					c.expectNothing()
					c.wantOpen()
				default:
					if !ok {
						t.Fatalf("connect refused with %d", c.closeCode())
					}
					if r := c.reply(1); r.Connect == nil {
						t.Fatalf("connect reply %v", r)
					}
					if u := c.s.User(); u != tc.user {
						t.Errorf("user %q, want %q", u, tc.user)
					}
					c.wantOpen()
				}
				wantClients := 0
				if tc.close == 0 && tc.err == 0 {
					wantClients = 1
				}
				if n := e.m.NumClients(); n != wantClients {
					t.Errorf("NumClients = %d, want %d", n, wantClients)
				}
			})
		})
	}
}

// TestConnectProtobuf runs a connect, a ping and pongs over the Protobuf
// codec: binary frames with length prefixes, 0x00 pings and pongs.
func TestConnectProtobuf(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, openChannels(), nil)
		c := e.dialProtobuf(t)
		ok := c.sendPB(&cf.Command{Id: 1, Connect: &cf.ConnectRequest{
			Token: token(t, "42", time.Hour, nil), Name: "go",
		}}, &cf.Command{Id: 2, Subscribe: &cf.SubscribeRequest{Channel: "news"}})
		if !ok {
			t.Fatalf("connect refused with %d", c.closeCode())
		}
		res := c.reply(1).GetConnect()
		if res.GetClient() != c.s.ID() || res.GetPing() != 25 || !res.GetPong() ||
			!res.GetExpires() || res.GetTtl() != 3600 {
			t.Errorf("connect result %v", res)
		}
		if r := c.reply(2); r.Subscribe == nil {
			t.Errorf("subscribe reply %v", r)
		}

		c.s.onWheel(time.Now())
		synctest.Wait()
		c.tr.mu.Lock()
		last := c.tr.frames[len(c.tr.frames)-1].data
		c.tr.mu.Unlock()
		if string(last) != "\x00" {
			t.Fatalf("ping frame %x, want 00", last)
		}
		c.sync()
		c.inbox = nil
		if !c.sendRaw([]byte{0}) {
			t.Fatalf("pong refused with %d", c.closeCode())
		}
		c.wantOpen()
		// No ping is outstanding any more.
		if c.sendRaw([]byte{0}) {
			t.Error("second pong accepted")
		}
		c.wantClosed(3501)
	})
}

// TestConnectionLimits checks the per-user and per-node connection limits.
func TestConnectionLimits(t *testing.T) {
	t.Run("per user", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t, openChannels(), func(c *Config) {
				c.UserConnectionLimit = 1
				c.AllowAnonymous = true
			})
			first := e.connected(t, "42")
			second := e.dial(t)
			if second.send(`{"id":1,"connect":` + connectBody(token(t, "42", 0, nil)) +
				`}`) {
				t.Error("HandleFrame reported true")
			}
			second.wantClosed(3504)
			first.wantOpen()
			// Other users and anonymous connections are not limited by it.
			e.connected(t, "43")
			e.connected(t, "")
			e.connected(t, "")
			// A slot frees up when the first connection goes.
			first.s.TransportClosed()
			e.connected(t, "42")
		})
	})
	t.Run("per node", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t, openChannels(), func(c *Config) { c.ConnectionLimit = 2 })
			e.connected(t, "1")
			e.connected(t, "2")
			third := e.dial(t)
			third.send(`{"id":1,"connect":` + connectBody(token(t, "3", 0, nil)) + `}`)
			third.wantClosed(3504)
		})
	})
	t.Run("single personal connection", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t, openChannels(), func(c *Config) {
				c.PersonalChannel = true
				c.PersonalSingleConnection = true
			})
			first := e.connected(t, "42")
			other := e.connected(t, "43")
			second := e.connected(t, "42")
			first.wantClosed(3504)
			second.wantOpen()
			other.wantOpen()
			if got := e.m.UserSessions("42"); len(got) != 1 || got[0] != second.s {
				t.Errorf("user 42 has %d sessions, want only the new one", len(got))
			}
			if n := e.hub.NumSubscribers("#42"); n != 1 {
				t.Errorf("%d subscribers of #42, want 1", n)
			}
		})
	})
}

// TestRefresh checks client-side token refresh.
func TestRefresh(t *testing.T) {
	cases := []struct {
		name  string
		tune  func(*Config)
		token func(t *testing.T) string
		ttl   uint32
		err   uint32
		close uint32
	}{
		{name: "new expiry", ttl: 7200, token: func(t *testing.T) string {
			return token(t, "42", 2*time.Hour, nil)
		}},
		{name: "no expiry", token: func(t *testing.T) string {
			return token(t, "42", 0, nil)
		}},
		{name: "other user", close: 3500, token: func(t *testing.T) string {
			return token(t, "43", time.Hour, nil)
		}},
		{name: "expired", err: 109, token: func(t *testing.T) string {
			return token(t, "42", -time.Second, nil)
		}},
		{name: "expire_at in the past", err: 110, token: func(t *testing.T) string {
			past := time.Now().Add(-time.Second).Unix()
			return token(t, "42", time.Hour, map[string]any{"expire_at": past})
		}},
		{name: "invalid", close: 3500, token: func(*testing.T) string {
			return "not-a-token"
		}},
		{name: "empty", close: 3501, token: func(*testing.T) string { return "" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, openChannels(), tc.tune)
				c := e.dial(t)
				c.connect(token(t, "42", time.Minute, nil))
				ok := c.send(`{"id":2,"refresh":{"token":"` + tc.token(t) + `"}}`)
				if tc.close != 0 {
					if ok {
						t.Error("HandleFrame reported true")
					}
					c.wantClosed(tc.close)
					return
				}
				r := c.reply(2)
				if code := r.GetError().GetCode(); code != tc.err {
					t.Fatalf("refresh error %d, want %d", code, tc.err)
				}
				c.wantOpen()
				if tc.err != 0 {
					return
				}
				res := r.GetRefresh()
				if res == nil || res.Client != c.s.ID() || res.Version != testVersion {
					t.Fatalf("refresh result %v", res)
				}
				if res.Expires != (tc.ttl > 0) || res.Ttl != tc.ttl {
					t.Errorf("expires %v ttl %d, want ttl %d", res.Expires, res.Ttl, tc.ttl)
				}
			})
		})
	}
	t.Run("without a key", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t, openChannels(), func(c *Config) {
				c.Verifier, c.AllowAnonymous = nil, true
			})
			c := e.connected(t, "")
			if code := c.callErr("refresh", `{"token":"x"}`); code != 108 {
				t.Errorf("refresh error %d, want 108", code)
			}
		})
	})
}
