package protocol

import (
	"bytes"
	"math"
	"unicode/utf8"

	"github.com/heraldhq/herald/internal/jsonwire"
)

// Commands are decoded by a hand-written scanner rather than encoding/json:
//   - keys match the protocol's names exactly, as the reference server does,
//     where encoding/json would also accept "ID" or "Connect";
//   - data fields are validated in the same pass that finds their end and
//     are kept as raw bytes, with no reflection and no intermediate structs;
//   - it never recurses on client data: skipped values keep a bit per open
//     container, so a deeply nested payload cannot grow the reader's stack.
// The lexical part (strings, numbers, skipping values) is package jsonwire,
// shared with the server API. Every read is bounds-checked against the
// line, so no input can panic it; FuzzJSONDecodeFrame checks that and
// compares validity with encoding/json.

// maxJSONDepth bounds the nesting of a command line, counted from its outer
// object: the limit of encoding/json, so that Herald accepts what it does.
const maxJSONDepth = jsonwire.MaxDepth

// DecodeFrame implements [Codec]. The frame must be valid UTF-8: its raw
// data fields are forwarded verbatim in text frames to other clients, and a
// browser drops a WebSocket connection that receives invalid UTF-8.
func (jsonCodec) DecodeFrame(frame []byte, fn func(cmd *Command) error) error {
	return decodeFrameJSON(frame, fn, (*jsonDecoder).command)
}

// decodeFrameJSON splits a frame into command lines and decodes each with
// decode, so that both protocol versions share the framing rules.
func decodeFrameJSON(frame []byte, fn func(cmd *Command) error,
	decode func(d *jsonDecoder, cmd *Command) error) error {
	if len(frame) == 0 {
		return malformed("json: empty frame")
	}
	if !utf8.Valid(frame) {
		return malformed("json: invalid UTF-8")
	}
	// Spec §3: one trailing newline is tolerated, empty lines are not.
	frame = bytes.TrimSuffix(frame, []byte{'\n'})
	d := jsonDecoder{}
	for n := 1; ; n++ {
		line, rest, more := bytes.Cut(frame, []byte{'\n'})
		d.b, d.i, d.n = line, 0, n
		cmd := new(Command)
		if err := decode(&d, cmd); err != nil {
			return err
		}
		if err := fn(cmd); err != nil {
			return err
		}
		if !more {
			return nil
		}
		frame = rest
	}
}

// jsonDecoder reads one command line. Its methods consume the value at d.i
// and leave d.i just past it.
type jsonDecoder struct {
	b   []byte
	i   int
	n   int    // 1-based number of the command in its frame, for errors
	buf []byte // scratch space for keys that contain escapes
	// depth counts the objects that enclose d.i, so that the nesting limit
	// applies to the whole line as it does in encoding/json.
	depth int
}

func (d *jsonDecoder) err(what string) error {
	return malformed("json: command %d: %s at offset %d", d.n, what, d.i)
}

func (d *jsonDecoder) command(c *Command) error {
	return d.line(func(key []byte) error { return commandField(d, c, key) })
}

// line decodes a whole command line, one object, calling field with each of
// its keys as [jsonDecoder.object] does.
func (d *jsonDecoder) line(field func(key []byte) error) error {
	if len(d.b) == 0 {
		return d.err("empty line")
	}
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return d.err("expected object")
	}
	err := d.object(field)
	if err != nil {
		return err
	}
	d.ws()
	if d.i != len(d.b) {
		return d.err("data after object")
	}
	return nil
}

func commandField(d *jsonDecoder, c *Command, key []byte) (err error) {
	switch string(key) {
	case "id":
		var v uint64
		v, err = d.uint(math.MaxUint32)
		c.ID = uint32(v)
	case "connect":
		c.Connect, err = jsonMessage(d, connectField)
	case "subscribe":
		c.Subscribe, err = jsonMessage(d, subscribeField)
	case "unsubscribe":
		c.Unsubscribe, err = jsonMessage(d, unsubscribeField)
	case "publish":
		c.Publish, err = jsonMessage(d, publishField)
	case "presence":
		c.Presence, err = jsonMessage(d, presenceField)
	case "presence_stats":
		c.PresenceStats, err = jsonMessage(d, presenceStatsField)
	case "history":
		c.History, err = jsonMessage(d, historyField)
	case "ping":
		c.Ping, err = jsonMessage(d, skipField[PingRequest])
	case "send":
		c.Send, err = jsonMessage(d, sendField)
	case "rpc":
		c.RPC, err = jsonMessage(d, rpcField)
	case "refresh":
		c.Refresh, err = jsonMessage(d, refreshField)
	case "sub_refresh":
		c.SubRefresh, err = jsonMessage(d, subRefreshField)
	default:
		err = d.skip()
	}
	return err
}

// jsonMessage decodes an object into a new T with field, which handles one
// member; null means the message is absent.
func jsonMessage[T any](d *jsonDecoder,
	field func(*jsonDecoder, *T, []byte) error) (*T, error) {
	if d.null() {
		return nil, nil
	}
	m := new(T)
	return m, d.object(func(key []byte) error { return field(d, m, key) })
}

// skipField is the field decoder of messages with nothing Herald reads.
func skipField[T any](d *jsonDecoder, _ *T, _ []byte) error { return d.skip() }

func connectField(d *jsonDecoder, m *ConnectRequest, key []byte) error {
	switch string(key) {
	case "token":
		return d.str(&m.Token)
	case "data":
		return d.raw(&m.Data)
	case "subs":
		return d.subs(&m.Subs)
	case "name":
		return d.str(&m.Name)
	case "version":
		return d.str(&m.Version)
	case "headers":
		return d.stringMap(&m.Headers)
	}
	return d.skip()
}

func subscribeField(d *jsonDecoder, m *SubscribeRequest, key []byte) (err error) {
	switch string(key) {
	case "channel":
		return d.str(&m.Channel)
	case "token":
		return d.str(&m.Token)
	case "recover":
		return d.bool(&m.Recover)
	case "epoch":
		return d.str(&m.Epoch)
	case "offset":
		m.Offset, err = d.uint(math.MaxUint64)
	case "data":
		return d.raw(&m.Data)
	case "positioned":
		return d.bool(&m.Positioned)
	case "recoverable":
		return d.bool(&m.Recoverable)
	case "join_leave":
		return d.bool(&m.JoinLeave)
	case "delta":
		return d.str(&m.Delta)
	case "tf":
		// Herald declines tag filters, so only their presence matters.
		if !d.null() {
			m.HasFilter = true
			return d.skip()
		}
	case "flag":
		m.Flag, err = d.int(math.MaxInt64)
	case "type":
		var v int64
		v, err = d.int(math.MaxInt32)
		m.Type = int32(v)
	default:
		return d.skip()
	}
	return err
}

func unsubscribeField(d *jsonDecoder, m *UnsubscribeRequest, key []byte) error {
	return d.channelOnly(&m.Channel, key)
}

func presenceField(d *jsonDecoder, m *PresenceRequest, key []byte) error {
	return d.channelOnly(&m.Channel, key)
}

func presenceStatsField(d *jsonDecoder, m *PresenceStatsRequest, key []byte) error {
	return d.channelOnly(&m.Channel, key)
}

func publishField(d *jsonDecoder, m *PublishRequest, key []byte) error {
	switch string(key) {
	case "channel":
		return d.str(&m.Channel)
	case "data":
		return d.raw(&m.Data)
	}
	return d.skip()
}

func historyField(d *jsonDecoder, m *HistoryRequest, key []byte) (err error) {
	switch string(key) {
	case "channel":
		return d.str(&m.Channel)
	case "limit":
		var v int64
		v, err = d.int(math.MaxInt32)
		m.Limit = int32(v)
	case "since":
		m.Since, err = jsonMessage(d, streamPositionField)
	case "reverse":
		return d.bool(&m.Reverse)
	default:
		return d.skip()
	}
	return err
}

func streamPositionField(d *jsonDecoder, m *StreamPosition, key []byte) (err error) {
	switch string(key) {
	case "offset":
		m.Offset, err = d.uint(math.MaxUint64)
		return err
	case "epoch":
		return d.str(&m.Epoch)
	}
	return d.skip()
}

func sendField(d *jsonDecoder, m *SendRequest, key []byte) error {
	if string(key) == "data" {
		return d.raw(&m.Data)
	}
	return d.skip()
}

func rpcField(d *jsonDecoder, m *RPCRequest, key []byte) error {
	switch string(key) {
	case "data":
		return d.raw(&m.Data)
	case "method":
		return d.str(&m.Method)
	}
	return d.skip()
}

func refreshField(d *jsonDecoder, m *RefreshRequest, key []byte) error {
	if string(key) == "token" {
		return d.str(&m.Token)
	}
	return d.skip()
}

func subRefreshField(d *jsonDecoder, m *SubRefreshRequest, key []byte) error {
	switch string(key) {
	case "channel":
		return d.str(&m.Channel)
	case "token":
		return d.str(&m.Token)
	}
	return d.skip()
}

// channelOnly is the member decoder of requests that carry only a channel.
func (d *jsonDecoder) channelOnly(ch *string, key []byte) error {
	if string(key) == "channel" {
		return d.str(ch)
	}
	return d.skip()
}

// subs decodes ConnectRequest.subs. A null entry becomes an empty request so
// that the session never meets a nil value.
func (d *jsonDecoder) subs(m *map[string]*SubscribeRequest) error {
	if d.null() {
		return nil
	}
	if *m == nil {
		*m = make(map[string]*SubscribeRequest)
	}
	return d.object(func(key []byte) error {
		ch := string(key) // key may live in d.buf, which the value reuses
		sr, err := jsonMessage(d, subscribeField)
		if sr == nil {
			sr = new(SubscribeRequest)
		}
		(*m)[ch] = sr
		return err
	})
}

func (d *jsonDecoder) stringMap(m *map[string]string) error {
	if d.null() {
		return nil
	}
	if *m == nil {
		*m = make(map[string]string)
	}
	return d.object(func(key []byte) error {
		k := string(key)
		var v string
		err := d.str(&v)
		(*m)[k] = v
		return err
	})
}

// object decodes the object at d.i, calling field with each member's key
// once the value is due; field must consume the value. The key may point
// into d.buf and is valid only until the value is decoded.
func (d *jsonDecoder) object(field func(key []byte) error) error {
	if !d.consume('{') {
		return d.err("expected object")
	}
	// Nesting of requests is fixed by the schema (at most four levels), so
	// this only makes skip count the levels its value sits in.
	d.depth++
	defer func() { d.depth-- }()
	d.ws()
	if d.consume('}') {
		return nil
	}
	for {
		key, err := d.key()
		if err != nil {
			return err
		}
		if err := field(key); err != nil {
			return err
		}
		d.ws()
		if d.consume('}') {
			return nil
		}
		if !d.consume(',') {
			return d.err("expected ',' or '}'")
		}
		d.ws()
	}
}

// key decodes an object key and the colon after it, and skips the
// whitespace before the value.
func (d *jsonDecoder) key() ([]byte, error) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, d.err("expected key")
	}
	start := d.i + 1
	end, escaped, err := d.scanString()
	if err != nil {
		return nil, err
	}
	key := d.b[start:end]
	if escaped {
		d.buf = jsonwire.AppendUnquoted(d.buf[:0], key)
		key = d.buf
	}
	d.ws()
	if !d.consume(':') {
		return nil, d.err("expected ':'")
	}
	d.ws()
	return key, nil
}

// str decodes a string; null leaves *s as it is.
func (d *jsonDecoder) str(s *string) error {
	if d.null() {
		return nil
	}
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return d.err("expected string")
	}
	start := d.i + 1
	end, escaped, err := d.scanString()
	if err != nil {
		return err
	}
	if escaped {
		*s = string(jsonwire.AppendUnquoted(nil, d.b[start:end]))
	} else {
		*s = string(d.b[start:end])
	}
	return nil
}

// bool decodes true or false; null leaves *v as it is.
func (d *jsonDecoder) bool(v *bool) error {
	switch {
	case d.literal("true"):
		*v = true
	case d.literal("false"):
		*v = false
	case !d.null():
		return d.err("expected boolean")
	}
	return nil
}

// raw copies a value of any kind after validating it. The copy keeps the
// command independent of the frame buffer.
func (d *jsonDecoder) raw(r *Raw) error {
	start := d.i
	if err := d.skip(); err != nil {
		return err
	}
	*r = Raw(bytes.Clone(d.b[start:d.i]))
	return nil
}

// uint decodes an integer in [0, limit]; null is 0. Fractions and exponents
// are rejected, as the reference server does, even when the value is whole.
func (d *jsonDecoder) uint(limit uint64) (uint64, error) {
	if d.null() {
		return 0, nil
	}
	return d.digits(limit)
}

// int decodes an integer in [-limit-1, limit]; null is 0.
func (d *jsonDecoder) int(limit int64) (int64, error) {
	if d.null() {
		return 0, nil
	}
	if !d.consume('-') {
		v, err := d.digits(uint64(limit))
		return int64(v), err
	}
	v, err := d.digits(uint64(limit) + 1)
	// -int64(1<<63) wraps to itself, which is the right answer.
	return -int64(v), err
}

// digits decodes the digits of a JSON integer no greater than limit.
func (d *jsonDecoder) digits(limit uint64) (uint64, error) {
	v, next, err := jsonwire.ParseUint(d.b, d.i, limit)
	switch err {
	case nil:
		d.i = next
		return v, nil
	case jsonwire.ErrRange:
		return 0, d.err("integer out of range")
	}
	return 0, d.err("expected integer")
}

// skip consumes one value of any kind, checking that it is valid JSON. The
// objects that enclose it count towards the nesting limit.
func (d *jsonDecoder) skip() error {
	i, err := jsonwire.Skip(d.b, d.i, d.depth)
	d.i = i
	return d.wireErr(err)
}

// scanString validates the string starting at d.i (a '"') and moves past
// it. It returns the index of the closing quote and whether the string has
// escapes. UTF-8 validity was checked for the whole frame already.
func (d *jsonDecoder) scanString() (end int, escaped bool, err error) {
	end, escaped, err = jsonwire.ScanString(d.b, d.i)
	if err != nil {
		return 0, false, d.wireErr(err)
	}
	d.i = end + 1
	return end, escaped, nil
}

// wireErr reports a syntax error of the shared scanner as this codec's
// error, at the offset where the scanner stopped.
func (d *jsonDecoder) wireErr(err error) error {
	if se, ok := err.(*jsonwire.SyntaxError); ok {
		d.i = se.Offset
		return d.err(se.Msg)
	}
	return err
}

func (d *jsonDecoder) ws() { d.i = jsonwire.SkipSpace(d.b, d.i) }

// consume moves past c if it is the next byte.
func (d *jsonDecoder) consume(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// literal moves past lit if it comes next.
func (d *jsonDecoder) literal(lit string) bool {
	if bytes.HasPrefix(d.b[d.i:], []byte(lit)) {
		d.i += len(lit)
		return true
	}
	return false
}

func (d *jsonDecoder) null() bool { return d.literal("null") }
