package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/heraldhq/herald/test/e2e"
	"github.com/redis/rueidis"
)

// redisAddr is the Redis server the two-node test shares with other tests;
// the test keeps to a key prefix of its own.
const redisAddr = "127.0.0.1:6379"

// TestTwoNodes runs the publishing scenarios with the clients on one Herald
// node and the API requests on another, both on one Redis: every
// publication must cross from node A to node B, and both nodes' CPU time
// must be counted. It checks no timings.
func TestTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts two servers")
	}
	rc := redisClient(t)
	bin, err := e2e.Build(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	e2e.Binary = bin

	// The prefix's keys are deleted after both servers have stopped: the
	// cleanup is registered before theirs, so it runs after them.
	prefix := redisTestPrefix(t, rc)
	const secret, key = "nodes-secret", "nodes-key"
	cfg := func(name string) e2e.Config {
		return e2e.Config{}.
			Set("http_server.port", 0).
			Set("node.name", name).
			Set("client.token.hmac_secret_key", secret).
			Set("http_api.key", key).
			Set("engine.type", "redis").
			Set("engine.redis.address", []string{redisAddr}).
			Set("engine.redis.prefix", prefix).
			Set("channel.namespaces", benchNamespaces())
	}
	a := e2e.Start(t, cfg("bench-a"))
	b := e2e.Start(t, cfg("bench-b"))

	base := []string{
		"-url", b.WebSocketURL(), "-api", a.URL("/api"),
		"-secret", secret, "-api-key", key,
		"-pid", strconv.Itoa(a.PID()) + "," + strconv.Itoa(b.PID()),
		"-n", "20", "-m", "50", "-rate", "0", "-src-addrs", "2",
		"-drain", "10s", "-timeout", "60s",
	}
	tests := []struct {
		name string
		args []string
	}{
		{"fanout", []string{"-scenarios", "fanout"}},
		{"manychannels batch", []string{"-scenarios", "manychannels",
			"-pub-batch", "10"}},
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
			if len(r.ServerCPUByPID) != 2 {
				t.Errorf("want CPU time of 2 servers, got %v", r.ServerCPUByPID)
			}
		})
	}
}

// redisClient connects to the shared Redis. Without one the test cannot
// run: a failure in CI, a skip elsewhere.
func redisClient(t *testing.T) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress: []string{redisAddr}, DisableCache: true,
		ForceSingleClient: true,
	})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis at %s: %v", redisAddr, err)
		}
		t.Skipf("redis at %s: %v", redisAddr, err)
	}
	t.Cleanup(c.Close)
	return c
}

// redisTestPrefix returns a key prefix nothing else uses and deletes its
// keys when the test ends.
func redisTestPrefix(t *testing.T, c rueidis.Client) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "herald-bench-test-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		if err := deleteKeys(c, prefix); err != nil {
			t.Logf("redis cleanup of %s: %v", prefix, err)
		}
	})
	return prefix
}

// deleteKeys removes every key that starts with prefix.
func deleteKeys(c rueidis.Client, prefix string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var cursor uint64
	for {
		e, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match(prefix+"*").
			Count(1000).Build()).AsScanEntry()
		if err != nil {
			return err
		}
		if len(e.Elements) > 0 {
			err := c.Do(ctx, c.B().Del().Key(e.Elements...).Build()).Error()
			if err != nil {
				return err
			}
		}
		if cursor = e.Cursor; cursor == 0 {
			return nil
		}
	}
}
