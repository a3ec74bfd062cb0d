package config

import (
	"strings"
	"testing"
)

func TestValidation(t *testing.T) {
	tests := []struct{ content, want string }{
		{`{"port": 0}`, "http_server.port: expected 1-65535, got 0"},
		{`{"internal_port": 70000}`, "http_server.internal_port: expected 0-65535"},
		{`{"engine": "tarantool"}`, "tarantool engine is not supported"},
		{`{"engine": {"type": "mongo"}}`, `engine.type: expected "memory" or "redis"`},
		{`{"broker": "kafka"}`, `broker.type: expected "memory", "redis" or "nats"`},
		{`{"log": {"format": "xml"}}`, `log.format: expected "text" or "json"`},
		{`{"redis_prefix": "app{x}"}`, `engine.redis.prefix: must not contain '{' or '}'`},
		{`{"engine": {"redis": {"prefix": "app}"}}}`, "engine.redis.prefix: must not"},
		{`{"broker": {"enabled": true, "type": "redis", "redis": {"prefix": "{app"}}}`,
			"broker.redis.prefix: must not contain"},
		{`{"presence_manager": {"redis": {"prefix": "a{b}c"}}}`,
			"presence_manager.redis.prefix: must not contain"},
		{`{"redis_sharded_pub_sub_partitions": -1}`,
			"engine.redis.sharded_pub_sub_partitions: must not be negative, got -1"},
		{`{"broker": {"redis": {"sharded_pub_sub_partitions": -2}}}`,
			"broker.redis.sharded_pub_sub_partitions: must not be negative"},
		{`{"presence_manager": {"redis": {"sharded_pub_sub_partitions": -3}}}`,
			"presence_manager.redis.sharded_pub_sub_partitions: must not be negative"},
		{`{"client": {"ping_interval": "5s", "pong_timeout": "8s"}}`,
			"client.pong_timeout: must be shorter than client.ping_interval"},
		{`{"client": {"ping_interval": "0s"}}`, "client.ping_interval: must be positive"},
		{`{"client_channel_limit": -1}`, "client.channel_limit: must not be negative"},
		{`{"user_subscribe_to_personal": true, "user_personal_channel_namespace": "nope"}`,
			`namespace "nope" for the personal channel is not in channel.namespaces`},
		{`{"user_subscribe_to_personal": true, "user_personal_single_connection": true}`,
			"single_connection: needs presence enabled in channel.without_namespace"},
		{`{"user_subscribe_to_personal": true, "user_personal_channel_namespace": "pp",
		   "user_personal_single_connection": true, "namespaces": [{"name": "pp"}]}`,
			"needs presence enabled in namespace pp"},
		{`{"namespaces": [{"name": "ab"}, {"name": "ab"}]}`, `namespace name "ab" is not unique`},
		{`{"namespaces": [{"name": "a"}]}`, `invalid namespace name "a"`},
		{`{"namespaces": [{"name": "ab", "history_size": 10}]}`,
			"both history size and history ttl required for history"},
		{`{"channel": {"without_namespace": {"force_recovery": true}}}`,
			"both history size and history ttl required for recovery"},
		{`{"history_size": 1, "history_ttl": "1.5s"}`, "whole seconds"},
		{`{"channel": {"without_namespace": {"channel_regex": "("}}}`, "invalid channel_regex"},
		{`{"proxies": [{"name": "default", "endpoint": "http://x"}]}`,
			`proxies[0].name: "default" is reserved`},
		{`{"proxies": [{"name": "p", "endpoint": "http://x"}]}`, `invalid proxy name "p"`},
		{`{"proxies": [{"name": "pp", "endpoint": "http://x"}, {"name": "pp",
		   "endpoint": "http://y"}]}`, `duplicate proxy name "pp"`},
		{`{"proxies": [{"name": "pp"}]}`, "proxies[0].endpoint: required"},
		{`{"client": {"proxy": {"connect": {"enabled": true}}}}`,
			"client.proxy.connect.endpoint: required"},
		{`{"client": {"proxy": {"connect": {"enabled": true, "endpoint": "http://x",
		   "timeout": "0s"}}}}`, "client.proxy.connect.timeout: must be positive"},
		{`{"channel": {"without_namespace": {"subscribe_proxy_enabled": true}}}`,
			"channel.proxy.subscribe.endpoint: required"},
		{`{"channel": {"namespaces": [{"name": "ns", "publish_proxy_enabled": true,
		   "publish_proxy_name": "nope"}]}}`,
			`channel.namespaces[ns].publish_proxy_name: proxy "nope" is not in proxies`},
		{`{"rpc": {"without_namespace": {"proxy_enabled": true}}}`,
			"rpc.proxy.endpoint: required"},
		{`{"rpc": {"namespaces": [{"name": "r"}]}}`, `invalid rpc namespace name "r"`},
		{`{"rpc": {"namespaces": [{"name": "rr", "proxy_name": "x"}]}}`,
			`rpc.namespaces[0].proxy_name: proxy "x" is not in proxies`},
	}
	for _, tt := range tests {
		t.Run(tt.content, func(t *testing.T) {
			err := loadErr(t, tt.content)
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || !strings.HasPrefix(msg, "config: ") {
				t.Fatalf("error %q, want %q", err, tt.want)
			}
		})
	}
}

func TestValidConfigs(t *testing.T) {
	for _, content := range []string{
		`{"user_subscribe_to_personal": true, "user_personal_channel_namespace": "pp",
		  "user_personal_single_connection": true,
		  "namespaces": [{"name": "pp", "presence": true}]}`,
		`{"proxies": [{"name": "sub1", "endpoint": "http://x"}],
		  "channel": {"without_namespace": {"subscribe_proxy_enabled": true,
		   "subscribe_proxy_name": "sub1"}}}`,
		`{"channel": {"proxy": {"publish": {"endpoint": "http://x"}},
		  "namespaces": [{"name": "ns", "publish_proxy_enabled": true}]}}`,
		`{"client": {"ping_interval": "10s", "pong_timeout": "0s"}}`,
		`{"redis_prefix": "app.v2-x_y:z", "redis_sharded_pub_sub_partitions": 0}`,
		`{"broker": {"enabled": true, "type": "redis",
		  "redis": {"prefix": "b", "sharded_pub_sub_partitions": 32}},
		  "presence_manager": {"enabled": true, "type": "redis",
		  "redis": {"prefix": "p", "sharded_pub_sub_partitions": 1}}}`,
	} {
		if _, _, err := Load(Source{File: writeFile(t, "c.json", content)}); err != nil {
			t.Errorf("%s: %v", content, err)
		}
	}
}

func TestValidateAfterChange(t *testing.T) {
	c := Default()
	c.Client.SubscribeToUserPersonalChannel.Enabled = true
	c.Client.SubscribeToUserPersonalChannel.PersonalChannelNamespace = "x"
	if err := c.Validate(); err == nil {
		t.Fatal("missing personal namespace accepted")
	}
}
