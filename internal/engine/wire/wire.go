// Package wire is the format of the messages Herald nodes exchange through
// a broker (Redis PUB/SUB, NATS) and of the publications a Redis stream
// stores. Every node of a deployment must read what the others write, so
// the format only grows: readers skip fields they do not know.
package wire

import (
	"errors"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/protocol"
)

// Messages between nodes start with one kind byte. A publication continues
// with "offset:epoch:" in ASCII (Redis writes it from its publish script,
// which alone knows them), then the publication body; join and leave carry a
// client info body; control carries the caller's bytes as they are.
//
// Bodies are protobuf wire format without a schema file:
//
//	publication: 1 data, 2 info (client info), 3 tag (1 key, 2 value),
//	             4 time, 5 delta
//	client info: 1 user, 2 client, 3 conn info, 4 chan info
//
// Redis streams store the publication body alone; the offset is the entry
// ID.
const (
	// KindPublication is a publication.
	KindPublication = 'p'
	// KindDelta is a publication published with PublishOptions.Delta.
	KindDelta = 'd'
	// KindJoin and KindLeave carry a client info.
	KindJoin  = 'j'
	KindLeave = 'l'
	// KindControl carries a node control message.
	KindControl = 'c'
)

// ErrMalformed reports a PUB/SUB message or stream entry Herald cannot read.
var ErrMalformed = errors.New("wire: malformed message")

// EncodePublication returns the body of pub; Offset is not part of it.
func EncodePublication(pub *protocol.Publication) []byte {
	return AppendPublication(make([]byte, 0, len(pub.Data)+16), pub)
}

// AppendPublication appends the body of pub to b, as EncodePublication.
func AppendPublication(b []byte, pub *protocol.Publication) []byte {
	if len(pub.Data) > 0 {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, pub.Data)
	}
	if pub.Info != nil {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, EncodeClientInfo(pub.Info))
	}
	for k, v := range pub.Tags {
		var kv []byte
		kv = protowire.AppendTag(kv, 1, protowire.BytesType)
		kv = protowire.AppendString(kv, k)
		kv = protowire.AppendTag(kv, 2, protowire.BytesType)
		kv = protowire.AppendString(kv, v)
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, kv)
	}
	if pub.Time != 0 {
		b = protowire.AppendTag(b, 4, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(pub.Time))
	}
	if pub.Delta {
		b = protowire.AppendTag(b, 5, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
	}
	return b
}

// DecodePublication reads a publication body.
func DecodePublication(b []byte) (*protocol.Publication, error) {
	pub := &protocol.Publication{}
	err := eachField(b, func(num protowire.Number, v []byte, n uint64) error {
		switch num {
		case 1:
			pub.Data = protocol.Raw(v)
		case 2:
			info, err := DecodeClientInfo(v)
			if err != nil {
				return err
			}
			pub.Info = info
		case 3:
			return decodeTag(pub, v)
		case 4:
			pub.Time = int64(n)
		case 5:
			pub.Delta = n != 0
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pub, nil
}

func decodeTag(pub *protocol.Publication, b []byte) error {
	var k, v string
	err := eachField(b, func(num protowire.Number, f []byte, _ uint64) error {
		switch num {
		case 1:
			k = string(f)
		case 2:
			v = string(f)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if pub.Tags == nil {
		pub.Tags = make(map[string]string)
	}
	pub.Tags[k] = v
	return nil
}

// EncodeClientInfo returns the body of info.
func EncodeClientInfo(info *protocol.ClientInfo) []byte {
	var b []byte
	for i, f := range [][]byte{[]byte(info.User), []byte(info.Client),
		info.ConnInfo, info.ChanInfo} {
		if len(f) == 0 {
			continue
		}
		b = protowire.AppendTag(b, protowire.Number(i+1), protowire.BytesType)
		b = protowire.AppendBytes(b, f)
	}
	return b
}

// DecodeClientInfo reads a client info body.
func DecodeClientInfo(b []byte) (*protocol.ClientInfo, error) {
	info := &protocol.ClientInfo{}
	err := eachField(b, func(num protowire.Number, v []byte, _ uint64) error {
		switch num {
		case 1:
			info.User = string(v)
		case 2:
			info.Client = string(v)
		case 3:
			info.ConnInfo = protocol.Raw(v)
		case 4:
			info.ChanInfo = protocol.Raw(v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}

// eachField calls fn for every field of b with the field's bytes (length
// delimited) or value (varint). Unknown wire types are skipped, so a newer
// node may add fields.
func eachField(b []byte, fn func(protowire.Number, []byte, uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ErrMalformed
		}
		b = b[n:]

		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return ErrMalformed
		}
		b = b[n:]
		if err := fn(num, v, x); err != nil {
			return err
		}
	}
	return nil
}

// ParsePosition reads "offset:epoch", as the publish script returns it.
func ParsePosition(s string) (protocol.StreamPosition, error) {
	off, epoch, ok := strings.Cut(s, ":")
	if !ok {
		return protocol.StreamPosition{}, ErrMalformed
	}
	n, err := strconv.ParseUint(off, 10, 64)
	if err != nil {
		return protocol.StreamPosition{}, ErrMalformed
	}
	return protocol.StreamPosition{Offset: n, Epoch: epoch}, nil
}

// SplitPublication splits a PUB/SUB publication after its kind byte into
// its position and body.
func SplitPublication(s string) (protocol.StreamPosition, string, error) {
	off, rest, ok := strings.Cut(s, ":")
	if !ok {
		return protocol.StreamPosition{}, "", ErrMalformed
	}
	epoch, body, ok := strings.Cut(rest, ":")
	if !ok {
		return protocol.StreamPosition{}, "", ErrMalformed
	}
	n, err := strconv.ParseUint(off, 10, 64)
	if err != nil {
		return protocol.StreamPosition{}, "", ErrMalformed
	}
	return protocol.StreamPosition{Offset: n, Epoch: epoch}, body, nil
}

// Deliver decodes msg, a channel message (a publication, join or leave)
// that arrived for ch, and hands it to h.
func Deliver(h engine.EventHandler, ch string, msg string) error {
	if msg == "" {
		return ErrMalformed
	}
	kind, rest := msg[0], msg[1:]
	switch kind {
	case KindPublication, KindDelta:
		sp, body, err := SplitPublication(rest)
		if err != nil {
			return err
		}
		pub, err := DecodePublication([]byte(body))
		if err != nil {
			return err
		}
		pub.Offset = sp.Offset
		h.HandlePublication(ch, pub, sp, kind == KindDelta)
	case KindJoin, KindLeave:
		info, err := DecodeClientInfo([]byte(rest))
		if err != nil {
			return err
		}
		if kind == KindJoin {
			h.HandleJoin(ch, info)
		} else {
			h.HandleLeave(ch, info)
		}
	default:
		return ErrMalformed
	}
	return nil
}
