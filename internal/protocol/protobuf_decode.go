package protocol

import (
	"google.golang.org/protobuf/encoding/protowire"
)

// Protobuf commands follow proto3 decoding rules: the last value of a scalar
// field wins, an embedded message that appears twice is merged, unknown
// fields are skipped, and so is a known field sent with another wire type
// (which is how protobuf treats it too). Integers narrower than 64 bits are
// truncated like protobuf does. Strings are not checked for UTF-8, as in the
// reference server; the JSON encoder replaces invalid bytes on the way out.

// DecodeFrame implements [Codec].
func (protobufCodec) DecodeFrame(frame []byte, fn func(cmd *Command) error) error {
	return decodeFramePB(frame, fn, decodeCommandPB)
}

// decodeFramePB splits a frame into length-prefixed messages and decodes each
// with decode, so that both protocol versions share the framing rules.
func decodeFramePB(frame []byte, fn func(cmd *Command) error,
	decode func(msg []byte, cmd *Command) error) error {
	if len(frame) == 0 {
		return malformed("protobuf: empty frame")
	}
	for n := 1; len(frame) > 0; n++ {
		size, k := protowire.ConsumeVarint(frame)
		if k < 0 {
			return malformed("protobuf: command %d: bad length prefix", n)
		}
		frame = frame[k:]
		if size > uint64(len(frame)) {
			return malformed("protobuf: command %d: length %d exceeds frame", n, size)
		}
		cmd := new(Command)
		if err := decode(frame[:size], cmd); err != nil {
			return malformed("protobuf: command %d: %v", n, err)
		}
		if err := fn(cmd); err != nil {
			return err
		}
		frame = frame[size:]
	}
	return nil
}

// pbField is one decoded field: v holds a varint value and b the bytes of a
// length-delimited one. Fields of other wire types carry neither.
type pbField struct {
	num protowire.Number
	typ protowire.Type
	v   uint64
	b   []byte
}

// is reports whether f is field num with wire type typ.
func (f *pbField) is(num protowire.Number, typ protowire.Type) bool {
	return f.num == num && f.typ == typ
}

// str returns f's bytes as a string if it is field num, length-delimited.
func (f *pbField) str(num protowire.Number, s *string) bool {
	if !f.is(num, protowire.BytesType) {
		return false
	}
	*s = string(f.b)
	return true
}

// raw copies f's bytes if it is field num, length-delimited, so that the
// command does not alias the frame. Empty bytes are absent in proto3.
func (f *pbField) raw(num protowire.Number, r *Raw) bool {
	if !f.is(num, protowire.BytesType) {
		return false
	}
	*r = nil
	if len(f.b) > 0 {
		*r = Raw(append([]byte(nil), f.b...))
	}
	return true
}

// uint stores f's varint if it is field num.
func (f *pbField) uint(num protowire.Number, v *uint64) bool {
	if !f.is(num, protowire.VarintType) {
		return false
	}
	*v = f.v
	return true
}

// bool stores f's varint as a bool if it is field num.
func (f *pbField) bool(num protowire.Number, v *bool) bool {
	if !f.is(num, protowire.VarintType) {
		return false
	}
	*v = f.v != 0
	return true
}

// pbEach calls fn for every field of message b; fn ignores the fields it
// does not know, which skips them. The field goes by value: a pointer would
// make every field a heap allocation, as fn is not known to keep it.
func pbEach(b []byte, fn func(f pbField) error) error {
	for len(b) > 0 {
		var f pbField
		var n int
		f.num, f.typ, n = protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		switch f.typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(f.num, f.typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// pbMessage decodes an embedded message into *m, allocating it on first
// sight and merging into it afterwards, as protobuf does.
func pbMessage[T any](b []byte, m **T, field func(pbField, *T) error) error {
	if *m == nil {
		*m = new(T)
	}
	msg := *m
	return pbEach(b, func(f pbField) error { return field(f, msg) })
}

func decodeCommandPB(b []byte, c *Command) error {
	return pbEach(b, func(f pbField) error {
		if f.typ == protowire.VarintType && f.num == 1 {
			c.ID = uint32(f.v)
			return nil
		}
		if f.typ != protowire.BytesType {
			return nil
		}
		switch f.num {
		case 4:
			return pbMessage(f.b, &c.Connect, connectFieldPB)
		case 5:
			return pbMessage(f.b, &c.Subscribe, subscribeFieldPB)
		case 6:
			return pbMessage(f.b, &c.Unsubscribe, unsubscribeFieldPB)
		case 7:
			return pbMessage(f.b, &c.Publish, publishFieldPB)
		case 8:
			return pbMessage(f.b, &c.Presence, presenceFieldPB)
		case 9:
			return pbMessage(f.b, &c.PresenceStats, presenceStatsFieldPB)
		case 10:
			return pbMessage(f.b, &c.History, historyFieldPB)
		case 11:
			return pbMessage(f.b, &c.Ping, ignoreFieldPB[PingRequest])
		case 12:
			return pbMessage(f.b, &c.Send, sendFieldPB)
		case 13:
			return pbMessage(f.b, &c.RPC, rpcFieldPB)
		case 14:
			return pbMessage(f.b, &c.Refresh, refreshFieldPB)
		case 15:
			return pbMessage(f.b, &c.SubRefresh, subRefreshFieldPB)
		}
		return nil
	})
}

// ignoreFieldPB is the field decoder of messages with nothing Herald reads.
func ignoreFieldPB[T any](pbField, *T) error { return nil }

func connectFieldPB(f pbField, m *ConnectRequest) error {
	switch {
	case f.str(1, &m.Token), f.raw(2, &m.Data), f.str(4, &m.Name), f.str(5, &m.Version):
	case f.is(3, protowire.BytesType):
		return decodeSubsEntryPB(f.b, &m.Subs)
	case f.is(6, protowire.BytesType):
		return decodeStringEntryPB(f.b, &m.Headers)
	}
	return nil
}

// decodeSubsEntryPB adds one map entry of ConnectRequest.subs. A missing key
// is "" and a missing value an empty request, as protobuf defines.
func decodeSubsEntryPB(b []byte, subs *map[string]*SubscribeRequest) error {
	var k string
	var v *SubscribeRequest
	err := pbEach(b, func(f pbField) error {
		if f.str(1, &k) || !f.is(2, protowire.BytesType) {
			return nil
		}
		return pbMessage(f.b, &v, subscribeFieldPB)
	})
	if err != nil {
		return err
	}
	if v == nil {
		v = new(SubscribeRequest)
	}
	if *subs == nil {
		*subs = make(map[string]*SubscribeRequest)
	}
	(*subs)[k] = v
	return nil
}

func decodeStringEntryPB(b []byte, m *map[string]string) error {
	var k, v string
	err := pbEach(b, func(f pbField) error {
		_ = f.str(1, &k) || f.str(2, &v)
		return nil
	})
	if err != nil {
		return err
	}
	if *m == nil {
		*m = make(map[string]string)
	}
	(*m)[k] = v
	return nil
}

func subscribeFieldPB(f pbField, m *SubscribeRequest) error {
	var v uint64
	switch {
	case f.str(1, &m.Channel), f.str(2, &m.Token), f.bool(3, &m.Recover),
		f.str(6, &m.Epoch), f.uint(7, &m.Offset), f.raw(8, &m.Data),
		f.bool(9, &m.Positioned), f.bool(10, &m.Recoverable),
		f.bool(11, &m.JoinLeave), f.str(12, &m.Delta):
	case f.is(13, protowire.BytesType):
		// Herald declines tag filters, so only their presence matters.
		m.HasFilter = true
	case f.uint(14, &v):
		m.Flag = int64(v)
	case f.uint(15, &v):
		m.Type = int32(v)
	}
	return nil
}

func unsubscribeFieldPB(f pbField, m *UnsubscribeRequest) error {
	f.str(1, &m.Channel)
	return nil
}

func presenceFieldPB(f pbField, m *PresenceRequest) error {
	f.str(1, &m.Channel)
	return nil
}

func presenceStatsFieldPB(f pbField, m *PresenceStatsRequest) error {
	f.str(1, &m.Channel)
	return nil
}

func publishFieldPB(f pbField, m *PublishRequest) error {
	_ = f.str(1, &m.Channel) || f.raw(2, &m.Data)
	return nil
}

func historyFieldPB(f pbField, m *HistoryRequest) error {
	var v uint64
	switch {
	case f.str(1, &m.Channel), f.bool(9, &m.Reverse):
	case f.uint(7, &v):
		m.Limit = int32(v)
	case f.is(8, protowire.BytesType):
		return pbMessage(f.b, &m.Since, streamPositionFieldPB)
	}
	return nil
}

func streamPositionFieldPB(f pbField, m *StreamPosition) error {
	_ = f.uint(1, &m.Offset) || f.str(2, &m.Epoch)
	return nil
}

func sendFieldPB(f pbField, m *SendRequest) error {
	f.raw(1, &m.Data)
	return nil
}

func rpcFieldPB(f pbField, m *RPCRequest) error {
	_ = f.raw(1, &m.Data) || f.str(2, &m.Method)
	return nil
}

func refreshFieldPB(f pbField, m *RefreshRequest) error {
	f.str(1, &m.Token)
	return nil
}

func subRefreshFieldPB(f pbField, m *SubRefreshRequest) error {
	_ = f.str(1, &m.Channel) || f.str(2, &m.Token)
	return nil
}
