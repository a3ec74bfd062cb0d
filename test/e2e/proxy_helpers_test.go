package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/centrifugal/protocol"
)

// backendRequest is one request the fake application backend received.
type backendRequest struct {
	Method string
	Path   string
	Header http.Header
	// Body is the JSON body decoded into a map; nil when it is not a JSON
	// object. Raw is the body as sent.
	Body map[string]any
	Raw  []byte
}

// str returns the string field key of the body, "" when absent.
func (r backendRequest) str(key string) string {
	s, _ := r.Body[key].(string)
	return s
}

// has reports whether the body has field key, even with an empty value.
func (r backendRequest) has(key string) bool {
	_, ok := r.Body[key]
	return ok
}

// field returns the JSON encoding of body field key, nil when absent.
func (r backendRequest) field(key string) []byte {
	v, ok := r.Body[key]
	if !ok {
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}

// backendAnswer is how the backend answers one request.
type backendAnswer struct {
	status int    // HTTP status; 0 means 200
	body   string // the answer body, sent as application/json
	// block holds the request until the caller gives up on it, to
	// provoke the proxy timeout.
	block bool
}

// jsonAnswer answers 200 with body.
func jsonAnswer(body string) backendAnswer { return backendAnswer{body: body} }

// backendHandler answers one event of the backend.
type backendHandler func(req backendRequest) backendAnswer

// backend is an application backend behind Herald's proxies: it serves a
// fixed handler per path and records every request it receives.
type backend struct {
	srv    *httptest.Server
	routes map[string]backendHandler

	mu      sync.Mutex
	reqs    []backendRequest
	blocked []time.Duration // how long each blocked request was held
}

// newBackend starts a backend serving routes, keyed by path. It is closed
// when the test ends; create it before the Herald server that calls it so
// that Herald stops first.
func newBackend(t testing.TB, routes map[string]backendHandler) *backend {
	t.Helper()
	b := &backend{routes: routes}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := backendRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Raw: raw}
	_ = json.Unmarshal(raw, &req.Body)
	b.mu.Lock()
	b.reqs = append(b.reqs, req)
	b.mu.Unlock()

	h, found := b.routes[r.URL.Path]
	if !found {
		http.NotFound(w, r)
		return
	}
	a := h(req)
	if a.block {
		start := time.Now()
		<-r.Context().Done()
		b.mu.Lock()
		b.blocked = append(b.blocked, time.Since(start))
		b.mu.Unlock()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if a.status != 0 {
		w.WriteHeader(a.status)
	}
	_, _ = io.WriteString(w, a.body)
}

// url returns the endpoint URL of path.
func (b *backend) url(path string) string {
	return b.srv.URL + path
}

// requests returns the requests received on path that match (all when
// match is nil).
func (b *backend) requests(path string, match func(backendRequest) bool) []backendRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []backendRequest
	for _, r := range b.reqs {
		if r.Path == path && (match == nil || match(r)) {
			out = append(out, r)
		}
	}
	return out
}

// wait returns the matching requests on path once at least n arrived, and
// fails the test if they do not arrive within timeout.
func (b *backend) wait(t testing.TB, timeout time.Duration, path string, n int,
	match func(backendRequest) bool) []backendRequest {
	t.Helper()
	var got []backendRequest
	Eventually(t, timeout, func() bool {
		got = b.requests(path, match)
		return len(got) >= n
	}, func() string {
		return fmt.Sprintf("%d requests on %s, want %d; all requests: %s",
			len(got), path, n, b.describe())
	})
	return got
}

// blockedFor returns how long each blocked request was held before the
// caller gave up.
func (b *backend) blockedFor() []time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]time.Duration(nil), b.blocked...)
}

// describe lists the received requests for failure messages.
func (b *backend) describe() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var sb strings.Builder
	for _, r := range b.reqs {
		fmt.Fprintf(&sb, "\n  %s %s %s", r.Method, r.Path, r.Raw)
	}
	return sb.String()
}

// byUser matches requests whose body has user.
func byUser(user string) func(backendRequest) bool {
	return func(r backendRequest) bool { return r.str("user") == user }
}

// byChannel matches requests whose body has channel.
func byChannel(ch string) func(backendRequest) bool {
	return func(r backendRequest) bool { return r.str("channel") == ch }
}

// byClient matches requests of one client id.
func byClient(id string) func(backendRequest) bool {
	return func(r backendRequest) bool { return r.str("client") == id }
}

// closedURL returns an http URL on a loopback port where nothing listens.
func closedURL(t testing.TB) string {
	t.Helper()
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	return u
}

// expireIn returns the Unix time d from now, as backends send expire_at.
func expireIn(d time.Duration) int64 {
	return time.Now().Add(d).Unix()
}

// protocolName is the value of the protocol field in proxy requests of a
// client speaking enc.
func protocolName(enc encoding) string {
	if enc.protobuf {
		return "protobuf"
	}
	return "json"
}

// wantCommonFields fails the test unless req carries the fields every
// proxy request has, for a WebSocket client speaking enc.
func wantCommonFields(t testing.TB, req backendRequest, enc encoding, client string) {
	t.Helper()
	if req.Method != http.MethodPost {
		t.Errorf("%s: method %s, want POST", req.Path, req.Method)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", req.Path, ct)
	}
	if req.Body == nil {
		t.Fatalf("%s: body %q is not a JSON object", req.Path, req.Raw)
	}
	want := map[string]string{
		"transport": "websocket", "protocol": protocolName(enc), "encoding": "json",
	}
	if client != "" {
		want["client"] = client
	}
	for k, v := range want {
		if got := req.str(k); got != v {
			t.Errorf("%s: %s %q, want %q; body %s", req.Path, k, got, v, req.Raw)
		}
	}
	if req.str("client") == "" {
		t.Errorf("%s: no client id in %s", req.Path, req.Raw)
	}
}

// connectNoToken sends a connect command without a token, with data when
// not nil, and returns the reply.
func (c *rawConn) connectNoToken(data []byte) *protocol.Reply {
	c.t.Helper()
	return c.call(&protocol.Command{Connect: &protocol.ConnectRequest{
		Name: "herald-e2e", Data: data,
	}})
}
