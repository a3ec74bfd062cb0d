// Package transport holds what every client transport shares, such as the
// browser origin check.
package transport

import (
	"net/http"
	"path"
	"strings"
)

// OriginChecker decides whether a browser request's Origin is allowed.
type OriginChecker struct {
	any      bool
	patterns []string
}

// NewOriginChecker compiles allowed origin patterns: exact origins, globs
// with '*' such as "https://*.example.com", or a single "*" for any origin.
func NewOriginChecker(allowed []string) *OriginChecker {
	oc := &OriginChecker{}
	for _, p := range allowed {
		if p == "*" {
			oc.any = true
		}
		oc.patterns = append(oc.patterns, strings.ToLower(p))
	}
	return oc
}

// Allowed reports whether r may connect. Requests without an Origin header
// come from non-browser clients and are always allowed; browsers always
// send one, and only listed origins pass.
func (oc *OriginChecker) Allowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || oc.any {
		return true
	}
	origin = strings.ToLower(origin)
	for _, p := range oc.patterns {
		if p == origin {
			return true
		}
		// path.Match treats '/' as a separator that '*' does not cross,
		// which is what keeps "https://*.example.com" from matching
		// "https://evil.com/x.example.com".
		if ok, _ := path.Match(p, origin); ok {
			return true
		}
	}
	return false
}
