package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/test/e2e"
)

// TestSmoke runs every scenario at a tiny size against a real Herald
// binary and checks that the tool works: every publication is delivered and
// every output line parses. It checks no timings.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the server")
	}
	bin, err := e2e.Build(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	e2e.Binary = bin
	const secret, key = "smoke-secret", "smoke-key"
	srv := e2e.Start(t, e2e.Config{}.
		Set("http_server.port", 0).
		Set("client.token.hmac_secret_key", secret).
		Set("http_api.key", key).
		Set("debug.enabled", true).
		Set("channel.namespaces", benchNamespaces()))

	base := []string{
		"-url", srv.WebSocketURL(), "-api", srv.URL("/api"),
		"-secret", secret, "-api-key", key, "-pid", strconv.Itoa(srv.PID()),
		"-debug-url", srv.URL("/debug/pprof/runtime"),
		"-n", "20", "-m", "50", "-rate", "0", "-settle", "10ms",
		"-src-addrs", "2", "-timeout", "60s",
	}
	tests := []struct {
		name string
		args []string
	}{
		{"idle", []string{"-scenarios", "idle"}},
		{"fanout", []string{"-scenarios", "fanout"}},
		{"fanout client subscribe", []string{"-scenarios", "fanout",
			"-subscribe", "client", "-channel-prefix", "bench:"}},
		{"manychannels batch", []string{"-scenarios", "manychannels",
			"-pub-batch", "10"}},
		{"connectstorm", []string{"-scenarios", "connectstorm"}},
		{"publish", []string{"-scenarios", "publish", "-publishers", "3",
			"-duration", "300ms"}},
		{"publish with history", []string{"-scenarios", "publish",
			"-publishers", "3", "-duration", "300ms", "-channel-prefix", "hist:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runTool(t, append(append([]string{}, base...), tt.args...))
			checkResult(t, r)
			if r.Scenario == "publish" {
				checkPublishResult(t, r)
			}
		})
	}
}

// benchNamespaces are the namespaces of the test servers: bench for
// client-side subscriptions, hist for publications kept in history.
func benchNamespaces() []any {
	return []any{
		map[string]any{"name": "bench", "allow_subscribe_for_client": true},
		map[string]any{"name": "hist", "history_size": 10, "history_ttl": "60s"},
	}
}

// runTool runs the tool in-process and returns the one result it printed.
func runTool(t *testing.T, args []string) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := run(ctx, args, &stdout, &stderr, log); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one JSON line, got %d:\n%s", len(lines), stdout.String())
	}
	var r Result
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatalf("output line does not parse: %v\n%s", err, lines[0])
	}
	if !strings.Contains(stderr.String(), "== "+r.Scenario) {
		t.Errorf("no summary on stderr:\n%s", stderr.String())
	}
	return &r
}

func checkResult(t *testing.T, r *Result) {
	t.Helper()
	if r.Connected != r.Conns || r.ConnectErrors != 0 || r.Dropped != 0 {
		t.Errorf("connected %d of %d, %d errors, %d dropped (%s)",
			r.Connected, r.Conns, r.ConnectErrors, r.Dropped, r.Error)
	}
	switch r.Scenario {
	case "idle":
		if r.RSSAfter == 0 || r.GoroutinesPer == 0 {
			t.Errorf("idle: no server memory figures: %+v", r)
		}
	case "fanout", "manychannels":
		if r.Published != 50 || r.DeliveryRatio != 1 {
			t.Errorf("%s: published %d, %d/%d delivered (%s)", r.Scenario,
				r.Published, r.Deliveries, r.Expected, r.Error)
		}
	}
}

// checkPublishResult checks a publish scenario's line: some publications,
// no errors, and the figures derived from them filled in.
func checkPublishResult(t *testing.T, r *Result) {
	t.Helper()
	if r.Published == 0 || r.PublishErrors != 0 || r.Error != "" {
		t.Errorf("publish: %d published, %d errors (%s)", r.Published,
			r.PublishErrors, r.Error)
	}
	if r.PubPerS == 0 || r.APIMaxMs == 0 {
		t.Errorf("publish: no rate or latency figures: %+v", r)
	}
}

func TestPIDList(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"42", "42", true},
		{"42,7", "42,7", true},
		{" 42 , 7 ", "42,7", true},
		{"", "", false},
		{"42,", "", false},
		{"0", "", false},
		{"-3", "", false},
		{"x", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var l pidList
			err := l.Set(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("Set(%q) error %v, want ok %v", tt.in, err, tt.ok)
			}
			if tt.ok && l.String() != tt.want {
				t.Errorf("Set(%q) = %s, want %s", tt.in, l.String(), tt.want)
			}
		})
	}
}
