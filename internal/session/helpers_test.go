package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
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
)

// Every test in this package runs inside a synctest bubble: the outbound
// queue writes on goroutines of its own, and synctest.Wait returns once
// they are done, so a test reads exactly what the session has written.

const (
	testSecret  = "herald-session-test-secret"
	testVersion = "0.0.0-test"
)

var discardLogger = slog.New(slog.DiscardHandler)

// sentFrame is one WriteBatch call, joined the way the WebSocket transport
// joins it, with the (bubble) time it was written.
type sentFrame struct {
	at   time.Time
	data []byte
}

// fakeTransport records the frames a session writes and how it is closed.
type fakeTransport struct {
	binary bool

	mu     sync.Mutex
	frames []sentFrame
	closes []*protocol.Disconnect
	closed time.Time
	// afterClose counts writes attempted after Close, which a real
	// transport would refuse.
	afterClose int
}

// WriteBatch implements Transport. Items are copied: the hub shares them
// between connections.
func (f *fakeTransport) WriteBatch(items [][]byte) error {
	var sep []byte
	if !f.binary {
		sep = []byte{'\n'}
	}
	data := bytes.Join(items, sep)
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.closes) > 0 {
		f.afterClose++
		return errors.New("fake transport: closed")
	}
	f.frames = append(f.frames, sentFrame{at: time.Now(), data: data})
	return nil
}

// Close implements Transport.
func (f *fakeTransport) Close(d *protocol.Disconnect) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.closes) == 0 {
		f.closed = time.Now()
	}
	f.closes = append(f.closes, d)
}

// Name implements Transport.
func (f *fakeTransport) Name() string { return "fake" }

// env is one node with a session manager, as app.New wires them, using the
// memory engine.
type env struct {
	m     *Manager
	node  *node.Node
	hub   *hub.Hub
	rules *channel.Rules
}

// channels returns the default channel syntax with top-level options top
// and the given namespaces.
func channels(top channel.Options, ns ...channel.Namespace) channel.Config {
	c := channel.DefaultConfig()
	c.WithoutNamespace = top
	c.Namespaces = ns
	return c
}

// newEnv starts a node with rules chans and a manager configured by tune,
// which may be nil. The defaults are an HMAC verifier with testSecret, a
// 25 s ping interval and an 8 s pong timeout. The manager's timing wheel is
// not running; see env.run.
func newEnv(t *testing.T, chans channel.Config, tune func(*Config)) *env {
	t.Helper()
	rules, err := channel.NewRules(chans)
	if err != nil {
		t.Fatalf("channel rules: %v", err)
	}
	verifier, err := auth.NewVerifier(auth.Config{HMACSecretKey: testSecret}, nil)
	if err != nil {
		t.Fatalf("verifier: %v", err)
	}
	broker := memory.NewBroker(memory.Config{})
	presence := memory.NewPresenceManager(memory.Config{})
	t.Cleanup(func() {
		_ = broker.Close(context.Background())
		_ = presence.Close(context.Background())
	})
	h := hub.New(Encoders())
	n := node.New(node.Config{
		Name: "test", Version: testVersion, Broker: broker, Presence: presence,
		Hub: h, Logger: discardLogger,
	})
	if err := n.Run(t.Context()); err != nil {
		t.Fatalf("node run: %v", err)
	}
	cfg := Config{
		Node: n, Rules: rules, Verifier: verifier, Logger: discardLogger,
		PingInterval: 25 * time.Second, PongTimeout: 8 * time.Second,
	}
	if tune != nil {
		tune(&cfg)
	}
	return &env{m: NewManager(cfg), node: n, hub: h, rules: rules}
}

// run drives the manager's timing wheel until the test ends.
func (e *env) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	go e.m.Run(ctx)
	t.Cleanup(func() {
		cancel()
		<-e.m.stopped
	})
}

// publish publishes data into ch through the node with ch's history
// options, as the server API would.
func (e *env) publish(t *testing.T, ch, data string) uint64 {
	t.Helper()
	opts, ok := e.rules.Options(ch)
	if !ok {
		t.Fatalf("publish: no options for %q", ch)
	}
	res, err := e.node.Publish(context.Background(), ch,
		&protocol.Publication{Data: []byte(data)}, engine.PublishOptions{
			HistorySize: opts.HistorySize, HistoryTTL: opts.HistoryTTL,
		})
	if err != nil {
		t.Fatalf("publish to %q: %v", ch, err)
	}
	synctest.Wait()
	return res.Position.Offset
}

// client is one session behind a fakeTransport, seen from the client side.
type client struct {
	t      *testing.T
	tr     *fakeTransport
	s      *Session
	binary bool
	nextID uint32
	// read is how many frames were decoded into inbox.
	read  int
	inbox []*cf.Reply
	// pingTimes are the times of the server pings decoded so far.
	pingTimes []time.Time
}

// dial opens a JSON session.
func (e *env) dial(t *testing.T) *client { t.Helper(); return e.open(t, false) }

// dialProtobuf opens a Protobuf session.
func (e *env) dialProtobuf(t *testing.T) *client { t.Helper(); return e.open(t, true) }

func (e *env) open(t *testing.T, binary bool) *client {
	t.Helper()
	tr := &fakeTransport{binary: binary}
	c := &client{t: t, tr: tr, s: e.m.New(tr, binary, nil), binary: binary, nextID: 1}
	t.Cleanup(func() {
		c.s.TransportClosed()
		synctest.Wait()
	})
	return c
}

// send hands one frame of newline-joined JSON lines to the session and
// waits until everything it caused has been written. It returns what
// HandleFrame returned.
func (c *client) send(lines ...string) bool {
	c.t.Helper()
	return c.sendRaw([]byte(strings.Join(lines, "\n")))
}

// sendRaw hands frame to the session as is.
func (c *client) sendRaw(frame []byte) bool {
	c.t.Helper()
	ok := c.s.HandleFrame(frame)
	synctest.Wait()
	return ok
}

// sendPB encodes cmds as one Protobuf frame and hands it to the session.
func (c *client) sendPB(cmds ...*cf.Command) bool {
	c.t.Helper()
	var frame []byte
	for _, cmd := range cmds {
		b, err := proto.Marshal(cmd)
		if err != nil {
			c.t.Fatalf("marshal command: %v", err)
		}
		frame = protowire.AppendVarint(frame, uint64(len(b)))
		frame = append(frame, b...)
	}
	return c.sendRaw(frame)
}

// sync decodes the frames written since the last call into the inbox.
func (c *client) sync() {
	c.t.Helper()
	synctest.Wait()
	c.tr.mu.Lock()
	frames := c.tr.frames[c.read:]
	c.read = len(c.tr.frames)
	c.tr.mu.Unlock()
	for _, f := range frames {
		for _, r := range decodeFrame(c.t, f.data, c.binary) {
			if isPing(r) {
				c.pingTimes = append(c.pingTimes, f.at)
			}
			c.inbox = append(c.inbox, r)
		}
	}
}

// decodeFrame decodes a server frame with the reference decoders.
func decodeFrame(t *testing.T, data []byte, binary bool) []*cf.Reply {
	t.Helper()
	var dec cf.ReplyDecoder = cf.NewJSONReplyDecoder(data)
	if binary {
		dec = cf.NewProtobufReplyDecoder(data)
	}
	var out []*cf.Reply
	for {
		r, err := dec.Decode()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("decode server frame %q: %v", data, err)
		}
		out = append(out, r)
	}
}

// take removes and returns the inbox replies that match keep.
func (c *client) take(keep func(*cf.Reply) bool) []*cf.Reply {
	c.t.Helper()
	c.sync()
	var got, rest []*cf.Reply
	for _, r := range c.inbox {
		if keep(r) {
			got = append(got, r)
		} else {
			rest = append(rest, r)
		}
	}
	c.inbox = rest
	return got
}

// pushes removes and returns the pushes received so far.
func (c *client) pushes() []*cf.Push {
	c.t.Helper()
	var out []*cf.Push
	for _, r := range c.take(func(r *cf.Reply) bool { return r.Push != nil }) {
		out = append(out, r.Push)
	}
	return out
}

// pings removes the server pings received so far and returns how many
// there were.
func (c *client) pings() int {
	c.t.Helper()
	return len(c.take(isPing))
}

// isPing reports whether r is a server ping: an empty reply.
func isPing(r *cf.Reply) bool { return proto.Size(r) == 0 }

// expectNothing fails if the session wrote anything not read yet.
func (c *client) expectNothing() {
	c.t.Helper()
	c.sync()
	if len(c.inbox) > 0 {
		c.t.Fatalf("unexpected messages: %v", c.inbox)
	}
}

// call sends `{"id":N,"<method>":<body>}` and returns the reply with ID N.
func (c *client) call(method, body string) *cf.Reply {
	c.t.Helper()
	id := c.nextID
	c.nextID++
	if !c.send(fmt.Sprintf(`{"id":%d,%q:%s}`, id, method, body)) {
		c.t.Fatalf("%s %s: session stopped reading (close %d)", method, body,
			c.closeCode())
	}
	return c.reply(id)
}

// reply removes and returns the reply with ID id; it fails without one.
func (c *client) reply(id uint32) *cf.Reply {
	c.t.Helper()
	got := c.take(func(r *cf.Reply) bool { return r.Id == id })
	if len(got) != 1 {
		c.t.Fatalf("want one reply with id %d, got %d (close code %d)", id, len(got),
			c.closeCode())
	}
	return got[0]
}

// callErr calls like call and returns the reply's error code, 0 on success.
func (c *client) callErr(method, body string) uint32 {
	c.t.Helper()
	return c.call(method, body).GetError().GetCode()
}

// connect connects with token ("" for none) and fails unless it succeeds.
func (c *client) connect(token string) *cf.ConnectResult {
	c.t.Helper()
	r := c.call("connect", connectBody(token))
	if r.Error != nil || r.Connect == nil {
		c.t.Fatalf("connect: error %v", r.Error)
	}
	return r.Connect
}

func connectBody(token string) string {
	if token == "" {
		return `{"name":"test"}`
	}
	return fmt.Sprintf(`{"token":%q,"name":"test"}`, token)
}

// subscribe subscribes to ch and fails unless it succeeds.
func (c *client) subscribe(ch string) *cf.SubscribeResult {
	c.t.Helper()
	r := c.call("subscribe", fmt.Sprintf(`{"channel":%q}`, ch))
	if r.Error != nil || r.Subscribe == nil {
		c.t.Fatalf("subscribe %q: error %v", ch, r.Error)
	}
	return r.Subscribe
}

// closeCode returns the code the transport was closed with, 0 when open.
func (c *client) closeCode() uint32 {
	c.t.Helper()
	synctest.Wait()
	c.tr.mu.Lock()
	defer c.tr.mu.Unlock()
	if len(c.tr.closes) == 0 {
		return 0
	}
	if len(c.tr.closes) > 1 {
		c.t.Errorf("transport closed %d times", len(c.tr.closes))
	}
	if d := c.tr.closes[0]; d != nil {
		return d.Code
	}
	return protocol.DisconnectConnectionClosed.Code
}

// wantClosed fails unless the transport was closed with code.
func (c *client) wantClosed(code uint32) {
	c.t.Helper()
	if got := c.closeCode(); got != code {
		c.t.Fatalf("close code %d, want %d", got, code)
	}
}

// wantOpen fails if the transport was closed.
func (c *client) wantOpen() {
	c.t.Helper()
	if got := c.closeCode(); got != 0 {
		c.t.Fatalf("closed with %d, want the connection open", got)
	}
}

// token signs a connection token for user; ttl 0 means no exp.
func token(t *testing.T, user string, ttl time.Duration, claims map[string]any) string {
	t.Helper()
	tok, err := auth.GenerateHMACToken(testSecret, user, ttl, claims)
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	return tok
}

// subToken signs a subscription token for user and ch.
func subToken(t *testing.T, user, ch string, ttl time.Duration,
	claims map[string]any) string {
	t.Helper()
	all := map[string]any{"channel": ch}
	for k, v := range claims {
		all[k] = v
	}
	return token(t, user, ttl, all)
}

// connected opens a JSON session connected as user ("" connects without a
// token, which the env must allow).
func (e *env) connected(t *testing.T, user string) *client {
	t.Helper()
	c := e.dial(t)
	tok := ""
	if user != "" {
		tok = token(t, user, 0, nil)
	}
	c.connect(tok)
	return c
}

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("invalid JSON %q: %v", got, err)
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("invalid JSON %q: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	return bytes.Equal(gb, wb)
}

// pubData returns the data of publication pushes in ch.
func pubData(pushes []*cf.Push, ch string) []string {
	var out []string
	for _, p := range pushes {
		if p.Channel == ch && p.Pub != nil {
			out = append(out, string(p.Pub.Data))
		}
	}
	return out
}
