package config

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile writes content to name in a fresh temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mustLoad loads src and fails the test on error.
func mustLoad(t *testing.T, src Source) (*Config, []string) {
	t.Helper()
	c, w, err := Load(src)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c, w
}

// loadJSON loads a JSON file with the given content.
func loadJSON(t *testing.T, content string) (*Config, []string) {
	t.Helper()
	return mustLoad(t, Source{File: writeFile(t, "config.json", content)})
}

// loadErr loads a JSON file and returns the error, failing if there is none.
func loadErr(t *testing.T, content string) error {
	t.Helper()
	_, _, err := Load(Source{File: writeFile(t, "config.json", content)})
	if err == nil {
		t.Fatalf("no error loading %s", content)
	}
	return err
}

// dump renders everything of a config, the gathered proxies included.
func dump(c *Config) string {
	b, err := json.MarshalIndent(struct {
		C *Config
		P Proxies
	}{c, c.Proxy}, "", " ")
	if err != nil {
		panic(err)
	}
	return string(b)
}

// assertSame fails with the differing lines when two configs differ.
func assertSame(t *testing.T, want, got *Config) {
	t.Helper()
	a, b := strings.Split(dump(want), "\n"), strings.Split(dump(got), "\n")
	if len(a) != len(b) {
		t.Fatalf("configs differ:\nwant %s\ngot %s", dump(want), dump(got))
	}
	var diff []string
	for i := range a {
		if a[i] != b[i] {
			diff = append(diff, "want "+a[i]+"\n got "+b[i])
		}
	}
	if len(diff) > 0 {
		t.Fatalf("configs differ:\n%s", strings.Join(diff, "\n"))
	}
}

// parsedFlags registers the config flags and parses args.
func parsedFlags(t *testing.T, args ...string) *flag.FlagSet {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}
