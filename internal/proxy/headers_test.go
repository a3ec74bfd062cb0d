package proxy

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/heraldhq/herald/internal/config"
)

func TestCaptureHeaders(t *testing.T) {
	in := http.Header{
		"Cookie":          {"a=1", "b=2"},
		"X-Real-Ip":       {"10.0.0.1"},
		"Authorization":   {"Bearer t"},
		"x-lower":         {"raw map key"},
		"Accept-Language": {},
	}
	tests := []struct {
		name  string
		names []string
		want  http.Header
	}{
		{"none", nil, nil},
		{"no match", []string{"X-Other"}, nil},
		{"exact", []string{"Cookie"}, http.Header{"Cookie": {"a=1", "b=2"}}},
		{"case-insensitive", []string{"cookie", "X-REAL-IP", "X-Lower"},
			http.Header{"Cookie": {"a=1", "b=2"}, "X-Real-Ip": {"10.0.0.1"},
				"X-Lower": {"raw map key"}}},
		{"empty values skipped", []string{"Accept-Language"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CaptureHeaders(in, tt.names)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	// The capture must not alias the request's values.
	got := CaptureHeaders(in, []string{"Cookie"})
	got["Cookie"][0] = "changed"
	if in["Cookie"][0] != "a=1" {
		t.Error("CaptureHeaders aliases the input values")
	}
}

func TestForwardedHeaders(t *testing.T) {
	captured := http.Header{
		"Cookie":        {"sid=1", "theme=dark"},
		"Authorization": {"Bearer real"},
		"X-Tenant":      {"t1"},
		"Content-Type":  {"text/plain"},
	}
	tests := []struct {
		name     string
		cfg      config.Proxy
		headers  http.Header
		emulated map[string]string
		want     map[string][]string // headers that must be present
		absent   []string
	}{
		{
			name:    "allow-list, case-insensitive, all values",
			cfg:     config.Proxy{HTTPHeaders: []string{"cookie", "X-TENANT"}},
			headers: captured,
			want: map[string][]string{"Cookie": {"sid=1", "theme=dark"},
				"X-Tenant": {"t1"}, "Content-Type": {"application/json"}},
			absent: []string{"Authorization"},
		},
		{
			name:    "content type forced",
			cfg:     config.Proxy{HTTPHeaders: []string{"Content-Type"}},
			headers: captured,
			want:    map[string][]string{"Content-Type": {"application/json"}},
		},
		{
			name: "static first, dynamic overrides",
			cfg: config.Proxy{HTTPHeaders: []string{"Authorization"},
				HTTP: config.ProxyHTTP{StaticHeaders: map[string]string{
					"x-api-key": "k", "authorization": "Bearer static",
					"Content-Type": "text/xml"}}},
			headers: captured,
			want: map[string][]string{"X-Api-Key": {"k"},
				"Authorization": {"Bearer real"}, "Content-Type": {"application/json"}},
		},
		{
			name: "static kept when no real header",
			cfg: config.Proxy{HTTPHeaders: []string{"Authorization"},
				HTTP: config.ProxyHTTP{StaticHeaders: map[string]string{
					"Authorization": "Bearer static"}}},
			want: map[string][]string{"Authorization": {"Bearer static"}},
		},
		{
			name: "emulated only when listed",
			cfg: config.Proxy{HTTPHeaders: []string{"X-From-Client"},
				EmulatedHeaders: []string{"x-token"}},
			emulated: map[string]string{"X-Token": "e1", "X-From-Client": "e2"},
			want:     map[string][]string{"X-Token": {"e1"}},
			absent:   []string{"X-From-Client"},
		},
		{
			name: "real header wins over emulated",
			cfg: config.Proxy{HTTPHeaders: []string{"Authorization"},
				EmulatedHeaders: []string{"Authorization", "X-Extra"}},
			headers:  captured,
			emulated: map[string]string{"authorization": "Bearer fake", "x-extra": "v"},
			want: map[string][]string{"Authorization": {"Bearer real"},
				"X-Extra": {"v"}},
		},
		{
			name: "emulated overrides static",
			cfg: config.Proxy{EmulatedHeaders: []string{"X-A"},
				HTTP: config.ProxyHTTP{StaticHeaders: map[string]string{"X-A": "s"}}},
			emulated: map[string]string{"X-A": "e"},
			want:     map[string][]string{"X-A": {"e"}},
		},
		{
			name: "invalid emulated dropped",
			cfg: config.Proxy{EmulatedHeaders: []string{"X-Bad", "Bad Name",
				"X-Good"}},
			emulated: map[string]string{"X-Bad": "a\r\nInjected: 1",
				"Bad Name": "v", "X-Good": "ok\tfine"},
			want:   map[string][]string{"X-Good": {"ok\tfine"}},
			absent: []string{"X-Bad", "Injected"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend(t, http.StatusOK, `{}`)
			tt.cfg.Endpoint = b.URL
			p := newProxy(t, tt.cfg)
			c := caller()
			c.Headers, c.EmulatedHeaders = tt.headers, tt.emulated
			if _, err := p.Refresh(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			got := b.last(t).Header
			for k, vv := range tt.want {
				if !reflect.DeepEqual(got.Values(k), vv) {
					t.Errorf("%s: got %q, want %q", k, got.Values(k), vv)
				}
			}
			for _, k := range tt.absent {
				if v := got.Values(k); len(v) > 0 {
					t.Errorf("%s forwarded: %q", k, v)
				}
			}
		})
	}
}

// TestCapturedSetFilteredPerProxy: the capture holds the union of all
// proxies' lists; each proxy forwards only its own.
func TestCapturedSetFilteredPerProxy(t *testing.T) {
	b := newBackend(t, http.StatusOK, `{}`)
	p := newProxy(t, config.Proxy{Endpoint: b.URL, HTTPHeaders: []string{"Cookie"}})
	c := caller()
	c.Headers = CaptureHeaders(http.Header{"Cookie": {"a"}, "X-Other": {"b"}},
		[]string{"Cookie", "X-Other"})
	if _, err := p.Refresh(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	got := b.last(t).Header
	if got.Get("Cookie") != "a" || got.Get("X-Other") != "" {
		t.Errorf("headers %v", got)
	}
}
