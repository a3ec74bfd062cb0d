package protocol

import (
	"math"
	"strconv"
)

// legacyJSONCodec is the protocol v1 JSON codec; see [LegacyJSON]. It shares
// the framing, the scanner and the field decoders of the v2 JSON codec, and
// its encoders write keys in the order of the v1 schema, which is the v2
// order with the v2 additions left out.
type legacyJSONCodec struct{}

// Binary implements [Codec]: JSON goes out in text frames.
func (legacyJSONCodec) Binary() bool { return false }

// DecodeFrame implements [Codec] with the framing rules of [JSON], UTF-8
// validation included.
func (legacyJSONCodec) DecodeFrame(frame []byte, fn func(cmd *Command) error) error {
	return decodeFrameJSON(frame, fn, (*jsonDecoder).legacyCommand)
}

// AppendReply implements [Codec]; see [LegacyJSON] for what it leaves out.
func (legacyJSONCodec) AppendReply(dst []byte, r *Reply) []byte {
	if !legacyWritable(r) {
		return dst
	}
	return appendLegacyReplyJSON(dst, r)
}

// AppendPush implements [Codec]; see [LegacyJSON] for what it leaves out.
func (legacyJSONCodec) AppendPush(dst []byte, p *Push) []byte {
	if _, ok := legacyPushType(p); !ok {
		return dst
	}
	return appendLegacyPushJSON(dst, p)
}

// emptyJSONObject stands in for absent params: a v1 request with no fields
// may be sent without them, as proto3 leaves out an empty params.
var emptyJSONObject = []byte("{}")

// legacyCommand decodes one v1 command line. The request in params can only
// be decoded once the method is known, and JSON key order is the sender's:
// centrifuge-js 2.x writes method first, so params is decoded at once then;
// otherwise its offset is kept and it is decoded after the object, at the
// cost of a second scan. The last of repeated keys wins, and a null params
// counts as absent.
func (d *jsonDecoder) legacyCommand(c *Command) error {
	var (
		method     int64
		methodSeen bool
		params           = -1 // offset of the last params value
		decoded    int64 = -1 // the method that c's request was read as
	)
	err := d.line(func(key []byte) (err error) {
		switch string(key) {
		case "id":
			var v uint64
			v, err = d.uint(math.MaxUint32)
			c.ID = uint32(v)
		case "method":
			method, err = d.int(math.MaxInt32)
			methodSeen = true
		case "params":
			if d.null() {
				return nil
			}
			params, decoded = d.i, -1
			if !methodSeen || !legacyKnownMethod(method) {
				return d.skip()
			}
			decoded = method
			return d.legacyParams(c, method)
		default:
			return d.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	if !legacyKnownMethod(method) {
		return malformed("json: command %d: unknown method %d", d.n, method)
	}
	if decoded != method {
		if err := d.legacyLateParams(c, method, params); err != nil {
			return err
		}
	}
	if err := legacyCheck(c, method); err != nil {
		return malformed("json: command %d: %v", d.n, err)
	}
	return nil
}

// legacyLateParams decodes the params value at offset start, already
// validated by the scan of the whole line, or an empty request when start
// is -1.
func (d *jsonDecoder) legacyLateParams(c *Command, method int64, start int) error {
	if start < 0 {
		e := jsonDecoder{b: emptyJSONObject, n: d.n}
		return e.legacyParams(c, method)
	}
	// The value sits inside the command object, one level deep.
	d.i, d.depth = start, 1
	defer func() { d.depth = 0 }()
	return d.legacyParams(c, method)
}

// legacyParams decodes the object at d.i as the request of method, which
// is known, replacing any request that c holds already.
func (d *jsonDecoder) legacyParams(c *Command, method int64) (err error) {
	*c = Command{ID: c.ID}
	switch method {
	case legacyConnect:
		c.Connect, err = jsonMessage(d, connectField)
	case legacySubscribe:
		c.Subscribe, err = jsonMessage(d, subscribeField)
	case legacyUnsubscribe:
		c.Unsubscribe, err = jsonMessage(d, unsubscribeField)
	case legacyPublish:
		c.Publish, err = jsonMessage(d, publishField)
	case legacyPresence:
		c.Presence, err = jsonMessage(d, presenceField)
	case legacyPresenceStats:
		c.PresenceStats, err = jsonMessage(d, presenceStatsField)
	case legacyHistory:
		c.History, err = jsonMessage(d, historyField)
	case legacyPing:
		c.Ping, err = jsonMessage(d, skipField[PingRequest])
	case legacySend:
		c.Send, err = jsonMessage(d, sendField)
	case legacyRPC:
		c.RPC, err = jsonMessage(d, rpcField)
	case legacyRefresh:
		c.Refresh, err = jsonMessage(d, refreshField)
	case legacySubRefresh:
		c.SubRefresh, err = jsonMessage(d, subRefreshField)
	}
	return err
}

// appendLegacyReplyJSON writes keys in the reference order: id, error,
// result.
func appendLegacyReplyJSON(b []byte, r *Reply) []byte {
	b = append(b, '{')
	s := len(b)
	if r.ID != 0 {
		b = append(b, `"id":`...)
		b = strconv.AppendUint(b, uint64(r.ID), 10)
	}
	if r.Error != nil {
		// A v1 error has no temporary flag.
		e := *r.Error
		e.Temporary = false
		b = appendErrorJSON(jsonKey(b, s, `"error":`), &e)
		return append(b, '}')
	}
	mark := len(b)
	b, ok := appendLegacyResultJSON(jsonKey(b, s, `"result":`), r)
	if !ok {
		// A ping reply, and any reply without a result, is the id alone.
		b = b[:mark]
	}
	return append(b, '}')
}

// appendLegacyResultJSON writes the result object of r, or reports false
// when r has none.
func appendLegacyResultJSON(b []byte, r *Reply) ([]byte, bool) {
	switch {
	case r.Push != nil:
		b = appendLegacyPushJSON(b, r.Push)
	case r.Connect != nil:
		b = appendLegacyConnectResultJSON(b, r.Connect)
	case r.Subscribe != nil:
		b = appendLegacySubscribeResultJSON(b, r.Subscribe)
	case r.Unsubscribe != nil, r.Publish != nil:
		// The encoding of an empty message is {}, and centrifuge-js 2.x
		// expects it: spec §3.
		b = append(b, "{}"...)
	case r.Presence != nil:
		b = appendPresenceResultJSON(b, r.Presence)
	case r.PresenceStats != nil:
		b = appendPresenceStatsJSON(b, r.PresenceStats)
	case r.History != nil:
		b = appendLegacyHistoryResultJSON(b, r.History)
	case r.RPC != nil:
		b = append(b, '{')
		b = append(jsonRawField(b, len(b), `"data":`, r.RPC.Data), '}')
	case r.Refresh != nil:
		b = appendRefreshResultJSON(b, r.Refresh)
	case r.SubRefresh != nil:
		b = append(b, '{')
		b = jsonExpiry(b, len(b), r.SubRefresh.Expires, r.SubRefresh.TTL)
		b = append(b, '}')
	default:
		return b, false
	}
	return b, true
}

// appendLegacyPushJSON writes a v1 Push: type (left out for a publication),
// channel, and the push body as data. p must pass legacyPushType. Push.ID
// has no v1 form; it is never set for v1 clients, which cannot ask for
// channel compaction.
func appendLegacyPushJSON(b []byte, p *Push) []byte {
	typ, _ := legacyPushType(p)
	b = append(b, '{')
	s := len(b)
	b = jsonUintField(b, s, `"type":`, typ)
	b = jsonStringField(b, s, `"channel":`, p.Channel)
	b = jsonKey(b, s, `"data":`)
	switch {
	case p.Pub != nil:
		b = appendLegacyPublicationJSON(b, p.Pub)
	case p.Join != nil:
		b = append(appendClientInfoJSON(append(b, `{"info":`...), &p.Join.Info), '}')
	case p.Leave != nil:
		b = append(appendClientInfoJSON(append(b, `{"info":`...), &p.Leave.Info), '}')
	case p.Unsubscribe != nil:
		// v1 Unsubscribe has no fields: the code and reason are v2's.
		b = append(b, "{}"...)
	case p.Message != nil:
		b = append(b, '{')
		b = append(jsonRawField(b, len(b), `"data":`, p.Message.Data), '}')
	case p.Subscribe != nil:
		b = appendSubscribePushJSON(b, p.Subscribe)
	}
	return append(b, '}')
}

// appendLegacyPublicationJSON writes the v1 fields of a publication: data,
// info and offset. Tags, delta and time came with v2.
func appendLegacyPublicationJSON(b []byte, p *Publication) []byte {
	b = append(b, '{')
	s := len(b)
	b = jsonRawField(b, s, `"data":`, p.Data)
	if p.Info != nil {
		b = appendClientInfoJSON(jsonKey(b, s, `"info":`), p.Info)
	}
	b = jsonUintField(b, s, `"offset":`, p.Offset)
	return append(b, '}')
}

// appendLegacyPublicationsJSON writes a list as appendPublicationsJSON
// does, with v1 publications.
func appendLegacyPublicationsJSON(b []byte, pubs []*Publication) []byte {
	b = append(b, '[')
	for i, p := range pubs {
		if i > 0 {
			b = append(b, ',')
		}
		if p == nil {
			p = &emptyPublication
		}
		b = appendLegacyPublicationJSON(b, p)
	}
	return append(b, ']')
}

// appendLegacyConnectResultJSON writes the v1 fields of a connect result:
// v1 clients keep the connection alive without ping and pong, and know
// nothing of sessions, nodes or server time.
func appendLegacyConnectResultJSON(b []byte, c *ConnectResult) []byte {
	b = append(b, '{')
	s := len(b)
	b = jsonStringField(b, s, `"client":`, c.Client)
	b = jsonStringField(b, s, `"version":`, c.Version)
	b = jsonExpiry(b, s, c.Expires, c.TTL)
	b = jsonRawField(b, s, `"data":`, c.Data)
	if len(c.Subs) > 0 {
		b = appendLegacySubsJSON(jsonKey(b, s, `"subs":`), c.Subs)
	}
	return append(b, '}')
}

// appendLegacySubsJSON writes the server-side subscriptions map as
// appendSubsJSON does, with v1 subscribe results.
func appendLegacySubsJSON(b []byte, subs map[string]*SubscribeResult) []byte {
	var buf [smallMap]string
	b = append(b, '{')
	for i, k := range sortedKeys(buf[:0], subs) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendJSONString(b, k), ':')
		sr := subs[k]
		if sr == nil {
			sr = &emptySubscribeResult
		}
		b = appendLegacySubscribeResultJSON(b, sr)
	}
	return append(b, '}')
}

// appendLegacySubscribeResultJSON writes the v1 fields of a subscribe
// result, which end at data: was_recovering, delta and id came with v2.
func appendLegacySubscribeResultJSON(b []byte, r *SubscribeResult) []byte {
	b = append(b, '{')
	s := len(b)
	b = jsonExpiry(b, s, r.Expires, r.TTL)
	b = jsonBoolField(b, s, `"recoverable":`, r.Recoverable)
	b = jsonStringField(b, s, `"epoch":`, r.Epoch)
	if len(r.Publications) > 0 {
		b = appendLegacyPublicationsJSON(jsonKey(b, s, `"publications":`),
			r.Publications)
	}
	b = jsonBoolField(b, s, `"recovered":`, r.Recovered)
	b = jsonUintField(b, s, `"offset":`, r.Offset)
	b = jsonBoolField(b, s, `"positioned":`, r.Positioned)
	b = jsonRawField(b, s, `"data":`, r.Data)
	return append(b, '}')
}

// appendLegacyHistoryResultJSON writes all three fields always, as
// appendHistoryResultJSON does: centrifuge-js 2.x hands publications to the
// application unchecked, so an empty page is [] rather than null.
func appendLegacyHistoryResultJSON(b []byte, r *HistoryResult) []byte {
	b = append(b, `{"publications":`...)
	b = appendLegacyPublicationsJSON(b, r.Publications)
	b = append(b, `,"epoch":`...)
	b = appendJSONString(b, r.Epoch)
	b = append(b, `,"offset":`...)
	b = strconv.AppendUint(b, r.Offset, 10)
	return append(b, '}')
}
