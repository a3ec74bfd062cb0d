package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/heraldhq/herald/internal/protocol"
)

// serveMethod serves POST prefix/<method>: the body is the method's
// parameters and the answer {"result": ...} or {"error": ...}. In transport
// error mode an error is the bare error object with a matching HTTP status.
func (h *Handler) serveMethod(w http.ResponseWriter, r *http.Request, m *method,
	body []byte, out *[]byte) {
	req := m.new()
	d := decoder{b: body}
	err := decodeRequest(&d, req)
	if err == nil && d.more() {
		err = errTrailing
	}
	if err != nil {
		h.badBody(w, r, err)
		return
	}

	// Commands run to the end even if the backend stops waiting: a half-done
	// broadcast would be worse than a late one.
	res, e := h.call(context.WithoutCancel(r.Context()), m, req)
	if e != nil && h.transportMode(r) {
		*out = appendError(*out, e)
		writeJSON(w, transportStatus(e), *out)
		return
	}
	*out = appendResponse(*out, res, e)
	writeJSON(w, http.StatusOK, *out)
}

var errTrailing = errors.New("api: data after the request object")

// transportMode reports whether errors of r are answered with HTTP
// statuses.
func (h *Handler) transportMode(r *http.Request) bool {
	return h.cfg.ErrorModeTransport ||
		header(r, "X-Centrifugo-Error-Mode") == "transport"
}

// appendResponse appends {"result": res} or {"error": e}.
func appendResponse(b []byte, res result, e *protocol.Error) []byte {
	if e != nil {
		b = appendError(append(b, `{"error":`...), e)
	} else {
		b = res.appendJSON(append(b, `{"result":`...))
	}
	return append(b, '}')
}
