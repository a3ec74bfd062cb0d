package protocol

import (
	"fmt"
	"unicode/utf8"
)

// Client protocol v1 (centrifuge-js 2.x) is served by two more codecs over
// the v2 model, so that the session implements each behaviour once and v1
// is only a wire format and a mapping. A v1 command names its request with
// a method number and carries it as an opaque params payload; a v1 reply
// carries its result, or a push, as an opaque result payload. The messages
// inside those payloads have the v2 field numbers and JSON names, minus the
// fields v2 added, so the v2 field decoders and most v2 encoders serve both.
// See legacy-protocol-v1.md.

var (
	// LegacyJSON is the protocol v1 JSON codec: text frames holding objects
	// separated by '\n', each {"id","method","params"} in and
	// {"id","error","result"} out.
	//
	// DecodeFrame maps each v1 command onto a Command with the same ID and
	// exactly one request set, read from params as the method number says
	// (method 0 or absent is connect, 7 ping). Absent or null params stand
	// for an empty request. Unknown keys, such as the seq and gen that
	// centrifuge-js 2.x sends from old state, are ignored, and so are the
	// request fields v2 added. An unknown method number, or an ID of 0 on
	// anything but send (8), is malformed: v1 has no pong, and without that
	// rule a v1 command could look like a v2 pong to the session.
	//
	// AppendReply writes a reply as {"id":N,"result":{...}} or
	// {"id":N,"error":{...}} with the v1 fields of the result only; a ping,
	// publish or unsubscribe result becomes {"id":N}, {"id":N,"result":{}}
	// and {"id":N,"result":{}}. A push is written as
	// {"result":{"type":T,"channel":C,"data":{...}}}.
	//
	// Some replies have no v1 form, and AppendReply returns dst unchanged
	// for them. The empty Reply, a v2 server ping: centrifuge-js 2.x
	// crashes on it, so the session keeps a v1 connection alive with
	// WebSocket ping frames instead, and answers the client's own pings
	// (method 7) with Reply{ID, Ping}. A Push carrying Connect, Disconnect
	// or Refresh (v1 types 6-8): v1 defined them for unidirectional
	// transports, where Herald speaks v2 only, and a bidirectional v1
	// client learns of a disconnect from the close frame
	// ([LegacyCloseReason]). And a Push with no body at all.
	//
	// AppendPush writes the bare v1 Push object, the result of a push
	// reply, and likewise nothing for the pushes above.
	LegacyJSON Codec = legacyJSONCodec{}
	// LegacyProtobuf is the protocol v1 Protobuf codec: binary frames of
	// varint length-prefixed Command{id=1, method=2, params=3} in and
	// Reply{id=1, error=2, result=3} out, where params and result hold a
	// serialized request, result or Push{type=1, channel=2, data=3}. It
	// maps commands and replies exactly as [LegacyJSON] does, with proto3
	// rules on top: an empty result or push data is left out, so publish
	// and unsubscribe replies carry only their id. The empty Reply and
	// Connect, Disconnect and Refresh pushes are not written, as in
	// [LegacyJSON], and the session keeps the connection alive with
	// WebSocket ping frames.
	LegacyProtobuf Codec = legacyProtobufCodec{}
)

// Version is a client protocol version.
type Version int

// Client protocol versions.
const (
	VersionUnknown Version = iota
	Version1
	Version2
)

// String returns "v1", "v2" or "unknown", the spelling of the
// cf_protocol_version query parameter.
func (v Version) String() string {
	switch v {
	case Version1:
		return "v1"
	case Version2:
		return "v2"
	}
	return "unknown"
}

// Method numbers of v1 commands (legacy spec §1.1).
const (
	legacyConnect int64 = iota
	legacySubscribe
	legacyUnsubscribe
	legacyPublish
	legacyPresence
	legacyPresenceStats
	legacyHistory
	legacyPing
	legacySend
	legacyRPC
	legacyRefresh
	legacySubRefresh
)

// legacyKnownMethod reports whether m is a v1 method number.
func legacyKnownMethod(m int64) bool {
	return m >= legacyConnect && m <= legacySubRefresh
}

// legacyCheck applies the v1 rules that the v2 model cannot express to a
// decoded command: its ID must be set unless it is a send (legacy spec §3),
// and its request carries only fields that v1 has. The caller wraps the
// error in ErrMalformed with its position in the frame.
func legacyCheck(c *Command, method int64) error {
	if c.ID == 0 && method != legacySend {
		return fmt.Errorf("v1: method %d needs an id", method)
	}
	if r := c.Connect; r != nil {
		// Connect headers are a v2 addition.
		r.Headers = nil
		for _, sr := range r.Subs {
			legacySubscribeRequest(sr)
		}
	}
	if c.Subscribe != nil {
		legacySubscribeRequest(c.Subscribe)
	}
	return nil
}

// legacySubscribeRequest drops the fields v2 added to SubscribeRequest. The
// v2 field decoders read them, but a v1 client cannot be sent what they ask
// for: delta publications, channel compaction, map subscriptions and join
// and leave on request have no v1 form.
func legacySubscribeRequest(m *SubscribeRequest) {
	*m = SubscribeRequest{Channel: m.Channel, Token: m.Token, Recover: m.Recover,
		Epoch: m.Epoch, Offset: m.Offset}
}

// Push types of v1 (legacy spec §1.3).
const (
	legacyPushPublication uint64 = iota
	legacyPushJoin
	legacyPushLeave
	legacyPushUnsubscribe
	legacyPushMessage
	legacyPushSubscribe
)

// legacyPushType returns the v1 type of p, and false when v1 clients on a
// bidirectional transport have no use for it: Connect, Disconnect and
// Refresh pushes, and a push with no body at all.
func legacyPushType(p *Push) (uint64, bool) {
	switch {
	case p.Pub != nil:
		return legacyPushPublication, true
	case p.Join != nil:
		return legacyPushJoin, true
	case p.Leave != nil:
		return legacyPushLeave, true
	case p.Unsubscribe != nil:
		return legacyPushUnsubscribe, true
	case p.Message != nil:
		return legacyPushMessage, true
	case p.Subscribe != nil:
		return legacyPushSubscribe, true
	}
	return 0, false
}

// legacyWritable reports whether r has a v1 form: not the empty Reply (a v2
// server ping) and not a push that [legacyPushType] rejects.
func legacyWritable(r *Reply) bool {
	if *r == (Reply{}) {
		return false
	}
	if r.Push != nil {
		_, ok := legacyPushType(r.Push)
		return ok
	}
	return true
}

// maxCloseReason is the most a WebSocket close reason may hold: a control
// frame payload is at most 125 bytes, two of which carry the code.
const maxCloseReason = 123

// LegacyCloseReason is the close-frame reason a v1 client expects:
// {"reason":"<text>","reconnect":<bool>}, reconnect taken from d.Reconnect.
// centrifuge-js 2.x reads its reconnect advice from this JSON and ignores the
// close code. The result never exceeds the 123 bytes a close frame allows:
// a longer reason text is cut at a character boundary, outside any escape,
// so the result stays valid JSON.
func LegacyCloseReason(d *Disconnect) string {
	const prefix = `{"reason":`
	suffix := `,"reconnect":false}`
	if d.Reconnect {
		suffix = `,"reconnect":true}`
	}
	var buf [maxCloseReason + 32]byte
	b := appendJSONString(append(buf[:0], prefix...), d.Reason)
	if len(b)+len(suffix) > maxCloseReason {
		// One byte stays free for the closing quote.
		limit := maxCloseReason - len(suffix) - 1
		b = append(cutJSONString(b, len(prefix), limit), '"')
	}
	return string(append(b, suffix...))
}

// cutJSONString shortens the JSON string that appendJSONString wrote into b
// from index start to end at most at limit, without its closing quote. It
// cuts only between whole characters and escape sequences: appendJSONString
// writes no surrogate escapes, so no escape depends on the one after it.
func cutJSONString(b []byte, start, limit int) []byte {
	end := start + 1 // past the opening quote
	for end < len(b)-1 {
		var size int
		switch {
		case b[end] == '\\' && b[end+1] == 'u':
			size = 6
		case b[end] == '\\':
			size = 2
		default:
			_, size = utf8.DecodeRune(b[end:])
		}
		if end+size > limit {
			break
		}
		end += size
	}
	return b[:end]
}
