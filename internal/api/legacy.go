package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/heraldhq/herald/internal/jsonwire"
	"github.com/heraldhq/herald/internal/protocol"
)

// The legacy route, POST prefix, takes one or more command objects
// {"method": ..., "params": {...}, "id": N} one after another and answers
// one reply per command, joined by newlines. The whole body is decoded
// before any command runs, so that a body that is malformed anywhere (or
// names a method string that does not exist) fails with 400 having done
// nothing.

// legacyCommand is one decoded command.
type legacyCommand struct {
	id   uint32
	enum int64
	m    *method // nil: a method of the protocol that Herald does not serve
	// req is nil when the params were absent or did not fit the method;
	// paramsErr then says why they did not fit.
	req       request
	paramsErr error
}

// serveLegacy serves POST prefix.
func (h *Handler) serveLegacy(w http.ResponseWriter, r *http.Request, body []byte,
	out *[]byte) {
	var small [1]legacyCommand
	cmds, err := parseLegacy(body, small[:0])
	if err != nil {
		h.badBody(w, r, err)
		return
	}

	ctx := context.WithoutCancel(r.Context())
	b := *out
	for i, c := range cmds {
		if i > 0 {
			b = append(b, '\n')
		}
		res, e := h.runLegacy(ctx, c)
		b = appendLegacyReply(b, c.id, res, e)
	}
	*out = b
	writeJSON(w, http.StatusOK, b)
}

func (h *Handler) runLegacy(ctx context.Context, c legacyCommand) (result,
	*protocol.Error) {
	if c.m == nil {
		return nil, h.reject("legacy", errNotFound,
			"method "+strconv.FormatInt(c.enum, 10)+" is not served")
	}
	if c.req == nil {
		return nil, h.reject(c.m.name, errBadRequest, paramsReason(c.paramsErr))
	}
	return h.call(ctx, c.m, c.req)
}

// paramsReason says why a command has no usable params: err is the type
// error they failed with, nil when they were absent.
func paramsReason(err error) string {
	var je *jsonError
	if errors.As(err, &je) {
		return "params: " + je.reason()
	}
	return "params required"
}

// appendLegacyReply appends {"id": N, "result": ...} or {"id": N, "error":
// ...}; id is left out when zero.
func appendLegacyReply(b []byte, id uint32, res result, e *protocol.Error) []byte {
	b = append(b, '{')
	if id != 0 {
		b = strconv.AppendUint(append(b, `"id":`...), uint64(id), 10)
	}
	if e != nil {
		b = appendError(appendKey(b, "error"), e)
	} else {
		b = res.appendJSON(appendKey(b, "result"))
	}
	return append(b, '}')
}

var errNoCommands = errors.New("api: no commands in request body")

// parseLegacy decodes every command of body, appending them to dst.
func parseLegacy(body []byte, dst []legacyCommand) ([]legacyCommand, error) {
	d := decoder{b: body}
	for d.more() {
		c, err := d.legacyCommand()
		if err != nil {
			return nil, err
		}
		dst = append(dst, c)
	}
	if len(dst) == 0 {
		return nil, errNoCommands
	}
	return dst, nil
}

// legacyParams tracks the params of a command while its keys are read.
type legacyParams struct {
	span       []byte // the last params value; nil when absent
	spanAt     int    // offset of span in the body
	decoded    request
	decodedErr error // why decoded is nil
	decodedAt  int   // offset of the value decoded into decoded
	decodedAs  int64 // the method it was decoded for
}

// legacyCommand decodes one command. A null command is a command with no
// fields, as encoding/json makes it: publish without params.
func (d *decoder) legacyCommand() (legacyCommand, error) {
	var c legacyCommand
	var enum int64 // an absent method is the enum's zero value: publish
	seen := false
	p := legacyParams{decodedAt: -1}
	err := d.object(func(key []byte) (err error) {
		switch string(key) {
		case "method":
			enum, err = d.legacyMethod()
			seen = true
		case "id":
			var v uint64
			v, err = d.uint(math.MaxUint32)
			c.id = uint32(v)
		case "params":
			err = d.legacyParams(&p, enum, seen)
		default:
			err = d.skip()
		}
		return err
	})
	if err != nil {
		return c, err
	}

	c.enum, c.m = enum, methodsByEnum[enum]
	switch {
	case c.m == nil:
	case c.m.name == "info":
		c.req = &infoRequest{} // info takes no params and ignores them
	case p.span == nil:
		// Params are required, as in the reference server.
	case p.decodedAt == p.spanAt && p.decodedAs == enum:
		c.req, c.paramsErr = p.decoded, p.decodedErr
	default:
		// Params came before the method: decode them now. They are known
		// to be well-formed, so an error here is a type error.
		pd := decoder{b: p.span}
		req := c.m.new()
		if c.paramsErr = decodeRequest(&pd, req); c.paramsErr == nil {
			c.req = req
		}
	}
	return c, nil
}

// legacyParams reads a params value. When the method is already known the
// value is decoded for it at once, so that a body is read only once in the
// usual order; a value that does not fit is checked for syntax only and
// left for a 107.
func (d *decoder) legacyParams(p *legacyParams, enum int64, seen bool) error {
	d.ws()
	start, depth := d.i, d.depth
	m := methodsByEnum[enum]
	if !seen || m == nil || m.name == "info" {
		err := d.skip()
		p.span, p.spanAt = d.b[start:d.i], start
		return err
	}
	req := m.new()
	// A type error names the last key read; the command's own "params" key
	// would mislead.
	d.keyRaw = nil
	err := decodeRequest(d, req)
	if err != nil && isSyntax(err) {
		return err
	}
	if err != nil {
		req = nil
		d.i, d.depth = start, depth
		if err := d.skip(); err != nil {
			return err
		}
	}
	p.span, p.spanAt = d.b[start:d.i], start
	p.decoded, p.decodedErr, p.decodedAt, p.decodedAs = req, err, start, enum
	return nil
}

// legacyMethod decodes a method: a name of the enum in any case, or its
// number. A name that is not in the enum fails the whole request, as it
// fails decoding in the reference server; a number that is not served is
// answered 104 for that command only.
func (d *decoder) legacyMethod() (int64, error) {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '"' {
		start := d.i + 1
		end, escaped, err := d.scanString()
		if err != nil {
			return 0, err
		}
		name := d.b[start:end]
		if escaped {
			name = jsonwire.AppendUnquoted(nil, name)
		}
		var upper [32]byte
		if len(name) > len(upper) {
			return 0, d.typeErr("unknown method")
		}
		for i, c := range name {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			upper[i] = c
		}
		enum, ok := legacyEnums[string(upper[:len(name)])]
		if !ok {
			return 0, d.typeErr("unknown method")
		}
		return enum, nil
	}
	if d.null() {
		return 0, d.typeErr("method is null")
	}
	return d.int(math.MaxInt64)
}
