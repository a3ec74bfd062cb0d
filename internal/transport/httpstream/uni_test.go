package httpstream

import (
	"net/http"
	"net/url"
	"testing"

	cf "github.com/centrifugal/protocol"

	"github.com/heraldhq/herald/internal/protocol"
	"github.com/heraldhq/herald/internal/session"
)

// uniConn is a unidirectional stream seen from its client.
type uniConn struct {
	*streamClient
}

// openUni opens a unidirectional stream with the ConnectRequest req, the
// way kind names.
func (s *testServer) openUni(t *testing.T, kind, req string) *uniConn {
	t.Helper()
	switch kind {
	case "uni_sse GET":
		q := ""
		if req != "" {
			q = "?cf_connect=" + url.QueryEscape(req)
		}
		return &uniConn{s.open(t, request{method: http.MethodGet, path: pathUniSSE + q},
			framedEvents)}
	case "uni_sse POST":
		return &uniConn{s.open(t, request{method: http.MethodPost, path: pathUniSSE,
			contentType: contentJSON, body: []byte(req)}, framedEvents)}
	case "uni_http_stream":
		return &uniConn{s.open(t, request{method: http.MethodPost, path: pathUniStream,
			contentType: contentJSON, body: []byte(req)}, framedLines)}
	}
	t.Fatalf("unknown stream kind %q", kind)
	return nil
}

var uniKinds = []string{"uni_sse GET", "uni_sse POST", "uni_http_stream"}

// nextPush decodes the next message as a bare Push.
func (c *uniConn) nextPush() (*cf.Push, []byte) {
	c.t.Helper()
	msg := c.next()
	if len(msg) == 0 || msg[0] != '{' {
		c.t.Fatalf("got %q, want a push", msg)
	}
	// A bare push is a Reply's push field; the wrapper lets the client
	// library decode it.
	wrapped := append(append([]byte(`{"push":`), msg...), '}')
	r, err := cf.NewJSONReplyDecoder(wrapped).Decode()
	if err != nil || r.Push == nil {
		c.t.Fatalf("decode %q: %v", msg, err)
	}
	return r.Push, msg
}

// TestUniConnect checks that a unidirectional stream starts with a connect
// push listing the server-side subscriptions, from the token's channels
// claim and the personal channel, and then carries publications as bare
// pushes.
func TestUniConnect(t *testing.T) {
	srv := newServer(t, serverOptions{})
	tok := token(t, "alice", map[string]any{"channels": []string{"news"}})
	for _, kind := range uniKinds {
		t.Run(kind, func(t *testing.T) {
			c := srv.openUni(t, kind, `{"token":"`+tok+`","name":"uni"}`)
			p, _ := c.nextPush()
			res := p.GetConnect()
			if res.GetClient() == "" || res.GetSession() == "" || res.GetPong() {
				t.Fatalf("first push %v, want a connect push without pong", p)
			}
			for _, ch := range []string{"news", "#alice"} {
				if _, ok := res.GetSubs()[ch]; !ok {
					t.Errorf("connect subs %v, want %q", res.GetSubs(), ch)
				}
			}

			for _, ch := range []string{"news", "#alice"} {
				srv.publish(t, ch, `{"to":"`+ch+`"}`)
				p, raw := c.nextPush()
				data := `{"to":"` + ch + `"}`
				if p.GetChannel() != ch || string(p.GetPub().GetData()) != data {
					t.Fatalf("push %q, want the publication in %s", raw, ch)
				}
			}
		})
	}
}

// TestUniFormattedRequest checks that a ConnectRequest spread over several
// lines is one request, not several commands.
func TestUniFormattedRequest(t *testing.T) {
	srv := newServer(t, serverOptions{})
	tok := token(t, "bob", nil)
	formatted := "{\n  \"token\": \"" + tok + "\",\n  \"name\": \"x\"\n}\n"
	c := srv.openUni(t, "uni_http_stream", formatted)
	p, _ := c.nextPush()
	if _, ok := p.GetConnect().GetSubs()["#bob"]; !ok {
		t.Fatalf("first push %v, want a connect push subscribed to #bob", p)
	}
}

// TestUniAnonymous checks uni_sse without cf_connect: an empty request
// connects an anonymous client.
func TestUniAnonymous(t *testing.T) {
	srv := newServer(t, serverOptions{})
	c := srv.openUni(t, "uni_sse GET", "")
	if p, _ := c.nextPush(); p.GetConnect().GetClient() == "" {
		t.Fatalf("first push %v, want a connect push", p)
	}
	if c.lead != "\r\n" {
		t.Errorf("event stream starts with %q, want \\r\\n", c.lead)
	}
}

// TestUniKeepalive checks that a unidirectional stream gets {} keepalives
// and is not closed for not answering them.
func TestUniKeepalive(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{wheel: true, sessions: func(c *session.Config) {
		c.PingInterval, c.PongTimeout = testPingInterval, testPongTimeout
	}})
	for _, kind := range []string{"uni_sse GET", "uni_http_stream"} {
		t.Run(kind, func(t *testing.T) {
			c := srv.openUni(t, kind, `{}`)
			if p, _ := c.nextPush(); p.GetConnect() == nil {
				t.Fatalf("first push %v, want a connect push", p)
			}
			for range 2 {
				if msg := c.next(); string(msg) != "{}" {
					t.Fatalf("got %q, want the keepalive {}", msg)
				}
			}
		})
	}
}

// TestUniInvalidToken checks that a refused connect becomes a bare
// Disconnect push, after which the stream ends.
func TestUniInvalidToken(t *testing.T) {
	srv := newServer(t, serverOptions{})
	for _, kind := range uniKinds {
		t.Run(kind, func(t *testing.T) {
			c := srv.openUni(t, kind, `{"token":"not.a.token"}`)
			msg := c.next()
			want := `{"disconnect":{"code":3500,"reason":"invalid token"}}`
			if string(msg) != want {
				t.Fatalf("got %q, want %q", msg, want)
			}
			c.wantEnd()
		})
	}
}

// TestUniServerDisconnect checks the bare Disconnect push of a server-side
// disconnect.
func TestUniServerDisconnect(t *testing.T) {
	srv := newServer(t, serverOptions{})
	c := srv.openUni(t, "uni_http_stream", `{"token":"`+token(t, "carol", nil)+`"}`)
	if p, _ := c.nextPush(); p.GetConnect() == nil {
		t.Fatalf("first push %v, want a connect push", p)
	}
	srv.sessions.DisconnectUser(session.Target{User: "carol"},
		protocol.DisconnectForceReconnect, nil)
	p, _ := c.nextPush()
	if p.GetDisconnect().GetCode() != protocol.DisconnectForceReconnect.Code {
		t.Fatalf("push %v, want disconnect %d", p, protocol.DisconnectForceReconnect.Code)
	}
	c.wantEnd()
	waitFor(t, "the session to be unregistered", func() bool {
		return srv.sessions.NumClients() == 0
	})
}
