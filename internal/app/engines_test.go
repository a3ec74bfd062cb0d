package app

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/engine/memory"
	"github.com/heraldhq/herald/internal/engine/redis"
	"github.com/heraldhq/herald/internal/protocol"
	"github.com/heraldhq/herald/internal/redistest"
)

// withHistory keeps a publication in the channel's stream. The TTLs are
// short so that keys a failed test leaves behind expire by themselves.
var withHistory = engine.PublishOptions{HistorySize: 10, HistoryTTL: time.Minute,
	HistoryMetaTTL: time.Minute}

// redisBroker enables broker.redis on the Redis at addr under prefix.
func redisBroker(cfg *config.Config, addr, prefix string) {
	cfg.Broker.Enabled = true
	cfg.Broker.Type = "redis"
	cfg.Broker.Redis.Address = []string{addr}
	cfg.Broker.Redis.Prefix = prefix
}

// redisPresence enables presence_manager.redis on the Redis at addr under
// prefix.
func redisPresence(cfg *config.Config, addr, prefix string) {
	cfg.PresenceManager.Enabled = true
	cfg.PresenceManager.Type = "redis"
	cfg.PresenceManager.Redis.Address = []string{addr}
	cfg.PresenceManager.Redis.Prefix = prefix
}

// publish publishes data to ch with history through a's node.
func publish(t *testing.T, a *App, ch, data string) {
	t.Helper()
	pub := &protocol.Publication{Data: protocol.Raw(data)}
	if _, err := a.node.Publish(t.Context(), ch, pub, withHistory); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// history returns the data of ch's publications as a's node reads them.
func history(t *testing.T, a *App, ch string) []string {
	t.Helper()
	pubs, _, err := a.node.History(t.Context(), ch, engine.HistoryOptions{Limit: -1})
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	var out []string
	for _, p := range pubs {
		out = append(out, string(p.Data))
	}
	return out
}

// TestBrokerRedisOverMemoryEngine runs two nodes on the memory engine with
// broker.redis: a publication with history made on one is in a Redis
// stream under the broker's prefix and the other node reads it, while
// presence stays in each node's memory.
func TestBrokerRedisOverMemoryEngine(t *testing.T) {
	prefix := useRedisPrefix(t, localRedis)
	cfg := baseConfig()
	redisBroker(cfg, localRedis, prefix)
	a := startApp(t, cfg, slog.New(slog.DiscardHandler))
	b := startApp(t, cfg, slog.New(slog.DiscardHandler))

	publish(t, a, "news", `{"n":1}`)
	if got := history(t, b, "news"); len(got) != 1 || got[0] != `{"n":1}` {
		t.Fatalf("other node's history %q, want the publication", got)
	}
	if keys := redisKeys(t, localRedis, prefix); !hasKey(keys, ".stream.{news}") {
		t.Errorf("no stream of news under %s: %q", prefix, keys)
	}

	if _, ok := a.presence.(*memory.PresenceManager); !ok {
		t.Fatalf("presence manager %T, want the memory one", a.presence)
	}
	info := &protocol.ClientInfo{User: "u", Client: "c"}
	if err := a.presence.AddPresence(t.Context(), "news", "c", info); err != nil {
		t.Fatalf("add presence: %v", err)
	}
	if keys := redisKeys(t, localRedis, prefix); hasKey(keys, ".presence.") {
		t.Errorf("presence went to Redis: %q", keys)
	}
}

// TestPresenceManagerRedisOverMemoryEngine checks presence_manager.redis on
// the memory engine: presence lives in Redis under the section's prefix,
// with the section's presence_ttl, and another node sees it; history stays
// in each node's memory.
func TestPresenceManagerRedisOverMemoryEngine(t *testing.T) {
	prefix := useRedisPrefix(t, localRedis)
	cfg := baseConfig()
	redisPresence(cfg, localRedis, prefix)
	ttl := 17 * time.Second
	cfg.PresenceManager.Redis.PresenceTTL = ttl
	a := startApp(t, cfg, slog.New(slog.DiscardHandler))
	b := startApp(t, cfg, slog.New(slog.DiscardHandler))

	info := &protocol.ClientInfo{User: "u1", Client: "c1"}
	if err := a.presence.AddPresence(t.Context(), "room", "c1", info); err != nil {
		t.Fatalf("add presence: %v", err)
	}
	got, err := b.presence.Presence(t.Context(), "room")
	if err != nil || len(got) != 1 || got["c1"] == nil || got["c1"].User != "u1" {
		t.Fatalf("other node's presence %v, %v; want c1 of u1", got, err)
	}
	if pttl := keyTTL(t, localRedis, prefix+".presence.data.{room}"); pttl <= 0 ||
		pttl > ttl {
		t.Errorf("presence key expires in %v, want at most presence_ttl %v", pttl, ttl)
	}

	publish(t, a, "room", `{"m":1}`)
	if got := history(t, b, "room"); len(got) != 0 {
		t.Errorf("other node's history %q, want none from the memory broker", got)
	}
	if err := a.presence.RemovePresence(t.Context(), "room", "c1", "u1"); err != nil {
		t.Errorf("remove presence: %v", err)
	}
}

// keyTTL returns the time to live of key on the Redis at addr.
func keyTTL(t *testing.T, addr, key string) time.Duration {
	t.Helper()
	s := connect(t, addr)
	if s == nil {
		t.Fatalf("no Redis at %s", addr)
	}
	defer s.Close()
	c := s.All()[0]
	ms, err := c.Do(t.Context(), c.B().Pttl().Key(key).Build()).AsInt64()
	if err != nil {
		t.Fatalf("pttl %s: %v", key, err)
	}
	return time.Duration(ms) * time.Millisecond
}

// TestRedisEngineWithMemoryPresence checks the Redis engine with
// presence_manager.memory: history goes through Redis, presence does not.
func TestRedisEngineWithMemoryPresence(t *testing.T) {
	cfg := redisConfig(t)
	prefix := cfg.Engine.Redis.Prefix
	cfg.PresenceManager.Enabled = true
	cfg.PresenceManager.Type = "memory"
	a := startApp(t, cfg, slog.New(slog.DiscardHandler))

	if _, ok := a.broker.(*redis.Broker); !ok {
		t.Fatalf("broker %T, want the Redis one", a.broker)
	}
	if _, ok := a.presence.(*memory.PresenceManager); !ok {
		t.Fatalf("presence manager %T, want the memory one", a.presence)
	}
	publish(t, a, "feed", `{"x":1}`)
	info := &protocol.ClientInfo{User: "u", Client: "c"}
	if err := a.presence.AddPresence(t.Context(), "feed", "c", info); err != nil {
		t.Fatalf("add presence: %v", err)
	}
	keys := redisKeys(t, localRedis, prefix)
	if !hasKey(keys, ".stream.{feed}") || hasKey(keys, ".presence.") {
		t.Errorf("keys under %s: %q, want the stream and no presence", prefix, keys)
	}
}

// TestBrokerAndPresenceOnDifferentRedis puts the broker on the shared
// Redis and presence on a Redis of its own: each section's keys land on
// its own deployment, over connections of its own.
func TestBrokerAndPresenceOnDifferentRedis(t *testing.T) {
	prefix := useRedisPrefix(t, localRedis)
	other := "redis://" + redistest.Start(t).Addr
	cfg := baseConfig()
	redisBroker(cfg, localRedis, prefix)
	redisPresence(cfg, other, prefix)
	a := startApp(t, cfg, slog.New(slog.DiscardHandler))
	if len(a.redis.shards) != 2 {
		t.Fatalf("%d Redis connection sets, want 2", len(a.redis.shards))
	}

	publish(t, a, "ch", `{}`)
	info := &protocol.ClientInfo{User: "u", Client: "c"}
	if err := a.presence.AddPresence(t.Context(), "ch", "c", info); err != nil {
		t.Fatalf("add presence: %v", err)
	}
	shared, own := redisKeys(t, localRedis, prefix), redisKeys(t, other, prefix)
	if !hasKey(shared, ".stream.{ch}") || hasKey(shared, ".presence.") {
		t.Errorf("broker's Redis holds %q, want the stream only", shared)
	}
	if !hasKey(own, ".presence.data.{ch}") || hasKey(own, ".stream.") {
		t.Errorf("presence's Redis holds %q, want presence only", own)
	}
}

// TestRedisConnectionsShared checks that sections whose connection
// settings are equal share one connection set, whatever their prefixes,
// that different settings get a set each, and that an overridden engine
// does not connect at all.
func TestRedisConnectionsShared(t *testing.T) {
	tests := []struct {
		name  string
		setup func(cfg *config.Config, prefix string)
		want  int
	}{
		{"engine only", func(*config.Config, string) {}, 1},
		{"all three alike", func(cfg *config.Config, prefix string) {
			redisBroker(cfg, localRedis, prefix+"-b")
			redisPresence(cfg, localRedis, prefix+"-p")
			cfg.Broker.Redis.ShardedPubSubPartitions = 4
		}, 1},
		{"broker with its own client name", func(cfg *config.Config, prefix string) {
			redisBroker(cfg, localRedis, prefix)
			cfg.Broker.Redis.ClientName = "herald-app-test-broker"
		}, 2},
		{"engine overridden twice", func(cfg *config.Config, prefix string) {
			cfg.Engine.Redis.Address = []string{"127.0.0.1:1"}
			redisBroker(cfg, localRedis, prefix)
			redisPresence(cfg, localRedis, prefix)
		}, 1},
		{"everything in memory", func(cfg *config.Config, _ string) {
			cfg.Engine.Redis.Address = []string{"127.0.0.1:1"}
			cfg.Broker.Enabled, cfg.Broker.Type = true, "memory"
			cfg.PresenceManager.Enabled, cfg.PresenceManager.Type = true, "memory"
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := redisConfig(t)
			tt.setup(cfg, cfg.Engine.Redis.Prefix)
			a := startApp(t, cfg, slog.New(slog.DiscardHandler))
			if n := len(a.redis.shards); n != tt.want {
				t.Errorf("%d Redis connection sets, want %d", n, tt.want)
			}
		})
	}
}

// TestRedisSectionUnreachable checks that a presence_manager.redis that
// does not answer fails the node with an error naming the section, once
// the engine's Redis, which carries the broker, has connected.
func TestRedisSectionUnreachable(t *testing.T) {
	cfg := redisConfig(t)
	redisPresence(cfg, "127.0.0.1:1", cfg.Engine.Redis.Prefix)
	cfg.PresenceManager.Redis.ConnectTimeout = 200 * time.Millisecond
	cfg.PresenceManager.Redis.IOTimeout = 200 * time.Millisecond
	if _, err := New(cfg, "test", slog.New(slog.DiscardHandler)); err == nil ||
		!strings.Contains(err.Error(), "presence_manager.redis") {
		t.Fatalf("error %v, want one naming presence_manager.redis", err)
	}
}

// TestBrokerTypeUnavailable checks that a broker type this build has not
// fails the node with a clear error, and that an unreachable NATS fails
// its start.
func TestBrokerTypeUnavailable(t *testing.T) {
	cfg := baseConfig()
	cfg.Broker.Enabled, cfg.Broker.Type = true, "postgres"
	_, err := New(cfg, "test", slog.New(slog.DiscardHandler))
	want := `app: broker "postgres" is not available in this build`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}

	cfg = baseConfig()
	cfg.Broker.Enabled, cfg.Broker.Type = true, "nats"
	cfg.Broker.NATS.URL = "nats://127.0.0.1:1"
	a, err := New(cfg, "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("new with a NATS broker: %v", err)
	}
	err = a.Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "nats: connect nats://127.0.0.1:1") {
		t.Fatalf("start with NATS unreachable: %v", err)
	}
}

// engineKeys are the ignored options of engine.redis.
var engineKeys = []string{"engine.redis.history_use_lists",
	"engine.redis.presence_hash_field_ttl", "engine.redis.presence_user_mapping"}

// setIgnored sets every ignored option of an engine.redis section.
func setIgnored(r *config.RedisEngine) {
	r.HistoryUseLists, r.PresenceHashFieldTTL, r.PresenceUserMapping = true, true, true
}

// TestIgnoredRedisOptionsWarnOnce checks that the Redis options Herald has
// no use for are reported once each at start, for the sections in use
// only, in both dialects.
func TestIgnoredRedisOptionsWarnOnce(t *testing.T) {
	ignored := []string{"history_use_lists", "presence_hash_field_ttl",
		"presence_user_mapping"}
	tests := []struct {
		name  string
		setup func(t *testing.T, cfg *config.Config)
		warn  []string // keys expected to be reported
	}{
		{"engine", func(t *testing.T, cfg *config.Config) {
			setIgnored(&cfg.Engine.Redis)
		}, engineKeys},
		{"sections", func(t *testing.T, cfg *config.Config) {
			setIgnored(&cfg.Engine.Redis)
			prefix := cfg.Engine.Redis.Prefix
			redisBroker(cfg, localRedis, prefix)
			cfg.Broker.Redis.HistoryUseLists = true
			redisPresence(cfg, localRedis, prefix)
			p := &cfg.PresenceManager.Redis
			p.PresenceHashFieldTTL, p.PresenceUserMapping = true, true
		}, []string{"broker.redis.history_use_lists",
			"presence_manager.redis.presence_hash_field_ttl",
			"presence_manager.redis.presence_user_mapping"}},
		{"flat file", func(t *testing.T, cfg *config.Config) {
			loaded := loadFlat(t, fmt.Sprintf(`{"engine": "redis", "redis_address": %q,
			  "redis_prefix": %q, "redis_use_lists": true,
			  "redis_presence_hash_field_ttl": true,
			  "global_redis_presence_user_mapping": true}`,
				localRedis, cfg.Engine.Redis.Prefix))
			*cfg = *loaded
		}, engineKeys},
		{"not set", func(*testing.T, *config.Config) {}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := redisConfig(t)
			tt.setup(t, cfg)
			logger, logs := newLogger()
			a := startApp(t, cfg, logger)
			publish(t, a, "ch", `{}`)
			info := &protocol.ClientInfo{User: "u", Client: "c"}
			if err := a.presence.AddPresence(t.Context(), "ch", "c", info); err != nil {
				t.Fatalf("add presence: %v", err)
			}

			for _, opt := range ignored {
				for _, section := range []string{"engine", "broker", "presence_manager"} {
					key := section + ".redis." + opt
					want := 0
					if slices.Contains(tt.warn, key) {
						want = 1
					}
					lines := logs.lines("level=WARN", "key="+key)
					if len(lines) != want {
						t.Errorf("%d warnings about %s, want %d: %q", len(lines), key,
							want, lines)
					}
				}
			}
		})
	}
}

// loadFlat loads a config file in the flat dialect and makes it listen on
// a free loopback port.
func loadFlat(t *testing.T, content string) *config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Load(config.Source{File: path})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	cfg.HTTPServer.Address = "127.0.0.1"
	cfg.HTTPServer.Port = 0
	return cfg
}
