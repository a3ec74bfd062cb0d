package transport

import (
	"net/http/httptest"
	"testing"
)

func TestOriginChecker(t *testing.T) {
	cases := []struct {
		name    string
		allowed []string
		origin  string // "" sends no Origin header
		ok      bool
	}{
		{"no origin, empty list", nil, "", true},
		{"no origin, list", []string{"https://a.example.com"}, "", true},
		{"empty list", nil, "https://a.example.com", false},
		{"empty list entry", []string{""}, "https://a.example.com", false},
		{"any", []string{"*"}, "https://evil.com", true},
		{"any among others", []string{"https://a.example.com", "*"}, "https://x.y", true},
		{"exact", []string{"https://a.example.com"}, "https://a.example.com", true},
		{"exact, other host", []string{"https://a.example.com"}, "https://b.example.com",
			false},
		{"exact, other scheme", []string{"https://a.example.com"}, "http://a.example.com",
			false},
		{"exact, other port", []string{"https://a.example.com"},
			"https://a.example.com:8443", false},
		{"exact with port", []string{"http://localhost:3000"}, "http://localhost:3000",
			true},
		{"second entry", []string{"https://a.example.com", "https://b.example.com"},
			"https://b.example.com", true},
		{"case of origin", []string{"https://a.example.com"}, "HTTPS://A.Example.COM",
			true},
		{"case of pattern", []string{"HTTPS://A.EXAMPLE.COM"}, "https://a.example.com",
			true},
		{"glob", []string{"https://*.example.com"}, "https://a.example.com", true},
		{"glob, nested", []string{"https://*.example.com"}, "https://a.b.example.com",
			true},
		{"glob, case", []string{"https://*.example.com"}, "https://A.EXAMPLE.com", true},
		{"glob, bare domain", []string{"https://*.example.com"}, "https://example.com",
			false},
		{"glob, path trick", []string{"https://*.example.com"},
			"https://evil.com/x.example.com", false},
		{"glob, suffix trick", []string{"https://*.example.com"},
			"https://a.example.com.evil.com", false},
		{"glob, other scheme", []string{"https://*.example.com"}, "http://a.example.com",
			false},
		{"glob port", []string{"http://localhost:*"}, "http://localhost:5173", true},
		{"glob port, other host", []string{"http://localhost:*"},
			"http://localhost.evil.com:80", false},
		{"null origin", []string{"https://a.example.com"}, "null", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/connection/websocket", nil)
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if got := NewOriginChecker(tc.allowed).Allowed(r); got != tc.ok {
				t.Errorf("Allowed(%q) with %q = %v, want %v", tc.origin, tc.allowed,
					got, tc.ok)
			}
		})
	}
}
