package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteGenerated(t *testing.T) {
	for _, ext := range []string{".json", ".yaml", ".yml", ".toml"} {
		t.Run(ext, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config"+ext)
			if err := WriteGenerated(path); err != nil {
				t.Fatal(err)
			}
			c, warnings := mustLoad(t, Source{File: path})
			if len(warnings) != 0 {
				t.Fatalf("warnings %q", warnings)
			}
			secrets := []string{c.Client.Token.HMACSecretKey, c.Admin.Password,
				c.Admin.Secret, c.HTTPAPI.Key}
			seen := map[string]bool{}
			for _, s := range secrets {
				if len(s) != 36 || seen[s] {
					t.Fatalf("bad secrets %q", secrets)
				}
				seen[s] = true
			}
			if c.Client.AllowedOrigins == nil || len(c.Client.AllowedOrigins) != 0 {
				t.Errorf("allowed_origins %#v", c.Client.AllowedOrigins)
			}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			info, err := os.Stat(path)
			if err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, %v", info.Mode(), err)
			}

			before, _ := os.ReadFile(path)
			err = WriteGenerated(path)
			if err == nil || !strings.Contains(err.Error(), "already exists") {
				t.Fatalf("overwrite: %v", err)
			}
			after, _ := os.ReadFile(path)
			if string(before) != string(after) {
				t.Fatal("file changed")
			}
		})
	}
}

func TestWriteGeneratedUnknownFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.ini")
	if err := WriteGenerated(path); err == nil {
		t.Fatal("no error")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("file created")
	}
}

func TestRandomSecret(t *testing.T) {
	a, b := randomSecret(), randomSecret()
	if a == b || len(a) != 36 || a[14] != '4' {
		t.Fatalf("%q %q", a, b)
	}
}
