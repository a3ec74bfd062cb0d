package api

import (
	"net/http"
)

// NewCommandHandler returns a handler that serves the legacy command route
// (one or more {"method": ..., "params": ..., "id": ...} objects) on
// whatever path it is mounted under, and never asks for an API key: the
// caller authenticates requests its own way, as the admin web interface
// does with its session tokens. c.Key and c.Insecure are ignored.
func NewCommandHandler(c Config) http.Handler {
	return commandHandler{h: NewHandler(c, "").(*Handler)}
}

// commandHandler is the keyless legacy route of [NewCommandHandler].
type commandHandler struct{ h *Handler }

// ServeHTTP implements [http.Handler] with the legacy route's rules, less
// the key check.
func (c commandHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if c.h.cfg.Closing != nil && c.h.cfg.Closing() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}

	in := getBuffer()
	defer putBuffer(in)
	body, ok := c.h.readBody(w, r, in)
	if !ok {
		return
	}
	out := getBuffer()
	defer putBuffer(out)
	c.h.serveLegacy(w, r, body, out)
}
