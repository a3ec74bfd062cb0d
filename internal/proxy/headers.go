package proxy

import (
	"net/http"
	"strings"
)

// CaptureHeaders returns the headers of h whose names are in names,
// compared case-insensitively, with all their values. Transports call it
// on the connection request (the WebSocket upgrade, the SSE or HTTP-stream
// request) with the union of every proxy's http_headers, and keep the
// result for the life of the connection: later refresh, subscribe, publish,
// rpc and sub_refresh calls forward the same captured set. The result has
// canonical keys and copies of the values, and is nil when nothing matched.
func CaptureHeaders(h http.Header, names []string) http.Header {
	var out http.Header
	for k, vv := range h {
		if len(vv) == 0 || !containsFold(names, k) {
			continue
		}
		if out == nil {
			out = make(http.Header, len(names))
		}
		ck := http.CanonicalHeaderKey(k)
		out[ck] = append(out[ck], vv...)
	}
	return out
}

// staticHeaders canonicalizes http.static_headers once, at construction.
func staticHeaders(m map[string]string) http.Header {
	if len(m) == 0 {
		return nil
	}
	h := make(http.Header, len(m))
	for k, v := range m {
		h.Set(k, v)
	}
	return h
}

// requestHeader builds the headers of one backend request (spec §3).
// Static headers come first so that dynamic ones override them. Emulated
// headers are client-controlled, so they pass only when listed in
// emulated_headers, and a forwarded transport header of the same name
// overrides them. Content-Type is forced last.
func (p *Proxy) requestHeader(c *Caller) http.Header {
	h := make(http.Header, len(p.staticHeaders)+len(p.httpHeaders)+1)
	for k, vv := range p.staticHeaders {
		h[k] = vv
	}
	for k, v := range c.EmulatedHeaders {
		if containsFold(p.emulatedHeaders, k) && validHeader(k, v) {
			h.Set(k, v)
		}
	}
	for k, vv := range c.Headers {
		if containsFold(p.httpHeaders, k) {
			// Captured values are never modified after capture, and
			// net/http copies headers before changing them, so sharing the
			// slice is safe and saves a copy per call.
			h[http.CanonicalHeaderKey(k)] = vv
		}
	}
	h["Content-Type"] = contentTypeJSON
	return h
}

var contentTypeJSON = []string{"application/json"}

// containsFold reports whether names holds name, ignoring case. The
// allow-lists are a few entries long, so a scan beats building a set.
func containsFold(names []string, name string) bool {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// validHeader reports whether an emulated header can be sent as is. Real
// transport headers were parsed by an HTTP server, but emulated ones come
// from a JSON frame, and a bad one would make every backend call of the
// connection fail in the HTTP client instead of being dropped.
func validHeader(name, value string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isTokenByte(name[i]) {
			return false
		}
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// isTokenByte reports whether c may appear in a header name (RFC 9110
// token).
func isTokenByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
