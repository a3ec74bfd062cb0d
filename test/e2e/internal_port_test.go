package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestInternalPort checks where the internal endpoints (server API,
// /health) listen when the config gives them a listener of their own, and
// that the client transport stays on the external one.
func TestInternalPort(t *testing.T) {
	t.Run("internal_port", func(t *testing.T) {
		// v3 flat keys: everything internal moves to internal_port.
		cfg := Config{"token_hmac_secret_key": secret, "api_key": apiKey,
			"prometheus": true, "admin": true, "admin_password": "p", "admin_secret": "s",
			"debug": true}
		srv, internal := startSplit(t, cfg, func(c Config, _ int) string {
			q := mustFreePort(t)
			c["internal_port"] = q
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(q))
		})
		wantAPI(t, internal)
		wantNoAPI(t, srv.Addr())
		wantHealth(t, internal)
		wantStatus(t, http.MethodGet, srv.Addr(), "/health", http.StatusNotFound)
		wantWebSocket(t, srv, internal)
		// Metrics, the admin UI and pprof are internal endpoints too.
		for _, path := range []string{"/metrics", "/", "/admin/settings",
			"/debug/pprof/"} {
			wantStatus(t, http.MethodGet, internal, path, http.StatusOK)
			wantStatus(t, http.MethodGet, srv.Addr(), path, http.StatusNotFound)
		}
	})
	t.Run("http_api.external", func(t *testing.T) {
		// v6 keys: the API comes back to the external port; /health stays
		// internal.
		cfg := apiConfig().Set("http_api.external", true)
		srv, internal := startSplit(t, cfg, func(c Config, _ int) string {
			q := mustFreePort(t)
			c.Set("http_server.internal_port", q)
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(q))
		})
		wantAPI(t, srv.Addr())
		wantNoAPI(t, internal)
		wantHealth(t, internal)
		wantStatus(t, http.MethodGet, srv.Addr(), "/health", http.StatusNotFound)
		wantWebSocket(t, srv, internal)
	})
	t.Run("internal_address alone", func(t *testing.T) {
		// Without internal_port the internal listener takes the external
		// port on its own address (config.md §1.2: internal_port defaults
		// to port). Every 127/8 address is loopback on Linux.
		cfg := Config{"token_hmac_secret_key": secret, "api_key": apiKey,
			"address": "127.0.0.1"}
		srv, internal := startSplit(t, cfg, func(c Config, port int) string {
			c["internal_address"] = "127.0.0.2"
			return net.JoinHostPort("127.0.0.2", strconv.Itoa(port))
		})
		wantAPI(t, internal)
		wantNoAPI(t, srv.Addr())
		wantHealth(t, internal)
		wantWebSocket(t, srv, internal)
	})
}

// wantAPI checks that the server API answers on addr, in both styles.
func wantAPI(t *testing.T, addr string) {
	t.Helper()
	a := post(t, addr, "/api",
		`{"method":"publish","params":{"channel":"news","data":{"n":1}}}`)
	if a.status != http.StatusOK || string(a.body) != `{"result":{}}` {
		t.Fatalf("POST %s/api: %d %s", addr, a.status, a.body)
	}
	a = post(t, addr, "/api/info", `{}`)
	var info struct {
		Result struct{ Nodes []struct{ UID string } }
	}
	if a.status != http.StatusOK || json.Unmarshal(a.body, &info) != nil ||
		len(info.Result.Nodes) != 1 || info.Result.Nodes[0].UID == "" {
		t.Fatalf("POST %s/api/info: %d %s", addr, a.status, a.body)
	}
}

// wantNoAPI checks that no route of the server API exists on addr.
func wantNoAPI(t *testing.T, addr string) {
	t.Helper()
	for _, path := range []string{"/api", "/api/info", "/api/batch"} {
		wantStatus(t, http.MethodPost, addr, path, http.StatusNotFound)
	}
}

// wantHealth checks that /health answers 200 {} on addr.
func wantHealth(t *testing.T, addr string) {
	t.Helper()
	a := do(t, http.MethodGet, addr, "/health", "")
	if a.status != http.StatusOK || string(a.body) != `{}` {
		t.Fatalf("GET %s/health: %d %s", addr, a.status, a.body)
	}
}

// wantWebSocket checks that a client connects on the external port and
// that the transport is not served on internal.
func wantWebSocket(t *testing.T, srv *Server, internal string) {
	t.Helper()
	c := dialRaw(t, srv, encodings[0], nil)
	c.connect(UserToken(t, secret, "alice", time.Hour))
	wantStatus(t, http.MethodGet, internal, "/connection/websocket", http.StatusNotFound)
}

// wantStatus fails unless method path on addr answers status.
func wantStatus(t *testing.T, method, addr, path string, status int) {
	t.Helper()
	if a := do(t, method, addr, path, ""); a.status != status {
		t.Fatalf("%s %s%s: %d %s, want %d", method, addr, path, a.status, a.body, status)
	}
}

// post POSTs body to path on addr with the API key.
func post(t *testing.T, addr, path, body string) apiAnswer {
	t.Helper()
	return do(t, http.MethodPost, addr, path, body)
}

// do sends one request with the API key to path on addr.
func do(t *testing.T, method, addr, path, body string) apiAnswer {
	t.Helper()
	req, err := http.NewRequestWithContext(opCtx(t), method, "http://"+addr+path,
		strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-API-Key", apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s%s: %v", method, addr, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s%s: read: %v", method, addr, path, err)
	}
	return apiAnswer{resp.StatusCode, resp.Header.Get("Content-Type"), b}
}

func mustFreePort(t *testing.T) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatalf("e2e: free port: %v", err)
	}
	return p
}

// startSplit is [Start] for a config whose /health is not on the external
// port: place adds the internal listener's keys to the config written for
// the external port and returns that listener's host:port, where the
// server is awaited. It returns the server and the internal host:port.
func startSplit(t *testing.T, cfg Config,
	place func(c Config, port int) string) (*Server, string) {
	t.Helper()
	var lastErr error
	for range 3 {
		port := mustFreePort(t)
		c := withListener(cfg, port)
		internal := place(c, port)
		s, err := startAt(t, c, port, internal)
		if err == nil {
			return s, internal
		}
		// A port probed free may be taken before the server binds it.
		lastErr = err
		if !errors.Is(err, errPortInUse) {
			break
		}
	}
	t.Fatalf("%v", lastErr)
	return nil, ""
}

// startAt runs Herald with cfg, which listens on port, and waits until
// GET /health on the internal host:port answers 200.
func startAt(t *testing.T, cfg Config, port int, internal string) (*Server, error) {
	t.Helper()
	body, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatalf("e2e: encode config: %v", err)
	}
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatalf("e2e: write config: %v", err)
	}
	s := &Server{Port: port, out: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(Binary, "-c", path)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("e2e: start %s: %v", Binary, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.Stop(t)
		s.report(t, body)
	})

	healthy := poll(StartTimeout, func() bool {
		if s.Exited() {
			return true
		}
		resp, err := http.Get("http://" + internal + "/health")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if !healthy || s.Exited() {
		s.kill()
		err := fmt.Errorf("e2e: herald on port %d: /health on %s not 200 within %v",
			port, internal, StartTimeout)
		if strings.Contains(s.Output(), "address already in use") {
			err = fmt.Errorf("%w: %w", errPortInUse, err)
		}
		return nil, err
	}
	return s, nil
}
