package websocket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	cf "github.com/centrifugal/protocol"
	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"

	"github.com/heraldhq/herald/internal/protocol"
	"github.com/heraldhq/herald/internal/transport"
)

const jsonConnect = `{"id":1,"connect":{"name":"test"}}`

// TestSubprotocol checks the choice of encoding from the handshake.
func TestSubprotocol(t *testing.T) {
	cases := []struct {
		name   string
		dial   dialOptions
		echo   string
		binary bool
	}{
		{"no signal", dialOptions{}, "", false},
		{"json subprotocol", dialOptions{subprotocols: []string{protoJSON}}, protoJSON,
			false},
		{"protobuf subprotocol", dialOptions{subprotocols: []string{protoProtobuf}},
			protoProtobuf, true},
		{"format query", dialOptions{query: "?format=protobuf"}, "", true},
		{"cf_protocol query", dialOptions{query: "?cf_protocol=protobuf"}, "", true},
		{"json format query", dialOptions{query: "?format=json"}, "", false},
		{"unknown subprotocol", dialOptions{subprotocols: []string{"mqtt"}}, "", false},
		{"unknown, then protobuf",
			dialOptions{subprotocols: []string{"mqtt", protoProtobuf}}, protoProtobuf, true},
		{"json subprotocol, protobuf query",
			dialOptions{subprotocols: []string{protoJSON}, query: "?format=protobuf"},
			protoJSON, true},
	}
	srv := newServer(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, resp, err := srv.dial(t, tc.dial)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != tc.echo {
				t.Errorf("Sec-WebSocket-Protocol %q, want %q", got, tc.echo)
			}
			if tc.binary {
				err = c.WriteMessage(gorilla.BinaryMessage, pbCommand(t, &cf.Command{
					Id: 1, Connect: &cf.ConnectRequest{Name: "go"},
				}))
			} else {
				err = c.WriteMessage(gorilla.TextMessage, []byte(jsonConnect))
			}
			if err != nil {
				t.Fatal(err)
			}
			typ, replies := readReplies(t, c)
			wantType := gorilla.TextMessage
			if tc.binary {
				wantType = gorilla.BinaryMessage
			}
			if typ != wantType {
				t.Errorf("message type %d, want %d", typ, wantType)
			}
			if len(replies) != 1 || replies[0].Id != 1 ||
				replies[0].GetConnect().GetClient() == "" {
				t.Fatalf("replies %v, want a connect reply", replies)
			}
		})
	}
}

// TestOrigin checks the origin check of the handshake.
func TestOrigin(t *testing.T) {
	srv := newServer(t, func(c *Config) {
		c.Origins = transport.NewOriginChecker([]string{"https://app.example.com",
			"https://*.example.org"})
	})
	cases := []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"https://app.example.com", true},
		{"https://a.example.org", true},
		{"https://evil.com", false},
		{"https://app.example.com.evil.com", false},
		{"http://app.example.com", false},
	}
	for _, tc := range cases {
		t.Run(tc.origin, func(t *testing.T) {
			c, resp, err := srv.dial(t, dialOptions{origin: tc.origin})
			if tc.ok {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				err := c.WriteMessage(gorilla.TextMessage, []byte(jsonConnect))
				if err != nil {
					t.Fatal(err)
				}
				readReplies(t, c)
				return
			}
			if !errors.Is(err, gorilla.ErrBadHandshake) || resp == nil ||
				resp.StatusCode != http.StatusForbidden {
				t.Fatalf("dial: %v (response %v), want 403", err, resp)
			}
		})
	}
}

// TestDraining checks that a draining node refuses new connections.
func TestDraining(t *testing.T) {
	srv := newServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.sessions.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	_, resp, err := srv.dial(t, dialOptions{})
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial: %v (response %v), want 503", err, resp)
	}
}

// TestMessageSizeLimit checks that a message over the limit closes the
// connection with 1009, counting all fragments, and one at it passes.
func TestMessageSizeLimit(t *testing.T) {
	const limit = 1024
	// connectOfSize returns a connect command of exactly n bytes.
	connectOfSize := func(n int) []byte {
		pad := strings.Repeat("x", n-len(`{"id":1,"connect":{"name":""}}`))
		return []byte(`{"id":1,"connect":{"name":"` + pad + `"}}`)
	}
	cases := []struct {
		name  string
		parts [][]byte
		ok    bool
	}{
		{"at the limit", [][]byte{connectOfSize(limit)}, true},
		{"over the limit", [][]byte{connectOfSize(limit + 1)}, false},
		{"fragments at the limit", split(connectOfSize(limit), 3), true},
		{"fragments over the limit", split(connectOfSize(limit+1), 3), false},
		{"far over the limit", [][]byte{connectOfSize(10 * limit)}, false},
	}
	srv := newServer(t, func(c *Config) { c.MessageSizeLimit = limit })
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := srv.mustDial(t, dialOptions{})
			writeRaw(t, c, fragments(ws.OpText, tc.parts))
			if tc.ok {
				if _, rs := readReplies(t, c); len(rs) != 1 || rs[0].Connect == nil {
					t.Fatalf("replies %v, want a connect reply", rs)
				}
				return
			}
			if ce := readCloseError(t, c); ce.Code != gorilla.CloseMessageTooBig {
				t.Fatalf("close %d %q, want 1009", ce.Code, ce.Text)
			}
		})
	}
}

// split cuts b into n parts of about the same size.
func split(b []byte, n int) [][]byte {
	var out [][]byte
	size := (len(b) + n - 1) / n
	for len(b) > size {
		out = append(out, b[:size])
		b = b[size:]
	}
	return append(out, b)
}

// fragments encodes parts as one fragmented message of type op.
func fragments(op ws.OpCode, parts [][]byte) []byte {
	var out []byte
	for i, p := range parts {
		fop := op
		if i > 0 {
			fop = ws.OpContinuation
		}
		out = append(out, clientFrame(fop, i == len(parts)-1, p)...)
	}
	return out
}

// TestFragmentedMessages checks that fragments are reassembled into one
// frame for the session, with control frames allowed between them.
func TestFragmentedMessages(t *testing.T) {
	srv := newServer(t, nil)
	frame := []byte(jsonConnect + "\n" + `{"id":2,"subscribe":{"channel":"news"}}`)
	cases := []struct {
		name string
		raw  []byte
	}{
		{"two fragments", fragments(ws.OpText, split(frame, 2))},
		{"one byte each", fragments(ws.OpText, split(frame, len(frame)))},
		{"empty fragments", fragments(ws.OpText, [][]byte{nil, frame, nil})},
		{"ping in between", bytes.Join([][]byte{
			clientFrame(ws.OpText, false, frame[:10]),
			clientFrame(ws.OpPing, true, []byte("p")),
			clientFrame(ws.OpContinuation, true, frame[10:]),
		}, nil)},
		{"binary opcode for JSON", fragments(ws.OpBinary, split(frame, 3))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := srv.mustDial(t, dialOptions{})
			pongs := make(chan string, 1)
			c.SetPongHandler(func(s string) error { pongs <- s; return nil })
			writeRaw(t, c, tc.raw)
			var ids []uint32
			for len(ids) < 2 {
				_, rs := readReplies(t, c)
				for _, r := range rs {
					if r.Error != nil {
						t.Errorf("reply error %v", r.Error)
					}
					ids = append(ids, r.Id)
				}
			}
			if len(ids) != 2 || ids[0] != 1 || ids[1] != 2 {
				t.Errorf("reply ids %v, want [1 2]", ids)
			}
			if strings.Contains(tc.name, "ping") {
				select {
				case p := <-pongs:
					if p != "p" {
						t.Errorf("pong %q, want %q", p, "p")
					}
				default:
					t.Error("no pong for the ping between fragments")
				}
			}
		})
	}
}

// TestClientPing checks that a client ping is answered with a pong that
// echoes its payload, before and after connect.
func TestClientPing(t *testing.T) {
	srv := newServer(t, nil)
	c := srv.mustDial(t, dialOptions{})
	pongs := make(chan string, 2)
	c.SetPongHandler(func(s string) error { pongs <- s; return nil })
	deadline := time.Now().Add(5 * time.Second)
	if err := c.WriteControl(gorilla.PingMessage, []byte("one"), deadline); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(gorilla.TextMessage, []byte(jsonConnect)); err != nil {
		t.Fatal(err)
	}
	readReplies(t, c) // the pong was written before the reply
	if err := c.WriteControl(gorilla.PingMessage, []byte("two"), deadline); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(gorilla.TextMessage,
		[]byte(`{"id":2,"subscribe":{"channel":"x"}}`)); err != nil {
		t.Fatal(err)
	}
	readReplies(t, c)
	for _, want := range []string{"one", "two"} {
		select {
		case got := <-pongs:
			if got != want {
				t.Errorf("pong %q, want %q", got, want)
			}
		default:
			t.Fatalf("no pong for ping %q", want)
		}
	}
}

// TestControlFrameTooLarge checks that a control frame over 125 bytes is a
// protocol error.
func TestControlFrameTooLarge(t *testing.T) {
	srv := newServer(t, nil)
	c := srv.mustDial(t, dialOptions{})
	writeRaw(t, c, clientFrame(ws.OpPing, true, bytes.Repeat([]byte("p"), 126)))
	if ce := readCloseError(t, c); ce.Code != gorilla.CloseProtocolError {
		t.Fatalf("close %d, want 1002", ce.Code)
	}
}

// TestUnmaskedFrame checks that an unmasked client frame is a protocol
// error.
func TestUnmaskedFrame(t *testing.T) {
	srv := newServer(t, nil)
	c := srv.mustDial(t, dialOptions{})
	writeRaw(t, c, frameBytes(ws.OpText, true, []byte(jsonConnect), false))
	if ce := readCloseError(t, c); ce.Code != gorilla.CloseProtocolError {
		t.Fatalf("close %d, want 1002", ce.Code)
	}
}

// TestCloseHandshake checks both directions of the close handshake and
// that the session goes away afterwards.
func TestCloseHandshake(t *testing.T) {
	t.Run("client closes", func(t *testing.T) {
		srv := newServer(t, nil)
		c := srv.mustDial(t, dialOptions{})
		if err := c.WriteMessage(gorilla.TextMessage, []byte(jsonConnect)); err != nil {
			t.Fatal(err)
		}
		readReplies(t, c)
		waitFor(t, "the session", func() bool { return srv.sessions.NumClients() == 1 })
		msg := gorilla.FormatCloseMessage(gorilla.CloseNormalClosure, "bye")
		if err := c.WriteMessage(gorilla.CloseMessage, msg); err != nil {
			t.Fatal(err)
		}
		if ce := readCloseError(t, c); ce.Code != gorilla.CloseNormalClosure {
			t.Errorf("close echo %d, want 1000", ce.Code)
		}
		waitFor(t, "the session to end", func() bool {
			return srv.sessions.NumClients() == 0
		})
	})
	// RFC 6455 §7.4: the answer echoes the client's code, or carries none
	// when the client sent none or one that may not be sent (1005).
	echoes := []struct {
		name    string
		payload []byte
		want    int // -1: no code
	}{
		{"echo without a code", nil, -1},
		{"echo of 1000", ws.NewCloseFrameBody(1000, "bye"), 1000},
		{"echo of 4001", ws.NewCloseFrameBody(4001, ""), 4001},
		{"echo of 1005", ws.NewCloseFrameBody(1005, ""), -1},
	}
	for _, tc := range echoes {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, nil)
			c := srv.mustDial(t, dialOptions{})
			writeRaw(t, c, clientFrame(ws.OpClose, true, tc.payload))
			f, err := readFrame(c.UnderlyingConn())
			if err != nil {
				t.Fatal(err)
			}
			if f.Header.OpCode != ws.OpClose {
				t.Fatalf("frame %v, want a close frame", f.Header)
			}
			got := -1
			if len(f.Payload) > 0 {
				code, _ := ws.ParseCloseFrameData(f.Payload)
				got = int(code)
			}
			if got != tc.want {
				t.Errorf("close echo with code %d, want %d", got, tc.want)
			}
		})
	}
	t.Run("server closes", func(t *testing.T) {
		srv := newServer(t, nil)
		c := srv.mustDial(t, dialOptions{})
		if err := c.WriteMessage(gorilla.TextMessage, []byte(jsonConnect)); err != nil {
			t.Fatal(err)
		}
		readReplies(t, c)
		if err := c.WriteMessage(gorilla.TextMessage, []byte(`{"id":2}`)); err != nil {
			t.Fatal(err)
		}
		// gorilla answers the close frame itself, completing the handshake.
		ce := readCloseError(t, c)
		if ce.Code != 3501 || ce.Text != "bad request" {
			t.Errorf("close %d %q, want 3501 bad request", ce.Code, ce.Text)
		}
		// The server then drops the connection.
		_ = c.UnderlyingConn().SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.UnderlyingConn().Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("read after the close handshake: %v, want EOF", err)
		}
		waitFor(t, "the session to end", func() bool {
			return srv.sessions.NumClients() == 0
		})
	})
}

// TestRepliesJoined checks that replies written together arrive as one
// text message of newline-joined replies without a trailing newline.
func TestRepliesJoined(t *testing.T) {
	srv := newServer(t, nil)
	c := srv.mustDial(t, dialOptions{})
	lines := []string{jsonConnect}
	for i := 2; i <= 50; i++ {
		lines = append(lines, fmt.Sprintf(`{"id":%d,"subscribe":{"channel":"c%d"}}`, i, i))
	}
	if err := c.WriteMessage(gorilla.TextMessage,
		[]byte(strings.Join(lines, "\n"))); err != nil {
		t.Fatal(err)
	}
	var ids []uint32
	for len(ids) < len(lines) {
		typ, data, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if typ != gorilla.TextMessage || len(data) == 0 || data[len(data)-1] == '\n' {
			t.Fatalf("message type %d %q", typ, data)
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			rs := decodeAll(t, line)
			if len(rs) != 1 {
				t.Fatalf("line %q holds %d replies", line, len(rs))
			}
			ids = append(ids, rs[0].Id)
		}
	}
	for i, id := range ids {
		if id != uint32(i+1) {
			t.Fatalf("reply ids %v, want 1..%d in order", ids, len(lines))
		}
	}
}

func decodeAll(t *testing.T, data []byte) []*cf.Reply {
	t.Helper()
	dec := cf.NewJSONReplyDecoder(data)
	var out []*cf.Reply
	for {
		r, err := dec.Decode()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("decode %q: %v", data, err)
		}
		out = append(out, r)
	}
}

// TestWriteBatch checks the frames WriteBatch produces: one unmasked frame
// per batch, newline-joined for JSON and concatenated for Protobuf, with
// each length encoding.
func TestWriteBatch(t *testing.T) {
	big := bytes.Repeat([]byte("b"), 70000)
	mid := bytes.Repeat([]byte("m"), 300)
	cases := []struct {
		name   string
		binary bool
		items  [][]byte
		want   []byte
		op     ws.OpCode
	}{
		{"one JSON item", false, [][]byte{[]byte(`{}`)}, []byte(`{}`), ws.OpText},
		{"JSON items", false, [][]byte{[]byte(`{"id":1}`), []byte(`{}`), []byte(`{"a":2}`)},
			[]byte("{\"id\":1}\n{}\n{\"a\":2}"), ws.OpText},
		{"Protobuf items", true, [][]byte{{0}, {2, 8, 1}, {0}}, []byte{0, 2, 8, 1, 0},
			ws.OpBinary},
		{"16-bit length", false, [][]byte{mid, mid}, append(append(bytes.Clone(mid), '\n'),
			mid...), ws.OpText},
		{"64-bit length", true, [][]byte{big}, big, ws.OpBinary},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server, client := net.Pipe()
			t.Cleanup(func() { _ = server.Close(); _ = client.Close() })
			c := newConn(server, nil, tc.binary, &Config{WriteTimeout: 5 * time.Second})
			errc := make(chan error, 1)
			go func() { errc <- c.WriteBatch(tc.items) }()
			f, err := readFrame(client)
			if err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("WriteBatch: %v", err)
			}
			if !f.Header.Fin || f.Header.Masked || f.Header.OpCode != tc.op {
				t.Errorf("header %+v, want a final unmasked frame of type %v", f.Header,
					tc.op)
			}
			if !bytes.Equal(f.Payload, tc.want) {
				t.Errorf("payload %.80q, want %.80q", f.Payload, tc.want)
			}
		})
	}
	t.Run("after close", func(t *testing.T) {
		c := newConn(discardConn{}, nil, false, &Config{WriteTimeout: time.Second})
		c.Close(protocol.DisconnectShutdown)
		if err := c.WriteBatch([][]byte{[]byte(`{}`)}); !errors.Is(err, net.ErrClosed) {
			t.Errorf("WriteBatch after Close: %v, want net.ErrClosed", err)
		}
	})
}

// TestCloseFrame checks the close frame Close writes for a disconnect.
func TestCloseFrame(t *testing.T) {
	long := &protocol.Disconnect{Code: 4500, Reason: strings.Repeat("r", 200)}
	cases := []struct {
		name   string
		d      *protocol.Disconnect
		frame  bool
		reason string
	}{
		{"disconnect", protocol.DisconnectBadRequest, true, "bad request"},
		{"long reason", long, true, strings.Repeat("r", 123)},
		{"no advice", protocol.DisconnectConnectionClosed, false, ""},
		{"nil", nil, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server, client := net.Pipe()
			t.Cleanup(func() { _ = server.Close(); _ = client.Close() })
			c := newConn(server, nil, false, &Config{WriteTimeout: 5 * time.Second})
			go c.Close(tc.d)
			f, err := readFrame(client)
			if !tc.frame {
				if err == nil {
					t.Fatalf("frame %+v, want the connection dropped", f.Header)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			code, reason := ws.ParseCloseFrameData(f.Payload)
			if f.Header.OpCode != ws.OpClose || uint32(code) != tc.d.Code ||
				reason != tc.reason {
				t.Errorf("frame %v code %d reason %q", f.Header.OpCode, code, reason)
			}
		})
	}
}
