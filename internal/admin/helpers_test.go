package admin

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/api"
	"github.com/heraldhq/herald/internal/channel"
	"github.com/heraldhq/herald/internal/engine/memory"
	"github.com/heraldhq/herald/internal/hub"
	"github.com/heraldhq/herald/internal/node"
	"github.com/heraldhq/herald/internal/session"
)

const (
	testPassword = "correct horse"
	testSecret   = "admin-test-secret"
	testNode     = "admin-test-node"
)

// logBuffer collects the handler's log lines; the handler logs from the
// goroutines of requests.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// commandAPI returns the server API's keyless command handler over a real
// node on the memory engine, with a namespace "hist" that keeps history.
func commandAPI(t testing.TB) http.Handler {
	t.Helper()
	cfg := channel.DefaultConfig()
	cfg.Namespaces = []channel.Namespace{{Name: "hist", Options: channel.Options{
		HistorySize: 10, HistoryTTL: time.Minute, Presence: true,
	}}}
	rules, err := channel.NewRules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	discard := slog.New(slog.DiscardHandler)
	broker := memory.NewBroker(memory.Config{})
	pres := memory.NewPresenceManager(memory.Config{})
	n := node.New(node.Config{
		Name: testNode, Version: "0.0.0-test",
		Broker: broker, Presence: pres, Hub: hub.New(session.Encoders()),
		Logger: discard,
	})
	ctx, cancel := context.WithCancel(context.Background())
	if err := n.Run(ctx); err != nil {
		t.Fatal(err)
	}
	m := session.NewManager(session.Config{Node: n, Rules: rules, Logger: discard})
	go m.Run(ctx)
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), time.Second)
		defer scancel()
		_ = m.Shutdown(sctx)
		cancel()
		_ = broker.Close(sctx)
		_ = pres.Close(sctx)
	})
	return api.NewCommandHandler(api.Config{Node: n, Sessions: m, Rules: rules,
		Logger: discard})
}

// newTest returns a handler with the test password and secret, an API
// delegate when withAPI, and the buffer its logs go to. mods adjust the
// config.
func newTest(t testing.TB, withAPI bool, mods ...func(*Config)) (*Handler, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	cfg := Config{
		Password: testPassword,
		Secret:   testSecret,
		Logger: slog.New(slog.NewTextHandler(logs,
			&slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if withAPI {
		cfg.API = commandAPI(t)
	}
	for _, mod := range mods {
		mod(&cfg)
	}
	h := New(cfg)
	h.failDelay = 0
	return h, logs
}

// reply is an answer of the handler.
type reply struct {
	status int
	header http.Header
	body   string
}

// serve runs one request through h; header is name, value pairs.
func serve(h http.Handler, method, target string, body io.Reader, header ...string) reply {
	r := httptest.NewRequest(method, target, body)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return reply{status: w.Code, header: w.Header(), body: w.Body.String()}
}

// urlencoded returns a form body with password and its content type.
func urlencoded(password string) (io.Reader, string) {
	v := url.Values{"password": {password}}
	return strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
}

// multipartForm returns a multipart body with password, as a browser's
// FormData sends it, and its content type.
func multipartForm(t testing.TB, password string) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if err := mw.WriteField("password", password); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &b, mw.FormDataContentType()
}

// login logs in with the test password and returns the token.
func login(t testing.TB, h http.Handler) string {
	t.Helper()
	body, ct := urlencoded(testPassword)
	rp := serve(h, http.MethodPost, "/admin/auth", body, "Content-Type", ct)
	if rp.status != http.StatusOK {
		t.Fatalf("login: %d %q", rp.status, rp.body)
	}
	return decodeToken(t, rp.body)
}
