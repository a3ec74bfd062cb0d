package config

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
	"gopkg.in/yaml.v3"
)

const seedJSON = `{"token_hmac_secret_key":"secret","admin":true,"admin_password":"password",
"admin_secret":"my_admin_secret","api_key":"my_api_key",
"allowed_origins":["http://localhost:9000"],"user_subscribe_to_personal":true,
"proxy_connect_endpoint":"http://localhost:3000/centrifugo/connect",
"proxy_http_headers":["Cookie"]}`

const seedYAML = `
token_hmac_secret_key: secret
admin: true
admin_password: password
admin_secret: my_admin_secret
api_key: my_api_key
allowed_origins:
  - http://localhost:9000
user_subscribe_to_personal: true
proxy_connect_endpoint: http://localhost:3000/centrifugo/connect
proxy_http_headers:
  - Cookie
`

const seedTOML = `
token_hmac_secret_key = "secret"
admin = true
admin_password = "password"
admin_secret = "my_admin_secret"
api_key = "my_api_key"
allowed_origins = ["http://localhost:9000"]
user_subscribe_to_personal = true
proxy_connect_endpoint = "http://localhost:3000/centrifugo/connect"
proxy_http_headers = ["Cookie"]
`

// seedNested is the seed file written with nested (v6) keys.
const seedNested = `{
 "client": {
  "token": {"hmac_secret_key": "secret"},
  "allowed_origins": ["http://localhost:9000"],
  "subscribe_to_user_personal_channel": {"enabled": true},
  "proxy": {"connect": {"enabled": true,
   "endpoint": "http://localhost:3000/centrifugo/connect", "http_headers": ["Cookie"]}}
 },
 "admin": {"enabled": true, "password": "password", "secret": "my_admin_secret"},
 "http_api": {"key": "my_api_key"}
}`

func TestSeedFile(t *testing.T) {
	for _, tt := range []struct{ name, content string }{
		{"config.json", seedJSON}, {"config.yaml", seedYAML}, {"config.yml", seedYAML},
		{"config.toml", seedTOML}, {"nested.json", seedNested},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, warnings := mustLoad(t, Source{File: writeFile(t, tt.name, tt.content)})
			if len(warnings) != 0 {
				t.Fatalf("warnings: %q", warnings)
			}
			checkSeed(t, c)
		})
	}
}

func checkSeed(t *testing.T, c *Config) {
	t.Helper()
	checks := []struct {
		name      string
		got, want any
	}{
		{"hmac", c.Client.Token.HMACSecretKey, "secret"},
		{"admin", c.Admin.Enabled, true},
		{"admin password", c.Admin.Password, "password"},
		{"admin secret", c.Admin.Secret, "my_admin_secret"},
		{"api key", c.HTTPAPI.Key, "my_api_key"},
		{"origins", c.Client.AllowedOrigins, []string{"http://localhost:9000"}},
		{"personal", c.Client.SubscribeToUserPersonalChannel.Enabled, true},
		{"connect enabled", c.Proxy.Connect.Enabled, true},
		{"connect endpoint", c.Proxy.Connect.Endpoint,
			"http://localhost:3000/centrifugo/connect"},
		{"connect timeout", c.Proxy.Connect.Timeout, time.Second},
		{"connect headers", c.Proxy.Connect.HTTPHeaders, []string{"Cookie"}},
		{"refresh", c.Proxy.Refresh.Enabled, false},
		{"port", c.HTTPServer.Port, 8000},
		{"engine", c.Engine.Type, "memory"},
		// No v3-only key: v4+ semantics, closed by default.
		{"closed", c.Channel.WithoutNamespace.AllowSubscribeForClient, false},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}
}

func TestSeedDialectsEqual(t *testing.T) {
	flat, _ := loadJSON(t, seedJSON)
	nested, _ := loadJSON(t, seedNested)
	assertSame(t, nested, flat)
}

func TestDefaults(t *testing.T) {
	c, warnings := mustLoad(t, Source{})
	if len(warnings) != 0 {
		t.Fatalf("warnings: %q", warnings)
	}
	if c.HTTPServer.Port != 8000 || c.HTTPServer.Address != "" ||
		c.Engine.Type != "memory" || c.Log.Level != "info" {
		t.Fatalf("bad defaults: %+v %+v %+v", c.HTTPServer, c.Engine.Type, c.Log)
	}
	if c.HTTPServer.ExternalAddr() != ":8000" || c.HTTPServer.SeparateInternal() {
		t.Errorf("listen address %q", c.HTTPServer.ExternalAddr())
	}
	cl := c.Client
	if cl.PingInterval != 25*time.Second || cl.PongTimeout != 8*time.Second ||
		cl.ChannelLimit != 128 || cl.QueueMaxSize != 1<<20 {
		t.Errorf("client defaults: %+v", cl)
	}
	if c.Shutdown.Timeout != 30*time.Second || c.Node.Name == "" {
		t.Errorf("shutdown %v, node %q", c.Shutdown.Timeout, c.Node.Name)
	}
	d := Default()
	d.Node.Name = c.Node.Name
	assertSame(t, d, c)
	if err := Default().Validate(); err != nil {
		t.Errorf("Default() is invalid: %v", err)
	}
}

func TestMissingFileWarns(t *testing.T) {
	c, warnings := mustLoad(t, Source{File: "/nonexistent/config.json"})
	if len(warnings) != 1 || !strings.Contains(warnings[0], "not found") {
		t.Fatalf("warnings: %q", warnings)
	}
	if c.HTTPServer.Port != 8000 {
		t.Error("defaults not applied")
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct{ name, content, want string }{
		{"config.json", `{"port": `, "parse"},
		{"config.yaml", "a: [", "parse"},
		{"config.toml", "a = ", "parse"},
		{"config.ini", "a=1", "unknown format"},
		{"config.json", `[1, 2]`, "top level must be an object"},
	} {
		_, _, err := Load(Source{File: writeFile(t, tt.name, tt.content)})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %q: error %v, want %q", tt.name, tt.content, err, tt.want)
		}
	}
}

// v3File and v6File describe the same server, in the two dialects.
const v3File = `{
 "token_hmac_secret_key": "secret", "token_audience": "aud",
 "admin": true, "admin_password": "password", "admin_secret": "s2",
 "api_key": "key", "api_insecure": false, "allowed_origins": ["http://localhost:9000"],
 "port": "9000", "address": "127.0.0.1", "internal_port": 9001,
 "engine": "redis", "redis_address": "redis://10.0.0.1:6379", "redis_prefix": "app",
 "presence_ttl": 30, "redis_read_timeout": "5s", "redis_write_timeout": "1s",
 "broker": "nats", "nats_url": "nats://n:4222",
 "log_level": "DEBUG", "name": "node1",
 "client_anonymous": true, "client_channel_limit": 64, "client_user_connection_limit": 5,
 "websocket_ping_interval": "20s", "websocket_message_size_limit": 1024,
 "user_subscribe_to_personal": true, "user_personal_channel_namespace": "personal",
 "user_personal_single_connection": true,
 "presence": true, "history_size": 10, "history_ttl": 300,
 "namespaces": [
  {"name": "personal", "presence": true, "join_leave": true},
  {"name": "chat", "publish": true, "subscribe_to_publish": true, "anonymous": true,
   "history_size": 50, "history_ttl": "600s", "recover": true, "position": true},
  {"name": "secret", "protected": true, "presence": true,
   "presence_disable_for_client": true, "proxy_subscribe": true}
 ],
 "rpc_namespace_boundary": "/",
 "proxy_connect_endpoint": "http://app/connect", "proxy_connect_timeout": "2s",
 "proxy_subscribe_endpoint": "http://app/sub", "proxy_http_headers": ["Cookie"],
 "shutdown_timeout": "10s", "shutdown_termination_delay": "1s",
 "prometheus": true, "health": true, "health_handler_prefix": "/healthz",
 "tls": true, "tls_cert": "/c.pem", "tls_key": "/k.pem", "tls_external": true,
 "sse": true, "uni_websocket": true, "usage_stats_disable": true
}`

const v6File = `{
 "client": {
  "token": {"hmac_secret_key": "secret", "audience": "aud"},
  "allowed_origins": ["http://localhost:9000"],
  "allow_anonymous_connect_without_token": true,
  "channel_limit": 64, "user_connection_limit": 5, "ping_interval": "20s",
  "subscribe_to_user_personal_channel": {"enabled": true,
   "personal_channel_namespace": "personal", "single_connection": true},
  "proxy": {"connect": {"enabled": true, "endpoint": "http://app/connect",
   "timeout": "2s", "http_headers": ["Cookie"]}}
 },
 "admin": {"enabled": true, "password": "password", "secret": "s2"},
 "http_api": {"key": "key"},
 "http_server": {"port": 9000, "address": "127.0.0.1", "internal_port": "9001",
  "tls": {"enabled": true, "cert_pem": "/c.pem", "key_pem": "/k.pem"},
  "tls_external": true},
 "engine": {"type": "redis", "redis": {"address": ["redis://10.0.0.1:6379"],
  "prefix": "app", "presence_ttl": "30s", "io_timeout": "5s"}},
 "broker": {"enabled": true, "type": "nats", "nats": {"url": "nats://n:4222"}},
 "log": {"level": "debug"}, "node": {"name": "node1"},
 "websocket": {"message_size_limit": 1024},
 "channel": {
  "history_meta_ttl": "0s",
  "proxy": {"subscribe": {"endpoint": "http://app/sub", "http_headers": ["Cookie"]}},
  "without_namespace": {"presence": true, "history_size": 10, "history_ttl": "300s",
   "allow_user_limited_channels": true, "allow_subscribe_for_client": true,
   "allow_presence_for_subscriber": true, "allow_presence_for_anonymous": true,
   "allow_history_for_subscriber": true, "allow_history_for_anonymous": true},
  "namespaces": [
   {"name": "personal", "presence": true, "join_leave": true,
    "force_push_join_leave": true, "allow_user_limited_channels": true,
    "allow_subscribe_for_client": true, "allow_presence_for_subscriber": true,
    "allow_presence_for_anonymous": true},
   {"name": "chat", "history_size": 50, "history_ttl": "600s", "force_recovery": true,
    "force_positioning": true, "allow_user_limited_channels": true,
    "allow_subscribe_for_client": true, "allow_subscribe_for_anonymous": true,
    "allow_publish_for_subscriber": true, "allow_publish_for_anonymous": true,
    "allow_history_for_subscriber": true, "allow_history_for_anonymous": true},
   {"name": "secret", "presence": true, "subscribe_proxy_enabled": true,
    "allow_user_limited_channels": true}
  ]
 },
 "rpc": {"namespace_boundary": "/"},
 "shutdown": {"timeout": "10s", "termination_delay": "1s"},
 "prometheus": {"enabled": true},
 "health": {"enabled": true, "handler_prefix": "/healthz"},
 "sse": {"enabled": true}, "uni_websocket": {"enabled": true},
 "usage_stats": {"disabled": true}
}`

func TestDialectsEqual(t *testing.T) {
	v3, w3 := loadJSON(t, v3File)
	v6, w6 := loadJSON(t, v6File)
	if len(w3) != 0 || len(w6) != 0 {
		t.Fatalf("warnings: %q %q", w3, w6)
	}
	assertSame(t, v6, v3)
	if v3.Channel.HistoryMetaTTL != 0 || v3.Engine.Redis.PresenceTTL != 30*time.Second {
		t.Errorf("seconds keys: %v %v", v3.Channel.HistoryMetaTTL, v3.Engine.Redis.PresenceTTL)
	}
}

// TestFormatsEqual loads the same nested and flat content as JSON, YAML
// and TOML.
func TestFormatsEqual(t *testing.T) {
	for _, content := range []string{v3File, v6File} {
		var tree map[string]any
		if err := json.Unmarshal([]byte(content), &tree); err != nil {
			t.Fatal(err)
		}
		want, _ := loadJSON(t, content)
		y, err := yaml.Marshal(tree)
		if err != nil {
			t.Fatal(err)
		}
		tm, err := toml.Marshal(tree)
		if err != nil {
			t.Fatal(err)
		}
		for name, data := range map[string][]byte{"c.yaml": y, "c.yml": y, "c.toml": tm} {
			got, warnings := mustLoad(t, Source{File: writeFile(t, name, string(data))})
			if len(warnings) != 0 {
				t.Fatalf("%s: warnings %q", name, warnings)
			}
			assertSame(t, want, got)
		}
	}
}

func TestHandWrittenTOMLAndYAML(t *testing.T) {
	const tomlFile = `
[http_server]
port = "9000"

[channel]
[channel.without_namespace]
presence = true

[[channel.namespaces]]
name = "chat"
history_size = 10
history_ttl = "300s"
force_recovery = true

[[channel.namespaces]]
name = "news"
allow_subscribe_for_client = true
`
	const yamlFile = `
http_server:
  port: 9000
channel:
  without_namespace:
    presence: yes_this_is_a_string_not_a_bool
`
	c, _ := mustLoad(t, Source{File: writeFile(t, "c.toml", tomlFile)})
	ns := c.Channel.Namespaces
	if c.HTTPServer.Port != 9000 || len(ns) != 2 || ns[0].HistoryTTL != 300*time.Second ||
		!ns[0].ForceRecovery || !ns[1].AllowSubscribeForClient ||
		!c.Channel.WithoutNamespace.Presence {
		t.Fatalf("toml: %+v %+v", c.HTTPServer, ns)
	}
	_, _, err := Load(Source{File: writeFile(t, "c.yaml", yamlFile)})
	want := `config: channel.without_namespace.presence: expected true or false, got ` +
		`"yes_this_is_a_string_not_a_bool"`
	if err == nil || err.Error() != want {
		t.Fatalf("yaml error %v, want %s", err, want)
	}
}

func TestCollisionKeys(t *testing.T) {
	tests := []struct {
		content string
		check   func(c *Config) bool
	}{
		{`{"admin": true}`, func(c *Config) bool { return c.Admin.Enabled }},
		{`{"admin": {"enabled": true, "password": "p", "secret": "s"}}`,
			func(c *Config) bool { return c.Admin.Enabled && c.Admin.Password == "p" }},
		{`{"admin": {"enabled": true, "secret": "s"}, "admin_password": "flat"}`,
			func(c *Config) bool { return c.Admin.Enabled && c.Admin.Password == "flat" }},
		{`{"prometheus": true}`, func(c *Config) bool { return c.Prometheus.Enabled }},
		{`{"prometheus": {"enabled": true, "handler_prefix": "/m"}}`,
			func(c *Config) bool {
				return c.Prometheus.Enabled && c.Prometheus.HandlerPrefix == "/m"
			}},
		{`{"health": true}`, func(c *Config) bool { return c.Health.Enabled }},
		{`{"debug": true}`, func(c *Config) bool { return c.Debug.Enabled }},
		{`{"debug": {"enabled": true}}`, func(c *Config) bool { return c.Debug.Enabled }},
		{`{"engine": "redis"}`, func(c *Config) bool { return c.Engine.Type == "redis" }},
		{`{"engine": {"type": "redis", "redis": {"address": "redis://x:1"}}}`,
			func(c *Config) bool {
				return c.Engine.Type == "redis" &&
					reflect.DeepEqual(c.Engine.Redis.Address, []string{"redis://x:1"})
			}},
		{`{"broker": "nats"}`,
			func(c *Config) bool { return c.Broker.Enabled && c.Broker.Type == "nats" }},
		{`{"broker": ""}`, func(c *Config) bool { return !c.Broker.Enabled }},
		{`{"broker": {"enabled": true, "type": "nats"}}`,
			func(c *Config) bool { return c.Broker.Enabled && c.Broker.Type == "nats" }},
		{`{"sse": true, "http_stream": {"enabled": true}}`,
			func(c *Config) bool { return c.SSE.Enabled && c.HTTPStream.Enabled }},
		{`{"uni_sse": true, "uni_http_stream": true, "uni_websocket": {"enabled": true}}`,
			func(c *Config) bool {
				return c.UniSSE.Enabled && c.UniHTTPStream.Enabled && c.UniWebSocket.Enabled
			}},
		// The nested key wins over the flat key it replaces.
		{`{"api_key": "flat", "http_api": {"key": "nested"}}`,
			func(c *Config) bool { return c.HTTPAPI.Key == "nested" }},
		{`{"http_api": {"key": "nested"}, "api_key": "flat"}`,
			func(c *Config) bool { return c.HTTPAPI.Key == "nested" }},
	}
	for _, tt := range tests {
		t.Run(tt.content, func(t *testing.T) {
			c, warnings := loadJSON(t, tt.content)
			if len(warnings) != 0 && !strings.Contains(warnings[0], "admin is enabled") {
				t.Fatalf("warnings: %q", warnings)
			}
			if !tt.check(c) {
				t.Fatalf("wrong result: %s", dump(c))
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	_, warnings := loadJSON(t, `{
	  "foo": 1, "client": {"bar": 2, "ping_interval": "30s"},
	  "namespaces": [{"name": "ab", "baz": true}],
	  "channel": {"without_namespace": {"subscription_type": "map"}},
	  "sockjs": true, "sockjs_url": "x", "tarantool_address": "x",
	  "grpc_api": {"enabled": true}, "graphite": true, "tls_autocert": true,
	  "http_server": {"http3": {"enabled": true}}
	}`)
	want := []string{
		"config: ignoring keys of features Herald does not implement: " +
			"channel.without_namespace.subscription_type, graphite, grpc_api, " +
			"http_server.http3, sockjs, sockjs_url, tarantool_address, tls_autocert",
		"config: ignoring unknown keys: client.bar, foo, namespaces[0].baz",
	}
	if !reflect.DeepEqual(warnings, want) {
		t.Fatalf("warnings:\n%q\nwant\n%q", warnings, want)
	}
}

func TestInvalidValues(t *testing.T) {
	tests := []struct{ content, want string }{
		{`{"client": {"ping_interval": 12}}`,
			`config: client.ping_interval: expected a duration like "25s", got 12`},
		{`{"client": {"ping_interval": "soon"}}`,
			`config: client.ping_interval: expected a duration like "25s", got "soon"`},
		{`{"client_expired_close_delay": 25}`,
			`config: client_expired_close_delay: expected a duration like "25s", got 25`},
		{`{"channel": {"without_namespace": {"history_ttl": 300}}}`,
			`config: channel.without_namespace.history_ttl: expected a duration ` +
				`like "25s", got 300`},
		{`{"client_channel_limit": "abc"}`,
			`config: client_channel_limit: expected an integer, got "abc"`},
		{`{"client_channel_limit": 1.5}`,
			`config: client_channel_limit: expected an integer, got 1.5`},
		{`{"port": true}`, `config: port: expected an integer, got true`},
		{`{"http_server": {"port": "eighty"}}`,
			`config: http_server.port: expected an integer, got "eighty"`},
		{`{"admin": "yes"}`, `config: admin: expected true or false, or an object ` +
			`of the nested format, got "yes"`},
		{`{"engine": 5}`, `config: engine: expected a name, or an object of the nested ` +
			`format, got 5`},
		{`{"api_insecure": "maybe"}`, `config: api_insecure: expected true or false, got "maybe"`},
		{`{"allowed_origins": {"a": 1}}`,
			`config: allowed_origins: expected a list, got an object`},
		{`{"client": {"allowed_origins": [1.5]}}`,
			`config: client.allowed_origins[0]: expected a string, got 1.5`},
		{`{"namespaces": [{"name": "ab", "history_ttl": "abc"}]}`,
			`config: namespaces[0].history_ttl: expected a duration like "25s", got "abc"`},
		{`{"channel": {"namespaces": [{"name": "ab", "presence": "maybe"}]}}`,
			`config: channel.namespaces[0].presence: expected true or false, got "maybe"`},
		{`{"publish": "yes"}`, `config: publish: expected true or false, got "yes"`},
		{`{"client": []}`, `config: client: expected an object, got a list`},
		{`{"proxy_http_headers": "Cookie", "proxy_binary_encoding": "x"}`,
			`config: proxy_binary_encoding: expected true or false, got "x"`},
		{`{"proxies": [{"name": "ab", "timeout": 5}]}`,
			`config: proxies[0].timeout: expected a duration like "25s", got 5`},
	}
	for _, tt := range tests {
		t.Run(tt.content, func(t *testing.T) {
			if err := loadErr(t, tt.content); err.Error() != tt.want {
				t.Fatalf("error\n%s\nwant\n%s", err, tt.want)
			}
		})
	}
}

func TestLenientValues(t *testing.T) {
	c, _ := loadJSON(t, `{"port": "9000", "internal_port": 9001,
	  "allowed_origins": "https://a https://b", "admin_password": 123456,
	  "api_insecure": "true", "client_channel_limit": "64",
	  "history_size": 5, "history_ttl": 60, "global_history_meta_ttl": 3600,
	  "client": {"expired_close_delay": 0}}`)
	if c.HTTPServer.Port != 9000 || c.HTTPServer.InternalPort != 9001 ||
		!reflect.DeepEqual(c.Client.AllowedOrigins, []string{"https://a", "https://b"}) ||
		c.Admin.Password != "123456" || !c.HTTPAPI.Insecure || c.Client.ChannelLimit != 64 ||
		c.Channel.WithoutNamespace.HistoryTTL != time.Minute ||
		c.Channel.HistoryMetaTTL != time.Hour || c.Client.ExpiredCloseDelay != 0 {
		t.Fatalf("lenient values: %s", dump(c))
	}
	if !c.HTTPServer.SeparateInternal() || c.HTTPServer.InternalAddr() != ":9001" {
		t.Errorf("internal address %q", c.HTTPServer.InternalAddr())
	}
}

func TestKeysCaseInsensitive(t *testing.T) {
	c, warnings := loadJSON(t, `{"API_KEY": "k", "Client": {"Insecure": true}}`)
	if len(warnings) != 0 || c.HTTPAPI.Key != "k" || !c.Client.Insecure {
		t.Fatalf("got %q %+v", warnings, c.HTTPAPI)
	}
}

func TestLogLevel(t *testing.T) {
	c, warnings := loadJSON(t, `{"log_level": "verbose"}`)
	if c.Log.Level != "info" || len(warnings) != 1 {
		t.Fatalf("level %q, warnings %q", c.Log.Level, warnings)
	}
	c, _ = loadJSON(t, `{"log": {"level": "WARN", "format": "JSON"}}`)
	if c.Log.Level != "warn" || c.Log.Format != "json" {
		t.Fatalf("log %+v", c.Log)
	}
}

func TestFlatLegacyAliases(t *testing.T) {
	c, _ := loadJSON(t, `{"websocket_ping_interval": "6s", "client_anonymous": true,
	  "allow_anonymous_connect_without_token": false,
	  "redis_read_timeout": "2s", "redis_write_timeout": "3s",
	  "presence_ttl": "10s", "global_presence_ttl": "20s",
	  "tls_cert": "/old.pem", "tls_cert_pem": "PEM"}`)
	cl := c.Client
	if cl.PingInterval != 6*time.Second || cl.PongTimeout != 3*time.Second {
		t.Errorf("ping %v pong %v", cl.PingInterval, cl.PongTimeout)
	}
	if cl.AllowAnonymousConnectWithoutToken {
		t.Error("newer key should win")
	}
	r := c.Engine.Redis
	if r.IOTimeout != 3*time.Second || r.PresenceTTL != 20*time.Second {
		t.Errorf("redis %v %v", r.IOTimeout, r.PresenceTTL)
	}
	if c.HTTPServer.TLS.CertPEM != "PEM" {
		t.Errorf("tls %q", c.HTTPServer.TLS.CertPEM)
	}
}

func TestV5HistoryMetaTTL(t *testing.T) {
	// v5: history_meta_ttl is an option when global_history_meta_ttl exists.
	c, _ := loadJSON(t, `{"global_history_meta_ttl": "100h", "history_meta_ttl": "50h"}`)
	if c.Channel.HistoryMetaTTL != 100*time.Hour ||
		c.Channel.WithoutNamespace.HistoryMetaTTL != 50*time.Hour {
		t.Fatalf("%v %v", c.Channel.HistoryMetaTTL, c.Channel.WithoutNamespace.HistoryMetaTTL)
	}
	c, _ = loadJSON(t, `{"history_meta_ttl": 7200}`)
	if c.Channel.HistoryMetaTTL != 2*time.Hour {
		t.Fatalf("v3/v4 global meta ttl %v", c.Channel.HistoryMetaTTL)
	}
}

func TestGranularProxyMode(t *testing.T) {
	c, warnings := loadJSON(t, `{
	 "granular_proxy_mode": true,
	 "proxy_connect_endpoint": "http://ignored", "proxy_http_headers": ["Ignored"],
	 "proxies": [
	  {"name": "connect1", "endpoint": "http://a", "timeout": "2s",
	   "http_headers": ["Cookie"], "grpc_cert_file": "/ca.pem",
	   "static_http_headers": {"X-A": "1"}},
	  {"name": "sub1", "endpoint": "http://b"}
	 ],
	 "connect_proxy_name": "connect1", "rpc_proxy_name": "sub1",
	 "rpc_namespaces": [{"name": "rpcns", "rpc_proxy_name": "sub1"}],
	 "namespaces": [{"name": "ns", "proxy_subscribe": true, "subscribe_proxy_name": "sub1"}]
	}`)
	if len(warnings) != 0 {
		t.Fatalf("warnings %q", warnings)
	}
	p := c.Proxy
	if !p.Connect.Enabled || p.Connect.Endpoint != "http://a" ||
		p.Connect.Timeout != 2*time.Second ||
		!reflect.DeepEqual(p.Connect.HTTPHeaders, []string{"Cookie"}) {
		t.Errorf("connect %+v", p.Connect)
	}
	if p.Named[1].Timeout != time.Second || p.Named[0].GRPC.TLS.ServerCAPEM != "/ca.pem" ||
		p.Named[0].HTTP.StaticHeaders["x-a"] != "1" {
		t.Errorf("named %+v", p.Named)
	}
	ns := c.Channel.Namespaces[0]
	if !ns.SubscribeProxyEnabled || ns.SubscribeProxyName != "sub1" {
		t.Errorf("namespace %+v", ns.Options)
	}
	r := c.RPC
	if !r.WithoutNamespace.ProxyEnabled || r.WithoutNamespace.ProxyName != "sub1" ||
		!r.Namespaces[0].ProxyEnabled || r.Namespaces[0].ProxyName != "sub1" {
		t.Errorf("rpc %+v", r)
	}
	if sub, ok := p.Lookup(KindSubscribe, "sub1"); !ok || sub.Endpoint != "http://b" {
		t.Errorf("lookup %+v", sub)
	}

	err := loadErr(t, `{"granular_proxy_mode": true, "connect_proxy_name": "nope"}`)
	if !strings.Contains(err.Error(), `connect_proxy_name: proxy "nope" is not in proxies`) {
		t.Errorf("error %v", err)
	}
}

func TestFlatProxies(t *testing.T) {
	c, _ := loadJSON(t, `{
	 "proxy_rpc_endpoint": "http://r", "proxy_rpc_timeout": "3s",
	 "proxy_publish_endpoint": "http://p", "proxy_sub_refresh_endpoint": "http://s",
	 "proxy_binary_encoding": true, "proxy_include_connection_meta": true,
	 "proxy_grpc_metadata": ["m"], "proxy_static_http_headers": {"X-Static": "v"},
	 "namespaces": [{"name": "ns", "proxy_publish": true, "proxy_sub_refresh": true,
	   "publish_proxy_name": "dropped"}]
	}`)
	p := c.Proxy
	if p.RPC.Endpoint != "http://r" || p.RPC.Timeout != 3*time.Second ||
		!c.RPC.WithoutNamespace.ProxyEnabled {
		t.Errorf("rpc %+v", p.RPC)
	}
	for _, x := range []Proxy{p.RPC, p.Publish, p.SubRefresh} {
		if !x.BinaryEncoding || !x.IncludeConnectionMeta || x.GRPCMetadata[0] != "m" ||
			x.HTTP.StaticHeaders["x-static"] != "v" {
			t.Errorf("common settings missing: %+v", x)
		}
	}
	if p.Subscribe.BinaryEncoding || p.Connect.Enabled {
		t.Error("proxies without endpoint got settings")
	}
	ns := c.Channel.Namespaces[0]
	if !ns.PublishProxyEnabled || !ns.SubRefreshProxyEnabled || ns.PublishProxyName != "default" {
		t.Errorf("namespace %+v", ns.Options)
	}
}

func TestNullMeansUnset(t *testing.T) {
	const yamlFile = `
admin:
port:
publish:
namespaces:
  - name: ns
    anonymous:
    presence: true
client:
  ping_interval:
`
	c, _ := mustLoad(t, Source{File: writeFile(t, "c.yaml", yamlFile)})
	if c.Admin.Enabled || c.HTTPServer.Port != 8000 || c.Client.PingInterval != 25*time.Second ||
		!c.Channel.Namespaces[0].Presence {
		t.Fatalf("nulls changed values: %s", dump(c))
	}
}
