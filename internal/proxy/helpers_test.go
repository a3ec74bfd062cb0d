package proxy

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/config"
)

var discard = slog.New(slog.DiscardHandler)

// captured is one request as the test backend saw it.
type captured struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
}

// backend is an httptest server that records requests and answers with a
// configurable handler.
type backend struct {
	*httptest.Server

	mu   sync.Mutex
	reqs []captured // guarded by mu
}

// newBackend starts a backend answering every request with status and
// body.
func newBackend(t *testing.T, status int, body string) *backend {
	t.Helper()
	return newBackendFunc(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
}

// newBackendFunc starts a backend that records each request and then runs
// h.
func newBackendFunc(t *testing.T, h http.HandlerFunc) *backend {
	t.Helper()
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.reqs = append(b.reqs, captured{Method: r.Method, URL: r.URL.String(),
			Header: r.Header.Clone(), Body: body})
		b.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(b.Close)
	return b
}

// last returns the last recorded request.
func (b *backend) last(t *testing.T) captured {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.reqs) == 0 {
		t.Fatal("backend got no request")
	}
	return b.reqs[len(b.reqs)-1]
}

func (b *backend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.reqs)
}

// newProxy builds a proxy for cfg, closing it with the test.
func newProxy(t testing.TB, cfg config.Proxy) *Proxy {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	p, err := New(cfg, discard)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// caller is a typical WebSocket connection.
func caller() Caller {
	return Caller{Client: "c1", Transport: "websocket", Protocol: "json", User: "42"}
}

// fields decodes a request body into its top-level fields, keeping each
// value's raw JSON.
func fields(t *testing.T, body []byte) map[string]string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("request body is not a JSON object: %v\n%s", err, body)
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

// recorder is a slog handler that keeps the records it sees.
type recorder struct {
	mu   sync.Mutex
	recs []slog.Record // guarded by mu
	with []slog.Attr
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}

func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.with = append(r.with, as...)
	return r
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

func (r *recorder) records() []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]slog.Record(nil), r.recs...)
}

// attrs returns the attributes of rec as strings.
func attrs(rec slog.Record) map[string]string {
	m := map[string]string{}
	rec.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	return m
}
