package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary files to the loader in the three formats: a
// malformed or hostile config must give an error or a valid config, never
// a panic, and whatever loads must pass validation again unchanged.
func FuzzLoad(f *testing.F) {
	seeds := []struct{ ext, body string }{
		{"json", `{"token_hmac_secret_key":"s","api_key":"k","namespaces":[{"name":"chat"}]}`},
		{"json", `{"client":{"token":{"hmac_secret_key":"s"}},"channel":{"namespaces":` +
			`[{"name":"a","history_size":10,"history_ttl":"30s"}]}}`},
		{"json", `{"engine":"redis","redis_address":["127.0.0.1:6379"],"broker":"nats"}`},
		{"json", `{"proxy_connect_endpoint":"http://x","proxy_connect_timeout":"1s",` +
			`"granular_proxy_mode":true,"proxies":[{"name":"p","endpoint":"http://y"}]}`},
		{"yaml", "client:\n  token:\n    hmac_secret_key: s\nadmin:\n  enabled: true\n"},
		{"toml", "[client.token]\nhmac_secret_key = \"s\"\n[http_server]\nport = 1\n"},
		{"json", `{"history_ttl":-1,"presence_ttl":"x","port":"8000","sse":{}}`},
		{"json", `[`}, {"json", `{"a":{"b":{"c":{"d":[[[[[[]]]]]]}}}}`},
	}
	for _, s := range seeds {
		f.Add(s.ext, []byte(s.body))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, ext string, body []byte) {
		switch ext {
		case "json", "yaml", "toml":
		default:
			return
		}
		path := filepath.Join(dir, "config."+ext)
		if err := os.WriteFile(path, body, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, _, err := Load(Source{File: path})
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("a loaded config fails validation: %v\n%s", err, body)
		}
	})
}
