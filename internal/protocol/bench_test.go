package protocol

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// benchPublication is a typical push: a client publication with publisher
// info and a position, about 100 bytes of JSON data.
func benchPublication() *Reply {
	return &Reply{Push: &Push{Channel: "chat:room-42", Pub: &Publication{
		Data: Raw(`{"user":"ann","text":"hello everybody, how is it going today?",` +
			`"ts":1724300000123}`),
		Info:   &ClientInfo{User: "42", Client: "c3b7f0a2-1d2e-4b9c-9a55-0f6c2f7f1b11"},
		Offset: 1234567,
	}}}
}

func benchmarkEncode(b *testing.B, c Codec, r *Reply) {
	dst := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		dst = c.AppendReply(dst[:0], r)
	}
	b.SetBytes(int64(len(dst)))
}

func BenchmarkEncodePublicationJSON(b *testing.B) {
	benchmarkEncode(b, JSON, benchPublication())
}

func BenchmarkEncodePublicationProtobuf(b *testing.B) {
	benchmarkEncode(b, Protobuf, benchPublication())
}

func BenchmarkEncodeTaggedPublicationJSON(b *testing.B) {
	r := benchPublication()
	r.Push.Pub.Tags = map[string]string{"kind": "chat", "lang": "en", "prio": "1"}
	benchmarkEncode(b, JSON, r)
}

func BenchmarkEncodeTaggedPublicationProtobuf(b *testing.B) {
	r := benchPublication()
	r.Push.Pub.Tags = map[string]string{"kind": "chat", "lang": "en", "prio": "1"}
	benchmarkEncode(b, Protobuf, r)
}

func benchmarkDecode(b *testing.B, c Codec, frame []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		err := c.DecodeFrame(frame, func(*Command) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePublishJSON(b *testing.B) {
	benchmarkDecode(b, JSON, []byte(`{"publish":{"channel":"chat:room-42",`+
		`"data":{"user":"ann","text":"hello everybody, how is it going today?",`+
		`"ts":1724300000123}},"id":17}`))
}

func BenchmarkDecodePublishProtobuf(b *testing.B) {
	msg := pbString(nil, 1, "chat:room-42")
	msg = pbBytes(msg, 2, []byte(`{"user":"ann","text":"hello everybody, how is it`+
		` going today?","ts":1724300000123}`))
	cmd := pbUint(nil, 1, 17)
	cmd = pbBytes(cmd, 7, msg)
	benchmarkDecode(b, Protobuf, protowire.AppendBytes(nil, cmd))
}

// TestEncodePublicationAllocs holds the encoders to their promise: no
// allocation for a publication push when dst has room, small tag maps
// included.
func TestEncodePublicationAllocs(t *testing.T) {
	r := benchPublication()
	tagged := benchPublication()
	tagged.Push.Pub.Tags = map[string]string{"kind": "chat", "lang": "en"}
	for _, c := range []Codec{JSON, Protobuf} {
		for _, r := range []*Reply{r, tagged} {
			dst := make([]byte, 0, 4096)
			if n := testing.AllocsPerRun(100, func() {
				dst = c.AppendReply(dst[:0], r)
				dst = c.AppendPush(dst[:0], r.Push)
			}); n != 0 {
				t.Errorf("%T: %v allocations per publication", c, n)
			}
		}
	}
}
