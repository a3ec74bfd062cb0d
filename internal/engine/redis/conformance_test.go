package redis_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/engine/enginetest"
	"github.com/heraldhq/herald/internal/engine/redis"
)

// conformanceShards connects to the local Redis; the connection is closed
// when the test ends.
func conformanceShards(t *testing.T) *redis.Shards {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := redis.Connect(ctx, config.Redis{Address: []string{"127.0.0.1:6379"},
		ConnectTimeout: time.Second})
	if err != nil {
		t.Fatalf("connect to the local Redis: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// conformancePrefix is a key prefix of its own per call, so tests share the
// Redis without flushing it.
func conformancePrefix() string {
	return "herald-conformance-" + rand.Text()
}

func TestPresenceConformance(t *testing.T) {
	enginetest.RunPresence(t, func(t *testing.T) engine.PresenceManager {
		return redis.NewPresenceManager(conformanceShards(t),
			redis.PresenceConfig{Prefix: conformancePrefix(), TTL: time.Minute})
	})
}
