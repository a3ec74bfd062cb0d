package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/protocol"
)

// The server API answers with the protocol's own error values, so that a
// code has the same message on every surface. Of them the API uses only
// 100, 102, 104, 107, 108 and 112.
var (
	errInternal      = protocol.ErrInternal
	errUnknownChan   = protocol.ErrUnknownChannel
	errNotFound      = protocol.ErrMethodNotFound
	errBadRequest    = protocol.ErrBadRequest
	errNotAvailable  = protocol.ErrNotAvailable
	errUnrecoverable = protocol.ErrUnrecoverablePosition
)

// transportStatus maps an API error to the HTTP status used in transport
// error mode.
func transportStatus(e *protocol.Error) int {
	switch e.Code {
	case 102, 104:
		return http.StatusNotFound
	case 107, 108:
		return http.StatusBadRequest
	case 112:
		return http.StatusRequestedRangeNotSatisfiable
	case 113:
		return http.StatusConflict
	default:
		return http.StatusInternalServerError
	}
}

// appendError appends e as {"code":N,"message":"..."}.
func appendError(b []byte, e *protocol.Error) []byte {
	b = append(b, `{"code":`...)
	b = strconv.AppendUint(b, uint64(e.Code), 10)
	if e.Message != "" {
		b = appendString(append(b, `,"message":`...), e.Message)
	}
	return append(b, '}')
}

// reject logs, at debug level, a command the backend got wrong and returns
// e for it with why appended to the message: "bad request: channel
// required". Clients and SDKs match on the code, and the message still
// starts with the protocol's text, so the reason costs no compatibility;
// it tells the backend's developer what to fix without a server log.
// Client mistakes are the backend's to fix; the server did its job, so
// they stay out of the error log.
func (h *Handler) reject(method string, e *protocol.Error, why string) *protocol.Error {
	if h.log.Enabled(context.Background(), slog.LevelDebug) {
		h.log.Debug("api command rejected", "method", method, "code", e.Code,
			"reason", why)
	}
	if why == "" {
		return e
	}
	detailed := *e
	detailed.Message += ": " + why
	return &detailed
}

// fail logs a failure of the server (an engine error) and returns the
// internal error for it.
func (h *Handler) fail(method string, err error, args ...any) *protocol.Error {
	h.log.Error("api command failed",
		append([]any{"method", method, "error", err}, args...)...)
	return errInternal
}

// logLimiter lets one message through per interval and counts the rest, so
// that a misconfigured or hostile client cannot flood the log.
type logLimiter struct {
	interval   time.Duration
	next       atomic.Int64 // UnixNano before which messages are counted
	suppressed atomic.Int64
}

// allow reports whether a message may be logged now and how many were
// suppressed since the last one.
func (l *logLimiter) allow() (bool, int64) {
	now := time.Now().UnixNano()
	next := l.next.Load()
	if now < next || !l.next.CompareAndSwap(next, now+int64(l.interval)) {
		l.suppressed.Add(1)
		return false, 0
	}
	return true, l.suppressed.Swap(0)
}
