// Package e2e drives a real Herald binary with real SDK clients
// (centrifuge-go over JSON and Protobuf) and with raw WebSocket peers.
//
// The tests build ./cmd/herald once per run (see TestMain), start one server
// per test with the configuration that test needs, and stop it with SIGTERM
// when the test ends. A server's output is written to the test log when the
// test fails.
//
// Start reading at [Start] and [Server].
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Timeouts shared by the harness and the tests. They are deadlines for
// polling, not sleeps: a passing test never waits for them to run out.
const (
	// StartTimeout bounds how long a server may take to answer /health.
	StartTimeout = 20 * time.Second
	// StopTimeout bounds how long a server may take to exit after SIGTERM.
	StopTimeout = 15 * time.Second
	// WaitTimeout bounds how long a test waits for an expected event.
	WaitTimeout = 10 * time.Second
	// pollInterval is how often polling helpers check their condition.
	pollInterval = 10 * time.Millisecond
)

// Config is the body of a Herald configuration file. Keys follow Centrifugo:
// v3 flat keys, v6 nested keys, or a mix of both.
type Config map[string]any

// Set stores value at the dot-separated path, creating the nested objects
// on the way, and returns c. For example
// c.Set("client.ping_interval", "2s") writes {"client":{"ping_interval":"2s"}}.
func (c Config) Set(path string, value any) Config {
	keys := strings.Split(path, ".")
	m := map[string]any(c)
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = value
	return c
}

// Binary is the path of the Herald binary under test. TestMain sets it with
// [Build] before any test runs.
var Binary string

// Build compiles ./cmd/herald of the module that contains the working
// directory into dir and returns the path of the binary. With race set the
// binary is built with the race detector, so that a data race inside the
// server fails the test that provoked it.
func Build(dir string, race bool) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "herald")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/herald")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("e2e: go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return bin, nil
}

// moduleRoot returns the directory holding the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("e2e: go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("e2e: not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// errPortInUse marks a start that failed because the port was taken.
var errPortInUse = errors.New("port in use")

// Server is one running Herald process.
type Server struct {
	// Port is the TCP port the server listens on, on 127.0.0.1.
	Port int

	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // the process's exit error, set before done closes

	stopOnce sync.Once
	// tlsClient, set for a server that serves TLS, trusts its certificate.
	tlsClient *tls.Config
}

// Start writes cfg to a temporary file, starts Herald with it on a free port
// and waits until GET /health answers 200. It registers a cleanup that stops
// the server and, if the test failed, logs everything the server printed.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("e2e: free port: %v", err)
		}
		s, err := start(t, cfg, port, nil)
		if err == nil {
			return s
		}
		// Another process may have taken the port between our probe and the
		// server's bind: try a new one. Any other failure is final.
		lastErr = err
		if !errors.Is(err, errPortInUse) {
			break
		}
	}
	t.Fatalf("%v", lastErr)
	return nil
}

// StartOnPort is [Start] on a given port, for tests that restart a server
// where clients expect it.
func StartOnPort(t testing.TB, cfg Config, port int) *Server {
	t.Helper()
	s, err := start(t, cfg, port, nil)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return s
}

// StartTLS is [Start] for a config that serves TLS; clientTLS trusts the
// server's certificate, and the server's URLs and HTTP client use it.
func StartTLS(t testing.TB, cfg Config, clientTLS *tls.Config) *Server {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("e2e: free port: %v", err)
	}
	s, err := start(t, cfg, port, clientTLS)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return s
}

func start(t testing.TB, cfg Config, port int, clientTLS *tls.Config) (*Server, error) {
	t.Helper()
	if Binary == "" {
		t.Fatal("e2e: Binary is not set: TestMain must call Build")
	}
	body, err := json.MarshalIndent(withListener(cfg, port), "", "  ")
	if err != nil {
		t.Fatalf("e2e: encode config: %v", err)
	}
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatalf("e2e: write config: %v", err)
	}

	s := &Server{Port: port, out: &syncBuffer{}, done: make(chan struct{}),
		tlsClient: clientTLS}
	s.cmd = exec.Command(Binary, "-c", path)
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
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

	if err := s.waitHealthy(); err != nil {
		s.kill()
		if strings.Contains(s.Output(), "address already in use") {
			err = fmt.Errorf("%w: %w", errPortInUse, err)
		}
		// The cleanup above logs the config and the output.
		return nil, fmt.Errorf("e2e: herald on port %d: %w", port, err)
	}
	return s, nil
}

// withListener returns a copy of cfg that listens on port and serves
// /health. A config written in the v6 dialect (it has http_server) gets the
// v6 keys; any other gets the v3 flat keys.
func withListener(cfg Config, port int) Config {
	out := make(Config, len(cfg)+2)
	for k, v := range cfg {
		out[k] = v
	}
	if hs, ok := cfg["http_server"].(map[string]any); ok {
		nested := make(map[string]any, len(hs)+1)
		for k, v := range hs {
			nested[k] = v
		}
		nested["port"] = port
		out["http_server"] = nested
		if _, ok := out["health"]; !ok {
			out["health"] = map[string]any{"enabled": true}
		}
		return out
	}
	out["port"] = port
	if _, ok := out["health"]; !ok {
		out["health"] = true
	}
	return out
}

func (s *Server) waitHealthy() error {
	client := s.HTTPClient()
	client.Timeout = time.Second
	deadline := time.Now().Add(StartTimeout)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("exited before it was healthy: %v", s.err)
		default:
		}
		resp, err := client.Get(s.URL("/health"))
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(pollInterval)
	}
	return fmt.Errorf("GET /health not 200 within %v (last: %s)", StartTimeout, last)
}

// URL returns the http (or https) URL of path on the server.
func (s *Server) URL(path string) string {
	if s.tlsClient != nil {
		return "https://" + s.Addr() + path
	}
	return "http://" + s.Addr() + path
}

// HTTPClient returns a client for the server: the default one, or one that
// trusts its certificate when it serves TLS.
func (s *Server) HTTPClient() *http.Client {
	if s.tlsClient == nil {
		return &http.Client{}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: s.tlsClient}}
}

// Addr returns host:port of the server.
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
}

// WebSocketURL returns the bidirectional WebSocket endpoint of the server.
func (s *Server) WebSocketURL() string {
	if s.tlsClient != nil {
		return "wss://" + s.Addr() + "/connection/websocket"
	}
	return "ws://" + s.Addr() + "/connection/websocket"
}

// PID returns the process ID of the server.
func (s *Server) PID() int {
	return s.cmd.Process.Pid
}

// Output returns everything the server printed so far.
func (s *Server) Output() string {
	return s.out.String()
}

// Exited reports whether the process has exited.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM and waits for the process to exit. A server that does
// not exit within [StopTimeout] is killed and the test fails. Stop may be
// called more than once.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.stopOnce.Do(func() {
		if s.Exited() {
			t.Errorf("e2e: herald on port %d exited by itself: %v", s.Port, s.err)
			return
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(StopTimeout):
			_ = s.cmd.Process.Kill()
			<-s.done
			t.Errorf("e2e: herald on port %d did not exit within %v of SIGTERM", s.Port, StopTimeout)
		}
	})
}

// kill ends a server that failed to start; a later Stop does nothing.
func (s *Server) kill() {
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
	})
}

// report fails the test on a data race seen in the server's output and logs
// the config and output of a failed test.
func (s *Server) report(t testing.TB, config []byte) {
	t.Helper()
	out := s.Output()
	if strings.Contains(out, "WARNING: DATA RACE") {
		t.Errorf("e2e: herald on port %d reported a data race", s.Port)
	}
	if t.Failed() {
		t.Logf("herald on port %d, config:\n%s\noutput:\n%s", s.Port, config, out)
	}
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer is a bytes.Buffer safe for the process's writer goroutines and
// the test reading it at the same time.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Token signs claims with HS256 and secret.
func Token(t testing.TB, secret string, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatalf("e2e: sign token: %v", err)
	}
	return s
}

// UserToken returns an HS256 connection token for user that expires after
// ttl; a negative ttl gives a token that has already expired.
func UserToken(t testing.TB, secret, user string, ttl time.Duration) string {
	t.Helper()
	return Token(t, secret, jwt.MapClaims{
		"sub": user,
		"exp": time.Now().Add(ttl).Unix(),
	})
}

// UnsignedToken returns a token with alg "none" and no signature.
func UnsignedToken(t testing.TB, user string) string {
	t.Helper()
	claims := jwt.MapClaims{"sub": user, "exp": time.Now().Add(time.Hour).Unix()}
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims).
		SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatalf("e2e: unsigned token: %v", err)
	}
	return s
}

// Eventually polls cond until it returns true, failing the test with
// describe's text if that does not happen within timeout. describe runs only
// on failure, so it can report the state that was reached.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, describe func() string) {
	t.Helper()
	if !poll(timeout, cond) {
		t.Fatalf("not within %v: %s", timeout, describe())
	}
}

// Consistently checks that cond holds during all of d, failing the test
// with describe's text the first time it does not. It is for asserting that
// something does not happen (no reconnect, no disconnect).
func Consistently(t testing.TB, d time.Duration, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !cond() {
			t.Fatalf("condition broke within %v: %s", d, describe())
		}
		time.Sleep(pollInterval)
	}
}

func poll(timeout time.Duration, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		select {
		case <-ctx.Done():
			return cond()
		case <-tick.C:
		}
	}
}
