package httpstream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	cf "github.com/centrifugal/protocol"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/channel"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/engine/memory"
	"github.com/heraldhq/herald/internal/hub"
	"github.com/heraldhq/herald/internal/node"
	"github.com/heraldhq/herald/internal/protocol"
	"github.com/heraldhq/herald/internal/session"
	"github.com/heraldhq/herald/internal/transport"
)

var discardLogger = slog.New(slog.DiscardHandler)

const testSecret = "httpstream-test-secret"

// Timing of the ping tests: the wheel ticks once a second, so intervals are
// whole seconds and the pong check runs on the tick after the ping.
const (
	testPingInterval = 2 * time.Second
	testPongTimeout  = time.Second
)

// waitTimeout bounds every wait for something the server sends.
const waitTimeout = 5 * time.Second

// Endpoint paths, as the application mounts them.
const (
	pathStream     = "/connection/http_stream"
	pathSSE        = "/connection/sse"
	pathEmulation  = "/emulation"
	pathUniSSE     = "/connection/uni_sse"
	pathUniStream  = "/connection/uni_http_stream"
	contentJSON    = "application/json"
	contentBinary  = "application/octet-stream"
	allowedOrigin  = "https://app.example.com"
	rejectedOrigin = "https://evil.example.net"
)

// serverOptions adjust a test server; the zero value is a single node on
// the memory engine whose timing wheel does not run.
type serverOptions struct {
	sessions func(*session.Config)
	handlers func(*Config)
	// broker replaces the memory broker, for tests of several nodes.
	broker engine.Broker
	// announce is the node's announcement interval (0: the default).
	announce time.Duration
	// wheel runs the session manager's timing wheel.
	wheel bool
}

// testServer is every handler of the package behind a real HTTP server,
// with a node and a session manager that accept anonymous connections and
// HMAC tokens signed with testSecret.
type testServer struct {
	url      string
	node     *node.Node
	sessions *session.Manager
	presence engine.PresenceManager
}

func newServer(t *testing.T, o serverOptions) *testServer {
	t.Helper()
	opts := channel.Options{
		Presence:                true,
		AllowSubscribeForClient: true, AllowSubscribeForAnonymous: true,
		AllowPublishForClient: true, AllowPublishForAnonymous: true,
	}
	chans := channel.DefaultConfig()
	chans.WithoutNamespace = opts
	rules, err := channel.NewRules(chans)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(auth.Config{HMACSecretKey: testSecret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	broker := o.broker
	if broker == nil {
		broker = memory.NewBroker(memory.Config{})
	}
	presence := memory.NewPresenceManager(memory.Config{})
	n := node.New(node.Config{
		Name: "test", Version: "0.0.0-test", Broker: broker, Presence: presence,
		Hub: hub.New(session.Encoders()), Logger: discardLogger,
		AnnounceInterval: o.announce,
	})

	sc := session.Config{
		Node: n, Rules: rules, Verifier: verifier, Logger: discardLogger,
		AllowAnonymous: true, PersonalChannel: true,
		PingInterval: 25 * time.Second, PongTimeout: 8 * time.Second,
	}
	if o.sessions != nil {
		o.sessions(&sc)
	}
	m := session.NewManager(sc)
	n.SetLocal(m)
	ctx, cancel := context.WithCancel(context.Background())
	if err := n.Run(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	wheelDone := make(chan struct{})
	if o.wheel {
		go func() {
			defer close(wheelDone)
			m.Run(ctx)
		}()
	} else {
		close(wheelDone)
	}

	cfg := Config{
		Sessions: m, Node: n, Logger: discardLogger,
		Origins: transport.NewOriginChecker([]string{allowedOrigin}),
	}
	if o.handlers != nil {
		o.handlers(&cfg)
	}
	mux := http.NewServeMux()
	mux.Handle(pathStream, NewStream(cfg))
	mux.Handle(pathSSE, NewSSE(cfg))
	mux.Handle(pathEmulation, NewEmulation(cfg))
	mux.Handle(pathUniSSE, NewUniSSE(cfg))
	mux.Handle(pathUniStream, NewUniStream(cfg))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		// Streams still open would keep Close waiting for their handlers.
		srv.CloseClientConnections()
		srv.Close()
		sctx, scancel := context.WithTimeout(context.Background(), waitTimeout)
		defer scancel()
		n.Stop(sctx)
		cancel()
		<-wheelDone
		_ = broker.Close(sctx)
		_ = presence.Close(sctx)
	})
	return &testServer{url: srv.URL, node: n, sessions: m, presence: presence}
}

// request describes one HTTP request of a test client.
type request struct {
	method      string
	path        string
	contentType string
	body        []byte
	origin      string
	header      http.Header
}

func (s *testServer) newRequest(t *testing.T, ctx context.Context,
	r request) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, r.method, s.url+r.path,
		bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vv := range r.header {
		req.Header[k] = vv
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.origin != "" {
		req.Header.Set("Origin", r.origin)
	}
	return req
}

// do sends a request that is not expected to stream and returns its
// response with the body read.
func (s *testServer) do(t *testing.T, r request) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	resp, err := http.DefaultClient.Do(s.newRequest(t, ctx, r))
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", r.method, r.path, err)
	}
	return resp, body
}

// framing is how a test client splits a stream into messages.
type framing int

const (
	framedLines framing = iota
	framedPrefixed
	framedEvents
)

// streamClient reads one streaming response on a goroutine of its own that
// ends with the response.
type streamClient struct {
	t    *testing.T
	resp *http.Response
	msgs chan []byte
	// lead is the first line of an SSE stream; it is set before the first
	// message is delivered.
	lead   string
	cancel context.CancelFunc
	done   chan struct{}
}

// open starts a streaming request, checks that it was answered 200 and
// starts reading it. The stream is closed when the test ends.
func (s *testServer) open(t *testing.T, r request, f framing) *streamClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := http.DefaultClient.Do(s.newRequest(t, ctx, r))
	if err != nil {
		cancel()
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		cancel()
		t.Fatalf("%s %s: status %d (%q), want 200", r.method, r.path,
			resp.StatusCode, body)
	}
	c := &streamClient{t: t, resp: resp, msgs: make(chan []byte, 64),
		cancel: cancel, done: make(chan struct{})}
	go c.read(bufio.NewReader(resp.Body), f)
	t.Cleanup(c.close)
	return c
}

// close ends the request, as a client going away does, and waits for the
// reader.
func (c *streamClient) close() {
	c.cancel()
	_ = c.resp.Body.Close()
	<-c.done
}

func (c *streamClient) read(br *bufio.Reader, f framing) {
	defer close(c.done)
	defer close(c.msgs)
	switch f {
	case framedLines:
		c.readLines(br)
	case framedPrefixed:
		c.readPrefixed(br)
	case framedEvents:
		c.readEvents(br)
	}
}

func (c *streamClient) readLines(br *bufio.Reader) {
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return
		}
		c.msgs <- bytes.TrimSuffix(line, []byte("\n"))
	}
}

func (c *streamClient) readPrefixed(br *bufio.Reader) {
	for {
		n, err := binary.ReadUvarint(br)
		if err != nil || n > 1<<20 {
			return
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(br, msg); err != nil {
			return
		}
		c.msgs <- msg
	}
}

// readEvents splits an event stream the way a browser does: data lines are
// joined with '\n' and a blank line ends the event.
func (c *streamClient) readEvents(br *bufio.Reader) {
	first := true
	var data [][]byte
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return
		}
		if first {
			c.lead, first = string(line), false
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		switch {
		case len(line) == 0:
			if data != nil {
				c.msgs <- bytes.Join(data, []byte("\n"))
				data = nil
			}
		case bytes.HasPrefix(line, []byte("data: ")):
			data = append(data, bytes.Clone(line[len("data: "):]))
		default:
			c.t.Errorf("unexpected event stream line %q", line)
		}
	}
}

// next returns the next message, failing the test if the stream ends or
// nothing arrives in time.
func (c *streamClient) next() []byte {
	c.t.Helper()
	select {
	case msg, ok := <-c.msgs:
		if !ok {
			c.t.Fatal("stream ended, want a message")
		}
		return msg
	case <-time.After(waitTimeout):
		c.t.Fatal("no message in time")
	}
	return nil
}

// wantEnd fails unless the stream ends with no further message.
func (c *streamClient) wantEnd() {
	c.t.Helper()
	select {
	case msg, ok := <-c.msgs:
		if ok {
			c.t.Fatalf("got %q, want the end of the stream", msg)
		}
	case <-time.After(waitTimeout):
		c.t.Fatal("stream did not end in time")
	}
}

// conn is a bidirectional emulated connection seen from its client.
type conn struct {
	*streamClient
	srv     *testServer
	binary  bool
	client  string
	session string
	node    string
}

// Ways a test client opens a bidirectional stream.
const (
	viaStream   = "http_stream JSON"
	viaProtobuf = "http_stream Protobuf"
	viaSSE      = "sse GET"
	viaSSEPost  = "sse POST"
)

var bidiKinds = []string{viaStream, viaProtobuf, viaSSE, viaSSEPost}

const jsonConnect = `{"id":1,"connect":{"name":"test"}}`

// connect opens a bidirectional stream the way kind names, checks its
// connect reply and returns the connection.
func (s *testServer) connect(t *testing.T, kind string) *conn {
	t.Helper()
	c := &conn{srv: s}
	switch kind {
	case viaStream:
		c.streamClient = s.open(t, request{method: http.MethodPost, path: pathStream,
			contentType: contentJSON, body: []byte(jsonConnect)}, framedLines)
	case viaProtobuf:
		c.binary = true
		body := pbCommand(t, &cf.Command{Id: 1, Connect: &cf.ConnectRequest{Name: "go"}})
		c.streamClient = s.open(t, request{method: http.MethodPost, path: pathStream,
			contentType: contentBinary, body: body}, framedPrefixed)
	case viaSSE:
		q := "?cf_connect=" + url.QueryEscape(jsonConnect)
		c.streamClient = s.open(t, request{method: http.MethodGet, path: pathSSE + q},
			framedEvents)
	case viaSSEPost:
		c.streamClient = s.open(t, request{method: http.MethodPost, path: pathSSE,
			contentType: contentJSON, body: []byte(jsonConnect)}, framedEvents)
	default:
		t.Fatalf("unknown stream kind %q", kind)
	}

	r := c.nextReply()
	res := r.GetConnect()
	if r.Id != 1 || res == nil || res.Client == "" {
		t.Fatalf("first reply %v, want a connect reply", r)
	}
	c.client, c.session, c.node = res.Client, res.Session, res.Node
	return c
}

// nextReply decodes the next message as one Reply.
func (c *conn) nextReply() *cf.Reply {
	c.t.Helper()
	msg := c.next()
	r := &cf.Reply{}
	if c.binary {
		if err := proto.Unmarshal(msg, r); err != nil {
			c.t.Fatalf("decode %x: %v", msg, err)
		}
		return r
	}
	r, err := cf.NewJSONReplyDecoder(msg).Decode()
	if err != nil {
		c.t.Fatalf("decode %q: %v", msg, err)
	}
	return r
}

// send posts one command frame to the emulation endpoint in the stream's
// encoding and returns the status.
func (c *conn) send(cmds ...*cf.Command) int {
	c.t.Helper()
	var frame []byte
	for i, cmd := range cmds {
		if c.binary {
			frame = append(frame, pbCommand(c.t, cmd)...)
			continue
		}
		b, err := json.Marshal(cmd)
		if err != nil {
			c.t.Fatal(err)
		}
		if i > 0 {
			frame = append(frame, '\n')
		}
		frame = append(frame, b...)
	}
	return c.srv.emulate(c.t, c.binary, c.node, c.session, frame)
}

// sendRaw posts frame as it is.
func (c *conn) sendRaw(frame string) int {
	c.t.Helper()
	return c.srv.emulate(c.t, c.binary, c.node, c.session, []byte(frame))
}

// emulate posts an emulation request and returns the status.
func (s *testServer) emulate(t *testing.T, binary bool, nodeID, key string,
	frame []byte) int {
	t.Helper()
	r := request{method: http.MethodPost, path: pathEmulation}
	if binary {
		r.contentType, r.body = contentBinary, pbEmulation(nodeID, key, frame)
	} else {
		r.contentType, r.body = contentJSON, jsonEmulation(t, nodeID, key, frame)
	}
	resp, _ := s.do(t, r)
	return resp.StatusCode
}

func jsonEmulation(t *testing.T, nodeID, key string, frame []byte) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]string{
		"node": nodeID, "session": key, "data": string(frame)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pbEmulation(nodeID, key string, frame []byte) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, nodeID)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, key)
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	return protowire.AppendBytes(b, frame)
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

// subscribe subscribes c to ch through the emulation endpoint and waits for
// the reply.
func (c *conn) subscribe(ch string, id uint32) {
	c.t.Helper()
	st := c.send(&cf.Command{Id: id, Subscribe: &cf.SubscribeRequest{Channel: ch}})
	if st != http.StatusNoContent {
		c.t.Fatalf("emulation status %d, want 204", st)
	}
	r := c.nextReply()
	if r.Id != id || r.Subscribe == nil || r.Error != nil {
		c.t.Fatalf("reply %v, want the subscribe reply %d", r, id)
	}
}

// publish publishes data into ch through the node, as the server API does.
func (s *testServer) publish(t *testing.T, ch, data string) {
	t.Helper()
	_, err := s.node.Publish(context.Background(), ch,
		&protocol.Publication{Data: []byte(data)}, engine.PublishOptions{})
	if err != nil {
		t.Fatalf("publish to %q: %v", ch, err)
	}
}

// token signs a connection token for user with extra claims.
func token(t *testing.T, user string, claims map[string]any) string {
	t.Helper()
	tok, err := auth.GenerateHMACToken(testSecret, user, 0, claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// waitFor polls cond until it holds or waitTimeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// isPing reports whether msg is the JSON ping or keepalive.
func isPing(msg []byte) bool { return strings.TrimSpace(string(msg)) == "{}" }
