package httpstream

import (
	"context"
	"net/http"
	"testing"

	cf "github.com/centrifugal/protocol"

	"github.com/heraldhq/herald/internal/protocol"
	"github.com/heraldhq/herald/internal/session"
)

// TestConnect checks the connect over every bidirectional stream: the
// response headers, and the session and node in the connect reply that the
// client names in its emulation requests.
func TestConnect(t *testing.T) {
	srv := newServer(t, serverOptions{})
	for _, kind := range bidiKinds {
		t.Run(kind, func(t *testing.T) {
			c := srv.connect(t, kind)
			if c.session == "" || c.node != srv.node.ID() {
				t.Errorf("session %q node %q, want a session and node %q",
					c.session, c.node, srv.node.ID())
			}

			h := c.resp.Header
			want := map[string]string{
				"Cache-Control": "private, no-cache, no-store, " +
					"must-revalidate, max-age=0",
				"Pragma":            "no-cache",
				"Expire":            "0",
				"X-Accel-Buffering": "no",
				"Connection":        "keep-alive",
			}
			sse := kind == viaSSE || kind == viaSSEPost
			if sse {
				want["Content-Type"] = "text/event-stream; charset=utf-8"
			}
			for k, v := range want {
				if got := h.Get(k); got != v {
					t.Errorf("header %s %q, want %q", k, got, v)
				}
			}
			if sse && c.lead != "\r\n" {
				t.Errorf("event stream starts with %q, want \\r\\n", c.lead)
			}
		})
	}
}

// TestEmulationSubscribe checks that a command sent through the emulation
// endpoint is answered on the stream, and that publications through the
// node reach the subscriber.
func TestEmulationSubscribe(t *testing.T) {
	srv := newServer(t, serverOptions{})
	for _, kind := range bidiKinds {
		t.Run(kind, func(t *testing.T) {
			c := srv.connect(t, kind)
			c.subscribe("news", 2)

			srv.publish(t, "news", `{"x":1}`)
			p := c.nextReply().GetPush()
			if p.GetChannel() != "news" || string(p.GetPub().GetData()) != `{"x":1}` {
				t.Fatalf("push %v, want the publication in news", p)
			}
		})
	}
}

// TestEmulationFrame checks that one emulation request may carry several
// commands, answered in order.
func TestEmulationFrame(t *testing.T) {
	srv := newServer(t, serverOptions{})
	for _, kind := range []string{viaStream, viaProtobuf} {
		t.Run(kind, func(t *testing.T) {
			c := srv.connect(t, kind)
			st := c.send(
				&cf.Command{Id: 2, Subscribe: &cf.SubscribeRequest{Channel: "a"}},
				&cf.Command{Id: 3, Subscribe: &cf.SubscribeRequest{Channel: "b"}})
			if st != http.StatusNoContent {
				t.Fatalf("emulation status %d, want 204", st)
			}
			for _, id := range []uint32{2, 3} {
				if r := c.nextReply(); r.Id != id || r.Subscribe == nil {
					t.Fatalf("reply %v, want subscribe reply %d", r, id)
				}
			}
		})
	}
}

// TestPingPong checks that a pong sent through the emulation endpoint keeps
// the stream open, and that a missing one closes it with a Disconnect push
// 3012.
func TestPingPong(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{wheel: true, sessions: func(c *session.Config) {
		c.PingInterval, c.PongTimeout = testPingInterval, testPongTimeout
	}})
	for _, kind := range []string{viaStream, viaSSE} {
		t.Run(kind, func(t *testing.T) {
			c := srv.connect(t, kind)
			if msg := c.next(); !isPing(msg) {
				t.Fatalf("got %q, want a ping", msg)
			}
			if st := c.sendRaw("{}"); st != http.StatusNoContent {
				t.Fatalf("pong status %d, want 204", st)
			}
			// The next ping comes after the pong timeout of the first one,
			// so the connection survived it.
			if msg := c.next(); !isPing(msg) {
				t.Fatalf("got %q, want the next ping", msg)
			}

			d := c.nextReply().GetPush().GetDisconnect()
			if d.GetCode() != protocol.DisconnectNoPong.Code {
				t.Fatalf("disconnect %v, want code %d", d, protocol.DisconnectNoPong.Code)
			}
			c.wantEnd()
		})
	}
}

// TestServerDisconnect checks that a disconnect by the server writes the
// Disconnect push and then ends the response.
func TestServerDisconnect(t *testing.T) {
	srv := newServer(t, serverOptions{})
	for _, kind := range bidiKinds {
		t.Run(kind, func(t *testing.T) {
			c := srv.connect(t, kind)
			srv.sessions.DisconnectUser(session.Target{Client: c.client},
				protocol.DisconnectForceNoReconnect, nil)

			d := c.nextReply().GetPush().GetDisconnect()
			want := protocol.DisconnectForceNoReconnect
			if d.GetCode() != want.Code || d.GetReason() != want.Reason {
				t.Fatalf("disconnect %v, want %d %q", d, want.Code, want.Reason)
			}
			c.wantEnd()
			if st := c.sendRaw(`{"id":2,"presence":{"channel":"x"}}`); st !=
				http.StatusNoContent {
				t.Errorf("emulation for a closed session: status %d, want 204", st)
			}
		})
	}
}

// TestBadFrame checks that a malformed first frame or emulated frame closes
// the stream with disconnect 3501.
func TestBadFrame(t *testing.T) {
	srv := newServer(t, serverOptions{})
	t.Run("first frame", func(t *testing.T) {
		c := srv.open(t, request{method: http.MethodPost, path: pathStream,
			contentType: contentJSON, body: []byte(`{"id":1,"subscribe":{}}`)},
			framedLines)
		msg := c.next()
		want := `{"push":{"disconnect":{"code":3501,"reason":"bad request"}}}`
		if string(msg) != want {
			t.Fatalf("got %q, want %q", msg, want)
		}
		c.wantEnd()
	})
	t.Run("emulated frame", func(t *testing.T) {
		c := srv.connect(t, viaStream)
		if st := c.sendRaw("not json"); st != http.StatusNoContent {
			t.Fatalf("emulation status %d, want 204", st)
		}
		d := c.nextReply().GetPush().GetDisconnect()
		if d.GetCode() != protocol.DisconnectBadRequest.Code {
			t.Fatalf("disconnect %v, want 3501", d)
		}
		c.wantEnd()
	})
}

// TestClientGone checks that a client that goes away is cleaned up like a
// closed WebSocket: its subscriptions, presence and registration are gone.
func TestClientGone(t *testing.T) {
	srv := newServer(t, serverOptions{})
	for _, kind := range []string{viaStream, viaSSE} {
		t.Run(kind, func(t *testing.T) {
			c := srv.connect(t, kind)
			c.subscribe("chat", 2)
			present := func() bool {
				p, err := srv.presence.Presence(context.Background(), "chat")
				if err != nil {
					t.Fatal(err)
				}
				_, ok := p[c.client]
				return ok
			}
			if !present() {
				t.Fatal("subscriber not in presence")
			}

			c.close()
			waitFor(t, "presence to be removed", func() bool { return !present() })
			waitFor(t, "the session to be unregistered", func() bool {
				return srv.sessions.NumClients() == 0
			})
			if srv.sessions.EmulatedSession(c.session) != nil {
				t.Error("session key still registered")
			}
		})
	}
}

// TestDraining checks that a draining node refuses new streams.
func TestDraining(t *testing.T) {
	srv := newServer(t, serverOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := srv.sessions.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{pathStream, pathSSE, pathUniSSE, pathUniStream} {
		resp, _ := srv.do(t, request{method: http.MethodPost, path: path,
			contentType: contentJSON, body: []byte(jsonConnect)})
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s: status %d, want 503", path, resp.StatusCode)
		}
	}
}

// TestShutdown checks that the drain of a node closes open streams with
// disconnect 3001.
func TestShutdown(t *testing.T) {
	srv := newServer(t, serverOptions{})
	c := srv.connect(t, viaStream)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := srv.sessions.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if d := c.nextReply().GetPush().GetDisconnect(); d.GetCode() !=
		protocol.DisconnectShutdown.Code {
		t.Fatalf("disconnect %v, want 3001", d)
	}
	c.wantEnd()
}
