package httpstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/heraldhq/herald/internal/node"
)

// emulateTimeout bounds handing a command to the node that holds its
// session.
const emulateTimeout = 5 * time.Second

// emulationRequest is one client command frame for an emulated session.
type emulationRequest struct {
	node    string
	session string
	data    []byte
}

// emulation serves the endpoint through which the clients of bidirectional
// HTTP-streaming and SSE send their commands after the first.
type emulation struct {
	cfg Config
	log *slog.Logger
}

// NewEmulation returns the handler of the emulation endpoint (/emulation).
// A POST names the session and the node that holds its stream, and carries
// one command frame for it: a JSON object whose data is the frame as a
// string, or with Content-Type application/octet-stream a Protobuf
// EmulationRequest. The replies go out on the session's stream; the
// request itself is answered 204 once the frame was handled here or handed
// to the node holding the session.
func NewEmulation(cfg Config) http.Handler {
	cfg = cfg.withDefaults()
	return &emulation{cfg: cfg, log: cfg.Logger.With("component", "httpstream",
		"transport", "emulation")}
}

// ServeHTTP implements http.Handler.
func (e *emulation) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !allowCORS(w, r, &e.cfg, "POST, OPTIONS", e.log) {
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		reject(w, r, e.log, http.StatusMethodNotAllowed, "method not allowed", nil)
		return
	}

	body, status, err := readBody(w, r, e.cfg.MaxRequestBodySize)
	if status != 0 {
		reject(w, r, e.log, status, "unreadable emulation request", err)
		return
	}
	req, err := decodeEmulation(body, isProtobuf(r))
	if err != nil {
		reject(w, r, e.log, http.StatusBadRequest, "bad emulation request", err)
		return
	}

	err = e.route(r.Context(), req)
	switch {
	case errors.Is(err, node.ErrUnknownNode):
		reject(w, r, e.log, http.StatusNotFound, "unknown node", err)
		return
	case err != nil:
		e.log.Error("emulation request failed", "node", req.node, "error", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError),
			http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// route handles the frame when this node holds the session, and hands it to
// the node that does otherwise: behind a load balancer a client's commands
// may reach any node.
func (e *emulation) route(ctx context.Context, req emulationRequest) error {
	if req.node == e.cfg.Node.ID() {
		// A session that is gone needs no answer here: its stream ended,
		// and the client reconnects.
		if s := e.cfg.Sessions.EmulatedSession(req.session); s != nil {
			s.HandleFrame(req.data)
		}
		return nil
	}

	ctx, cancel := context.WithTimeout(ctx, emulateTimeout)
	defer cancel()
	if err := e.cfg.Node.Emulate(ctx, req.node, req.session, req.data); err != nil {
		return fmt.Errorf("httpstream: emulate on node %q: %w", req.node, err)
	}
	return nil
}

var errNoData = errors.New("httpstream: emulation request without data")

// decodeEmulation decodes an emulation request body.
func decodeEmulation(body []byte, binary bool) (emulationRequest, error) {
	var (
		req emulationRequest
		err error
	)
	if binary {
		req, err = decodeEmulationProtobuf(body)
	} else {
		req, err = decodeEmulationJSON(body)
	}
	if err != nil {
		return emulationRequest{}, err
	}
	if len(req.data) == 0 {
		return emulationRequest{}, errNoData
	}
	return req, nil
}

// decodeEmulationJSON decodes {"node":…,"session":…,"data":"<frame>"}: the
// frame travels as a JSON string holding the commands' JSON.
func decodeEmulationJSON(body []byte) (emulationRequest, error) {
	var raw struct {
		Node    string          `json:"node"`
		Session string          `json:"session"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return emulationRequest{}, fmt.Errorf("httpstream: emulation request: %w", err)
	}
	var data string
	if len(raw.Data) > 0 {
		if raw.Data[0] != '"' {
			return emulationRequest{}, errors.New(
				"httpstream: emulation request data is not a string")
		}
		if err := json.Unmarshal(raw.Data, &data); err != nil {
			return emulationRequest{}, fmt.Errorf("httpstream: emulation data: %w", err)
		}
	}
	return emulationRequest{node: raw.Node, session: raw.Session, data: []byte(data)}, nil
}

// Field numbers of the Protobuf EmulationRequest.
const (
	fieldNode    protowire.Number = 1
	fieldSession protowire.Number = 2
	fieldData    protowire.Number = 3
)

// decodeEmulationProtobuf decodes an EmulationRequest message, which comes
// without a length prefix. Unknown fields are skipped, as Protobuf wants.
func decodeEmulationProtobuf(b []byte) (emulationRequest, error) {
	var req emulationRequest
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return emulationRequest{}, protoError(n)
		}
		b = b[n:]

		if typ != protowire.BytesType || num < fieldNode || num > fieldData {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return emulationRequest{}, protoError(n)
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return emulationRequest{}, protoError(n)
		}
		b = b[n:]
		switch num {
		case fieldNode:
			req.node = string(v)
		case fieldSession:
			req.session = string(v)
		case fieldData:
			req.data = v
		}
	}
	if !utf8.ValidString(req.node) || !utf8.ValidString(req.session) {
		return emulationRequest{}, errors.New(
			"httpstream: emulation request: invalid UTF-8")
	}
	return req, nil
}

func protoError(n int) error {
	return fmt.Errorf("httpstream: emulation request: %w", protowire.ParseError(n))
}
