package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/engine/redis"
)

// localRedis is the Redis the tests share with the rest of the suite; each
// test keeps to key prefixes of its own and deletes its keys at the end.
const localRedis = "redis://127.0.0.1:6379"

// testPrefix returns a key prefix no other test uses.
func testPrefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "herald-app-test-" + hex.EncodeToString(b)
}

// baseConfig is the default config listening on a free loopback port.
func baseConfig() *config.Config {
	cfg := config.Default()
	cfg.HTTPServer.Address = "127.0.0.1"
	cfg.HTTPServer.Port = 0
	return cfg
}

// redisConfig is the default config with the Redis engine on the local
// Redis, under a prefix of its own whose keys are deleted when t ends.
func redisConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg := baseConfig()
	cfg.Engine.Type = "redis"
	cfg.Engine.Redis.Address = []string{localRedis}
	cfg.Engine.Redis.Prefix = useRedisPrefix(t, localRedis)
	return cfg
}

// useRedisPrefix returns a fresh prefix on the Redis at addr, failing under
// CI=true, or skipping otherwise, when that Redis does not answer. Keys
// under the prefix are deleted when t ends.
func useRedisPrefix(t *testing.T, addr string) string {
	t.Helper()
	s := connect(t, addr)
	if s == nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Redis at %s; CI must provide it", addr)
		}
		t.Skipf("no Redis at %s", addr)
	}
	s.Close()

	prefix := testPrefix()
	t.Cleanup(func() {
		s := connect(t, addr)
		if s == nil {
			t.Errorf("cleanup: no Redis at %s", addr)
			return
		}
		defer s.Close()
		c := s.All()[0]
		ctx := context.Background()
		for _, k := range redisKeys(t, addr, prefix) {
			if err := c.Do(ctx, c.B().Del().Key(k).Build()).Error(); err != nil {
				t.Errorf("cleanup: del %s: %v", k, err)
			}
		}
	})
	return prefix
}

// connect opens the Redis at addr, or returns nil if it does not answer.
func connect(t *testing.T, addr string) *redis.Shards {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := redis.Connect(ctx, config.Redis{Address: []string{addr},
		ConnectTimeout: time.Second, IOTimeout: time.Second})
	if err != nil {
		return nil
	}
	return s
}

// redisKeys lists the keys under prefix on the Redis at addr.
func redisKeys(t *testing.T, addr, prefix string) []string {
	t.Helper()
	s := connect(t, addr)
	if s == nil {
		t.Fatalf("no Redis at %s", addr)
	}
	defer s.Close()

	c := s.All()[0]
	ctx := context.Background()
	var keys []string
	cursor := uint64(0)
	for {
		e, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).
			Build()).AsScanEntry()
		if err != nil {
			t.Fatalf("scan %s*: %v", prefix, err)
		}
		keys = append(keys, e.Elements...)
		if cursor = e.Cursor; cursor == 0 {
			return keys
		}
	}
}

// hasKey reports whether one of keys contains part.
func hasKey(keys []string, part string) bool {
	for _, k := range keys {
		if strings.Contains(k, part) {
			return true
		}
	}
	return false
}

// logBuffer collects text log lines from every goroutine of an App.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the lines logged so far that contain every one of parts.
func (b *logBuffer) lines(parts ...string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range strings.Split(b.buf.String(), "\n") {
		match := l != ""
		for _, p := range parts {
			match = match && strings.Contains(l, p)
		}
		if match {
			out = append(out, l)
		}
	}
	return out
}

// newLogger returns a logger at debug level writing to a fresh logBuffer.
func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	h := slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})
	return slog.New(h), b
}

// startApp builds and starts an App on cfg and shuts it down when t ends.
func startApp(t *testing.T, cfg *config.Config, logger *slog.Logger) *App {
	t.Helper()
	a, err := New(cfg, "test", logger)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		a.redis.close()
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return a
}

// TestRedisEngineUnreachable checks that a node whose Redis does not
// answer fails to build, promptly, instead of starting without an engine.
func TestRedisEngineUnreachable(t *testing.T) {
	cfg := baseConfig()
	cfg.Engine.Type = "redis"
	cfg.Engine.Redis.Address = []string{"127.0.0.1:1"}
	cfg.Engine.Redis.ConnectTimeout = 200 * time.Millisecond
	cfg.Engine.Redis.IOTimeout = 200 * time.Millisecond
	start := time.Now()
	_, err := New(cfg, "test", slog.New(slog.DiscardHandler))
	if err == nil {
		t.Fatal("New succeeded without a Redis")
	}
	if !strings.Contains(err.Error(), "engine.redis") {
		t.Errorf("error %q does not name engine.redis", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("New took %v to fail", d)
	}
}

// TestRedisEngineStartStop starts and stops a node on the Redis engine:
// the broker runs on the shards and shutdown closes everything.
func TestRedisEngineStartStop(t *testing.T) {
	a, err := New(redisConfig(t), "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	if len(a.redis.shards) != 1 {
		t.Fatalf("%d Redis connection sets, want 1", len(a.redis.shards))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	if err := a.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if a.redis.shards != nil {
		t.Error("shutdown kept the Redis connections")
	}
}
