// Package protocol holds the client protocol v2 model (Command, Reply, Push
// and their requests and results), the error and disconnect codes, and the
// two wire codecs, [JSON] and [Protobuf].
//
// Start reading at [Codec] in codec.go. The encoders in json.go and
// protobuf.go append to a caller's buffer and allocate nothing when it is
// large enough, because a publication is encoded once per wire variant and
// its bytes are shared by every subscriber. The decoders in json_decode.go
// and protobuf_decode.go turn one transport frame into Commands that never
// alias the frame, so the caller may reuse its read buffer at once.
//
// The package starts no goroutines and holds no state; every function is safe
// for concurrent use.
package protocol
