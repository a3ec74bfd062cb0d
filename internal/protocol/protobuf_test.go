package protocol

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	cf "github.com/centrifugal/protocol"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// cfMarshalFramed is the reference encoding of m with its length prefix:
// the official runtime with deterministic (sorted) map order.
func cfMarshalFramed(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return append(protowire.AppendVarint(nil, uint64(len(b))), b...)
}

func TestProtobufReplyOracle(t *testing.T) {
	for _, s := range sampleReplies() {
		t.Run(s.name, func(t *testing.T) {
			got := Protobuf.AppendReply(nil, s.r)
			want := cfReply(s.r)

			// The reference client decoder reads our frame back to the same
			// message.
			dec := cf.NewProtobufReplyDecoder(got)
			back, err := dec.Decode()
			if err != nil {
				t.Fatalf("reference decoder: %v", err)
			}
			if !proto.Equal(back, want) {
				t.Errorf("decoded %v\nwant    %v", back, want)
			}
			if _, err := dec.Decode(); err != io.EOF {
				t.Errorf("trailing data after the reply: %v", err)
			}
			// And the bytes are those of the official runtime.
			if ref := cfMarshalFramed(t, want); !bytes.Equal(got, ref) {
				t.Errorf("bytes differ from the official encoding\n got % x\nwant % x",
					head(got), head(ref))
			}
		})
	}
}

func TestProtobufPushOracle(t *testing.T) {
	for _, s := range sampleReplies() {
		if s.r.Push == nil {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			got := Protobuf.AppendPush(nil, s.r.Push)
			want := cfPush(s.r.Push)
			if ref := cfMarshalFramed(t, want); !bytes.Equal(got, ref) {
				t.Errorf("got % x\nwant % x", head(got), head(ref))
			}
			size, n := protowire.ConsumeVarint(got)
			if n < 0 || int(size) != len(got)-n {
				t.Fatalf("bad length prefix %d for %d bytes", size, len(got)-n)
			}
			var back cf.Push
			if err := proto.Unmarshal(got[n:], &back); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(&back, want) {
				t.Errorf("decoded %v\nwant    %v", &back, want)
			}
		})
	}
}

// head shortens long byte dumps in failure messages.
func head(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

func TestProtobufDecodeOracle(t *testing.T) {
	enc := cf.NewProtobufCommandEncoder()
	var frame []byte
	var want []*Command
	for _, c := range sampleCommands() {
		b, err := enc.Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		frame = append(frame, b...)
		want = append(want, fromCFCommand(c))

		got, err := decodeAll(Protobuf, b)
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		if !reflect.DeepEqual(got, []*Command{fromCFCommand(c)}) {
			t.Errorf("%v\ndecoded to %+v", c, got[0])
		}
	}
	// All of them batched in one frame.
	got, err := decodeAll(Protobuf, frame)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("batched frame: %v, %d commands", err, len(got))
	}
}

func TestProtobufDecodeRules(t *testing.T) {
	msg := func(fields ...[]byte) []byte {
		b := bytes.Join(fields, nil)
		return append(protowire.AppendVarint(nil, uint64(len(b))), b...)
	}
	tag := func(num protowire.Number, typ protowire.Type) []byte {
		return protowire.AppendTag(nil, num, typ)
	}
	varint := func(num protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(tag(num, protowire.VarintType), v)
	}
	bytesField := func(num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(tag(num, protowire.BytesType), v)
	}
	sub := func(fields ...[]byte) []byte { return bytesField(5, bytes.Join(fields, nil)) }

	tests := []struct {
		name  string
		frame []byte
		want  []*Command
	}{
		{"pong", []byte{0}, []*Command{{}}},
		{"two pongs", []byte{0, 0}, []*Command{{}, {}}},
		{"unknown fields skipped", msg(varint(1, 3), varint(99, 1),
			protowire.AppendFixed32(tag(98, protowire.Fixed32Type), 1),
			protowire.AppendFixed64(tag(97, protowire.Fixed64Type), 1),
			protowire.AppendGroup(tag(96, protowire.StartGroupType), 96,
				varint(1, 1)),
			bytesField(2, []byte("v1 method"))),
			[]*Command{{ID: 3}}},
		{"wrong wire type skipped", msg(bytesField(1, []byte{1}),
			varint(4, 1)), []*Command{{}}},
		{"last id wins, truncated to 32 bits", msg(varint(1, 5),
			varint(1, 1<<32+7)), []*Command{{ID: 7}}},
		{"messages merge", msg(sub(bytesField(1, []byte("a"))),
			sub(varint(3, 1))), []*Command{{Subscribe: &SubscribeRequest{
			Channel: "a", Recover: true}}}},
		{"empty tf sets HasFilter", msg(sub(bytesField(13, nil))),
			[]*Command{{Subscribe: &SubscribeRequest{HasFilter: true}}}},
		{"empty data is absent", msg(bytesField(7, bytesField(2, nil))),
			[]*Command{{Publish: &PublishRequest{}}}},
		{"map entry without value", msg(bytesField(4, bytesField(3,
			bytesField(1, []byte("ch"))))), []*Command{{Connect: &ConnectRequest{
			Subs: map[string]*SubscribeRequest{"ch": {}}}}}},
		{"map entry without key", msg(bytesField(4, bytesField(6,
			bytesField(2, []byte("v"))))), []*Command{{Connect: &ConnectRequest{
			Headers: map[string]string{"": "v"}}}}},
		{"negative type", msg(sub(varint(15, 1<<64-1))),
			[]*Command{{Subscribe: &SubscribeRequest{Type: -1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeAll(Protobuf, tt.frame)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestProtobufDecodeMalformed(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
	}{
		{"empty frame", nil},
		{"truncated prefix", []byte{0x80}},
		{"overlong prefix", bytes.Repeat([]byte{0xff}, 11)},
		{"length past end", []byte{5, 8, 1}},
		{"truncated varint", []byte{2, 8, 0x80}},
		{"field number zero", []byte{2, 0, 1}},
		{"truncated bytes", []byte{3, 0x22, 5, 1}},
		{"end group alone", []byte{1, 0x0c}},
		{"unterminated group", []byte{1, 0x0b}},
		{"reserved wire type", []byte{2, 0x0e, 1}},
		{"bad nested message", []byte{4, 0x22, 2, 0x08, 0x80}},
		{"bad map entry", []byte{6, 0x22, 4, 0x1a, 2, 0x0a, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeAll(Protobuf, tt.frame)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

// cfDecodeCommands decodes a frame with the reference decoder.
func cfDecodeCommands(frame []byte) ([]*cf.Command, error) {
	dec := cf.NewProtobufCommandDecoder(frame)
	var out []*cf.Command
	for {
		c, err := dec.Decode()
		if c != nil {
			out = append(out, c)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}
