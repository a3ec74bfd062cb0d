package protocol

import (
	"errors"
	"fmt"
	"slices"
)

// Codec encodes replies and decodes commands for one wire format of client
// protocol v2.
type Codec interface {
	// DecodeFrame splits one transport frame (one WebSocket message) into
	// commands and calls fn for each, in order; it stops at the first error
	// fn returns and returns it. A malformed frame returns an error wrapping
	// ErrMalformed. Commands before the malformed one have already been
	// passed to fn by then. A Command does not alias frame, so fn may keep
	// it after the frame's buffer is reused.
	DecodeFrame(frame []byte, fn func(cmd *Command) error) error
	// AppendReply appends one encoded Reply: JSON: one object, no newline;
	// Protobuf: varint length prefix + message bytes.
	AppendReply(dst []byte, r *Reply) []byte
	// AppendPush appends a bare Push (used by unidirectional transports),
	// framed the same way.
	AppendPush(dst []byte, p *Push) []byte
	// Binary reports whether frames go out as binary WebSocket frames
	// (Protobuf).
	Binary() bool
}

var (
	// JSON is the protocol v2 JSON codec: text frames holding objects
	// separated by '\n'. Raw fields must hold valid JSON; it is embedded
	// as is.
	JSON Codec = jsonCodec{}
	// Protobuf is the protocol v2 Protobuf codec: binary frames holding
	// varint length-prefixed messages.
	Protobuf Codec = protobufCodec{}
)

// ErrMalformed is wrapped by every error that DecodeFrame returns for a frame
// it cannot decode. The session answers it with disconnect 3501 "bad request".
var ErrMalformed = errors.New("protocol: malformed frame")

// malformed builds an error wrapping ErrMalformed. It allocates, which is fine:
// it runs once per connection at most, right before a disconnect.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// smallMap is how many map keys are sorted in a stack buffer; tags and subs
// maps are almost always smaller, so encoding them does not allocate.
const smallMap = 8

// sortedKeys returns the keys of m in ascending order, appended to buf. Maps
// are written in key order so that equal messages encode to equal bytes.
func sortedKeys[V any](buf []string, m map[string]V) []string {
	for k := range m {
		buf = append(buf, k)
	}
	slices.Sort(buf)
	return buf
}
