package api

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// authorized checks the API key of r. The key may come in three carriers,
// checked in the reference server's order:
//
//  1. an X-API-Key header; when it is present the Authorization header is
//     not looked at;
//  2. otherwise an "Authorization: apikey KEY" header (scheme in any case,
//     exactly two fields);
//  3. when neither carried the right key, an api_key query parameter.
//
// Insecure mode skips the check; an empty configured key refuses every
// request, so that a forgotten key never opens the API.
func (h *Handler) authorized(r *http.Request) bool {
	if h.cfg.Insecure {
		return true
	}
	if len(h.key) == 0 {
		if ok, n := h.emptyKeyLog.allow(); ok {
			h.log.Warn("api request refused: API key is empty; set http_api.key "+
				"or http_api.insecure", "suppressed", n)
		}
		return false
	}

	valid := false
	if v := header(r, "X-Api-Key"); v != "" {
		valid = h.keyMatches(v)
	} else if v := header(r, "Authorization"); v != "" {
		f := strings.Fields(v)
		valid = len(f) == 2 && strings.EqualFold(f[0], "apikey") && h.keyMatches(f[1])
	}
	if !valid && r.URL.RawQuery != "" {
		valid = h.keyMatches(r.URL.Query().Get("api_key"))
	}
	if !valid {
		// The key itself is never logged, only where the request came from.
		if ok, n := h.authLog.allow(); ok {
			h.log.Info("api request unauthorized", "remote", r.RemoteAddr,
				"path", r.URL.Path, "suppressed", n)
		}
	}
	return valid
}

// keyMatches compares in constant time so that response timing does not
// reveal how much of a guessed key was right.
func (h *Handler) keyMatches(v string) bool {
	return subtle.ConstantTimeCompare(h.key, []byte(v)) == 1
}

// header returns the first value of the header with the canonical name
// key. Indexing the map directly skips canonicalizing a constant on every
// request, which allocates for names like X-API-Key.
func header(r *http.Request, key string) string {
	if v := r.Header[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}
