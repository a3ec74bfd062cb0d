package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRouting(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		method, path string
		want         int
	}{
		{"POST", "/api", http.StatusOK},
		{"POST", "/api/info", http.StatusOK},
		{"POST", "/api/batch", http.StatusOK},
		{"POST", "/api/", http.StatusNotFound},
		{"POST", "/api/unknown", http.StatusNotFound},
		{"POST", "/api/info/", http.StatusNotFound},
		{"POST", "/api/batch/x", http.StatusNotFound},
		{"POST", "/api/connections", http.StatusNotFound}, // PRO only
		{"POST", "/apix", http.StatusNotFound},
		{"GET", "/api/unknown", http.StatusNotFound},
		// 405 comes before authentication: these requests carry no key.
		{"GET", "/api", http.StatusMethodNotAllowed},
		{"PUT", "/api/publish", http.StatusMethodNotAllowed},
		{"DELETE", "/api/batch", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			var hdr []string
			if tt.want == http.StatusOK {
				hdr = []string{"X-API-Key", testKey}
			}
			body := `{}`
			if tt.path == "/api" {
				body = `{"method":"info"}`
			}
			r := e.do(t, tt.method, tt.path, body, hdr...)
			if r.status != tt.want {
				t.Fatalf("status %d, want %d (body %q)", r.status, tt.want, r.body)
			}
			if tt.want == http.StatusMethodNotAllowed && r.body != "" {
				t.Fatalf("405 body %q, want empty", r.body)
			}
		})
	}
}

func TestPatterns(t *testing.T) {
	tests := []struct {
		prefix string
		want   []string
	}{
		{"/api", []string{"/api", "/api/"}},
		{"/api/", []string{"/api", "/api/"}},
		{"api", []string{"/api", "/api/"}},
		{"", []string{"/"}},
		{"/", []string{"/"}},
	}
	for _, tt := range tests {
		if got := Patterns(tt.prefix); strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("Patterns(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}
}

func TestEmptyPrefix(t *testing.T) {
	e := newEnv(t)
	h := NewHandler(Config{Node: e.node, Sessions: e.sessions, Rules: testRules(t),
		Insecure: true, Logger: discard}, "")
	for path, want := range map[string]int{
		"/": http.StatusOK, "/info": http.StatusOK, "/batch": http.StatusOK,
		"/nope": http.StatusNotFound, "/api": http.StatusNotFound,
	} {
		body := `{}`
		if path == "/" {
			body = `{"method":"info"}`
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
		if rec.Code != want {
			t.Errorf("POST %s: %d, want %d", path, rec.Code, want)
		}
	}
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name     string
		key      string
		insecure bool
		query    string
		header   []string
		want     int
	}{
		{"insecure without key", "", true, "", nil, 200},
		{"insecure ignores wrong key", testKey, true, "", []string{"X-API-Key", "x"}, 200},
		{"empty key refuses", "", false, "", []string{"X-API-Key", ""}, 401},
		{"empty key refuses any carrier", "", false, "?api_key=",
			[]string{"Authorization", "apikey "}, 401},
		{"no carrier", testKey, false, "", nil, 401},
		{"X-API-Key", testKey, false, "", []string{"X-API-Key", testKey}, 200},
		{"X-API-Key wrong", testKey, false, "", []string{"X-API-Key", "nope"}, 401},
		{"X-API-Key prefix of key", testKey, false, "",
			[]string{"X-API-Key", testKey[:4]}, 401},
		{"X-API-Key decides over Authorization", testKey, false, "",
			[]string{"X-API-Key", "nope", "Authorization", "apikey " + testKey}, 401},
		{"wrong X-API-Key, right query", testKey, false, "?api_key=" + testKey,
			[]string{"X-API-Key", "nope"}, 200},
		{"Authorization apikey", testKey, false, "",
			[]string{"Authorization", "apikey " + testKey}, 200},
		{"Authorization scheme case", testKey, false, "",
			[]string{"Authorization", "APIKey " + testKey}, 200},
		{"Authorization extra spaces", testKey, false, "",
			[]string{"Authorization", "  apikey   " + testKey + " "}, 200},
		{"Authorization bearer", testKey, false, "",
			[]string{"Authorization", "Bearer " + testKey}, 401},
		{"Authorization three fields", testKey, false, "",
			[]string{"Authorization", "apikey " + testKey + " x"}, 401},
		{"Authorization key only", testKey, false, "",
			[]string{"Authorization", testKey}, 401},
		{"Authorization wrong key", testKey, false, "",
			[]string{"Authorization", "apikey nope"}, 401},
		{"wrong Authorization, right query", testKey, false, "?api_key=" + testKey,
			[]string{"Authorization", "apikey nope"}, 200},
		{"query", testKey, false, "?api_key=" + testKey, nil, 200},
		{"query wrong", testKey, false, "?api_key=nope", nil, 401},
		{"query other param", testKey, false, "?key=" + testKey, nil, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.Key, c.Insecure = tt.key, tt.insecure })
			for _, path := range []string{"/api", "/api/info", "/api/batch"} {
				body := `{}`
				if path == "/api" {
					body = `{"method":"info"}`
				}
				r := e.do(t, http.MethodPost, path+tt.query, body, tt.header...)
				if r.status != tt.want {
					t.Fatalf("%s: status %d, want %d", path, r.status, tt.want)
				}
				if r.status == http.StatusUnauthorized && r.body != "" {
					t.Fatalf("%s: 401 body %q, want empty", path, r.body)
				}
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBodySize = 64 })
	small := `{"channel":"news","data":{}}`
	big := `{"channel":"news","data":"` + strings.Repeat("x", 100) + `"}`
	if body := e.method(t, "publish", small); body != `{"result":{}}` {
		t.Fatalf("small body: %s", body)
	}
	for _, path := range []string{"/api", "/api/publish", "/api/batch"} {
		// With Content-Length known up front.
		r := e.do(t, http.MethodPost, path, big, "X-API-Key", testKey)
		if r.status != http.StatusRequestEntityTooLarge ||
			!strings.Contains(r.body, "over 64 bytes") {
			t.Fatalf("%s: %d %q, want 413 naming the limit", path, r.status, r.body)
		}
		// Chunked, so that the limit is found while reading.
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, path, struct{ *strings.Reader }{
			strings.NewReader(big)})
		req.ContentLength = -1
		req.Header.Set("X-API-Key", testKey)
		e.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("%s chunked: %d, want 413", path, rec.Code)
		}
	}
}

func TestNoLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBodySize = -1 })
	big := `{"channel":"news","data":"` + strings.Repeat("x", DefaultMaxBodySize) + `"}`
	if body := e.method(t, "publish", big); body != `{"result":{}}` {
		t.Fatalf("got %s", body)
	}
}

func TestClosing(t *testing.T) {
	closing := false
	e := newEnv(t, func(c *Config) { c.Closing = func() bool { return closing } })
	closing = true
	r := e.do(t, http.MethodPost, "/api", `{"method":"info"}`, "X-API-Key", testKey)
	if r.status != http.StatusServiceUnavailable || r.body != "" {
		t.Fatalf("legacy while closing: %d %q, want 503 and empty body", r.status, r.body)
	}
	// The check follows authentication, as in the reference server.
	if r := e.do(t, http.MethodPost, "/api", `{}`); r.status != http.StatusUnauthorized {
		t.Fatalf("without key while closing: %d, want 401", r.status)
	}
	// Only the legacy route is closed.
	e.method(t, "info", `{}`)
}

func TestPerMethodBadBody(t *testing.T) {
	e := newEnv(t)
	tests := []struct{ name, path, body string }{
		{"empty", "/api/publish", ``},
		{"empty info", "/api/info", ``},
		{"malformed", "/api/publish", `{"channel":`},
		{"not an object", "/api/publish", `[1]`},
		{"wrong type", "/api/publish", `{"channel":1,"data":{}}`},
		{"trailing data", "/api/publish", `{"channel":"news","data":{}} {}`},
		{"two objects", "/api/info", `{}{}`},
		{"invalid UTF-8 in data", "/api/publish", "{\"channel\":\"news\",\"data\":\"\xff\"}"},
		{"batch malformed", "/api/batch", `{"commands":[`},
		{"batch wrong type", "/api/batch", `{"commands":{}}`},
		{"batch params wrong type", "/api/batch", `{"commands":[{"publish":{"channel":[]}}]}`},
		{"batch parallel wrong type", "/api/batch", `{"commands":[],"parallel":"yes"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, tt.path, tt.body, "X-API-Key", testKey)
			if r.status != http.StatusBadRequest || r.body != "Bad Request\n" {
				t.Fatalf("%d %q, want 400 Bad Request", r.status, r.body)
			}
		})
	}
	// Nothing was published by the rejected bodies.
	jsonMatch(t, e.method(t, "channels", `{}`), `{"result":{"channels":{}}}`)
}

func TestNullBodyIsEmptyParams(t *testing.T) {
	e := newEnv(t)
	if got := e.method(t, "publish", `null`); got != wantNoChannel {
		t.Fatalf("publish null: %s", got)
	}
	jsonMatch(t, e.method(t, "info", ` null `), `{"result":{"nodes":["$any"]}}`)
}

// failingReader fails after its first bytes, like a client that went away.
type failingReader struct{ sent bool }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.sent {
		return 0, errors.New("connection reset")
	}
	f.sent = true
	return copy(p, `{"channel":`), nil
}

func TestBodyReadError(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/api", "/api/publish", "/api/batch"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, path, &failingReader{})
		req.Header.Set("X-API-Key", testKey)
		e.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusInternalServerError ||
			rec.Body.String() != "Internal Server Error\n" {
			t.Errorf("%s: %d %q, want 500", path, rec.Code, rec.Body)
		}
	}
}
