package httpstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/heraldhq/herald/internal/protocol"
	"github.com/heraldhq/herald/internal/proxy"
)

// endpoint describes one streaming endpoint.
type endpoint struct {
	// name names the transport in logs ("http_stream").
	name string
	// methods are the request methods served besides OPTIONS.
	methods []string
	// sse frames the stream as server-sent events.
	sse bool
	// uni takes a ConnectRequest instead of a command frame and streams
	// bare pushes.
	uni bool
	// protobuf lets the request's content type select Protobuf.
	protobuf bool
	// needConnect makes a GET without cf_connect a bad request; otherwise
	// it connects with an empty request.
	needConnect bool
}

// handler serves one streaming endpoint.
type handler struct {
	cfg  Config
	ep   endpoint
	log  *slog.Logger
	cors string // Access-Control-Allow-Methods
}

// NewStream returns the handler of bidirectional HTTP-streaming
// (/connection/http_stream): a POST whose body is the first command frame,
// Protobuf when its Content-Type is application/octet-stream and JSON
// otherwise. The response streams the replies; later commands arrive
// through [NewEmulation].
func NewStream(cfg Config) http.Handler {
	return newHandler(cfg, endpoint{name: "http_stream",
		methods: []string{http.MethodPost}, protobuf: true})
}

// NewSSE returns the handler of bidirectional SSE (/connection/sse): a GET
// with the first JSON command frame in the cf_connect query parameter, as
// a browser EventSource sends it, or a POST with the frame as body. Each
// reply is one event; later commands arrive through [NewEmulation].
func NewSSE(cfg Config) http.Handler {
	return newHandler(cfg, endpoint{name: "sse",
		methods: []string{http.MethodGet, http.MethodPost}, sse: true, needConnect: true})
}

// NewUniSSE returns the handler of unidirectional SSE (/connection/uni_sse):
// a GET with a ConnectRequest JSON object in cf_connect (an empty request
// without it), or a POST with it as body. Each push is one event.
func NewUniSSE(cfg Config) http.Handler {
	return newHandler(cfg, endpoint{name: "uni_sse",
		methods: []string{http.MethodGet, http.MethodPost}, sse: true, uni: true})
}

// NewUniStream returns the handler of unidirectional HTTP-streaming
// (/connection/uni_http_stream): a POST with a ConnectRequest JSON object as
// body. The response streams one push per line.
func NewUniStream(cfg Config) http.Handler {
	return newHandler(cfg, endpoint{name: "uni_http_stream",
		methods: []string{http.MethodPost}, uni: true})
}

func newHandler(cfg Config, ep endpoint) *handler {
	cfg = cfg.withDefaults()
	return &handler{
		cfg:  cfg,
		ep:   ep,
		log:  cfg.Logger.With("component", "httpstream", "transport", ep.name),
		cors: strings.Join(append(slices.Clone(ep.methods), http.MethodOptions), ", "),
	}
}

// ServeHTTP implements http.Handler. It returns once the stream has ended.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !allowCORS(w, r, &h.cfg, h.cors, h.log) {
		return
	}
	if !slices.Contains(h.ep.methods, r.Method) {
		w.Header().Set("Allow", h.cors)
		reject(w, r, h.log, http.StatusMethodNotAllowed, "method not allowed", nil)
		return
	}
	if h.cfg.Sessions.Closing() {
		http.Error(w, http.StatusText(http.StatusServiceUnavailable),
			http.StatusServiceUnavailable)
		return
	}

	frame, status, err := h.firstFrame(w, r)
	if status != 0 {
		reject(w, r, h.log, status, "bad connect request", err)
		return
	}
	binary := h.ep.protobuf && isProtobuf(r)
	h.serve(w, r, frame, binary)
}

// firstFrame reads the frame the session starts with. A failure comes with
// the status to answer.
func (h *handler) firstFrame(w http.ResponseWriter, r *http.Request) ([]byte, int,
	error) {
	input, status, err := h.connectInput(w, r)
	if status != 0 {
		return nil, status, err
	}

	if !h.ep.uni {
		if len(bytes.TrimSpace(input)) == 0 {
			return nil, http.StatusBadRequest, errors.New("empty command frame")
		}
		return input, 0, nil
	}
	frame, err := connectFrame(input)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	return frame, 0, nil
}

// connectInput returns what the client connects with: the cf_connect
// parameter of a GET, the body otherwise.
func (h *handler) connectInput(w http.ResponseWriter, r *http.Request) ([]byte, int,
	error) {
	if r.Method != http.MethodGet {
		return readBody(w, r, h.cfg.MaxRequestBodySize)
	}

	q := r.URL.Query()
	if !q.Has("cf_connect") {
		if h.ep.needConnect {
			return nil, http.StatusBadRequest, errors.New("no cf_connect parameter")
		}
		return []byte("{}"), 0, nil
	}
	input := q.Get("cf_connect")
	if len(input) > h.cfg.MaxRequestBodySize {
		return nil, http.StatusRequestEntityTooLarge,
			errors.New("cf_connect too large")
	}
	return []byte(input), 0, nil
}

var connectPrefix = []byte(`{"id":1,"connect":`)

// connectFrame wraps a unidirectional client's ConnectRequest into the
// connect command that the session expects as its first frame.
func connectFrame(req []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(connectPrefix) + len(req) + 1)
	buf.Write(connectPrefix)
	// Compacting validates the JSON and drops the newlines of a formatted
	// body, which would otherwise split the frame into several commands.
	if err := json.Compact(&buf, req); err != nil {
		return nil, fmt.Errorf("httpstream: connect request: %w", err)
	}
	if buf.Bytes()[len(connectPrefix)] != '{' {
		return nil, errors.New("httpstream: connect request is not a JSON object")
	}
	buf.WriteByte('}')
	frame := buf.Bytes()

	// Fields of the wrong type would make the session disconnect the client
	// once the stream has started; the client learns it better as a 400.
	err := protocol.JSON.DecodeFrame(frame, func(*protocol.Command) error { return nil })
	if err != nil {
		return nil, fmt.Errorf("httpstream: connect request: %w", err)
	}
	return frame, nil
}

// serve starts the response, hands the first frame to a new session and
// holds the request until the stream ends.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, frame []byte,
	binary bool) {
	t := newStream(w, h.ep, binary, h.cfg.WriteTimeout)
	if err := t.start(r); err != nil {
		h.log.Debug("stream start failed", "error", err, "remote", r.RemoteAddr)
		t.end()
		return
	}

	headers := proxy.CaptureHeaders(r.Header, h.cfg.ProxyHeaders)
	s := h.cfg.Sessions.New(t, binary, headers)
	if h.ep.uni {
		s.SetUnidirectional()
	} else {
		s.SetEmulated()
	}
	s.ForceVersion(protocol.Version2)
	s.HandleFrame(frame)

	select {
	case <-t.done:
	case <-r.Context().Done():
	}
	t.end()
	// After a close by the session this finds nothing left to do; after the
	// client left it removes subscriptions and presence, as the end of a
	// WebSocket connection does.
	s.TransportClosed()
}
