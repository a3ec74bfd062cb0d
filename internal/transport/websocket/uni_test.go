package websocket

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	cf "github.com/centrifugal/protocol"
	"github.com/gobwas/ws"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/channel"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/engine/memory"
	"github.com/heraldhq/herald/internal/hub"
	"github.com/heraldhq/herald/internal/node"
	"github.com/heraldhq/herald/internal/outbound"
	"github.com/heraldhq/herald/internal/protocol"
	"github.com/heraldhq/herald/internal/session"
	"github.com/heraldhq/herald/internal/transport"
)

const uniSecret = "uni-websocket-test-secret"

// uniServer is a UniHandler behind a real HTTP server, with the node that
// its sessions subscribe on. The session manager verifies HMAC tokens
// signed with uniSecret, accepts anonymous connections, subscribes users to
// their personal channel and runs its timing wheel.
type uniServer struct {
	*testServer
	node *node.Node
}

// newUniServer starts a uni server whose session and handler configs are
// adjusted by tuneSessions and tune, either of which may be nil. The
// handler's ping interval and pong timeout follow the session config's.
func newUniServer(t *testing.T, tuneSessions func(*session.Config),
	tune func(*UniConfig)) *uniServer {
	t.Helper()
	chans := channel.DefaultConfig()
	chans.WithoutNamespace = channel.Options{
		AllowSubscribeForClient: true, AllowSubscribeForAnonymous: true,
	}
	rules, err := channel.NewRules(chans)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(auth.Config{HMACSecretKey: uniSecret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	broker := memory.NewBroker(memory.Config{})
	presence := memory.NewPresenceManager(memory.Config{})
	n := node.New(node.Config{
		Name: "test", Version: "0.0.0-test", Broker: broker, Presence: presence,
		Hub: hub.New(session.Encoders()), Logger: discardLogger,
	})
	ctx, cancel := context.WithCancel(context.Background())
	if err := n.Run(ctx); err != nil {
		t.Fatal(err)
	}

	sc := session.Config{
		Node: n, Rules: rules, Verifier: verifier, Logger: discardLogger,
		AllowAnonymous: true, PersonalChannel: true,
		PingInterval: 25 * time.Second, PongTimeout: 8 * time.Second,
	}
	if tuneSessions != nil {
		tuneSessions(&sc)
	}
	m := session.NewManager(sc)
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	cfg := UniConfig{
		Sessions: m, Origins: transport.NewOriginChecker(nil), Logger: discardLogger,
		PingInterval: sc.PingInterval, PongTimeout: sc.PongTimeout,
	}
	if tune != nil {
		tune(&cfg)
	}

	srv := httptest.NewServer(NewUniHandler(cfg))
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		_ = broker.Close(context.Background())
		_ = presence.Close(context.Background())
	})
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http")
	return &uniServer{testServer: &testServer{url: wsURL, sessions: m}, node: n}
}

// publish publishes data into ch through the node, as the server API does.
func (s *uniServer) publish(t *testing.T, ch, data string) {
	t.Helper()
	_, err := s.node.Publish(context.Background(), ch,
		&protocol.Publication{Data: []byte(data)}, engine.PublishOptions{})
	if err != nil {
		t.Fatalf("publish to %q: %v", ch, err)
	}
}

// waitGone waits until the server has no connected client left.
func (s *uniServer) waitGone(t *testing.T) {
	t.Helper()
	waitFor(t, "the sessions to end", func() bool { return s.sessions.NumClients() == 0 })
}

// cfConnect returns the query that carries the connect request req.
func cfConnect(req string) string {
	return "?cf_connect=" + url.QueryEscape(req)
}

// uniToken signs a connection token for user with extra claims.
func uniToken(t *testing.T, user string, claims map[string]any) string {
	t.Helper()
	tok, err := auth.GenerateHMACToken(uniSecret, user, 0, claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// connectRequest encodes a ConnectRequest with token.
func connectRequest(t *testing.T, token string) string {
	t.Helper()
	b, err := json.Marshal(map[string]string{"token": token})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// nextPush reads the next frame, which must be a text message holding one
// bare push, and decodes it strictly: a push still wrapped in a reply
// would not decode.
func (p *rawPeer) nextPush() *cf.Push {
	p.t.Helper()
	ev := p.next(5 * time.Second)
	if ev.f.Header.OpCode != ws.OpText {
		p.t.Fatalf("got %v frame %q, want a push", ev.f.Header.OpCode, ev.f.Payload)
	}
	return decodePush(p.t, ev.f.Payload)
}

func decodePush(t *testing.T, b []byte) *cf.Push {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var push cf.Push
	if err := dec.Decode(&push); err != nil {
		t.Fatalf("push %q: %v", b, err)
	}
	return &push
}

// nextConnect reads the connect push and checks what every uni client is
// told: its ID, the ping interval, no pong, and a session key.
func (p *rawPeer) nextConnect(ping time.Duration) *cf.Connect {
	p.t.Helper()
	push := p.nextPush()
	c := push.GetConnect()
	if c == nil {
		p.t.Fatalf("first push %v, want the connect push", push)
	}
	if c.Client == "" || c.Session == "" || c.Pong || c.Ping != uint32(ping/time.Second) {
		p.t.Fatalf("connect push %v, want a client, a session, ping %v, no pong",
			c, ping)
	}
	return c
}

// wantClose reads the next frame, which must be a close frame with code
// and reason.
func (p *rawPeer) wantClose(code ws.StatusCode, reason string) {
	p.t.Helper()
	ev := p.next(5 * time.Second)
	if ev.f.Header.OpCode != ws.OpClose {
		p.t.Fatalf("got %v frame %q, want a close frame",
			ev.f.Header.OpCode, ev.f.Payload)
	}
	gotCode, gotReason := ws.ParseCloseFrameData(ev.f.Payload)
	if gotCode != code || gotReason != reason {
		p.t.Fatalf("close %d %q, want %d %q", gotCode, gotReason, code, reason)
	}
}

// wantEnd waits for the connection to end without another frame.
func (p *rawPeer) wantEnd(timeout time.Duration) {
	p.t.Helper()
	select {
	case ev := <-p.frames:
		if ev.err == nil {
			p.t.Fatalf("got %v frame %q, want the connection to end",
				ev.f.Header.OpCode, ev.f.Payload)
		}
	case <-time.After(timeout):
		p.t.Fatalf("connection still open after %v", timeout)
	}
}

// TestUniConnect checks both ways of sending the connect request: the
// connect push comes first, with the server-side subscriptions of the
// token's channels claim and the user's personal channel, and publications
// into them arrive as bare pushes.
func TestUniConnect(t *testing.T) {
	srv := newUniServer(t, nil, nil)
	tok := uniToken(t, "42", map[string]any{"channels": []string{"news"}})
	cases := []struct {
		name  string
		query string
		first string // the first message, "" for none
	}{
		{"cf_connect", cfConnect(connectRequest(t, tok)), ""},
		{"first message", "", connectRequest(t, tok)},
		// The decoder of the session reads one command per line.
		{"pretty-printed first message", "", "{\n  \"token\": \"" + tok + "\"\n}\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := dialRawPeer(t, srv.testServer, tc.query)
			if tc.first != "" {
				p.send(ws.OpText, []byte(tc.first))
			}
			c := p.nextConnect(25 * time.Second)
			if len(c.Subs) != 2 || c.Subs["#42"] == nil || c.Subs["news"] == nil {
				t.Fatalf("connect subs %v, want #42 and news", c.Subs)
			}

			for _, ch := range []string{"news", "#42"} {
				srv.publish(t, ch, `{"time":1724300000}`)
				push := p.nextPush()
				if push.Channel != ch || string(push.GetPub().GetData()) !=
					`{"time":1724300000}` {
					t.Fatalf("push %v, want the publication into %q", push, ch)
				}
			}
		})
	}
}

// TestUniIgnoresClientMessages checks that whatever a client sends after
// its connect request is discarded, commands included, while control frames
// are still answered.
func TestUniIgnoresClientMessages(t *testing.T) {
	srv := newUniServer(t, nil, nil)
	p := dialRawPeer(t, srv.testServer, "")
	p.send(ws.OpText, []byte(connectRequest(t, uniToken(t, "7", nil))))
	p.nextConnect(25 * time.Second)

	p.send(ws.OpText, []byte("not json"))
	p.send(ws.OpBinary, []byte{0, 1, 2})
	p.send(ws.OpText, []byte(`{"id":2,"subscribe":{"channel":"news"}}`))
	p.send(ws.OpText, []byte(connectRequest(t, "")))
	p.send(ws.OpText, nil)
	p.send(ws.OpPing, []byte("hi"))
	if ev := p.next(5 * time.Second); ev.f.Header.OpCode != ws.OpPong ||
		string(ev.f.Payload) != "hi" {
		t.Fatalf("got %v frame %q, want the pong", ev.f.Header.OpCode, ev.f.Payload)
	}

	srv.publish(t, "#7", `{"n":1}`)
	if push := p.nextPush(); push.Channel != "#7" || push.Pub == nil {
		t.Fatalf("push %v, want the publication, no reply", push)
	}
	if n := srv.sessions.NumClients(); n != 1 {
		t.Fatalf("%d clients, want the connection kept", n)
	}
}

// TestUniBadConnect checks the refusals of a malformed connect request:
// HTTP 400 before the upgrade for cf_connect, close 3501 for a first
// message.
func TestUniBadConnect(t *testing.T) {
	srv := newUniServer(t, nil, func(c *UniConfig) { c.MessageSizeLimit = 512 })
	for _, q := range []string{"{", "[]", "null", `{"token":5}`, "not json"} {
		t.Run("cf_connect "+q, func(t *testing.T) {
			_, resp, err := srv.dial(t, dialOptions{query: cfConnect(q)})
			if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("dial: %v, response %v; want 400", err, resp)
			}
		})
	}

	for _, msg := range []string{"{", "[]", `{"token":5}`, ""} {
		t.Run("first message "+msg, func(t *testing.T) {
			p := dialRawPeer(t, srv.testServer, "")
			p.send(ws.OpText, []byte(msg))
			p.wantClose(3501, "bad request")
		})
	}

	t.Run("first message too large", func(t *testing.T) {
		p := dialRawPeer(t, srv.testServer, "")
		p.send(ws.OpText, []byte(`{"data":"`+strings.Repeat("x", 600)+`"}`))
		p.wantClose(ws.StatusMessageTooBig, "message size limit exceeded")
	})
}

// TestUniConnectRefused checks that a refused connect reaches the client as
// a disconnect push and a close frame with the disconnect's code, each of
// which can be turned off.
func TestUniConnectRefused(t *testing.T) {
	cases := []struct {
		name            string
		noPush, noClose bool
	}{
		{"push and close frame", false, false},
		{"without push", true, false},
		{"without close frame", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newUniServer(t, nil, func(c *UniConfig) {
				c.DisableDisconnectPush = tc.noPush
				c.DisableClosingHandshake = tc.noClose
			})
			p := dialRawPeer(t, srv.testServer, cfConnect(`{"token":"not.a.token"}`))
			if !tc.noPush {
				d := p.nextPush().GetDisconnect()
				if d.GetCode() != 3500 || d.GetReason() != "invalid token" {
					t.Fatalf("disconnect push %v, want 3500 \"invalid token\"", d)
				}
			}
			if tc.noClose {
				p.wantEnd(5 * time.Second)
				return
			}
			p.wantClose(3500, "invalid token")
		})
	}
}

// TestUniServerDisconnect checks a disconnect decided by the server: the
// push, the close frame with its code, and the end of the connection once
// the client answers the close.
func TestUniServerDisconnect(t *testing.T) {
	srv := newUniServer(t, nil, nil)
	query := cfConnect(connectRequest(t, uniToken(t, "9", nil)))
	p := dialRawPeer(t, srv.testServer, query)
	p.nextConnect(25 * time.Second)

	sessions := srv.sessions.UserSessions("9")
	if len(sessions) != 1 {
		t.Fatalf("%d sessions of user 9, want 1", len(sessions))
	}
	sessions[0].Disconnect(protocol.DisconnectForceNoReconnect)
	d := p.nextPush().GetDisconnect()
	if d.GetCode() != 3503 || d.GetReason() != "force disconnect" {
		t.Fatalf("disconnect push %v, want 3503 \"force disconnect\"", d)
	}
	p.wantClose(3503, "force disconnect")

	p.send(ws.OpClose, ws.NewCloseFrameBody(3503, ""))
	p.wantEnd(5 * time.Second)
	srv.waitGone(t)
}

// TestUniPing checks the keepalive: every ping interval a {} message and a
// ping frame; pongs keep the connection open past the read deadline, and a
// client that answers nothing is dropped.
func TestUniPing(t *testing.T) {
	timed := func(c *session.Config) {
		c.PingInterval, c.PongTimeout = testPingInterval, testPongTimeout
	}
	keepalive := func(p *rawPeer) {
		p.t.Helper()
		ev := p.next(testPingInterval + pingSlack)
		if ev.f.Header.OpCode != ws.OpText || string(ev.f.Payload) != "{}" {
			p.t.Fatalf("got %v frame %q, want {}", ev.f.Header.OpCode, ev.f.Payload)
		}
		ev = p.next(time.Second)
		if ev.f.Header.OpCode != ws.OpPing {
			p.t.Fatalf("got %v frame %q, want a ping frame",
				ev.f.Header.OpCode, ev.f.Payload)
		}
	}

	t.Run("pongs keep the connection", func(t *testing.T) {
		t.Parallel()
		srv := newUniServer(t, timed, nil)
		p := dialRawPeer(t, srv.testServer, cfConnect("{}"))
		p.nextConnect(testPingInterval)
		// Three rounds outlast the read deadline of one interval plus the
		// pong timeout several times over.
		for range 3 {
			keepalive(p)
			p.send(ws.OpPong, nil)
		}
		if n := srv.sessions.NumClients(); n != 1 {
			t.Fatalf("%d clients, want the connection kept", n)
		}
	})

	t.Run("silence drops the connection", func(t *testing.T) {
		t.Parallel()
		srv := newUniServer(t, timed, nil)
		p := dialRawPeer(t, srv.testServer, cfConnect("{}"))
		p.nextConnect(testPingInterval)
		// The deadline runs from the upgrade; a keepalive may come before
		// it expires, depending on when the wheel's first ping falls.
		deadline := time.After(testPingInterval + testPongTimeout + pingSlack)
		for {
			var ev frameEvent
			select {
			case ev = <-p.frames:
			case <-deadline:
				t.Fatal("connection still open after the read deadline")
			}
			if ev.err != nil {
				break
			}
			if op := ev.f.Header.OpCode; op != ws.OpPing &&
				(op != ws.OpText || string(ev.f.Payload) != "{}") {
				t.Fatalf("got %v frame %q, want keepalives only", op, ev.f.Payload)
			}
		}
		srv.waitGone(t)
	})
}

// TestUniHandshake checks the upgrade: no subprotocol is negotiated, and
// a browser origin that is not allowed is refused with 403.
func TestUniHandshake(t *testing.T) {
	srv := newUniServer(t, nil, func(c *UniConfig) {
		c.Origins = transport.NewOriginChecker([]string{"https://app.example.com"})
	})

	c, resp, err := srv.dial(t, dialOptions{
		subprotocols: []string{protoJSON}, origin: "https://app.example.com",
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "" {
		t.Errorf("Sec-WebSocket-Protocol %q, want none", got)
	}
	_ = c.Close()

	_, resp, err = srv.dial(t, dialOptions{origin: "https://evil.example.com"})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("dial: %v, response %v; want 403", err, resp)
	}
}

// TestUniWriteBatch checks the framing of a batch: the pushes bare, one per
// message or newline-joined, the {} keepalive as it is and a ping frame
// after it.
func TestUniWriteBatch(t *testing.T) {
	items := [][]byte{
		[]byte(`{"push":{"channel":"a","pub":{"data":1}}}`),
		[]byte(`{"push":{"channel":"b","pub":{"data":2}}}`),
		[]byte(`{}`),
	}
	bare := []string{
		`{"channel":"a","pub":{"data":1}}`, `{"channel":"b","pub":{"data":2}}`, `{}`,
	}
	cases := []struct {
		name string
		join bool
		want []string
	}{
		{"one push per message", false, bare},
		{"joined", true, []string{strings.Join(bare, "\n")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, client := socketPair(t)
			u := &uniConn{c: c, h: NewUniHandler(UniConfig{JoinPushMessages: tc.join})}
			if err := u.WriteBatch(items); err != nil {
				t.Fatal(err)
			}
			_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
			for i, want := range tc.want {
				f, err := readFrame(client)
				if err != nil {
					t.Fatal(err)
				}
				if f.Header.OpCode != ws.OpText || string(f.Payload) != want {
					t.Fatalf("message %d: %v frame %q, want %q", i, f.Header.OpCode,
						f.Payload, want)
				}
			}
			f, err := readFrame(client)
			if err != nil || f.Header.OpCode != ws.OpPing {
				t.Fatalf("got %v frame, %v; want a ping frame", f.Header.OpCode, err)
			}
		})
	}
}

// TestUniTryWrite checks the non-blocking path a single push takes: bare
// on the wire, and a keepalive left to the writer that adds the ping frame.
func TestUniTryWrite(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("non-blocking frame writes are implemented for Linux")
	}
	c, client := socketPair(t)
	u := &uniConn{c: c, h: NewUniHandler(UniConfig{})}

	res, err := u.TryWrite([]byte(`{"push":{"channel":"a","pub":{"data":1}}}`))
	if err != nil || res != outbound.TryWritten {
		t.Fatalf("TryWrite = %v, %v; want written", res, err)
	}
	if got := readFrames(t, client, 1); got[0] != `{"channel":"a","pub":{"data":1}}` {
		t.Errorf("payload %q, want the bare push", got[0])
	}
	if res, err := u.TryWrite([]byte(`{}`)); err != nil || res != outbound.TryRefused {
		t.Errorf("TryWrite of a keepalive = %v, %v; want refused", res, err)
	}
}
