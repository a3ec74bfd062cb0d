package protocol

import (
	"bytes"
	"strconv"

	"github.com/heraldhq/herald/internal/jsonwire"
)

// jsonCodec is the protocol v2 JSON codec. Its encoders write keys in the
// order of spec §4-§6 and omit zero values except where the spec says a
// field is always written.
type jsonCodec struct{}

// Binary implements [Codec]: JSON goes out in text frames.
func (jsonCodec) Binary() bool { return false }

// AppendReply implements [Codec].
func (jsonCodec) AppendReply(dst []byte, r *Reply) []byte {
	return appendReplyJSON(dst, r)
}

// AppendPush implements [Codec].
func (jsonCodec) AppendPush(dst []byte, p *Push) []byte {
	return appendPushJSON(dst, p)
}

// jsonKey appends the separator and the quoted key (with its colon) of the
// next field of an object whose body starts at start: a comma is needed only
// when a field was already written.
func jsonKey(b []byte, start int, key string) []byte {
	if len(b) > start {
		b = append(b, ',')
	}
	return append(b, key...)
}

func appendReplyJSON(b []byte, r *Reply) []byte {
	b = append(b, '{')
	s := len(b)
	if r.ID != 0 {
		b = append(b, `"id":`...)
		b = strconv.AppendUint(b, uint64(r.ID), 10)
	}
	if r.Error != nil {
		b = appendErrorJSON(jsonKey(b, s, `"error":`), r.Error)
	}
	if r.Push != nil {
		b = appendPushJSON(jsonKey(b, s, `"push":`), r.Push)
	}
	// A success reply must carry its result even when it is empty: clients
	// tell a success from a ping by the result field being there.
	if r.Connect != nil {
		b = appendConnectResultJSON(jsonKey(b, s, `"connect":`), r.Connect)
	}
	if r.Subscribe != nil {
		b = appendSubscribeResultJSON(jsonKey(b, s, `"subscribe":`), r.Subscribe)
	}
	if r.Unsubscribe != nil {
		b = append(jsonKey(b, s, `"unsubscribe":`), "{}"...)
	}
	if r.Publish != nil {
		b = append(jsonKey(b, s, `"publish":`), "{}"...)
	}
	if r.Presence != nil {
		b = appendPresenceResultJSON(jsonKey(b, s, `"presence":`), r.Presence)
	}
	if r.PresenceStats != nil {
		b = appendPresenceStatsJSON(jsonKey(b, s, `"presence_stats":`), r.PresenceStats)
	}
	if r.History != nil {
		b = appendHistoryResultJSON(jsonKey(b, s, `"history":`), r.History)
	}
	if r.Ping != nil {
		b = append(jsonKey(b, s, `"ping":`), "{}"...)
	}
	if r.RPC != nil {
		b = append(jsonKey(b, s, `"rpc":`), '{')
		b = jsonRawField(b, len(b), `"data":`, r.RPC.Data)
		b = append(b, '}')
	}
	if r.Refresh != nil {
		b = appendRefreshResultJSON(jsonKey(b, s, `"refresh":`), r.Refresh)
	}
	if r.SubRefresh != nil {
		b = append(jsonKey(b, s, `"sub_refresh":`), '{')
		b = jsonExpiry(b, len(b), r.SubRefresh.Expires, r.SubRefresh.TTL)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendErrorJSON(b []byte, e *Error) []byte {
	b = append(b, '{')
	s := len(b)
	b = jsonUintField(b, s, `"code":`, uint64(e.Code))
	b = jsonStringField(b, s, `"message":`, e.Message)
	b = jsonBoolField(b, s, `"temporary":`, e.Temporary)
	return append(b, '}')
}

func appendPushJSON(b []byte, p *Push) []byte {
	b = append(b, '{')
	s := len(b)
	b = jsonIntField(b, s, `"id":`, p.ID)
	b = jsonStringField(b, s, `"channel":`, p.Channel)
	if p.Pub != nil {
		b = appendPublicationJSON(jsonKey(b, s, `"pub":`), p.Pub)
	}
	if p.Join != nil {
		b = append(jsonKey(b, s, `"join":`), `{"info":`...)
		b = append(appendClientInfoJSON(b, &p.Join.Info), '}')
	}
	if p.Leave != nil {
		b = append(jsonKey(b, s, `"leave":`), `{"info":`...)
		b = append(appendClientInfoJSON(b, &p.Leave.Info), '}')
	}
	if p.Unsubscribe != nil {
		b = append(jsonKey(b, s, `"unsubscribe":`), '{')
		us := len(b)
		b = jsonUintField(b, us, `"code":`, uint64(p.Unsubscribe.Code))
		b = jsonStringField(b, us, `"reason":`, p.Unsubscribe.Reason)
		b = append(b, '}')
	}
	if p.Message != nil {
		b = append(jsonKey(b, s, `"message":`), '{')
		b = jsonRawField(b, len(b), `"data":`, p.Message.Data)
		b = append(b, '}')
	}
	if p.Subscribe != nil {
		b = appendSubscribePushJSON(jsonKey(b, s, `"subscribe":`), p.Subscribe)
	}
	if p.Connect != nil {
		b = appendConnectPushJSON(jsonKey(b, s, `"connect":`), p.Connect)
	}
	if p.Disconnect != nil {
		// Reconnect is not written: protocol v2 clients derive it from the
		// code, and the reference server leaves the field unset.
		b = append(jsonKey(b, s, `"disconnect":`), '{')
		ds := len(b)
		b = jsonUintField(b, ds, `"code":`, uint64(p.Disconnect.Code))
		b = jsonStringField(b, ds, `"reason":`, p.Disconnect.Reason)
		b = append(b, '}')
	}
	if p.Refresh != nil {
		b = append(jsonKey(b, s, `"refresh":`), '{')
		b = jsonExpiry(b, len(b), p.Refresh.Expires, p.Refresh.TTL)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendPublicationJSON(b []byte, p *Publication) []byte {
	b = append(b, '{')
	s := len(b)
	b = jsonRawField(b, s, `"data":`, p.Data)
	if p.Info != nil {
		b = appendClientInfoJSON(jsonKey(b, s, `"info":`), p.Info)
	}
	b = jsonUintField(b, s, `"offset":`, p.Offset)
	if len(p.Tags) > 0 {
		b = appendStringMapJSON(jsonKey(b, s, `"tags":`), p.Tags)
	}
	b = jsonBoolField(b, s, `"delta":`, p.Delta)
	b = jsonIntField(b, s, `"time":`, p.Time)
	return append(b, '}')
}

// appendClientInfoJSON writes user and client always: clients read them
// without checking that they are there.
func appendClientInfoJSON(b []byte, ci *ClientInfo) []byte {
	b = append(b, `{"user":`...)
	b = appendJSONString(b, ci.User)
	b = append(b, `,"client":`...)
	b = appendJSONString(b, ci.Client)
	// Start 0: user and client are already there, so a comma is due.
	b = jsonRawField(b, 0, `"conn_info":`, ci.ConnInfo)
	b = jsonRawField(b, 0, `"chan_info":`, ci.ChanInfo)
	return append(b, '}')
}

func appendSubscribePushJSON(b []byte, sp *Subscribe) []byte {
	b = append(b, '{')
	s := len(b)
	b = jsonBoolField(b, s, `"recoverable":`, sp.Recoverable)
	b = jsonStringField(b, s, `"epoch":`, sp.Epoch)
	b = jsonUintField(b, s, `"offset":`, sp.Offset)
	b = jsonBoolField(b, s, `"positioned":`, sp.Positioned)
	b = jsonRawField(b, s, `"data":`, sp.Data)
	return append(b, '}')
}

// appendConnectPushJSON follows the field order of the Connect message, which
// differs from ConnectResult's: data and subs come before expires and ttl.
func appendConnectPushJSON(b []byte, c *Connect) []byte {
	b = append(b, '{')
	s := len(b)
	b = jsonStringField(b, s, `"client":`, c.Client)
	b = jsonStringField(b, s, `"version":`, c.Version)
	b = jsonRawField(b, s, `"data":`, c.Data)
	if len(c.Subs) > 0 {
		b = appendSubsJSON(jsonKey(b, s, `"subs":`), c.Subs)
	}
	b = jsonExpiry(b, s, c.Expires, c.TTL)
	b = jsonUintField(b, s, `"ping":`, uint64(c.Ping))
	b = jsonBoolField(b, s, `"pong":`, c.Pong)
	b = jsonStringField(b, s, `"session":`, c.Session)
	b = jsonStringField(b, s, `"node":`, c.Node)
	b = jsonIntField(b, s, `"time":`, c.Time)
	return append(b, '}')
}

func appendConnectResultJSON(b []byte, c *ConnectResult) []byte {
	b = append(b, '{')
	s := len(b)
	b = jsonStringField(b, s, `"client":`, c.Client)
	b = jsonStringField(b, s, `"version":`, c.Version)
	b = jsonExpiry(b, s, c.Expires, c.TTL)
	b = jsonRawField(b, s, `"data":`, c.Data)
	if len(c.Subs) > 0 {
		b = appendSubsJSON(jsonKey(b, s, `"subs":`), c.Subs)
	}
	b = jsonUintField(b, s, `"ping":`, uint64(c.Ping))
	b = jsonBoolField(b, s, `"pong":`, c.Pong)
	b = jsonStringField(b, s, `"session":`, c.Session)
	b = jsonStringField(b, s, `"node":`, c.Node)
	b = jsonIntField(b, s, `"time":`, c.Time)
	return append(b, '}')
}

// appendSubsJSON writes the server-side subscriptions map. A nil value is
// written as {}, never null: clients read fields of every entry.
func appendSubsJSON(b []byte, subs map[string]*SubscribeResult) []byte {
	var buf [smallMap]string
	b = append(b, '{')
	for i, k := range sortedKeys(buf[:0], subs) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendJSONString(b, k), ':')
		if sr := subs[k]; sr != nil {
			b = appendSubscribeResultJSON(b, sr)
		} else {
			b = append(b, "{}"...)
		}
	}
	return append(b, '}')
}

func appendSubscribeResultJSON(b []byte, r *SubscribeResult) []byte {
	b = append(b, '{')
	s := len(b)
	b = jsonExpiry(b, s, r.Expires, r.TTL)
	b = jsonBoolField(b, s, `"recoverable":`, r.Recoverable)
	b = jsonStringField(b, s, `"epoch":`, r.Epoch)
	if len(r.Publications) > 0 {
		b = appendPublicationsJSON(jsonKey(b, s, `"publications":`), r.Publications)
	}
	b = jsonBoolField(b, s, `"recovered":`, r.Recovered)
	b = jsonUintField(b, s, `"offset":`, r.Offset)
	b = jsonBoolField(b, s, `"positioned":`, r.Positioned)
	b = jsonRawField(b, s, `"data":`, r.Data)
	b = jsonBoolField(b, s, `"was_recovering":`, r.WasRecovering)
	b = jsonBoolField(b, s, `"delta":`, r.Delta)
	b = jsonIntField(b, s, `"id":`, r.ID)
	return append(b, '}')
}

// appendPublicationsJSON writes a list, [] when it is empty. A nil element is
// written as an empty publication because clients read fields of each one.
func appendPublicationsJSON(b []byte, pubs []*Publication) []byte {
	b = append(b, '[')
	for i, p := range pubs {
		if i > 0 {
			b = append(b, ',')
		}
		if p != nil {
			b = appendPublicationJSON(b, p)
		} else {
			b = append(b, "{}"...)
		}
	}
	return append(b, ']')
}

// appendPresenceResultJSON writes presence always, as {} when there is
// nobody: the spec allows {} or null and every client handles an object.
func appendPresenceResultJSON(b []byte, r *PresenceResult) []byte {
	var buf [smallMap]string
	b = append(b, `{"presence":{`...)
	for i, k := range sortedKeys(buf[:0], r.Presence) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendJSONString(b, k), ':')
		if ci := r.Presence[k]; ci != nil {
			b = appendClientInfoJSON(b, ci)
		} else {
			b = appendClientInfoJSON(b, &emptyClientInfo)
		}
	}
	return append(b, "}}"...)
}

// emptyClientInfo stands in for a nil map value.
var emptyClientInfo ClientInfo

// appendPresenceStatsJSON writes both counters always, zeros included.
func appendPresenceStatsJSON(b []byte, r *PresenceStatsResult) []byte {
	b = append(b, `{"num_clients":`...)
	b = strconv.AppendUint(b, uint64(r.NumClients), 10)
	b = append(b, `,"num_users":`...)
	b = strconv.AppendUint(b, uint64(r.NumUsers), 10)
	return append(b, '}')
}

// appendHistoryResultJSON writes all three fields always; an empty page is
// [] rather than null so that clients can take its length unchecked.
func appendHistoryResultJSON(b []byte, r *HistoryResult) []byte {
	b = append(b, `{"publications":`...)
	b = appendPublicationsJSON(b, r.Publications)
	b = append(b, `,"epoch":`...)
	b = appendJSONString(b, r.Epoch)
	b = append(b, `,"offset":`...)
	b = strconv.AppendUint(b, r.Offset, 10)
	return append(b, '}')
}

func appendRefreshResultJSON(b []byte, r *RefreshResult) []byte {
	b = append(b, '{')
	s := len(b)
	b = jsonStringField(b, s, `"client":`, r.Client)
	b = jsonStringField(b, s, `"version":`, r.Version)
	b = jsonExpiry(b, s, r.Expires, r.TTL)
	return append(b, '}')
}

// appendStringMapJSON writes a string map in key order.
func appendStringMapJSON(b []byte, m map[string]string) []byte {
	var buf [smallMap]string
	b = append(b, '{')
	for i, k := range sortedKeys(buf[:0], m) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendJSONString(b, k), ':')
		b = appendJSONString(b, m[k])
	}
	return append(b, '}')
}

// jsonExpiry writes the expires and ttl pair that several messages share.
func jsonExpiry(b []byte, s int, expires bool, ttl uint32) []byte {
	b = jsonBoolField(b, s, `"expires":`, expires)
	return jsonUintField(b, s, `"ttl":`, uint64(ttl))
}

// The json*Field helpers write one field of an object whose body starts at s,
// and nothing when the value is the zero value.

func jsonUintField(b []byte, s int, key string, v uint64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendUint(jsonKey(b, s, key), v, 10)
}

func jsonIntField(b []byte, s int, key string, v int64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendInt(jsonKey(b, s, key), v, 10)
}

func jsonBoolField(b []byte, s int, key string, v bool) []byte {
	if !v {
		return b
	}
	return append(jsonKey(b, s, key), "true"...)
}

func jsonStringField(b []byte, s int, key string, v string) []byte {
	if v == "" {
		return b
	}
	return appendJSONString(jsonKey(b, s, key), v)
}

func jsonRawField(b []byte, s int, key string, v Raw) []byte {
	if len(v) == 0 {
		return b
	}
	return appendJSONRaw(jsonKey(b, s, key), v)
}

// appendJSONRaw embeds an already encoded JSON value. Raw '\n' bytes are
// dropped (spec §3): frames are split on '\n', and in valid JSON a raw
// newline can only be insignificant whitespace, never part of a string. A
// value of nothing but newlines becomes null so that the output stays JSON.
func appendJSONRaw(b []byte, v []byte) []byte {
	start := len(b)
	for {
		i := bytes.IndexByte(v, '\n')
		if i < 0 {
			b = append(b, v...)
			break
		}
		b = append(b, v[:i]...)
		v = v[i+1:]
	}
	if len(b) == start {
		b = append(b, "null"...)
	}
	return b
}

// jsonEscape is how the client protocol escapes strings: as encoding/json
// does by default, so that output is byte-identical to the standard
// library's, and with U+2028 and U+2029 escaped because JavaScript parsers
// before ES2019 reject them raw.
const jsonEscape = jsonwire.EscapeHTML | jsonwire.EscapeLineTerminators

// appendJSONString appends s as a quoted JSON string; invalid UTF-8 becomes
// \ufffd.
func appendJSONString(b []byte, s string) []byte {
	return jsonwire.AppendString(b, s, jsonEscape)
}

// AppendStringData appends data as a quoted JSON string. On a JSON
// subscription that negotiated delta compression every publication's data
// travels this way, full payload or fossil delta alike, because a delta is
// not JSON. Callers check [utf8.Valid] first: invalid UTF-8 would become
// \ufffd and the client would not get the bytes back.
func AppendStringData(dst, data []byte) []byte {
	return jsonwire.AppendString(dst, string(data), jsonEscape)
}
