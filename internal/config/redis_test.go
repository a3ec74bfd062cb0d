package config

import (
	"crypto/tls"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestRedisFlatKeys checks that every v3/v5 flat Redis key lands where the
// v6 key does, so that a Centrifugo v3 config drives the Redis engine.
func TestRedisFlatKeys(t *testing.T) {
	v3, w3 := loadJSON(t, `{"engine": "redis",
	 "redis_address": ["10.0.0.1:6379", "redis://10.0.0.2:6380/2"],
	 "redis_prefix": "app", "redis_db": 3, "redis_user": "u", "redis_password": "p",
	 "redis_connect_timeout": "2s", "redis_io_timeout": "3s", "redis_use_lists": true,
	 "redis_tls": true, "redis_tls_skip_verify": true, "redis_tls_server_name": "r",
	 "redis_sentinel_address": ["10.0.0.9:26379"], "redis_sentinel_master_name": "m",
	 "redis_sentinel_user": "su", "redis_sentinel_password": "sp",
	 "redis_sharded_pub_sub_partitions": 8, "presence_ttl": 45}`)
	v6, w6 := loadJSON(t, `{"engine": {"type": "redis", "redis": {
	 "address": ["10.0.0.1:6379", "redis://10.0.0.2:6380/2"],
	 "prefix": "app", "db": 3, "user": "u", "password": "p",
	 "connect_timeout": "2s", "io_timeout": "3s", "history_use_lists": true,
	 "tls": {"enabled": true, "insecure_skip_verify": true, "server_name": "r"},
	 "sentinel_address": ["10.0.0.9:26379"], "sentinel_master_name": "m",
	 "sentinel_user": "su", "sentinel_password": "sp",
	 "sharded_pub_sub_partitions": 8, "presence_ttl": "45s"}}}`)
	// The flat dialect reports its legacy spellings; neither may be unknown.
	for _, w := range append(w3, w6...) {
		if strings.Contains(w, "unknown") {
			t.Errorf("warning %q", w)
		}
	}
	assertSame(t, v6, v3)
	r := v3.Engine.Redis
	if v3.Engine.Type != "redis" || r.Prefix != "app" || r.DB != 3 ||
		r.PresenceTTL != 45*time.Second || !r.TLS.Enabled || !r.TLS.InsecureSkipVerify ||
		r.ConnectTimeout != 2*time.Second || r.IOTimeout != 3*time.Second ||
		r.ShardedPubSubPartitions != 8 {
		t.Errorf("engine %+v", v3.Engine)
	}
}

// TestShardedPubSubPartitions checks the partitions key of each Redis
// section in every dialect, and its default of 0, which lets Herald pick.
func TestShardedPubSubPartitions(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		want [3]int // engine, broker, presence_manager
	}{
		{"default", `{}`, nil, [3]int{}},
		{"flat", `{"redis_sharded_pub_sub_partitions": 4}`, nil, [3]int{4, 0, 0}},
		{"nested", `{"engine": {"redis": {"sharded_pub_sub_partitions": 5}},
		  "broker": {"redis": {"sharded_pub_sub_partitions": 6}},
		  "presence_manager": {"redis": {"sharded_pub_sub_partitions": 7}}}`,
			nil, [3]int{5, 6, 7}},
		{"flat env", `{}`, []string{"CENTRIFUGO_REDIS_SHARDED_PUB_SUB_PARTITIONS=9"},
			[3]int{9, 0, 0}},
		{"nested env", `{}`,
			[]string{"CENTRIFUGO_BROKER_REDIS_SHARDED_PUB_SUB_PARTITIONS=10"},
			[3]int{0, 10, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, warnings := mustLoad(t, Source{
				File: writeFile(t, "config.json", tt.file), Env: tt.env,
			})
			if len(warnings) != 0 {
				t.Errorf("warnings %q", warnings)
			}
			got := [3]int{c.Engine.Redis.ShardedPubSubPartitions,
				c.Broker.Redis.ShardedPubSubPartitions,
				c.PresenceManager.Redis.ShardedPubSubPartitions}
			if got != tt.want {
				t.Errorf("partitions %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRedisDefaults checks the defaults of config.md §1.10: Centrifugo's
// prefix, so that Herald and Centrifugo nodes share keys.
func TestRedisDefaults(t *testing.T) {
	c, _ := loadJSON(t, `{"engine": "redis"}`)
	r := c.Engine.Redis
	if r.Prefix != "centrifugo" || r.PresenceTTL != 60*time.Second ||
		r.ConnectTimeout != time.Second || r.IOTimeout != 4*time.Second ||
		!reflect.DeepEqual(r.Address, []string{"redis://127.0.0.1:6379"}) {
		t.Errorf("defaults %+v", r)
	}
}

// TestClientTLS checks the outgoing TLS settings built from a TLS section.
func TestClientTLS(t *testing.T) {
	if c, err := ClientTLS(TLS{}); c != nil || err != nil {
		t.Fatalf("disabled: %v, %v; want nil, nil", c, err)
	}
	c, err := ClientTLS(TLS{Enabled: true, ServerName: "r", InsecureSkipVerify: true})
	if err != nil || c.ServerName != "r" || !c.InsecureSkipVerify ||
		c.MinVersion != tls.VersionTLS12 {
		t.Fatalf("enabled: %+v, %v", c, err)
	}
	bad := TLS{Enabled: true, ServerCAPEM: "-----BEGIN nothing"}
	if _, err := ClientTLS(bad); err == nil {
		t.Fatal("a CA without certificates was accepted")
	}
}
