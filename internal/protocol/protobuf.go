package protocol

import (
	"google.golang.org/protobuf/encoding/protowire"
)

// protobufCodec is the protocol v2 Protobuf codec.
//
// Its encoders write a message in one pass. An embedded message gets a
// one-byte length placeholder that is patched when the message is done; a
// message of 128 bytes or more needs a longer varint, and its bytes are moved
// up to make room. That costs one memmove per nesting level for large
// payloads, which is cheaper and simpler than a separate sizing pass over
// every message. Proto3 rules apply: zero scalars are not written, an empty
// embedded message that is set is written with length 0 (so that a client
// sees the result of a successful reply), and map entries carry their key
// and value always.
type protobufCodec struct{}

// Binary implements [Codec]: Protobuf goes out in binary frames.
func (protobufCodec) Binary() bool { return true }

// AppendReply implements [Codec].
func (protobufCodec) AppendReply(dst []byte, r *Reply) []byte {
	dst, m := pbOpenFrame(dst)
	return pbClose(appendReplyPB(dst, r), m)
}

// AppendPush implements [Codec].
func (protobufCodec) AppendPush(dst []byte, p *Push) []byte {
	dst, m := pbOpenFrame(dst)
	return pbClose(appendPushPB(dst, p), m)
}

func appendReplyPB(b []byte, r *Reply) []byte {
	b = pbUint(b, 1, uint64(r.ID))
	if r.Error != nil {
		b = appendErrorPB(b, 2, r.Error)
	}
	if r.Push != nil {
		b = appendPushFieldPB(b, 4, r.Push)
	}
	if r.Connect != nil {
		b = appendConnectResultPB(b, 5, r.Connect)
	}
	if r.Subscribe != nil {
		b = appendSubscribeResultPB(b, 6, r.Subscribe)
	}
	if r.Unsubscribe != nil {
		b = pbEmpty(b, 7)
	}
	if r.Publish != nil {
		b = pbEmpty(b, 8)
	}
	if r.Presence != nil {
		b = appendPresenceResultPB(b, 9, r.Presence)
	}
	if r.PresenceStats != nil {
		b = appendPresenceStatsPB(b, 10, r.PresenceStats)
	}
	if r.History != nil {
		b = appendHistoryResultPB(b, 11, r.History)
	}
	if r.Ping != nil {
		b = pbEmpty(b, 12)
	}
	if r.RPC != nil {
		b = pbDataMessage(b, 13, r.RPC.Data)
	}
	if r.Refresh != nil {
		b = appendRefreshResultPB(b, 14, r.Refresh)
	}
	if r.SubRefresh != nil {
		b = pbExpiryMessage(b, 15, r.SubRefresh.Expires, r.SubRefresh.TTL)
	}
	return b
}

func appendErrorPB(b []byte, num protowire.Number, e *Error) []byte {
	b, m := pbOpen(b, num)
	b = pbUint(b, 1, uint64(e.Code))
	b = pbString(b, 2, e.Message)
	b = pbBool(b, 3, e.Temporary)
	return pbClose(b, m)
}

func appendPushFieldPB(b []byte, num protowire.Number, p *Push) []byte {
	b, m := pbOpen(b, num)
	return pbClose(appendPushPB(b, p), m)
}

// appendPushPB writes the fields of p without a tag or length.
func appendPushPB(b []byte, p *Push) []byte {
	b = pbUint(b, 1, uint64(p.ID))
	b = pbString(b, 2, p.Channel)
	if p.Pub != nil {
		b = appendPublicationPB(b, 4, p.Pub)
	}
	if p.Join != nil {
		b = appendInfoMessagePB(b, 5, &p.Join.Info)
	}
	if p.Leave != nil {
		b = appendInfoMessagePB(b, 6, &p.Leave.Info)
	}
	if p.Unsubscribe != nil {
		b = appendUnsubscribePushPB(b, 7, p.Unsubscribe)
	}
	if p.Message != nil {
		b = pbDataMessage(b, 8, p.Message.Data)
	}
	if p.Subscribe != nil {
		b = appendSubscribePushPB(b, 9, p.Subscribe)
	}
	if p.Connect != nil {
		b = appendConnectPushPB(b, 10, p.Connect)
	}
	if p.Disconnect != nil {
		b = appendDisconnectPB(b, 11, p.Disconnect)
	}
	if p.Refresh != nil {
		b = pbExpiryMessage(b, 12, p.Refresh.Expires, p.Refresh.TTL)
	}
	return b
}

func appendPublicationPB(b []byte, num protowire.Number, p *Publication) []byte {
	b, m := pbOpen(b, num)
	b = pbBytes(b, 4, p.Data)
	if p.Info != nil {
		b = appendClientInfoPB(b, 5, p.Info)
	}
	b = pbUint(b, 6, p.Offset)
	if len(p.Tags) > 0 {
		var buf [smallMap]string
		for _, k := range sortedKeys(buf[:0], p.Tags) {
			b = appendStringEntryPB(b, 7, k, p.Tags[k])
		}
	}
	b = pbBool(b, 8, p.Delta)
	b = pbUint(b, 9, uint64(p.Time))
	return pbClose(b, m)
}

// appendStringEntryPB writes one entry of a map<string, string> field.
func appendStringEntryPB(b []byte, num protowire.Number, k, v string) []byte {
	b, m := pbOpen(b, num)
	b = pbStringAlways(b, 1, k)
	b = pbStringAlways(b, 2, v)
	return pbClose(b, m)
}

// appendPublicationsPB writes a repeated Publication field; a nil element
// becomes an empty message since the wire has no null.
func appendPublicationsPB(b []byte, num protowire.Number, pubs []*Publication) []byte {
	for _, p := range pubs {
		if p == nil {
			p = &emptyPublication
		}
		b = appendPublicationPB(b, num, p)
	}
	return b
}

// emptyPublication stands in for a nil list element.
var emptyPublication Publication

func appendClientInfoPB(b []byte, num protowire.Number, ci *ClientInfo) []byte {
	b, m := pbOpen(b, num)
	b = pbString(b, 1, ci.User)
	b = pbString(b, 2, ci.Client)
	b = pbBytes(b, 3, ci.ConnInfo)
	b = pbBytes(b, 4, ci.ChanInfo)
	return pbClose(b, m)
}

// appendInfoMessagePB writes an embedded message whose only field is info
// (1): Join and Leave.
func appendInfoMessagePB(b []byte, num protowire.Number, ci *ClientInfo) []byte {
	b, m := pbOpen(b, num)
	return pbClose(appendClientInfoPB(b, 1, ci), m)
}

func appendUnsubscribePushPB(b []byte, num protowire.Number, u *Unsubscribe) []byte {
	b, m := pbOpen(b, num)
	b = pbUint(b, 2, uint64(u.Code))
	b = pbString(b, 3, u.Reason)
	return pbClose(b, m)
}

func appendSubscribePushPB(b []byte, num protowire.Number, s *Subscribe) []byte {
	b, m := pbOpen(b, num)
	b = pbBool(b, 1, s.Recoverable)
	b = pbString(b, 4, s.Epoch)
	b = pbUint(b, 5, s.Offset)
	b = pbBool(b, 6, s.Positioned)
	b = pbBytes(b, 7, s.Data)
	return pbClose(b, m)
}

// appendDisconnectPB leaves Reconnect (field 3) out, as the JSON encoder
// does: protocol v2 clients derive it from the code.
func appendDisconnectPB(b []byte, num protowire.Number, d *Disconnect) []byte {
	b, m := pbOpen(b, num)
	b = pbUint(b, 1, uint64(d.Code))
	b = pbString(b, 2, d.Reason)
	return pbClose(b, m)
}

func appendConnectResultPB(b []byte, num protowire.Number, c *ConnectResult) []byte {
	b, m := pbOpen(b, num)
	b = pbString(b, 1, c.Client)
	b = pbString(b, 2, c.Version)
	b = pbExpiry(b, 3, c.Expires, c.TTL)
	b = pbBytes(b, 5, c.Data)
	b = appendSubsPB(b, 6, c.Subs)
	b = pbUint(b, 7, uint64(c.Ping))
	b = pbBool(b, 8, c.Pong)
	b = pbString(b, 9, c.Session)
	b = pbString(b, 10, c.Node)
	b = pbUint(b, 11, uint64(c.Time))
	return pbClose(b, m)
}

// appendConnectPushPB writes the Connect push, whose field numbers differ
// from ConnectResult's from data on.
func appendConnectPushPB(b []byte, num protowire.Number, c *Connect) []byte {
	b, m := pbOpen(b, num)
	b = pbString(b, 1, c.Client)
	b = pbString(b, 2, c.Version)
	b = pbBytes(b, 3, c.Data)
	b = appendSubsPB(b, 4, c.Subs)
	b = pbExpiry(b, 5, c.Expires, c.TTL)
	b = pbUint(b, 7, uint64(c.Ping))
	b = pbBool(b, 8, c.Pong)
	b = pbString(b, 9, c.Session)
	b = pbString(b, 10, c.Node)
	b = pbUint(b, 11, uint64(c.Time))
	return pbClose(b, m)
}

// appendSubsPB writes a map<string, SubscribeResult> field in key order; a
// nil value becomes an empty message.
func appendSubsPB(b []byte, num protowire.Number,
	subs map[string]*SubscribeResult) []byte {
	var buf [smallMap]string
	for _, k := range sortedKeys(buf[:0], subs) {
		sr := subs[k]
		if sr == nil {
			sr = &emptySubscribeResult
		}
		b = appendSubsEntryPB(b, num, k, sr)
	}
	return b
}

// emptySubscribeResult stands in for a nil map value.
var emptySubscribeResult SubscribeResult

func appendSubsEntryPB(b []byte, num protowire.Number, k string,
	sr *SubscribeResult) []byte {
	b, m := pbOpen(b, num)
	b = pbStringAlways(b, 1, k)
	b = appendSubscribeResultPB(b, 2, sr)
	return pbClose(b, m)
}

func appendSubscribeResultPB(b []byte, num protowire.Number, r *SubscribeResult) []byte {
	b, m := pbOpen(b, num)
	b = pbExpiry(b, 1, r.Expires, r.TTL)
	b = pbBool(b, 3, r.Recoverable)
	b = pbString(b, 6, r.Epoch)
	b = appendPublicationsPB(b, 7, r.Publications)
	b = pbBool(b, 8, r.Recovered)
	b = pbUint(b, 9, r.Offset)
	b = pbBool(b, 10, r.Positioned)
	b = pbBytes(b, 11, r.Data)
	b = pbBool(b, 12, r.WasRecovering)
	b = pbBool(b, 13, r.Delta)
	b = pbUint(b, 14, uint64(r.ID))
	return pbClose(b, m)
}

// appendPresenceResultPB writes the presence map in key order; a nil value
// becomes an empty ClientInfo.
func appendPresenceResultPB(b []byte, num protowire.Number, r *PresenceResult) []byte {
	var buf [smallMap]string
	b, m := pbOpen(b, num)
	for _, k := range sortedKeys(buf[:0], r.Presence) {
		ci := r.Presence[k]
		if ci == nil {
			ci = &emptyClientInfo
		}
		b = appendPresenceEntryPB(b, 1, k, ci)
	}
	return pbClose(b, m)
}

func appendPresenceEntryPB(b []byte, num protowire.Number, k string,
	ci *ClientInfo) []byte {
	b, m := pbOpen(b, num)
	b = pbStringAlways(b, 1, k)
	b = appendClientInfoPB(b, 2, ci)
	return pbClose(b, m)
}

func appendPresenceStatsPB(b []byte, num protowire.Number,
	r *PresenceStatsResult) []byte {
	b, m := pbOpen(b, num)
	b = pbUint(b, 1, uint64(r.NumClients))
	b = pbUint(b, 2, uint64(r.NumUsers))
	return pbClose(b, m)
}

func appendHistoryResultPB(b []byte, num protowire.Number, r *HistoryResult) []byte {
	b, m := pbOpen(b, num)
	b = appendPublicationsPB(b, 1, r.Publications)
	b = pbString(b, 2, r.Epoch)
	b = pbUint(b, 3, r.Offset)
	return pbClose(b, m)
}

func appendRefreshResultPB(b []byte, num protowire.Number, r *RefreshResult) []byte {
	b, m := pbOpen(b, num)
	b = pbString(b, 1, r.Client)
	b = pbString(b, 2, r.Version)
	b = pbExpiry(b, 3, r.Expires, r.TTL)
	return pbClose(b, m)
}

// pbDataMessage writes an embedded message whose only field is data (1):
// RPCResult and Message.
func pbDataMessage(b []byte, num protowire.Number, data Raw) []byte {
	b, m := pbOpen(b, num)
	return pbClose(pbBytes(b, 1, data), m)
}

// pbExpiryMessage writes an embedded message of expires (1) and ttl (2):
// SubRefreshResult and the Refresh push.
func pbExpiryMessage(b []byte, num protowire.Number, expires bool, ttl uint32) []byte {
	b, m := pbOpen(b, num)
	return pbClose(pbExpiry(b, 1, expires, ttl), m)
}

// pbExpiry writes the expires and ttl pair as fields num and num+1.
func pbExpiry(b []byte, num protowire.Number, expires bool, ttl uint32) []byte {
	return pbUint(pbBool(b, num, expires), num+1, uint64(ttl))
}

// The pb* field helpers write nothing for a zero value, as proto3 does.
// Signed integers go through pbUint as their two's complement, which is how
// proto3 encodes int32 and int64.

func pbUint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	return pbVarint(pbTag(b, num, protowire.VarintType), v)
}

func pbBool(b []byte, num protowire.Number, v bool) []byte {
	if !v {
		return b
	}
	return append(pbTag(b, num, protowire.VarintType), 1)
}

func pbString(b []byte, num protowire.Number, v string) []byte {
	if v == "" {
		return b
	}
	return pbStringAlways(b, num, v)
}

// pbStringAlways writes v even when it is empty, as map entries do.
func pbStringAlways(b []byte, num protowire.Number, v string) []byte {
	b = pbVarint(pbTag(b, num, protowire.BytesType), uint64(len(v)))
	return append(b, v...)
}

func pbBytes(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = pbVarint(pbTag(b, num, protowire.BytesType), uint64(len(v)))
	return append(b, v...)
}

// pbTag writes a field tag. Every field number Herald writes is below 16,
// so every tag is a single byte, and this stays cheap enough to inline.
func pbTag(b []byte, num protowire.Number, typ protowire.Type) []byte {
	return append(b, byte(num)<<3|byte(typ))
}

// pbVarint is protowire.AppendVarint with a fast path small enough to be
// inlined: most tags, lengths and values fit in one byte.
func pbVarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return protowire.AppendVarint(b, v)
}

// pbEmpty writes an embedded message that is set but has no fields.
func pbEmpty(b []byte, num protowire.Number) []byte {
	return append(pbTag(b, num, protowire.BytesType), 0)
}

// pbOpen starts embedded message field num: it writes the tag and a
// one-byte length placeholder, whose index it returns for pbClose.
func pbOpen(b []byte, num protowire.Number) ([]byte, int) {
	return pbOpenFrame(pbTag(b, num, protowire.BytesType))
}

// pbOpenFrame writes only the length placeholder, for the frame prefix.
func pbOpenFrame(b []byte) ([]byte, int) {
	return append(b, 0), len(b)
}

// pbClose writes the length of everything after the placeholder at mark,
// moving those bytes up when the length needs more than one byte.
func pbClose(b []byte, mark int) []byte {
	n := len(b) - mark - 1
	if n < 0x80 {
		b[mark] = byte(n)
		return b
	}
	k := protowire.SizeVarint(uint64(n))
	b = append(b, make([]byte, k-1)...) // compiled as a grow, no temporary
	copy(b[mark+k:], b[mark+1:mark+1+n])
	// Capacity holds mark+k bytes, so this writes in place.
	protowire.AppendVarint(b[:mark], uint64(n))
	return b
}
