package httpstream

import (
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/heraldhq/herald/internal/node"
	"github.com/heraldhq/herald/internal/session"
	"github.com/heraldhq/herald/internal/transport"
)

// Defaults of [Config].
const (
	DefaultMaxRequestBodySize = 65536
	DefaultWriteTimeout       = time.Second
)

// statusClientGone is the status logged, and answered if anyone still
// listens, when the request body could not be read.
const statusClientGone = 499

// Config tunes the streaming transports and the emulation endpoint. The
// handlers of one server share it.
type Config struct {
	Sessions *session.Manager
	// Node is this server's node, required by [NewEmulation], which hands
	// it the commands meant for sessions held by other nodes.
	Node *node.Node
	// Origins decides which browser origins may connect; nil allows only
	// requests without an Origin header.
	Origins *transport.OriginChecker
	Logger  *slog.Logger
	// MaxRequestBodySize caps a connect request (body or cf_connect) and an
	// emulation request; larger ones get 413. Zero means 65536.
	MaxRequestBodySize int
	// WriteTimeout bounds the write and flush of one batch of replies; a
	// client that does not take them in time is disconnected. Zero means
	// one second.
	WriteTimeout time.Duration
	// ProxyHeaders names the connection request headers kept for proxies to
	// forward to the application backend, such as Cookie.
	ProxyHeaders []string
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Origins == nil {
		c.Origins = transport.NewOriginChecker(nil)
	}
	if c.MaxRequestBodySize <= 0 {
		c.MaxRequestBodySize = DefaultMaxRequestBodySize
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	return c
}

// allowCORS rejects a request from an origin that is not allowed and lets
// an allowed browser origin read the response. It answers a preflight with
// methods. It reports whether the request still needs an answer.
func allowCORS(w http.ResponseWriter, r *http.Request, cfg *Config, methods string,
	log *slog.Logger) bool {
	if !cfg.Origins.Allowed(r) {
		log.Info("origin rejected", "origin", r.Header.Get("Origin"),
			"remote", r.RemoteAddr)
		http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
		return false
	}

	h := w.Header()
	if origin := r.Header.Get("Origin"); origin != "" {
		// Echoing the origin instead of "*" is what lets browsers send
		// cookies, which connect proxies may need.
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Add("Vary", "Origin")
	}
	if r.Method != http.MethodOptions {
		return true
	}

	h.Set("Access-Control-Allow-Methods", methods)
	if asked := r.Header.Get("Access-Control-Request-Headers"); asked != "" {
		h.Set("Access-Control-Allow-Headers", asked)
	}
	h.Set("Access-Control-Max-Age", "300")
	w.WriteHeader(http.StatusNoContent)
	return false
}

// readBody reads a request body of at most limit bytes. A failure comes
// with the status to answer.
func readBody(w http.ResponseWriter, r *http.Request, limit int) ([]byte, int, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(limit)))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, http.StatusRequestEntityTooLarge, err
	case err != nil:
		return nil, statusClientGone, err
	}
	return body, 0, nil
}

// isProtobuf reports whether the request body is Protobuf; anything but
// application/octet-stream is JSON.
func isProtobuf(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/octet-stream"
}

// reject answers a request that cannot be served with status. Every such
// case is the client's doing, so it is logged at debug level only.
func reject(w http.ResponseWriter, r *http.Request, log *slog.Logger, status int,
	why string, err error) {
	if log.Enabled(r.Context(), slog.LevelDebug) {
		log.Debug("request rejected", "status", status, "reason", why,
			"error", err, "remote", r.RemoteAddr)
	}
	http.Error(w, http.StatusText(status), status)
}
