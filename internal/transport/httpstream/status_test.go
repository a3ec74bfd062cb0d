package httpstream

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestStatuses checks the requests refused before any stream starts, and
// the emulation endpoint's answers.
func TestStatuses(t *testing.T) {
	const limit = 1024
	srv := newServer(t, serverOptions{handlers: func(c *Config) {
		c.MaxRequestBodySize = limit
	}})
	big := []byte(`{"id":1,"connect":{"name":"` + strings.Repeat("x", limit) + `"}}`)
	emulation := func(body string) request {
		return request{method: http.MethodPost, path: pathEmulation,
			contentType: contentJSON, body: []byte(body)}
	}
	post := func(path, body string) request {
		return request{method: http.MethodPost, path: path, contentType: contentJSON,
			body: []byte(body)}
	}
	get := func(path string) request {
		return request{method: http.MethodGet, path: path}
	}
	self := srv.node.ID()

	cases := []struct {
		name string
		req  request
		want int
	}{
		{"stream GET", get(pathStream), http.StatusMethodNotAllowed},
		{"sse DELETE", request{method: http.MethodDelete, path: pathSSE},
			http.StatusMethodNotAllowed},
		{"emulation GET", get(pathEmulation), http.StatusMethodNotAllowed},
		{"emulation PUT", request{method: http.MethodPut, path: pathEmulation},
			http.StatusMethodNotAllowed},
		{"uni_http_stream GET", get(pathUniStream), http.StatusMethodNotAllowed},
		{"uni_sse PUT", request{method: http.MethodPut, path: pathUniSSE},
			http.StatusMethodNotAllowed},

		{"stream empty body", post(pathStream, ""), http.StatusBadRequest},
		{"sse without cf_connect", get(pathSSE), http.StatusBadRequest},
		{"uni_http_stream empty body", post(pathUniStream, ""), http.StatusBadRequest},
		{"uni_http_stream bad JSON", post(pathUniStream, `{"token":`),
			http.StatusBadRequest},
		{"uni_http_stream array", post(pathUniStream, `[]`), http.StatusBadRequest},
		{"uni_http_stream wrong type", post(pathUniStream, `{"token":5}`),
			http.StatusBadRequest},
		{"uni_sse bad cf_connect", get(pathUniSSE + "?cf_connect=%7Bx"),
			http.StatusBadRequest},
		{"emulation bad JSON", emulation(`{"node":`), http.StatusBadRequest},
		{"emulation data not a string",
			emulation(`{"node":"` + self + `","session":"s","data":{"id":2}}`),
			http.StatusBadRequest},
		{"emulation without data", emulation(`{"node":"` + self + `","session":"s"}`),
			http.StatusBadRequest},
		{"emulation bad Protobuf", request{method: http.MethodPost, path: pathEmulation,
			contentType: contentBinary, body: []byte{0x0a, 0x05, 'x'}},
			http.StatusBadRequest},

		{"stream from a rejected origin", request{method: http.MethodPost,
			path: pathStream, body: []byte(jsonConnect), origin: rejectedOrigin},
			http.StatusForbidden},
		{"sse from a rejected origin", request{method: http.MethodGet,
			path:   pathSSE + "?cf_connect=" + url.QueryEscape(jsonConnect),
			origin: rejectedOrigin}, http.StatusForbidden},
		{"emulation from a rejected origin", request{method: http.MethodPost,
			path: pathEmulation, body: []byte(`{}`), origin: rejectedOrigin},
			http.StatusForbidden},
		{"uni_sse from a rejected origin", request{method: http.MethodGet,
			path: pathUniSSE, origin: rejectedOrigin}, http.StatusForbidden},
		{"uni_http_stream preflight from a rejected origin", request{
			method: http.MethodOptions, path: pathUniStream, origin: rejectedOrigin},
			http.StatusForbidden},

		{"emulation unknown node",
			emulation(`{"node":"nowhere","session":"s","data":"{}"}`),
			http.StatusNotFound},
		{"emulation unknown session",
			emulation(`{"node":"` + self + `","session":"s","data":"{}"}`),
			http.StatusNoContent},

		{"stream too large", post(pathStream, string(big)),
			http.StatusRequestEntityTooLarge},
		{"sse cf_connect too large", get(pathSSE + "?cf_connect=" +
			url.QueryEscape(string(big))), http.StatusRequestEntityTooLarge},
		{"uni_http_stream too large", post(pathUniStream, string(big)),
			http.StatusRequestEntityTooLarge},
		{"emulation too large", emulation(`{"node":"` + self + `","session":"s",` +
			`"data":"` + strings.Repeat("x", limit) + `"}`),
			http.StatusRequestEntityTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := srv.do(t, tc.req)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d (%q), want %d", resp.StatusCode, body, tc.want)
			}
			if tc.want == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
		})
	}
}

// TestCORS checks the preflight answers and the headers that let an
// allowed browser origin read a response.
func TestCORS(t *testing.T) {
	srv := newServer(t, serverOptions{})
	cases := []struct {
		path    string
		methods string
	}{
		{pathStream, "POST, OPTIONS"},
		{pathSSE, "GET, POST, OPTIONS"},
		{pathEmulation, "POST, OPTIONS"},
		{pathUniSSE, "GET, POST, OPTIONS"},
		{pathUniStream, "POST, OPTIONS"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			resp, _ := srv.do(t, request{method: http.MethodOptions, path: tc.path,
				origin: allowedOrigin, header: http.Header{
					"Access-Control-Request-Method":  {"POST"},
					"Access-Control-Request-Headers": {"content-type, x-app"},
				}})
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("preflight status %d, want 204", resp.StatusCode)
			}
			want := map[string]string{
				"Access-Control-Allow-Origin":      allowedOrigin,
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Methods":     tc.methods,
				"Access-Control-Allow-Headers":     "content-type, x-app",
				"Access-Control-Max-Age":           "300",
			}
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s %q, want %q", k, got, v)
				}
			}
		})
	}

	t.Run("stream", func(t *testing.T) {
		c := srv.open(t, request{method: http.MethodPost, path: pathStream,
			contentType: contentJSON, body: []byte(jsonConnect), origin: allowedOrigin},
			framedLines)
		if got := c.resp.Header.Get("Access-Control-Allow-Origin"); got != allowedOrigin {
			t.Errorf("Access-Control-Allow-Origin %q, want %q", got, allowedOrigin)
		}
		if got := c.resp.Header.Get("Access-Control-Allow-Credentials"); got != "true" {
			t.Errorf("Access-Control-Allow-Credentials %q, want true", got)
		}
	})
	t.Run("no origin", func(t *testing.T) {
		resp, _ := srv.do(t, request{method: http.MethodPost, path: pathEmulation,
			contentType: contentJSON, body: []byte(`{}`)})
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Access-Control-Allow-Origin %q without an Origin", got)
		}
	})
}
