package config

import (
	"flag"
	"reflect"
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	file := writeFile(t, "config.json", `{"port": 8100, "log_level": "error",
	  "engine": "redis", "admin": false}`)
	env := []string{"CENTRIFUGO_PORT=8200", "CENTRIFUGO_LOG_LEVEL=warn"}
	tests := []struct {
		name  string
		args  []string
		check func(c *Config) bool
	}{
		{"unset flags change nothing", nil, func(c *Config) bool {
			return c.HTTPServer.Port == 8200 && c.Log.Level == "warn" && c.Engine.Type == "redis"
		}},
		{"short port", []string{"-p", "9000"},
			func(c *Config) bool { return c.HTTPServer.Port == 9000 }},
		{"long v3 names", []string{"--port=9001", "--address", "127.0.0.1", "--admin",
			"--log_level", "debug", "--engine", "memory", "--client_insecure",
			"--api_insecure", "--name", "n1"},
			func(c *Config) bool {
				return c.HTTPServer.Port == 9001 && c.HTTPServer.Address == "127.0.0.1" &&
					c.Admin.Enabled && c.Log.Level == "debug" && c.Engine.Type == "memory" &&
					c.Client.Insecure && c.HTTPAPI.Insecure && c.Node.Name == "n1"
			}},
		{"v6 names", []string{"--http_server.port", "9002", "--log.level=trace",
			"--admin.enabled", "--engine.type=memory", "--http_api.insecure",
			"--health.enabled", "--http_server.internal_port=9003"},
			func(c *Config) bool {
				return c.HTTPServer.Port == 9002 && c.Log.Level == "trace" && c.Admin.Enabled &&
					c.Engine.Type == "memory" && c.HTTPAPI.Insecure && c.Health.Enabled &&
					c.HTTPServer.InternalPort == 9003
			}},
		{"broker", []string{"--broker", "nats", "--nats_url", "nats://x:1"},
			func(c *Config) bool {
				b := c.Broker
				return b.Enabled && b.Type == "nats" && b.NATS.URL == "nats://x:1"
			}},
		{"bool false", []string{"--admin=false", "-e", "memory"},
			func(c *Config) bool { return !c.Admin.Enabled && c.Engine.Type == "memory" }},
		{"redis address", []string{"--redis_address", "redis://r:1"},
			func(c *Config) bool {
				return reflect.DeepEqual(c.Engine.Redis.Address, []string{"redis://r:1"})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := parsedFlags(t, tt.args...)
			c, _ := mustLoad(t, Source{File: file, Env: env, Flags: fs})
			if !tt.check(c) {
				t.Fatalf("wrong result: %s", dump(c))
			}
		})
	}
}

func TestFlagErrorsAndWarnings(t *testing.T) {
	_, _, err := Load(Source{Flags: parsedFlags(t, "-p", "http")})
	if err == nil || err.Error() != `config: flag -p: expected an integer, got "http"` {
		t.Errorf("error %v", err)
	}
	_, warnings := mustLoad(t, Source{Flags: parsedFlags(t, "--sockjs", "--grpc_api.enabled")})
	want := []string{"config: ignoring keys of features Herald does not implement: " +
		"flag --grpc_api.enabled, flag --sockjs"}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings %q", warnings)
	}
}

func TestRegisterFlags(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	// The command owns -c/--config; registering them too would panic.
	fs.String("c", "", "")
	fs.String("config", "", "")
	RegisterFlags(fs)
	for _, name := range []string{"p", "port", "http_server.port", "a", "address",
		"engine", "engine.type", "log_level", "log.level", "client_insecure",
		"client.insecure", "api_insecure", "http_api.insecure", "admin", "admin.enabled",
		"health", "prometheus", "internal_port", "http_server.internal_port"} {
		if fs.Lookup(name) == nil {
			t.Errorf("flag %s not registered", name)
		}
	}
	// Every flag maps to a key the loader knows.
	index := nestedEnvIndex()
	for _, d := range flagDefs {
		nested := strings.ReplaceAll(d.key, ".", "_")
		section, _, _ := strings.Cut(d.key, ".")
		if !isFlat(d.key) && index[nested] == "" &&
			!hasKey(unsupportedKeys, reflect.TypeFor[Config](), section) {
			t.Errorf("flag %v: unknown key %s", d.names, d.key)
		}
	}
}
