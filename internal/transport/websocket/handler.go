// Package websocket serves the WebSocket transports: the bidirectional one
// at /connection/websocket ([Handler]) and the unidirectional one at
// /connection/uni_websocket ([UniHandler], uni.go), which share the frame
// code of conn.go. Each connection runs its reader on a goroutine of its
// own, started once the handshake is done; writes happen on the session's
// outbound queue goroutine, which exists only while there is something to
// write.
package websocket

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gobwas/ws"

	"github.com/heraldhq/herald/internal/protocol"
	"github.com/heraldhq/herald/internal/proxy"
	"github.com/heraldhq/herald/internal/session"
	"github.com/heraldhq/herald/internal/transport"
)

// Subprotocols negotiated with clients.
const (
	protoJSON     = "centrifuge-json"
	protoProtobuf = "centrifuge-protobuf"
)

// Config tunes the WebSocket transport.
type Config struct {
	Sessions *session.Manager
	Origins  *transport.OriginChecker
	Logger   *slog.Logger
	// MessageSizeLimit caps one inbound message; larger ones close the
	// connection with 1009.
	MessageSizeLimit int
	// WriteTimeout bounds one frame write.
	WriteTimeout time.Duration
	// ProxyHeaders names the upgrade request headers kept for proxies to
	// forward to the application backend, such as Cookie.
	ProxyHeaders []string
}

// Handler upgrades HTTP requests to WebSocket connections.
type Handler struct {
	cfg Config
	log *slog.Logger
}

// NewHandler returns a WebSocket handler.
func NewHandler(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MessageSizeLimit <= 0 {
		cfg.MessageSizeLimit = 65536
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = time.Second
	}
	return &Handler{cfg: cfg, log: cfg.Logger.With("component", "websocket")}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !admit(w, r, h.cfg.Origins, h.cfg.Sessions, h.log) {
		return
	}

	q := r.URL.Query()
	version, ok := forcedVersion(q.Get("cf_protocol_version"))
	if !ok {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	binary := q.Get("format") == "protobuf" || q.Get("cf_protocol") == "protobuf"
	up := ws.HTTPUpgrader{
		Timeout: 5 * time.Second,
		Protocol: func(p string) bool {
			switch p {
			case protoProtobuf:
				binary = true
				return true
			case protoJSON:
				return true
			}
			return false
		},
	}
	netConn, rw, _, err := up.Upgrade(r, w)
	if err != nil {
		h.log.Debug("websocket upgrade failed", "error", err, "remote", r.RemoteAddr)
		return
	}

	c := newConn(netConn, rw.Reader, binary, &h.cfg)
	headers := proxy.CaptureHeaders(r.Header, h.cfg.ProxyHeaders)
	c.sess = h.cfg.Sessions.New(c, binary, headers)
	if q.Get("cf_ws_frame_ping_pong") == "true" {
		c.framePing = true
		c.sess.UseFramePing()
	}
	if version != protocol.VersionUnknown {
		c.sess.ForceVersion(version)
	}
	// The reader gets a goroutine of its own so that ServeHTTP returns:
	// net/http then drops what it keeps for the request while its handler
	// runs (4 KiB read and write buffers, the parsed request, a stack deep
	// in its serve loop), which would otherwise stay pinned by every idle
	// connection. The goroutine ends when the connection closes.
	go c.readLoop()
}

// admit refuses, and reports false for, an upgrade request from an origin
// that is not allowed (403) or one that reaches a draining node (503).
func admit(w http.ResponseWriter, r *http.Request, origins *transport.OriginChecker,
	sessions *session.Manager, log *slog.Logger) bool {
	if !origins.Allowed(r) {
		log.Info("origin rejected", "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		http.Error(w, "Forbidden", http.StatusForbidden)
		return false
	}
	if sessions.Closing() {
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return false
	}
	return true
}

// forcedVersion reads the cf_protocol_version query parameter: without it
// the session detects the version from the first command. An unknown value
// is refused, as Centrifugo v4 refused it (legacy-protocol-v1.md §5), so
// that a typo does not go unnoticed behind the detection.
func forcedVersion(v string) (protocol.Version, bool) {
	switch v {
	case "":
		return protocol.VersionUnknown, true
	case "v1":
		return protocol.Version1, true
	case "v2":
		return protocol.Version2, true
	}
	return protocol.VersionUnknown, false
}
