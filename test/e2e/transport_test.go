package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge-go"
	"github.com/centrifugal/protocol"
	"github.com/gorilla/websocket"
)

// TestOrigin checks the Origin rule of the WebSocket handshake: no Origin
// always passes, an Origin must match allowed_origins, and an empty list
// refuses every Origin.
func TestOrigin(t *testing.T) {
	servers := map[string]*Server{
		"listed": Start(t, v6Config().Set("client.allowed_origins",
			[]string{"http://localhost:9000", "https://*.example.com"})),
		"empty": Start(t, v6Config()),
	}
	cases := []struct {
		server string
		origin string
		ok     bool
	}{
		{"listed", "", true},
		{"listed", "http://localhost:9000", true},
		{"listed", "HTTP://LOCALHOST:9000", true},
		{"listed", "https://app.example.com", true},
		{"listed", "http://localhost:9001", false},
		{"listed", "http://evil.example.org", false},
		{"listed", "http://app.example.com", false},
		{"empty", "", true},
		{"empty", "http://localhost:9000", false},
	}
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		for _, tc := range cases {
			name := fmt.Sprintf("%s list, origin %q", tc.server, tc.origin)
			t.Run(name, func(t *testing.T) {
				srv := servers[tc.server]
				header := http.Header{}
				if tc.origin != "" {
					header.Set("Origin", tc.origin)
				}
				if tc.ok {
					c := dialRaw(t, srv, enc, header)
					c.connect(UserToken(t, secret, "alice", time.Hour))
					return
				}
				ws, resp, err := dialWS(srv, enc, header)
				if err == nil {
					_ = ws.Close()
					t.Fatal("handshake succeeded, want 403")
				}
				if resp == nil || resp.StatusCode != http.StatusForbidden {
					t.Fatalf("handshake error %v, response %v; want 403", err, resp)
				}
			})
		}
	})
}

// pingConfig pings every 2 s and expects a pong within 1 s.
func pingConfig() Config {
	return v6Config().
		Set("client.ping_interval", "2s").
		Set("client.pong_timeout", "1s")
}

// TestPing checks that pings keep an idle connection up, and that a client
// that never answers them is closed with 3012 "no pong".
func TestPing(t *testing.T) {
	srv := Start(t, pingConfig())
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		t.Run("sdk stays connected", func(t *testing.T) {
			t.Parallel()
			// With a 2 s ping grace the SDK drops a connection on which the
			// server stops pinging for 4 s, so staying connected for 7 s
			// proves the pings arrive and the pongs count.
			c, _ := connectUser(t, srv, enc, "alice", func(cfg *centrifuge.Config) {
				cfg.MaxServerPingDelay = 2 * time.Second
			})
			Consistently(t, 7*time.Second, func() bool {
				return c.State() == centrifuge.StateConnected &&
					c.connecting.len() == 1 && c.disconnected.len() == 0
			}, func() string {
				return fmt.Sprintf("state %q, connecting %+v, disconnected %+v",
					c.State(), c.connecting.all(), c.disconnected.all())
			})
		})
		t.Run("raw client answering pings", func(t *testing.T) {
			t.Parallel()
			c := dialRaw(t, srv, enc, nil)
			res := c.connect(UserToken(t, secret, "alice", time.Hour))
			if res.Ping != 2 || !res.Pong {
				t.Fatalf("connect result ping %d pong %v, want 2 and true", res.Ping, res.Pong)
			}
			deadline := time.Now().Add(WaitTimeout)
			for pings := 0; pings < 3; {
				r, err := c.read(deadline)
				if err != nil {
					t.Fatalf("after %d pings: %v", pings, err)
				}
				if isPing(r) {
					pings++
					c.send(&protocol.Command{})
				}
			}
		})
		t.Run("raw client never answering", func(t *testing.T) {
			t.Parallel()
			c := dialRaw(t, srv, enc, nil)
			c.connect(UserToken(t, secret, "alice", time.Hour))
			got := c.waitClose(8 * time.Second)
			if got.code != 3012 || got.reason != "no pong" {
				t.Fatalf("closed with %d %q, want 3012 \"no pong\"", got.code, got.reason)
			}
			if got.pings == 0 {
				t.Fatal("closed for no pong without having sent a ping")
			}
		})
	})
}

// TestConnectFirst checks that any command before connect closes the
// connection with 3501 "bad request".
func TestConnectFirst(t *testing.T) {
	srv := Start(t, v6Config(map[string]any{"name": "chat", "allow_subscribe_for_client": true}))
	cases := []struct {
		name string
		cmd  *protocol.Command
	}{
		{"subscribe", &protocol.Command{
			Id: 1, Subscribe: &protocol.SubscribeRequest{Channel: "chat:room"},
		}},
		{"publish", &protocol.Command{
			Id: 1, Publish: &protocol.PublishRequest{Channel: "chat:room", Data: []byte(`{}`)},
		}},
		{"pong", &protocol.Command{}},
	}
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := dialRaw(t, srv, enc, nil)
				c.send(tc.cmd)
				wantClose(t, c, 3501)
			})
		}
	})
}

// TestMalformedFrame checks that a frame that does not decode closes an
// authenticated connection with 3501.
func TestMalformedFrame(t *testing.T) {
	srv := Start(t, v6Config())
	cases := []struct {
		name     string
		protobuf bool
		frame    []byte
	}{
		{"json truncated", false, []byte(`{"id":2,"publish":{"channel":"x"`)},
		{"json not an object", false, []byte(`not json`)},
		{"json empty line", false, []byte(`{"id":2,"presence":{"channel":"x"}}` + "\n\n" +
			`{"id":3,"presence":{"channel":"x"}}`)},
		{"json empty frame", false, []byte{}},
		{"protobuf length past end", true, []byte{0x7f, 0x08, 0x02}},
		{"protobuf bad message", true, []byte{0x03, 0xff, 0xff, 0xff}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			enc := encodings[0]
			if tc.protobuf {
				enc = encodings[1]
			}
			c := dialRaw(t, srv, enc, nil)
			c.connect(UserToken(t, secret, "alice", time.Hour))
			c.sendFrame(tc.frame)
			wantClose(t, c, 3501)
		})
	}
}

// TestMessageSizeLimit checks that a message over
// websocket.message_size_limit closes the connection with 1009, and that a
// message under it is served.
func TestMessageSizeLimit(t *testing.T) {
	const limit = 1024
	srv := Start(t, v6Config(map[string]any{
		"name":                     "chat",
		"allow_publish_for_client": true,
	}).Set("websocket.message_size_limit", limit))
	publish := func(size int) *protocol.Command {
		data := []byte(`"` + string(bytes.Repeat([]byte("a"), size)) + `"`)
		return &protocol.Command{Publish: &protocol.PublishRequest{Channel: "chat:big", Data: data}}
	}
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		c := dialRaw(t, srv, enc, nil)
		c.connect(UserToken(t, secret, "alice", time.Hour))
		if r := c.call(publish(limit / 2)); r.Error != nil || r.Publish == nil {
			t.Fatalf("publish under the limit: %+v", r)
		}
		cmd := publish(2 * limit)
		cmd.Id = c.nextID()
		c.send(cmd)
		wantClose(t, c, websocket.CloseMessageTooBig)
	})
}

// wantClose fails the test unless the server closes c with code.
func wantClose(t *testing.T, c *rawConn, code int) {
	t.Helper()
	got := c.waitClose(WaitTimeout)
	if got.code != code {
		t.Fatalf("closed with %d %q, want %d", got.code, got.reason, code)
	}
}

// TestGracefulShutdown checks that SIGTERM closes every client with 3001
// "shutdown", that the SDK then reconnects, and that it succeeds once a
// server is back on the same address.
func TestGracefulShutdown(t *testing.T) {
	cfg := v6Config()
	srv := Start(t, cfg)
	var clients []*sdkClient
	for _, enc := range encodings {
		c, _ := connectUser(t, srv, enc, "alice-"+enc.name)
		clients = append(clients, c)
	}
	raw := dialRaw(t, srv, encodings[0], nil)
	raw.connect(UserToken(t, secret, "raw", time.Hour))

	srv.Stop(t)

	if got := raw.waitClose(WaitTimeout); got.code != 3001 || got.reason != "shutdown" {
		t.Errorf("raw client closed with %d %q, want 3001 \"shutdown\"", got.code, got.reason)
	}
	for i, c := range clients {
		// connecting[0] is the initial Connect call; the next one is the
		// reaction to the shutdown.
		ev := c.connecting.wait(t, 2, "connecting events")[1]
		if ev.Code != 3001 || ev.Reason != "shutdown" {
			t.Errorf("%s client: reconnecting after %d %q, want 3001 \"shutdown\"",
				encodings[i].name, ev.Code, ev.Reason)
		}
		if n := c.disconnected.len(); n != 0 {
			t.Errorf("%s client moved to disconnected: %+v", encodings[i].name, c.disconnected.all())
		}
	}

	StartOnPort(t, cfg, srv.Port)
	for i, c := range clients {
		c.connected.wait(t, 2, encodings[i].name+" client connections")
	}
}
