package config

import (
	"strings"
	"testing"
)

// TestAllowedOriginsWarning checks that a "*" origin pattern, which lets
// every origin in, is reported once, whichever dialect sets it, and that
// other patterns are not.
func TestAllowedOriginsWarning(t *testing.T) {
	cases := []struct {
		name, content string
		warn          bool
	}{
		{"v3 star", `{"allowed_origins": ["*"]}`, true},
		{"v6 star", `{"client": {"allowed_origins": ["*"]}}`, true},
		{"star among others", `{"allowed_origins": ["https://a.example", "*"]}`, true},
		{"wildcard pattern", `{"allowed_origins": ["https://*.example.com"]}`, false},
		{"exact origin", `{"allowed_origins": ["http://localhost:9000"]}`, false},
		{"empty", `{"allowed_origins": []}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, warnings := loadJSON(t, tc.content)
			n := 0
			for _, w := range warnings {
				if strings.Contains(w, "allowed_origins") {
					n++
				}
			}
			want := 0
			if tc.warn {
				want = 1
			}
			if n != want {
				t.Fatalf("%d allowed_origins warnings in %q, want %d", n, warnings, want)
			}
		})
	}
}
