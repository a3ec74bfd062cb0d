package protocol

import (
	"bytes"

	"google.golang.org/protobuf/encoding/protowire"
)

// DetectVersion tells a protocol v1 connection from a v2 one by the first
// command of its first frame (legacy spec §5). Neither centrifuge-js 2.x nor
// any v2 SDK marks its version, but the connect command settles it: v2 puts
// the request in field connect (4), which v1 does not have, and v1 sends
// method (2) and params (3), which v2 reserves.
//
// binary selects the Protobuf rules, for a connection that negotiated
// Protobuf ([Codec.Binary]); otherwise the frame is read as JSON. JSON: a
// key "connect" means v2; "method" or "params", or "id" alone, means v1.
// Protobuf: field 4 means v2; field 2 or 3, or field 1 alone, means v1.
// Anything else, a first command other than connect included, returns an
// error wrapping ErrMalformed; the session answers it as it answers a
// malformed frame. The rest of the frame is not looked at.
func DetectVersion(frame []byte, binary bool) (Version, error) {
	if binary {
		return detectProtobuf(frame)
	}
	return detectJSON(frame)
}

func detectJSON(frame []byte) (Version, error) {
	line, _, _ := bytes.Cut(frame, []byte{'\n'})
	d := jsonDecoder{b: line, n: 1}
	var connect, legacy, id, other bool
	err := d.line(func(key []byte) error {
		switch string(key) {
		case "connect":
			connect = true
		case "method", "params":
			legacy = true
		case "id":
			id = true
		default:
			other = true
		}
		return d.skip()
	})
	if err != nil {
		return VersionUnknown, err
	}
	return pickVersion(connect, legacy, id && !other)
}

func detectProtobuf(frame []byte) (Version, error) {
	size, n := protowire.ConsumeVarint(frame)
	if n < 0 || size > uint64(len(frame)-n) {
		return VersionUnknown, malformed("protobuf: command 1: bad length prefix")
	}
	var connect, legacy, id, other bool
	err := pbEach(frame[n:n+int(size)], func(f pbField) error {
		switch {
		case f.is(4, protowire.BytesType):
			connect = true
		case f.is(2, protowire.VarintType), f.is(3, protowire.BytesType):
			legacy = true
		case f.is(1, protowire.VarintType):
			id = true
		default:
			other = true
		}
		return nil
	})
	if err != nil {
		return VersionUnknown, malformed("protobuf: command 1: %v", err)
	}
	return pickVersion(connect, legacy, id && !other)
}

// pickVersion applies the table of spec §5 to what the first command holds:
// a connect request, v1 method or params, or an id and nothing else (a v1
// connect whose params are empty).
func pickVersion(connect, legacy, onlyID bool) (Version, error) {
	switch {
	case connect:
		return Version2, nil
	case legacy, onlyID:
		return Version1, nil
	}
	return VersionUnknown, malformed("first command is not a connect of v1 or v2")
}
