package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge-go"
	"github.com/centrifugal/protocol"
	"github.com/gorilla/websocket"
)

// secret is the HMAC key of every test configuration.
const secret = "herald-e2e-secret"

// v6Config returns a v6-dialect config that accepts tokens signed with
// secret and has the given namespaces. v6 is used for channel options
// because its permissions are closed by default, unlike v3's.
func v6Config(namespaces ...map[string]any) Config {
	cfg := Config{"http_server": map[string]any{}}
	cfg.Set("client.token.hmac_secret_key", secret)
	if len(namespaces) > 0 {
		cfg.Set("channel.namespaces", namespaces)
	}
	return cfg
}

// encoding is one wire format spoken by the SDK and the raw client.
type encoding struct {
	name      string
	newClient func(endpoint string, cfg centrifuge.Config) *centrifuge.Client
	protobuf  bool
}

var encodings = []encoding{
	{name: "json", newClient: centrifuge.NewJsonClient},
	{name: "protobuf", newClient: centrifuge.NewProtobufClient, protobuf: true},
}

// forEachEncoding runs fn as one subtest per encoding.
func forEachEncoding(t *testing.T, fn func(t *testing.T, enc encoding)) {
	t.Helper()
	for _, enc := range encodings {
		t.Run(enc.name, func(t *testing.T) { fn(t, enc) })
	}
}

// opCtx returns a context for one SDK call, bounded by WaitTimeout.
func opCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), WaitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// eventLog collects the events of one kind delivered by SDK callbacks.
type eventLog[T any] struct {
	mu    sync.Mutex
	items []T
}

func (l *eventLog[T]) add(v T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = append(l.items, v)
}

func (l *eventLog[T]) all() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]T(nil), l.items...)
}

func (l *eventLog[T]) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.items)
}

// wait returns the events once at least n have arrived, and fails the test
// if they do not arrive within WaitTimeout.
func (l *eventLog[T]) wait(t testing.TB, n int, what string) []T {
	t.Helper()
	if !poll(WaitTimeout, func() bool { return l.len() >= n }) {
		t.Fatalf("not within %v: %d %s; got %d: %+v", WaitTimeout, n, what, l.len(), l.all())
	}
	return l.all()
}

// sdkClient is a centrifuge-go client that records its events.
type sdkClient struct {
	*centrifuge.Client

	connected        eventLog[centrifuge.ConnectedEvent]
	connecting       eventLog[centrifuge.ConnectingEvent]
	disconnected     eventLog[centrifuge.DisconnectedEvent]
	errs             eventLog[error]
	serverSubscribed eventLog[centrifuge.ServerSubscribedEvent]
	serverPubs       eventLog[centrifuge.ServerPublicationEvent]
	tokenCalls       atomic.Int32
}

// clientOption adjusts the SDK config of a new client.
type clientOption func(*centrifuge.Config)

// withGetToken makes the client fetch fresh tokens from fn.
func withGetToken(token string) clientOption {
	return func(c *centrifuge.Config) {
		c.GetToken = func(centrifuge.ConnectionTokenEvent) (string, error) { return token, nil }
	}
}

// newClient creates an SDK client for srv, not yet connected, that is
// closed when the test ends. Reconnect delays are short so that tests which
// reconnect finish quickly.
func newClient(
	t testing.TB, srv *Server, enc encoding, token string, opts ...clientOption,
) *sdkClient {
	t.Helper()
	cfg := centrifuge.Config{
		Token:             token,
		MinReconnectDelay: 50 * time.Millisecond,
		MaxReconnectDelay: 500 * time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	c := &sdkClient{}
	if cfg.GetToken != nil {
		get := cfg.GetToken
		cfg.GetToken = func(e centrifuge.ConnectionTokenEvent) (string, error) {
			c.tokenCalls.Add(1)
			return get(e)
		}
	}
	c.Client = enc.newClient(srv.WebSocketURL(), cfg)
	c.OnConnected(c.connected.add)
	c.OnConnecting(c.connecting.add)
	c.OnDisconnected(c.disconnected.add)
	c.OnError(func(e centrifuge.ErrorEvent) { c.errs.add(e.Error) })
	c.OnSubscribed(c.serverSubscribed.add)
	c.OnPublication(c.serverPubs.add)
	t.Cleanup(c.Close)
	return c
}

// connectUser creates a client for user with a valid token and waits until
// it is connected. It returns the client and its id.
func connectUser(
	t testing.TB, srv *Server, enc encoding, user string, opts ...clientOption,
) (*sdkClient, string) {
	t.Helper()
	c := newClient(t, srv, enc, UserToken(t, secret, user, time.Hour), opts...)
	return c, c.mustConnect(t)
}

// mustConnect connects and waits for the connected event; it returns the
// client id the server assigned.
func (c *sdkClient) mustConnect(t testing.TB) string {
	t.Helper()
	n := c.connected.len()
	if err := c.Connect(); err != nil {
		t.Fatalf("connect: %v", err)
	}
	ev := c.connected.wait(t, n+1, "connected events")[n]
	if ev.ClientID == "" {
		t.Fatalf("connected without a client id: %+v", ev)
	}
	return ev.ClientID
}

// sdkSub is a centrifuge-go subscription that records its events.
type sdkSub struct {
	*centrifuge.Subscription

	subscribed   eventLog[centrifuge.SubscribedEvent]
	subscribing  eventLog[centrifuge.SubscribingEvent]
	unsubscribed eventLog[centrifuge.UnsubscribedEvent]
	errs         eventLog[error]
	pubs         eventLog[centrifuge.PublicationEvent]
	joins        eventLog[centrifuge.JoinEvent]
	leaves       eventLog[centrifuge.LeaveEvent]
}

// newSub creates a recording subscription to channel without subscribing.
func (c *sdkClient) newSub(t testing.TB, channel string, cfg ...centrifuge.SubscriptionConfig) *sdkSub {
	t.Helper()
	sub, err := c.NewSubscription(channel, cfg...)
	if err != nil {
		t.Fatalf("new subscription %q: %v", channel, err)
	}
	s := &sdkSub{Subscription: sub}
	sub.OnSubscribed(s.subscribed.add)
	sub.OnSubscribing(s.subscribing.add)
	sub.OnUnsubscribed(s.unsubscribed.add)
	sub.OnError(func(e centrifuge.SubscriptionErrorEvent) { s.errs.add(e.Error) })
	sub.OnPublication(s.pubs.add)
	sub.OnJoin(s.joins.add)
	sub.OnLeave(s.leaves.add)
	if err := sub.Subscribe(); err != nil {
		t.Fatalf("subscribe %q: %v", channel, err)
	}
	return s
}

// subscribe subscribes to channel and waits until the server confirmed it.
func (c *sdkClient) subscribe(
	t testing.TB, channel string, cfg ...centrifuge.SubscriptionConfig,
) *sdkSub {
	t.Helper()
	s := c.newSub(t, channel, cfg...)
	if !poll(WaitTimeout, func() bool { return s.subscribed.len() > 0 || s.unsubscribed.len() > 0 }) {
		t.Fatalf("subscribe %q: no answer within %v; errors: %v", channel, WaitTimeout, s.errs.all())
	}
	if s.subscribed.len() == 0 {
		t.Fatalf("subscribe %q failed: %+v; errors: %v", channel, s.unsubscribed.all(), s.errs.all())
	}
	return s
}

// errorCode returns the protocol error code carried by err.
func errorCode(err error) (uint32, bool) {
	var e *centrifuge.Error
	if errors.As(err, &e) {
		return e.Code, true
	}
	return 0, false
}

// wantErrorCode fails the test unless err carries protocol error code want.
func wantErrorCode(t testing.TB, err error, want uint32) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want protocol error %d", want)
	}
	if got, ok := errorCode(err); !ok || got != want {
		t.Fatalf("got error %v, want protocol error %d", err, want)
	}
}

// jsonData returns the JSON encoding of v.
func jsonData(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}

// sameJSON reports whether a and b hold equal JSON values.
func sameJSON(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(va, vb)
}

// seqData is the payload of the n-th publication of a sequence.
type seqData struct {
	N int `json:"n"`
}

// seqOf decodes the sequence numbers of publications.
func seqOf(t testing.TB, pubs []centrifuge.Publication) []int {
	t.Helper()
	out := make([]int, 0, len(pubs))
	for _, p := range pubs {
		var d seqData
		if err := json.Unmarshal(p.Data, &d); err != nil {
			t.Fatalf("publication data %q: %v", p.Data, err)
		}
		out = append(out, d.N)
	}
	return out
}

// offsetsOf returns the offsets of publications.
func offsetsOf(pubs []centrifuge.Publication) []uint64 {
	out := make([]uint64, 0, len(pubs))
	for _, p := range pubs {
		out = append(out, p.Offset)
	}
	return out
}

// pubsOf unwraps publication events.
func pubsOf(evs []centrifuge.PublicationEvent) []centrifuge.Publication {
	out := make([]centrifuge.Publication, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.Publication)
	}
	return out
}

// seq returns the ints from..to inclusive.
func seq(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// rawConn is a WebSocket peer that speaks the client protocol by hand, for
// the cases the SDK cannot produce: bad frames, no pongs, wrong order.
type rawConn struct {
	t       testing.TB
	ws      *websocket.Conn
	enc     encoding
	id      uint32
	pending []*protocol.Reply
}

// dialWS opens a WebSocket to srv, asking for Protobuf when enc wants it.
func dialWS(srv *Server, enc encoding, header http.Header) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	if enc.protobuf {
		d.Subprotocols = []string{"centrifuge-protobuf"}
	}
	return d.Dial(srv.WebSocketURL(), header)
}

// dialRaw opens a raw connection; it is closed when the test ends.
func dialRaw(t testing.TB, srv *Server, enc encoding, header http.Header) *rawConn {
	t.Helper()
	ws, resp, err := dialWS(srv, enc, header)
	if err != nil {
		status := "no response"
		if resp != nil {
			status = resp.Status
		}
		t.Fatalf("dial %s: %v (%s)", srv.WebSocketURL(), err, status)
	}
	if enc.protobuf && ws.Subprotocol() != "centrifuge-protobuf" {
		t.Fatalf("server chose subprotocol %q, want centrifuge-protobuf echoed", ws.Subprotocol())
	}
	t.Cleanup(func() { _ = ws.Close() })
	return &rawConn{t: t, ws: ws, enc: enc}
}

// frame encodes commands into one transport frame.
func (c *rawConn) frame(cmds ...*protocol.Command) []byte {
	c.t.Helper()
	var enc protocol.CommandEncoder = protocol.NewJSONCommandEncoder()
	if c.enc.protobuf {
		enc = protocol.NewProtobufCommandEncoder()
	}
	var buf bytes.Buffer
	for i, cmd := range cmds {
		b, err := enc.Encode(cmd)
		if err != nil {
			c.t.Fatalf("encode command: %v", err)
		}
		if i > 0 && !c.enc.protobuf {
			buf.WriteByte('\n')
		}
		buf.Write(b)
	}
	return buf.Bytes()
}

// send writes commands as one frame of the connection's message type.
func (c *rawConn) send(cmds ...*protocol.Command) {
	c.t.Helper()
	c.sendFrame(c.frame(cmds...))
}

// sendFrame writes data as one message of the connection's message type.
func (c *rawConn) sendFrame(data []byte) {
	c.t.Helper()
	mt := websocket.TextMessage
	if c.enc.protobuf {
		mt = websocket.BinaryMessage
	}
	if err := c.ws.WriteMessage(mt, data); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
}

// nextID returns a fresh command id.
func (c *rawConn) nextID() uint32 {
	c.id++
	return c.id
}

// read returns the next reply, reading a new frame when needed, with the
// given deadline. A close frame from the server comes back as a
// *websocket.CloseError.
func (c *rawConn) read(deadline time.Time) (*protocol.Reply, error) {
	for len(c.pending) == 0 {
		_ = c.ws.SetReadDeadline(deadline)
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			return nil, err
		}
		want := websocket.TextMessage
		var dec protocol.ReplyDecoder = protocol.NewJSONReplyDecoder(data)
		if c.enc.protobuf {
			want = websocket.BinaryMessage
			dec = protocol.NewProtobufReplyDecoder(data)
		}
		if mt != want {
			return nil, fmt.Errorf("got message type %d, want %d", mt, want)
		}
		for {
			r, err := dec.Decode()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("decode frame %q: %w", data, err)
			}
			c.pending = append(c.pending, r)
		}
		if len(c.pending) == 0 {
			return nil, fmt.Errorf("frame %q holds no reply", data)
		}
	}
	r := c.pending[0]
	c.pending = c.pending[1:]
	return r, nil
}

// call sends cmd with a fresh id and returns the reply to it, skipping
// pushes and pings.
func (c *rawConn) call(cmd *protocol.Command) *protocol.Reply {
	c.t.Helper()
	cmd.Id = c.nextID()
	c.send(cmd)
	deadline := time.Now().Add(WaitTimeout)
	for {
		r, err := c.read(deadline)
		if err != nil {
			c.t.Fatalf("waiting for reply %d: %v", cmd.Id, err)
		}
		if r.Id == cmd.Id {
			return r
		}
	}
}

// connect authenticates with token and returns the connect result.
func (c *rawConn) connect(token string) *protocol.ConnectResult {
	c.t.Helper()
	r := c.call(&protocol.Command{Connect: &protocol.ConnectRequest{Token: token, Name: "herald-e2e"}})
	if r.Error != nil {
		c.t.Fatalf("connect: error %d %q", r.Error.Code, r.Error.Message)
	}
	if r.Connect == nil || r.Connect.Client == "" {
		c.t.Fatalf("connect: reply without a connect result: %+v", r)
	}
	return r.Connect
}

// closed is how a server ended a raw connection.
type closed struct {
	code   int
	reason string
	pings  int // empty replies (server pings) seen before the close
}

// waitClose reads, answering nothing, until the server closes the
// connection, and fails the test if it does not close with a close frame
// within timeout.
func (c *rawConn) waitClose(timeout time.Duration) closed {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var got closed
	for {
		r, err := c.read(deadline)
		if err == nil {
			if isPing(r) {
				got.pings++
			}
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			c.t.Fatalf("want a close frame within %v, got %v", timeout, err)
		}
		got.code, got.reason = ce.Code, ce.Text
		return got
	}
}

// isPing reports whether r is a server ping: a reply with nothing set.
func isPing(r *protocol.Reply) bool {
	return r.Id == 0 && r.Error == nil && r.Push == nil && r.Connect == nil
}
