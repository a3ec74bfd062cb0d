package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/config"
)

// redisConfig is the default config with the Redis engine on the local
// Redis, under a prefix of its own, listening on a free port.
func redisConfig() *config.Config {
	cfg := config.Default()
	cfg.HTTPServer.Address = "127.0.0.1"
	cfg.HTTPServer.Port = 0
	cfg.Engine.Type = "redis"
	cfg.Engine.Redis.Address = []string{"redis://127.0.0.1:6379"}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	cfg.Engine.Redis.Prefix = "herald-app-test-" + hex.EncodeToString(b)
	return cfg
}

// TestRedisEngineUnreachable checks that a node whose Redis does not
// answer fails to build, promptly, instead of starting without an engine.
func TestRedisEngineUnreachable(t *testing.T) {
	cfg := redisConfig()
	cfg.Engine.Redis.Address = []string{"127.0.0.1:1"}
	cfg.Engine.Redis.ConnectTimeout = 200 * time.Millisecond
	cfg.Engine.Redis.IOTimeout = 200 * time.Millisecond
	start := time.Now()
	if _, err := New(cfg, "test", slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("New succeeded without a Redis")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("New took %v to fail", d)
	}
}

// TestRedisEngineStartStop starts and stops a node on the Redis engine:
// the broker runs on the shards and shutdown closes everything.
func TestRedisEngineStartStop(t *testing.T) {
	a, err := New(redisConfig(), "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	if a.shards == nil {
		t.Fatal("no Redis shards")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	if err := a.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}
