package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEnv(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		env   []string
		check func(c *Config) bool
	}{
		{"flat name", "", []string{"CENTRIFUGO_API_KEY=k"},
			func(c *Config) bool { return c.HTTPAPI.Key == "k" }},
		{"nested name", "", []string{"CENTRIFUGO_HTTP_API_KEY=k"},
			func(c *Config) bool { return c.HTTPAPI.Key == "k" }},
		{"herald prefix", "", []string{"HERALD_CLIENT_TOKEN_HMAC_SECRET_KEY=s"},
			func(c *Config) bool { return c.Client.Token.HMACSecretKey == "s" }},
		{"herald wins", "", []string{"HERALD_API_KEY=h", "CENTRIFUGO_API_KEY=c"},
			func(c *Config) bool { return c.HTTPAPI.Key == "h" }},
		{"env over file", `{"api_key": "file", "http_api": {"insecure": true}}`,
			[]string{"CENTRIFUGO_API_KEY=env"},
			func(c *Config) bool { return c.HTTPAPI.Key == "env" && c.HTTPAPI.Insecure }},
		{"flat env over nested file", `{"http_api": {"key": "file"}}`,
			[]string{"CENTRIFUGO_API_KEY=env"},
			func(c *Config) bool { return c.HTTPAPI.Key == "env" }},
		{"nested env over flat env", "",
			[]string{"CENTRIFUGO_API_KEY=flat", "CENTRIFUGO_HTTP_API_KEY=nested"},
			func(c *Config) bool { return c.HTTPAPI.Key == "nested" }},
		{"empty is unset", `{"api_key": "file"}`, []string{"CENTRIFUGO_API_KEY="},
			func(c *Config) bool { return c.HTTPAPI.Key == "file" }},
		{"bool", "", []string{"CENTRIFUGO_ADMIN=1", "CENTRIFUGO_ADMIN_INSECURE=true",
			"CENTRIFUGO_PROMETHEUS_ENABLED=t"},
			func(c *Config) bool {
				return c.Admin.Enabled && c.Admin.Insecure && c.Prometheus.Enabled
			}},
		{"lists", "", []string{"CENTRIFUGO_ALLOWED_ORIGINS=https://a https://b",
			"CENTRIFUGO_ENGINE=redis",
			"CENTRIFUGO_ENGINE_REDIS_ADDRESS=redis://a:1 redis://b:2"},
			func(c *Config) bool {
				origins := []string{"https://a", "https://b"}
				redis := []string{"redis://a:1", "redis://b:2"}
				return reflect.DeepEqual(c.Client.AllowedOrigins, origins) &&
					reflect.DeepEqual(c.Engine.Redis.Address, redis)
			}},
		{"durations and ints", "", []string{"CENTRIFUGO_CLIENT_PING_INTERVAL=30s",
			"CENTRIFUGO_PORT=9000", "CENTRIFUGO_HISTORY_META_TTL=60"},
			func(c *Config) bool {
				return c.Client.PingInterval == 30*time.Second && c.HTTPServer.Port == 9000 &&
					c.Channel.HistoryMetaTTL == time.Minute
			}},
		{"flat namespaces", "", []string{`CENTRIFUGO_NAMESPACES=[{"name":"ns1","presence":true}]`},
			func(c *Config) bool {
				ns := c.Channel.Namespaces
				return len(ns) == 1 && ns[0].Name == "ns1" && ns[0].Presence &&
					!ns[0].AllowSubscribeForClient
			}},
		{"v3 namespaces from env", "",
			[]string{`CENTRIFUGO_NAMESPACES=[{"name":"ns1","publish":true}]`},
			func(c *Config) bool {
				o := c.Channel.Namespaces[0]
				return o.AllowSubscribeForClient && o.AllowPublishForClient
			}},
		{"nested namespaces", `{"channel": {"namespaces": [{"name": "old"}]}}`,
			[]string{`CENTRIFUGO_CHANNEL_NAMESPACES=[{"name":"ns-1","join_leave":true}]`,
				"CENTRIFUGO_CHANNEL_NAMESPACES_NS_1_PRESENCE=true",
				"CENTRIFUGO_CHANNEL_NAMESPACES_NS_1_HISTORY_META_TTL=1h"},
			func(c *Config) bool {
				ns := c.Channel.Namespaces
				return len(ns) == 1 && ns[0].Name == "ns-1" && ns[0].JoinLeave &&
					ns[0].Presence && ns[0].HistoryMetaTTL == time.Hour
			}},
		{"per item proxy", `{"proxies": [{"name": "p1", "endpoint": "http://a"}]}`,
			[]string{"CENTRIFUGO_PROXIES_P1_TIMEOUT=5s",
				"CENTRIFUGO_PROXIES_P1_HTTP_STATIC_HEADERS={\"X-A\":\"b\"}"},
			func(c *Config) bool {
				p := c.Proxy.Named[0]
				return p.Timeout == 5*time.Second && p.HTTP.StaticHeaders["x-a"] == "b"
			}},
		{"per item rpc namespace", `{"rpc": {"namespaces": [{"name": "r1"}]},
		  "proxies": [{"name": "p1", "endpoint": "http://a"}]}`,
			[]string{"CENTRIFUGO_RPC_NAMESPACES_R1_PROXY_NAME=p1",
				"CENTRIFUGO_RPC_NAMESPACES_R1_PROXY_ENABLED=true"},
			func(c *Config) bool {
				r := c.RPC.Namespaces[0]
				return r.ProxyEnabled && r.ProxyName == "p1"
			}},
		{"proxy settings from env", seedJSON,
			[]string{"CENTRIFUGO_PROXY_HTTP_HEADERS=Cookie Authorization",
				"CENTRIFUGO_CLIENT_PROXY_CONNECT_TIMEOUT=3s"},
			func(c *Config) bool {
				p := c.Proxy.Connect
				return reflect.DeepEqual(p.HTTPHeaders, []string{"Cookie", "Authorization"}) &&
					p.Timeout == 3*time.Second
			}},
		{"kubernetes service links", "", []string{"CENTRIFUGO_PORT=tcp://10.0.0.1:8000",
			"CENTRIFUGO_PORT_8000_TCP_PORT=8000", "CENTRIFUGO_SERVICE_HOST=10.0.0.1",
			"CENTRIFUGO_SERVICE_PORT=8000"},
			func(c *Config) bool { return c.HTTPServer.Port == 8000 }},
		{"other variables", "", []string{"PATH=/bin", "HOME=/root", "CENTRIFUGO_VAR_X=1"},
			func(c *Config) bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := Source{Env: tt.env}
			if tt.file != "" {
				src.File = writeFile(t, "config.json", tt.file)
			}
			c, warnings := mustLoad(t, src)
			if len(warnings) != 0 {
				t.Fatalf("warnings %q", warnings)
			}
			if !tt.check(c) {
				t.Fatalf("wrong result: %s", dump(c))
			}
		})
	}
}

func TestEnvErrorsAndWarnings(t *testing.T) {
	_, _, err := Load(Source{Env: []string{"CENTRIFUGO_CLIENT_PING_INTERVAL=abc"}})
	want := `config: env CENTRIFUGO_CLIENT_PING_INTERVAL: ` +
		`expected a duration like "25s", got "abc"`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	_, _, err = Load(Source{Env: []string{"HERALD_ADMIN=maybe"}})
	wantPrefix := "config: env HERALD_ADMIN: expected true or false"
	if err == nil || !strings.HasPrefix(err.Error(), wantPrefix) {
		t.Errorf("error %v", err)
	}
	_, _, err = Load(Source{Env: []string{
		`CENTRIFUGO_CHANNEL_NAMESPACES=[{"name":"ab","history_ttl":5}]`}})
	if err == nil || !strings.HasPrefix(err.Error(), "config: env CENTRIFUGO_CHANNEL_NAMESPACES: "+
		"channel.namespaces[0].history_ttl: expected a duration") {
		t.Errorf("error %v", err)
	}
	_, _, err = Load(Source{Env: []string{`CENTRIFUGO_NAMESPACES=[{`}})
	if err == nil || !strings.Contains(err.Error(), "env CENTRIFUGO_NAMESPACES") {
		t.Errorf("error %v", err)
	}

	_, warnings := mustLoad(t, Source{Env: []string{"CENTRIFUGO_FOO=1", "HERALD_BAR=2",
		"CENTRIFUGO_CHANNEL_NAMESPACES_NOPE_PRESENCE=true", "CENTRIFUGO_SOCKJS=1"}})
	wantW := []string{
		"config: ignoring keys of features Herald does not implement: env CENTRIFUGO_SOCKJS",
		"config: ignoring unknown keys: env CENTRIFUGO_CHANNEL_NAMESPACES_NOPE_PRESENCE, " +
			"env CENTRIFUGO_FOO, env HERALD_BAR",
	}
	if !reflect.DeepEqual(warnings, wantW) {
		t.Errorf("warnings\n%q\nwant\n%q", warnings, wantW)
	}
}

func TestNestedEnvIndexUnambiguous(t *testing.T) {
	idx := nestedEnvIndex()
	for _, p := range []string{"client.token.hmac_secret_key", "client.proxy.connect.endpoint",
		"channel.proxy.subscribe.http.static_headers", "rpc.proxy.timeout",
		"engine.redis.address", "channel.without_namespace.allow_subscribe_for_client",
		"http_server.tls.cert_pem", "broker.nats.url"} {
		key := strings.ReplaceAll(p, ".", "_")
		if idx[key] != p {
			t.Errorf("%s -> %q, want %q", key, idx[key], p)
		}
	}
	// No nested spelling may shadow a flat key with another meaning.
	for key, path := range idx {
		if e, ok := flatKeys[key]; ok && e.path != path {
			t.Errorf("env %s: flat %s vs nested %s", key, e.path, path)
		}
	}
}
