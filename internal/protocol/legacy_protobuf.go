package protocol

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// legacyProtobufCodec is the protocol v1 Protobuf codec; see
// [LegacyProtobuf].
//
// A v1 params or result field holds a serialized message as bytes, and
// serialized bytes in a length-delimited field are exactly what an embedded
// message field is on the wire. So the v2 encoders write those fields
// directly, and the v2 field decoders read them, wherever v1 and v2 share a
// message's field set; v1 differs only by leaving fields out.
type legacyProtobufCodec struct{}

// Binary implements [Codec]: Protobuf goes out in binary frames.
func (legacyProtobufCodec) Binary() bool { return true }

// DecodeFrame implements [Codec] with the framing rules of [Protobuf].
func (legacyProtobufCodec) DecodeFrame(frame []byte, fn func(cmd *Command) error) error {
	return decodeFramePB(frame, fn, decodeLegacyCommandPB)
}

// AppendReply implements [Codec]; see [LegacyProtobuf] for what it leaves
// out.
func (legacyProtobufCodec) AppendReply(dst []byte, r *Reply) []byte {
	if !legacyWritable(r) {
		return dst
	}
	dst, m := pbOpenFrame(dst)
	return pbClose(appendLegacyReplyPB(dst, r), m)
}

// AppendPush implements [Codec]; see [LegacyProtobuf] for what it leaves
// out.
func (legacyProtobufCodec) AppendPush(dst []byte, p *Push) []byte {
	if _, ok := legacyPushType(p); !ok {
		return dst
	}
	dst, m := pbOpenFrame(dst)
	return pbClose(appendLegacyPushPB(dst, p), m)
}

// decodeLegacyCommandPB decodes Command{id=1, method=2, params=3} with the
// proto3 rules of decodeCommandPB: the last id, method and params win.
func decodeLegacyCommandPB(b []byte, c *Command) error {
	var method int64
	var params []byte
	err := pbEach(b, func(f pbField) error {
		switch {
		case f.is(1, protowire.VarintType):
			c.ID = uint32(f.v)
		case f.is(2, protowire.VarintType):
			// An enum is an int32 on the wire, negative ones included.
			method = int64(int32(f.v))
		case f.is(3, protowire.BytesType):
			params = f.b
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !legacyKnownMethod(method) {
		return fmt.Errorf("unknown method %d", method)
	}
	if err := legacyParamsPB(c, method, params); err != nil {
		return err
	}
	return legacyCheck(c, method)
}

// legacyParamsPB decodes params as the request of method, which is known.
// Empty params are an empty request, as proto3 defines.
func legacyParamsPB(c *Command, method int64, b []byte) error {
	switch method {
	case legacyConnect:
		return pbMessage(b, &c.Connect, connectFieldPB)
	case legacySubscribe:
		return pbMessage(b, &c.Subscribe, subscribeFieldPB)
	case legacyUnsubscribe:
		return pbMessage(b, &c.Unsubscribe, unsubscribeFieldPB)
	case legacyPublish:
		return pbMessage(b, &c.Publish, publishFieldPB)
	case legacyPresence:
		return pbMessage(b, &c.Presence, presenceFieldPB)
	case legacyPresenceStats:
		return pbMessage(b, &c.PresenceStats, presenceStatsFieldPB)
	case legacyHistory:
		return pbMessage(b, &c.History, historyFieldPB)
	case legacyPing:
		return pbMessage(b, &c.Ping, ignoreFieldPB[PingRequest])
	case legacySend:
		return pbMessage(b, &c.Send, sendFieldPB)
	case legacyRPC:
		return pbMessage(b, &c.RPC, rpcFieldPB)
	case legacyRefresh:
		return pbMessage(b, &c.Refresh, refreshFieldPB)
	default: // legacySubRefresh
		return pbMessage(b, &c.SubRefresh, subRefreshFieldPB)
	}
}

func appendLegacyReplyPB(b []byte, r *Reply) []byte {
	b = pbUint(b, 1, uint64(r.ID))
	if r.Error != nil {
		// A v1 error has no temporary flag.
		e := *r.Error
		e.Temporary = false
		return appendErrorPB(b, 2, &e)
	}
	return appendLegacyResultPB(b, 3, r)
}

// appendLegacyResultPB writes the result of r as field num. Unsubscribe,
// publish and ping results are empty messages, and an empty bytes field is
// left out in proto3, so for them, as for a reply without a result, nothing
// is written.
func appendLegacyResultPB(b []byte, num protowire.Number, r *Reply) []byte {
	mark := len(b)
	switch {
	case r.Push != nil:
		b = appendLegacyPushFieldPB(b, num, r.Push)
	case r.Connect != nil:
		b = appendLegacyConnectResultPB(b, num, r.Connect)
	case r.Subscribe != nil:
		b = appendLegacySubscribeResultPB(b, num, r.Subscribe)
	case r.Presence != nil:
		b = appendPresenceResultPB(b, num, r.Presence)
	case r.PresenceStats != nil:
		b = appendPresenceStatsPB(b, num, r.PresenceStats)
	case r.History != nil:
		b = appendLegacyHistoryResultPB(b, num, r.History)
	case r.RPC != nil:
		b = pbDataMessage(b, num, r.RPC.Data)
	case r.Refresh != nil:
		b = appendRefreshResultPB(b, num, r.Refresh)
	case r.SubRefresh != nil:
		b = pbExpiryMessage(b, num, r.SubRefresh.Expires, r.SubRefresh.TTL)
	}
	return pbOmitEmpty(b, mark)
}

// pbOmitEmpty removes the embedded message field written at mark when it
// came out empty, a tag and a zero length: v1 carries results and push
// bodies in bytes fields, which proto3 leaves out when empty.
func pbOmitEmpty(b []byte, mark int) []byte {
	if len(b) == mark+2 && b[mark+1] == 0 {
		return b[:mark]
	}
	return b
}

func appendLegacyPushFieldPB(b []byte, num protowire.Number, p *Push) []byte {
	b, m := pbOpen(b, num)
	return pbClose(appendLegacyPushPB(b, p), m)
}

// appendLegacyPushPB writes the fields of a v1 Push without a tag or length:
// type (left out for a publication), channel and the push body as data. p
// must pass legacyPushType; Push.ID has no v1 form.
func appendLegacyPushPB(b []byte, p *Push) []byte {
	typ, _ := legacyPushType(p)
	b = pbUint(b, 1, typ)
	b = pbString(b, 2, p.Channel)
	mark := len(b)
	switch {
	case p.Pub != nil:
		b = appendLegacyPublicationPB(b, 3, p.Pub)
	case p.Join != nil:
		b = appendInfoMessagePB(b, 3, &p.Join.Info)
	case p.Leave != nil:
		b = appendInfoMessagePB(b, 3, &p.Leave.Info)
	case p.Message != nil:
		b = pbDataMessage(b, 3, p.Message.Data)
	case p.Subscribe != nil:
		b = appendSubscribePushPB(b, 3, p.Subscribe)
	}
	// v1 Unsubscribe has no fields, so an unsubscribe push has no data.
	return pbOmitEmpty(b, mark)
}

// appendLegacyPublicationPB writes the v1 fields of a publication: data (4),
// info (5) and offset (6).
func appendLegacyPublicationPB(b []byte, num protowire.Number, p *Publication) []byte {
	b, m := pbOpen(b, num)
	b = pbBytes(b, 4, p.Data)
	if p.Info != nil {
		b = appendClientInfoPB(b, 5, p.Info)
	}
	b = pbUint(b, 6, p.Offset)
	return pbClose(b, m)
}

func appendLegacyPublicationsPB(b []byte, num protowire.Number,
	pubs []*Publication) []byte {
	for _, p := range pubs {
		if p == nil {
			p = &emptyPublication
		}
		b = appendLegacyPublicationPB(b, num, p)
	}
	return b
}

// appendLegacyConnectResultPB writes fields 1-6 of a connect result, the
// ones v1 has.
func appendLegacyConnectResultPB(b []byte, num protowire.Number,
	c *ConnectResult) []byte {
	var buf [smallMap]string
	b, m := pbOpen(b, num)
	b = pbString(b, 1, c.Client)
	b = pbString(b, 2, c.Version)
	b = pbExpiry(b, 3, c.Expires, c.TTL)
	b = pbBytes(b, 5, c.Data)
	for _, k := range sortedKeys(buf[:0], c.Subs) {
		sr := c.Subs[k]
		if sr == nil {
			sr = &emptySubscribeResult
		}
		b = appendLegacySubsEntryPB(b, 6, k, sr)
	}
	return pbClose(b, m)
}

func appendLegacySubsEntryPB(b []byte, num protowire.Number, k string,
	sr *SubscribeResult) []byte {
	b, m := pbOpen(b, num)
	b = pbStringAlways(b, 1, k)
	b = appendLegacySubscribeResultPB(b, 2, sr)
	return pbClose(b, m)
}

// appendLegacySubscribeResultPB writes fields 1-11 of a subscribe result,
// the ones v1 has.
func appendLegacySubscribeResultPB(b []byte, num protowire.Number,
	r *SubscribeResult) []byte {
	b, m := pbOpen(b, num)
	b = pbExpiry(b, 1, r.Expires, r.TTL)
	b = pbBool(b, 3, r.Recoverable)
	b = pbString(b, 6, r.Epoch)
	b = appendLegacyPublicationsPB(b, 7, r.Publications)
	b = pbBool(b, 8, r.Recovered)
	b = pbUint(b, 9, r.Offset)
	b = pbBool(b, 10, r.Positioned)
	b = pbBytes(b, 11, r.Data)
	return pbClose(b, m)
}

func appendLegacyHistoryResultPB(b []byte, num protowire.Number,
	r *HistoryResult) []byte {
	b, m := pbOpen(b, num)
	b = appendLegacyPublicationsPB(b, 1, r.Publications)
	b = pbString(b, 2, r.Epoch)
	b = pbUint(b, 3, r.Offset)
	return pbClose(b, m)
}
