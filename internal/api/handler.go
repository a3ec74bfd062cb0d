package api

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/channel"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/node"
	"github.com/heraldhq/herald/internal/session"
)

// DefaultMaxBodySize caps request bodies when [Config.MaxBodySize] is zero.
// 10 MiB holds a broadcast of a large payload or a batch of thousands of
// commands, and keeps one request from taking unbounded memory.
const DefaultMaxBodySize = 10 << 20

// Config holds what the server API needs.
type Config struct {
	// Node publishes and reads history, presence and channels.
	Node *node.Node
	// Sessions applies subscribe, unsubscribe, disconnect and refresh to
	// this node's connections.
	Sessions *session.Manager
	// Rules resolve channel namespaces and validate channel names.
	Rules *channel.Rules

	// Key is the API key requests must carry unless Insecure. An empty Key
	// refuses every request.
	Key      string
	Insecure bool
	// ErrorModeTransport answers per-method errors with HTTP statuses
	// (http_api.error_mode: transport); a request may also ask for it with
	// the X-Centrifugo-Error-Mode: transport header.
	ErrorModeTransport bool
	// MaxBodySize caps a request body in bytes; larger bodies are answered
	// 413. Zero means DefaultMaxBodySize, a negative value no limit.
	MaxBodySize int64
	// Closing reports that the node is shutting down; the legacy route then
	// answers 503. Nil means never.
	Closing func() bool
	// Logger receives the API's logs, under component=api; nil means
	// slog.Default().
	Logger *slog.Logger
	// Metrics records the duration and errors of each command; nil
	// records nothing.
	Metrics *metrics.Metrics
}

// Handler serves the server API over HTTP. It is safe for concurrent use.
type Handler struct {
	cfg    Config
	log    *slog.Logger
	key    []byte
	prefix string
	// now is the clock of info's uptime; tests set it.
	now func() time.Time
	// recorders holds each method's metrics, by method order.
	recorders []*metrics.APICommand

	authLog     logLimiter
	emptyKeyLog logLimiter
}

// NewHandler returns the server API handler for prefix (the configured
// http_api.handler_prefix, "/api" by default). It serves exactly
// prefix (the legacy command route), prefix/<method> and prefix/batch, and
// answers 404 to any other path; mount it with the patterns of [Patterns].
func NewHandler(c Config, prefix string) http.Handler {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxBodySize == 0 {
		c.MaxBodySize = DefaultMaxBodySize
	}
	h := &Handler{
		cfg:    c,
		log:    c.Logger.With("component", "api"),
		key:    []byte(c.Key),
		prefix: normalizePrefix(prefix),
		now:    time.Now,
	}
	h.authLog.interval = logInterval
	h.emptyKeyLog.interval = logInterval
	h.recorders = make([]*metrics.APICommand, len(methods))
	for _, m := range methods {
		h.recorders[m.order] = c.Metrics.APICommand("http", m.name)
	}
	return h
}

// logInterval spaces repeated log lines about refused requests.
const logInterval = 10 * time.Second

// normalizePrefix trims trailing slashes and makes the prefix absolute.
func normalizePrefix(p string) string {
	p = strings.TrimRight(p, "/")
	if p != "" && p[0] != '/' {
		p = "/" + p
	}
	return p
}

// Patterns returns the http.ServeMux patterns under which to register the
// handler of prefix: the prefix itself and the subtree below it. The
// handler checks paths exactly, so "/api/" and unknown methods get 404.
func Patterns(prefix string) []string {
	p := normalizePrefix(prefix)
	if p == "" {
		return []string{"/"}
	}
	return []string{p, p + "/"}
}

// route kinds.
const (
	routeNone = iota
	routeLegacy
	routeMethod
	routeBatch
)

// route resolves path to a route and, for a per-method route, its method.
func (h *Handler) route(path string) (int, *method) {
	if path == h.prefix || path == "/" && h.prefix == "" {
		return routeLegacy, nil
	}
	name, ok := strings.CutPrefix(path, h.prefix+"/")
	if !ok {
		return routeNone, nil
	}
	if name == "batch" {
		return routeBatch, nil
	}
	if m := methodsByName[name]; m != nil {
		return routeMethod, m
	}
	return routeNone, nil
}

// ServeHTTP implements [http.Handler]: route, method, key, then body.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind, m := h.route(r.URL.Path)
	if kind == routeNone {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if !h.authorized(r) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if kind == routeLegacy && h.cfg.Closing != nil && h.cfg.Closing() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}

	in := getBuffer()
	defer putBuffer(in)
	body, ok := h.readBody(w, r, in)
	if !ok {
		return
	}
	out := getBuffer()
	defer putBuffer(out)
	switch kind {
	case routeLegacy:
		h.serveLegacy(w, r, body, out)
	case routeMethod:
		h.serveMethod(w, r, m, body, out)
	default:
		h.serveBatch(w, r, body, out)
	}
}

var errTooLarge = errors.New("api: request body too large")

// readBody reads the body into *buf, within the size limit. On failure it
// answers the request and returns false.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, buf *[]byte) (
	[]byte, bool) {
	body, err := readAll(r, (*buf)[:0], h.cfg.MaxBodySize)
	*buf = body
	switch {
	case errors.Is(err, errTooLarge):
		h.log.Debug("api request body too large", "path", r.URL.Path,
			"limit", h.cfg.MaxBodySize)
		http.Error(w, "Request Entity Too Large: API request body is over "+
			strconv.FormatInt(h.cfg.MaxBodySize, 10)+" bytes",
			http.StatusRequestEntityTooLarge)
		return nil, false
	case err != nil:
		// Usually the client went away mid-request: not the server's failure.
		h.log.Debug("api request body unreadable", "path", r.URL.Path, "error", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return nil, false
	}
	return body, true
}

// readAll appends r's body to dst, failing with errTooLarge past limit
// bytes (limit < 0: no limit). A declared Content-Length sizes the buffer
// once.
func readAll(r *http.Request, dst []byte, limit int64) ([]byte, error) {
	if limit >= 0 && r.ContentLength > limit {
		return dst, errTooLarge
	}
	if r.ContentLength > 0 {
		// One spare byte lets the final read see EOF without growing.
		dst = slices.Grow(dst, int(r.ContentLength)+1)
	}
	for {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, max(512, cap(dst)))
		}
		n, err := r.Body.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if limit >= 0 && int64(len(dst)) > limit {
			return dst, errTooLarge
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// Buffers for bodies and responses are pooled. Nothing decoded from a body
// aliases it (see [request]), so it can be reused as soon as the request is
// answered. Buffers that grew past maxPooledBuffer are dropped so that one
// huge request does not pin its memory.
const maxPooledBuffer = 64 << 10

var bufferPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 2048)
	return &b
}}

func getBuffer() *[]byte { return bufferPool.Get().(*[]byte) }

func putBuffer(b *[]byte) {
	if cap(*b) > maxPooledBuffer {
		return
	}
	*b = (*b)[:0]
	bufferPool.Put(b)
}

// jsonContentType is shared by every response; net/http never modifies a
// header value slice.
var jsonContentType = []string{"application/json"}

// writeJSON writes a JSON response.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header()["Content-Type"] = jsonContentType
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	_, _ = w.Write(body)
}

// badBody answers a body that could not be decoded.
func (h *Handler) badBody(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Debug("api request body undecodable", "path", r.URL.Path, "error", err)
	http.Error(w, "Bad Request", http.StatusBadRequest)
}
