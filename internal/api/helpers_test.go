package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/channel"
	"github.com/heraldhq/herald/internal/engine/memory"
	"github.com/heraldhq/herald/internal/hub"
	"github.com/heraldhq/herald/internal/node"
	"github.com/heraldhq/herald/internal/protocol"
	"github.com/heraldhq/herald/internal/session"
)

const (
	testKey    = "test-api-key"
	testSecret = "test-token-secret"
	waitFor    = 5 * time.Second
)

var discard = slog.New(slog.DiscardHandler)

// testRules has channels without namespace (no history, no presence) and
// namespaces for each feature the methods check.
func testRules(t testing.TB) *channel.Rules {
	t.Helper()
	cfg := channel.DefaultConfig()
	cfg.Namespaces = []channel.Namespace{
		{Name: "hist", Options: channel.Options{
			HistorySize: 10, HistoryTTL: 5 * time.Minute, Presence: true,
		}},
		{Name: "pres", Options: channel.Options{Presence: true}},
		{Name: "bin", Options: channel.Options{PublicationDataFormat: "binary"}},
		{Name: "obj", Options: channel.Options{PublicationDataFormat: "json_object"}},
		{Name: "js", Options: channel.Options{PublicationDataFormat: "json"}},
	}
	r, err := channel.NewRules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// env is a real node on the memory engine with a session manager and the
// API handler served by an httptest server.
type env struct {
	node     *node.Node
	sessions *session.Manager
	handler  http.Handler
	srv      *httptest.Server
}

// newEnv builds an env; mods adjust the handler config. The node and the
// sessions record into the handler's Metrics when a mod sets them.
func newEnv(t testing.TB, mods ...func(*Config)) *env {
	t.Helper()
	cfg := Config{Key: testKey, Logger: discard}
	for _, mod := range mods {
		mod(&cfg)
	}
	rules := testRules(t)
	broker := memory.NewBroker(memory.Config{})
	pres := memory.NewPresenceManager(memory.Config{})
	n := node.New(node.Config{
		Name: "test-node", Version: "0.0.0-test",
		Broker: broker, Presence: pres, Hub: hub.New(session.Encoders()),
		Logger: discard, Metrics: cfg.Metrics,
	})
	ctx, cancel := context.WithCancel(context.Background())
	if err := n.Run(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.Config{HMACSecretKey: testSecret}, discard)
	if err != nil {
		t.Fatal(err)
	}
	m := session.NewManager(session.Config{Node: n, Rules: rules, Verifier: v,
		Logger: discard, Metrics: cfg.Metrics})
	go m.Run(ctx)

	cfg.Node, cfg.Sessions, cfg.Rules = n, m, rules
	e := &env{node: n, sessions: m, handler: NewHandler(cfg, "/api")}
	e.srv = httptest.NewServer(e.handler)
	t.Cleanup(func() {
		e.srv.Close()
		sctx, scancel := context.WithTimeout(context.Background(), time.Second)
		defer scancel()
		_ = m.Shutdown(sctx)
		cancel()
		_ = broker.Close(sctx)
		_ = pres.Close(sctx)
	})
	return e
}

// setClock stops the handler's clock at now, for info's uptime. It must be
// called before the requests that read it.
func (e *env) setClock(now time.Time) {
	e.handler.(*Handler).now = func() time.Time { return now }
}

// response is an HTTP answer.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request; header is name, value pairs.
func (e *env) do(t testing.TB, method, path, body string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// call POSTs body to path with the API key and expects 200.
func (e *env) call(t testing.TB, path, body string, header ...string) string {
	t.Helper()
	r := e.do(t, http.MethodPost, path, body, append([]string{"X-API-Key", testKey},
		header...)...)
	if r.status != http.StatusOK {
		t.Fatalf("POST %s %s: status %d, body %q", path, body, r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("POST %s: Content-Type %q", path, ct)
	}
	return r.body
}

// method calls an API method through the per-method route.
func (e *env) method(t testing.TB, name, params string) string {
	t.Helper()
	return e.call(t, "/api/"+name, params)
}

// legacy calls an API method through the legacy route.
func (e *env) legacy(t testing.TB, name, params string) string {
	t.Helper()
	return e.call(t, "/api", fmt.Sprintf(`{"method":%q,"params":%s}`, name, params))
}

// style is one way to call a method: the legacy route or the per-method
// route. For one command without id both answer the same bytes.
type style struct {
	name string
	call func(e *env, t testing.TB, method, params string) string
}

var styles = []style{
	{"legacy", (*env).legacy},
	{"per-method", (*env).method},
}

// jsonMatch fails unless got is the JSON value of want, where the string
// "$any" in want matches any value.
func jsonMatch(t testing.TB, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("response %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	if !matchValue(g, w) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func matchValue(g, w any) bool {
	if w == "$any" {
		return true
	}
	switch wv := w.(type) {
	case map[string]any:
		gv, ok := g.(map[string]any)
		if !ok || len(gv) != len(wv) {
			return false
		}
		for k, x := range wv {
			y, ok := gv[k]
			if !ok || !matchValue(y, x) {
				return false
			}
		}
		return true
	case []any:
		gv, ok := g.([]any)
		if !ok || len(gv) != len(wv) {
			return false
		}
		for i := range wv {
			if !matchValue(gv[i], wv[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(g, w)
}

// errorBody is the answer of a failed method in the default error mode:
// e's code, and e's message followed by why, the reason the handler gives.
func errorBody(e *protocol.Error, why string) string {
	return fmt.Sprintf(`{"error":%s}`, errorObject(e, why))
}

// errorObject is the error object of errorBody, as transport error mode
// answers it.
func errorObject(e *protocol.Error, why string) string {
	msg := e.Message
	if why != "" {
		msg += ": " + why
	}
	return fmt.Sprintf(`{"code":%d,"message":%q}`, e.Code, msg)
}

// fakeTransport records what a session writes and how it was closed.
type fakeTransport struct {
	mu      sync.Mutex
	replies [][]byte
	closed  *protocol.Disconnect
}

func (f *fakeTransport) WriteBatch(items [][]byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, it := range items {
		for line := range bytes.SplitSeq(it, []byte{'\n'}) {
			f.replies = append(f.replies, bytes.Clone(line))
		}
	}
	return nil
}

func (f *fakeTransport) Close(d *protocol.Disconnect) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d == nil {
		d = protocol.DisconnectConnectionClosed
	}
	f.closed = d
}

func (f *fakeTransport) Name() string { return "test" }

// client is a connected session driven through a fake transport.
type client struct {
	tr *fakeTransport
	s  *session.Session
	id string
}

// connect connects a JSON client of user and waits for its connect reply.
func (e *env) connect(t testing.TB, user string) *client {
	t.Helper()
	tok, err := auth.GenerateHMACToken(testSecret, user, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{tr: &fakeTransport{}}
	c.s = e.sessions.New(c.tr, false, nil)
	c.s.HandleFrame(fmt.Appendf(nil, `{"id":1,"connect":{"token":%q}}`, tok))
	var reply struct {
		Connect struct{ Client string }
	}
	raw := c.wait(t, "connect reply", func(m map[string]json.RawMessage) bool {
		return m["connect"] != nil
	})
	if err := json.Unmarshal(raw, &reply); err != nil {
		t.Fatal(err)
	}
	c.id = reply.Connect.Client
	return c
}

// wait returns the first reply for which match holds, polling until
// waitFor.
func (c *client) wait(t testing.TB, what string,
	match func(map[string]json.RawMessage) bool) []byte {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		c.tr.mu.Lock()
		for _, r := range c.tr.replies {
			var m map[string]json.RawMessage
			if json.Unmarshal(r, &m) == nil && match(m) {
				c.tr.mu.Unlock()
				return r
			}
		}
		n := len(c.tr.replies)
		c.tr.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v; %d replies", what, waitFor, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// push waits for a push of kind ("pub", "subscribe", ...) in channel and
// returns the push's body.
func (c *client) push(t testing.TB, kind, channel string) json.RawMessage {
	t.Helper()
	var body json.RawMessage
	c.wait(t, kind+" push in "+channel, func(m map[string]json.RawMessage) bool {
		var p map[string]json.RawMessage
		if json.Unmarshal(m["push"], &p) != nil || p[kind] == nil {
			return false
		}
		var ch string
		_ = json.Unmarshal(p["channel"], &ch)
		body = p[kind]
		return ch == channel
	})
	return body
}

// closedWith waits until the session's transport is closed.
func (c *client) closedWith(t testing.TB) *protocol.Disconnect {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		c.tr.mu.Lock()
		d := c.tr.closed
		c.tr.mu.Unlock()
		if d != nil {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("client %s not closed within %v", c.id, waitFor)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// isOpen reports whether the transport is still open.
func (c *client) isOpen() bool {
	c.tr.mu.Lock()
	defer c.tr.mu.Unlock()
	return c.tr.closed == nil
}
