package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// result is what one run of the command produced.
type result struct {
	code           int
	stdout, stderr string
}

// herald runs the command with args and an environment without Herald or
// Centrifugo variables.
func herald(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// cleanEnv hides configuration variables of the test environment for the
// rest of the test.
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "HERALD_") || strings.HasPrefix(k, "CENTRIFUGO_") {
			t.Setenv(k, "") // restores the value when the test ends
			if err := os.Unsetenv(k); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// writeFile writes content to name in a temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// generated writes a config with genconfig and returns its path.
func generated(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if r := herald(t, "genconfig", "-c", path); r.code != 0 {
		t.Fatalf("genconfig: exit %d: %s", r.code, r.stderr)
	}
	return path
}

func TestVersion(t *testing.T) {
	cleanEnv(t)
	r := herald(t, "version")
	if r.code != 0 || r.stdout != "herald "+version+"\n" || r.stderr != "" {
		t.Errorf("version: %+v", r)
	}
}

func TestHelp(t *testing.T) {
	cleanEnv(t)
	for _, arg := range []string{"help", "-h", "--help"} {
		r := herald(t, arg)
		if r.code != 0 || r.stdout != usage {
			t.Errorf("%s: exit %d, stdout %q", arg, r.code, r.stdout)
		}
	}
	// -h after a command prints its flags.
	for _, cmd := range []string{"serve", "checkconfig"} {
		r := herald(t, cmd, "-h")
		if r.code != 0 || !strings.Contains(r.stderr, "config file") ||
			strings.Contains(r.stderr, "herald:") {
			t.Errorf("%s -h: exit %d, stderr %.200q", cmd, r.code, r.stderr)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	cleanEnv(t)
	r := herald(t, "frobnicate", "-c", "x.json")
	if r.code != 2 {
		t.Errorf("exit %d, want 2", r.code)
	}
	if !strings.Contains(r.stderr, `unknown command "frobnicate"`) ||
		!strings.Contains(r.stderr, "Usage:") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestGenconfig(t *testing.T) {
	cleanEnv(t)
	for _, name := range []string{"config.json", "config.yaml", "config.yml", "config.toml"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			r := herald(t, "genconfig", "-c", path)
			if r.code != 0 || r.stdout != "wrote "+path+"\n" {
				t.Fatalf("genconfig: %+v", r)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if mode := info.Mode().Perm(); mode != 0o600 {
				t.Errorf("mode %v, want 0600", mode)
			}
			if r := herald(t, "checkconfig", "-c", path); r.code != 0 ||
				r.stdout != "config is valid\n" || r.stderr != "" {
				t.Errorf("checkconfig of the generated file: %+v", r)
			}
			// The generated key signs tokens.
			if r := herald(t, "gentoken", "-c", path, "-u", "1"); r.code != 0 {
				t.Errorf("gentoken with the generated file: %+v", r)
			}

			before, _ := os.ReadFile(path)
			r = herald(t, "genconfig", "-c", path)
			if r.code == 0 || !strings.Contains(r.stderr, "already exists") {
				t.Errorf("second genconfig: %+v, want a refusal", r)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("second genconfig changed the file")
			}
		})
	}
	t.Run("unknown format", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "config.ini")
		if r := herald(t, "genconfig", "-c", path); r.code != 1 {
			t.Errorf("genconfig: %+v, want exit 1", r)
		}
		if _, err := os.Stat(path); err == nil {
			t.Error("file written for an unknown format")
		}
	})
	t.Run("two generated files differ", func(t *testing.T) {
		a, _ := os.ReadFile(generated(t, "a.json"))
		b, _ := os.ReadFile(generated(t, "b.json"))
		if bytes.Equal(a, b) {
			t.Error("two generated configs hold the same secrets")
		}
	})
}

// checked is what checktoken prints after its first line.
type checked struct {
	User     string `json:"user"`
	ExpireAt int64  `json:"expire_at"`
}

func TestTokenRoundTrip(t *testing.T) {
	cleanEnv(t)
	path := generated(t, "config.json")
	cases := []struct {
		name string
		ttl  string
		exp  time.Duration // -1: no expiry
	}{
		{"seconds", "3600", time.Hour},
		{"duration", "24h", 24 * time.Hour},
		{"no expiry", "0", -1},
		{"default", "", 7 * 24 * time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"gentoken", "-c", path, "-u", "user-42"}
			if tc.ttl != "" {
				args = append(args, "-t", tc.ttl)
			}
			now := time.Now()
			r := herald(t, args...)
			if r.code != 0 {
				t.Fatalf("gentoken: %+v", r)
			}
			tok := strings.TrimSpace(r.stdout)
			if strings.Count(tok, ".") != 2 {
				t.Fatalf("gentoken printed %q, want a JWT", r.stdout)
			}
			r = herald(t, "checktoken", "-c", path, tok)
			first, rest, _ := strings.Cut(r.stdout, "\n")
			if r.code != 0 || first != "token is valid" {
				t.Fatalf("checktoken: %+v", r)
			}
			var got checked
			if err := json.Unmarshal([]byte(rest), &got); err != nil {
				t.Fatalf("checktoken output %q: %v", rest, err)
			}
			if got.User != "user-42" {
				t.Errorf("user %q, want user-42", got.User)
			}
			want := int64(0)
			if tc.exp >= 0 {
				want = now.Add(tc.exp).Unix()
			}
			if d := got.ExpireAt - want; d < -1 || d > 1 {
				t.Errorf("expire_at %d, want %d", got.ExpireAt, want)
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	cleanEnv(t)
	path := generated(t, "config.json")
	other := generated(t, "other.json")
	noKey := writeFile(t, "nokey.json", `{}`)
	tok := strings.TrimSpace(herald(t, "gentoken", "-c", path, "-u", "1").stdout)
	cases := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"other key", []string{"checktoken", "-c", other, tok}, "token is not valid"},
		{"tampered", []string{"checktoken", "-c", path, tok + "x"}, "token is not valid"},
		{"no token", []string{"checktoken", "-c", path}, "exactly one TOKEN"},
		{"two tokens", []string{"checktoken", "-c", path, tok, tok}, "exactly one TOKEN"},
		{"checktoken without a key", []string{"checktoken", "-c", noKey, tok},
			"no token key"},
		{"gentoken without a key", []string{"gentoken", "-c", noKey, "-u", "1"},
			"hmac_secret_key"},
		{"bad ttl", []string{"gentoken", "-c", path, "-u", "1", "-t", "soon"}, "-t"},
		{"expired", []string{"checktoken", "-c", path,
			strings.TrimSpace(herald(t, "gentoken", "-c", path, "-u", "1",
				"-t", "-1h").stdout)}, "expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := herald(t, tc.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
}

func TestCheckconfig(t *testing.T) {
	cleanEnv(t)
	cases := []struct {
		name    string
		file    string // content of config.json; "" for no file
		code    int
		stderr  string
		missing bool
	}{
		{"valid", `{"client":{"ping_interval":"10s"}}`, 0, "", false},
		{"bad duration", `{"client":{"ping_interval":"bogus"}}`, 1,
			"client.ping_interval", false},
		{"bad integer", `{"client":{"channel_limit":"many"}}`, 1,
			"client.channel_limit", false},
		{"flat key", `{"client_channel_limit":"many"}`, 1, "channel_limit", false},
		{"malformed", `{"client":`, 1, "config", false},
		{"missing file", "", 0, "not found", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.json")
			if !tc.missing {
				path = writeFile(t, "config.json", tc.file)
			}
			r := herald(t, "checkconfig", "-c", path)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr,
					tc.code, tc.stderr)
			}
			if tc.code == 0 && r.stdout != "config is valid\n" {
				t.Errorf("stdout %q", r.stdout)
			}
		})
	}
	t.Run("bad flag value", func(t *testing.T) {
		r := herald(t, "checkconfig", "-c", writeFile(t, "c.json", `{}`), "-unknown-flag")
		if r.code != 1 {
			t.Errorf("exit %d, want 1", r.code)
		}
	})
}

// TestServeBadConfig checks that serve exits 1 without starting when the
// configuration is unusable.
func TestServeBadConfig(t *testing.T) {
	cleanEnv(t)
	cases := []struct {
		name   string
		args   func(t *testing.T) []string
		stderr string
	}{
		{"bad value", func(t *testing.T) []string {
			return []string{"serve", "-c",
				writeFile(t, "c.json", `{"client":{"ping_interval":"bogus"}}`)}
		}, "client.ping_interval"},
		{"implicit serve", func(t *testing.T) []string {
			return []string{"-c",
				writeFile(t, "c.json", `{"client":{"ping_interval":"bogus"}}`)}
		}, "client.ping_interval"},
		{"engine Herald does not have", func(t *testing.T) []string {
			return []string{"serve", "-c",
				writeFile(t, "c.json", `{"engine":{"type":"tarantool"}}`)}
		}, "not supported"},
		{"redis unreachable", func(t *testing.T) []string {
			return []string{"serve", "-c", writeFile(t, "c.json",
				`{"engine":{"type":"redis","redis":{"address":["127.0.0.1:1"],`+
					`"connect_timeout":"200ms"}}}`)}
		}, "engine.redis: redis: connect"},
		{"unknown flag", func(*testing.T) []string {
			return []string{"serve", "-no-such-flag"}
		}, "no-such-flag"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := herald(t, tc.args(t)...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", r.code, r.stderr,
					tc.stderr)
			}
		})
	}
}

// TestCheckTokenClaims checks that checktoken prints every claim it
// verified: the registered ones, meta, subs, and base64 info decoded,
// whatever bytes it holds.
func TestCheckTokenClaims(t *testing.T) {
	cleanEnv(t)
	const key = "checktoken-secret"
	path := writeFile(t, "config.json", `{"client": {"token": {
		"hmac_secret_key": "`+key+`", "audience": "herald-aud", "issuer": "herald-iss"}}}`)
	exp := time.Now().Add(time.Hour).Unix()
	base := jwt.MapClaims{
		"sub": "user-7", "exp": exp, "iat": exp - 3600, "nbf": exp - 3600,
		"aud": "herald-aud", "iss": "herald-iss", "jti": "id-1",
		"meta":     map[string]any{"role": "admin"},
		"channels": []string{"news"},
		"subs": map[string]any{"chat": map[string]any{
			"b64data":  base64.StdEncoding.EncodeToString([]byte{0xff, 0x00}),
			"info":     map[string]any{"seat": 3},
			"override": map[string]any{"presence": map[string]any{"value": true}},
		}},
	}
	cases := []struct {
		name    string
		b64info []byte
		key     string // where checktoken shows the decoded info
		want    any
	}{
		{"json", []byte(`{"name":"Ann"}`), "info", map[string]any{"name": "Ann"}},
		{"text", []byte("plain text"), "info_text", "plain text"},
		{"binary", []byte{0x01, 0xfe}, "info_base64",
			base64.StdEncoding.EncodeToString([]byte{0x01, 0xfe})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			claims := maps.Clone(base)
			claims["b64info"] = base64.StdEncoding.EncodeToString(tc.b64info)
			tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).
				SignedString([]byte(key))
			if err != nil {
				t.Fatal(err)
			}
			r := herald(t, "checktoken", "-c", path, tok)
			first, rest, _ := strings.Cut(r.stdout, "\n")
			if r.code != 0 || first != "token is valid" {
				t.Fatalf("checktoken: %+v", r)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(rest), &got); err != nil {
				t.Fatalf("checktoken output %q: %v", rest, err)
			}
			want := map[string]any{
				"user": "user-7", "expire_at": float64(exp), tc.key: tc.want,
				"channels": []any{"news"},
				"meta":     map[string]any{"role": "admin"},
				"subs": map[string]any{"chat": map[string]any{
					"info":        map[string]any{"seat": float64(3)},
					"data_base64": base64.StdEncoding.EncodeToString([]byte{0xff, 0x00}),
					"override":    map[string]any{"presence": true},
				}},
			}
			// Every claim comes back as signed, under "claims".
			signed, err := json.Marshal(claims)
			if err != nil {
				t.Fatal(err)
			}
			var all any
			if err := json.Unmarshal(signed, &all); err != nil {
				t.Fatal(err)
			}
			want["claims"] = all
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("checktoken printed\n%s\nwant\n%s", rest, indent(t, want))
			}
		})
	}
}

// indent renders v as indented JSON for a failure message.
func indent(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
