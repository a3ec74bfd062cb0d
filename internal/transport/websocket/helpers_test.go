package websocket

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	cf "github.com/centrifugal/protocol"
	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/heraldhq/herald/internal/channel"
	"github.com/heraldhq/herald/internal/engine/memory"
	"github.com/heraldhq/herald/internal/hub"
	"github.com/heraldhq/herald/internal/node"
	"github.com/heraldhq/herald/internal/session"
	"github.com/heraldhq/herald/internal/transport"
)

var discardLogger = slog.New(slog.DiscardHandler)

// testServer is a Handler behind a real HTTP server, with a node and a
// session manager that accept anonymous connections.
type testServer struct {
	url      string
	sessions *session.Manager
}

// newServer starts a server whose handler config is adjusted by tune,
// which may be nil.
func newServer(t *testing.T, tune func(*Config)) *testServer {
	t.Helper()
	return newServerWith(t, nil, tune)
}

// newTimedServer is [newServer] with the session manager's timing wheel
// running, pinging every interval and waiting pongTimeout for answers.
func newTimedServer(t *testing.T, interval, pongTimeout time.Duration) *testServer {
	t.Helper()
	srv := newServerWith(t, func(c *session.Config) {
		c.PingInterval, c.PongTimeout = interval, pongTimeout
	}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.sessions.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return srv
}

// newServerWith is [newServer] with the session config also adjusted, by
// tuneSessions when it is not nil.
func newServerWith(t *testing.T, tuneSessions func(*session.Config),
	tune func(*Config)) *testServer {
	t.Helper()
	rules, err := channel.NewRules(channel.Config{WithoutNamespace: channel.Options{
		AllowSubscribeForClient: true, AllowSubscribeForAnonymous: true,
		AllowPublishForClient: true, AllowPublishForAnonymous: true,
	}})
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
		Node: n, Rules: rules, Logger: discardLogger, AllowAnonymous: true,
		PingInterval: 25 * time.Second, PongTimeout: 8 * time.Second,
	}
	if tuneSessions != nil {
		tuneSessions(&sc)
	}
	m := session.NewManager(sc)
	cfg := Config{
		Sessions: m, Origins: transport.NewOriginChecker(nil), Logger: discardLogger,
	}
	if tune != nil {
		tune(&cfg)
	}
	srv := httptest.NewServer(NewHandler(cfg))
	t.Cleanup(func() {
		srv.Close()
		cancel()
		_ = broker.Close(context.Background())
		_ = presence.Close(context.Background())
	})
	return &testServer{url: "ws" + strings.TrimPrefix(srv.URL, "http"), sessions: m}
}

// dialOptions select what a test client offers in its handshake.
type dialOptions struct {
	query        string
	subprotocols []string
	origin       string
}

// dial opens a WebSocket connection; the caller checks the error.
func (s *testServer) dial(t *testing.T, o dialOptions) (*gorilla.Conn,
	*http.Response, error) {
	t.Helper()
	d := gorilla.Dialer{Subprotocols: o.subprotocols, HandshakeTimeout: 5 * time.Second}
	h := http.Header{}
	if o.origin != "" {
		h.Set("Origin", o.origin)
	}
	c, resp, err := d.Dial(s.url+o.query, h)
	if c != nil {
		t.Cleanup(func() { _ = c.Close() })
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	}
	return c, resp, err
}

// mustDial dials like dial and fails the test on error.
func (s *testServer) mustDial(t *testing.T, o dialOptions) *gorilla.Conn {
	t.Helper()
	c, _, err := s.dial(t, o)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c
}

// readReplies reads one message and decodes its replies.
func readReplies(t *testing.T, c *gorilla.Conn) (int, []*cf.Reply) {
	t.Helper()
	typ, data, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var dec cf.ReplyDecoder = cf.NewJSONReplyDecoder(data)
	if typ == gorilla.BinaryMessage {
		dec = cf.NewProtobufReplyDecoder(data)
	}
	var out []*cf.Reply
	for {
		r, err := dec.Decode()
		if err == io.EOF {
			return typ, out
		}
		if err != nil {
			t.Fatalf("decode %q: %v", data, err)
		}
		out = append(out, r)
	}
}

// readCloseError reads until the server closes the connection and returns
// its close frame.
func readCloseError(t *testing.T, c *gorilla.Conn) *gorilla.CloseError {
	t.Helper()
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		ce, ok := err.(*gorilla.CloseError)
		if !ok {
			t.Fatalf("read: %v, want a close frame", err)
		}
		return ce
	}
}

// pbCommand encodes cmd with its length prefix.
func pbCommand(t *testing.T, cmd *cf.Command) []byte {
	t.Helper()
	b, err := proto.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return append(protowire.AppendVarint(nil, uint64(len(b))), b...)
}

// clientFrame encodes a masked client frame.
func clientFrame(op ws.OpCode, fin bool, payload []byte) []byte {
	return frameBytes(op, fin, payload, true)
}

func frameBytes(op ws.OpCode, fin bool, payload []byte, masked bool) []byte {
	var buf bytes.Buffer
	h := ws.Header{Fin: fin, OpCode: op, Length: int64(len(payload)), Masked: masked}
	p := bytes.Clone(payload)
	if masked {
		h.Mask = ws.NewMask()
		ws.Cipher(p, h.Mask, 0)
	}
	_ = ws.WriteHeader(&buf, h)
	buf.Write(p)
	return buf.Bytes()
}

// readFrame reads one server frame of at most 1 MiB.
func readFrame(r io.Reader) (ws.Frame, error) {
	h, err := ws.ReadHeader(r)
	if err != nil {
		return ws.Frame{}, err
	}
	if h.Length > 1<<20 {
		return ws.Frame{}, fmt.Errorf("frame of %d bytes", h.Length)
	}
	f := ws.Frame{Header: h, Payload: make([]byte, h.Length)}
	if _, err := io.ReadFull(r, f.Payload); err != nil {
		return ws.Frame{}, err
	}
	if h.Masked {
		ws.Cipher(f.Payload, h.Mask, 0)
	}
	return f, nil
}

// writeRaw writes raw bytes to the connection underneath c.
func writeRaw(t *testing.T, c *gorilla.Conn, b []byte) {
	t.Helper()
	if _, err := c.UnderlyingConn().Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// waitFor polls cond until it holds or 5 s have passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// discardConn is a net.Conn that reads nothing and accepts every write.
type discardConn struct{}

func (discardConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (discardConn) Write(p []byte) (int, error)      { return len(p), nil }
func (discardConn) Close() error                     { return nil }
func (discardConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (discardConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (discardConn) SetDeadline(time.Time) error      { return nil }
func (discardConn) SetReadDeadline(time.Time) error  { return nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }
