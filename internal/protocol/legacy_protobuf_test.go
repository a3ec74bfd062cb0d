package protocol

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	cf "github.com/centrifugal/protocol"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Helpers that build Protobuf bytes with protowire alone, independent of
// the encoders under test.

func pbtVarint(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

func pbtBytes(num protowire.Number, fields ...[]byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, bytes.Join(fields, nil))
}

func pbtString(num protowire.Number, s string) []byte {
	return pbtBytes(num, []byte(s))
}

// pbtFrame joins fields into one message with its length prefix.
func pbtFrame(fields ...[]byte) []byte {
	return protowire.AppendBytes(nil, bytes.Join(fields, nil))
}

func TestLegacyProtobufDecode(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		want  []*Command
	}{
		// The connect of legacy spec §6 as 2.8.3's protobuf build sends it.
		{"connect", []byte{0x08, 0x08, 0x01, 0x1a, 0x04, 0x22, 0x02, 0x6a, 0x73},
			[]*Command{{ID: 1, Connect: &ConnectRequest{Name: "js"}}}},
		{"connect without params", pbtFrame(pbtVarint(1, 1)),
			[]*Command{{ID: 1, Connect: &ConnectRequest{}}}},
		{"ping", []byte{0x04, 0x08, 0x09, 0x10, 0x07},
			[]*Command{{ID: 9, Ping: &PingRequest{}}}},
		{"send without id", pbtFrame(pbtVarint(2, 8),
			pbtBytes(3, pbtString(1, `{"x":1}`))),
			[]*Command{{Send: &SendRequest{Data: Raw(`{"x":1}`)}}}},
		{"history", pbtFrame(pbtVarint(1, 8), pbtVarint(2, 6), pbtBytes(3,
			pbtString(1, "c"), pbtVarint(7, 10),
			pbtBytes(8, pbtVarint(1, 1), pbtString(2, "e")), pbtVarint(9, 1))),
			[]*Command{{ID: 8, History: &HistoryRequest{Channel: "c", Limit: 10,
				Since: &StreamPosition{Offset: 1, Epoch: "e"}, Reverse: true}}}},
		{"v2 request fields dropped", pbtFrame(pbtVarint(1, 2), pbtVarint(2, 1),
			pbtBytes(3, pbtString(1, "c"), pbtString(8, "{}"), pbtVarint(9, 1),
				pbtString(12, "fossil"), pbtBytes(13), pbtVarint(14, 1))),
			[]*Command{{ID: 2, Subscribe: &SubscribeRequest{Channel: "c"}}}},
		{"connect headers dropped", pbtFrame(pbtVarint(1, 1), pbtBytes(3,
			pbtBytes(6, pbtString(1, "k"), pbtString(2, "v")),
			pbtBytes(3, pbtString(1, "ch"), pbtBytes(2, pbtVarint(10, 1))))),
			[]*Command{{ID: 1, Connect: &ConnectRequest{
				Subs: map[string]*SubscribeRequest{"ch": {}}}}}},
		{"last method and params win", pbtFrame(pbtVarint(2, 3),
			pbtBytes(3, pbtString(1, "a")), pbtVarint(1, 4), pbtVarint(2, 1),
			pbtBytes(3, pbtString(2, "t"))),
			[]*Command{{ID: 4, Subscribe: &SubscribeRequest{Token: "t"}}}},
		{"method truncated to int32", pbtFrame(pbtVarint(1, 2),
			pbtVarint(2, 1<<32+2), pbtBytes(3, pbtString(1, "a"))),
			[]*Command{{ID: 2, Unsubscribe: &UnsubscribeRequest{Channel: "a"}}}},
		{"wrong wire types skipped", pbtFrame(pbtVarint(1, 3), pbtBytes(2),
			pbtVarint(3, 1), pbtVarint(99, 1)),
			[]*Command{{ID: 3, Connect: &ConnectRequest{}}}},
		{"batch", append(pbtFrame(pbtVarint(1, 1)),
			pbtFrame(pbtVarint(1, 2), pbtVarint(2, 7))...),
			[]*Command{{ID: 1, Connect: &ConnectRequest{}},
				{ID: 2, Ping: &PingRequest{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeAll(LegacyProtobuf, tt.frame)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLegacyProtobufDecodeMalformed(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
	}{
		{"empty frame", nil},
		{"empty command", []byte{0}},
		{"no id", pbtFrame(pbtVarint(2, 1), pbtBytes(3, pbtString(1, "a")))},
		{"ping without id", pbtFrame(pbtVarint(2, 7))},
		{"unknown method", pbtFrame(pbtVarint(1, 1), pbtVarint(2, 12))},
		{"negative method", pbtFrame(pbtVarint(1, 1), pbtVarint(2, 1<<64-1))},
		{"bad params", pbtFrame(pbtVarint(1, 1), pbtVarint(2, 1), pbtBytes(3,
			[]byte{0x0a, 0x05}))},
		{"length past end", []byte{5, 8, 1}},
		{"truncated varint", []byte{2, 8, 0x80}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeAll(LegacyProtobuf, tt.frame)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestLegacyProtobufReplyGolden(t *testing.T) {
	tests := []struct {
		name string
		r    *Reply
		want []byte
	}{
		{"ping", &Reply{ID: 2, Ping: &PingResult{}}, []byte{0x02, 0x08, 0x02}},
		// Empty results are empty bytes, which proto3 leaves out.
		{"publish", &Reply{ID: 6, Publish: &PublishResult{}}, []byte{0x02, 0x08, 0x06}},
		{"subscribe empty", &Reply{ID: 3, Subscribe: &SubscribeResult{}},
			[]byte{0x02, 0x08, 0x03}},
		{"error", &Reply{ID: 1, Error: ErrTooManyRequests},
			pbtFrame(pbtVarint(1, 1), pbtBytes(2, pbtVarint(1, 111),
				pbtString(2, "too many requests")))},
		{"connect with server-side sub", &Reply{ID: 1, Connect: &ConnectResult{
			Client: "c", Version: "3.1.0", Ping: 25, Pong: true,
			Subs: map[string]*SubscribeResult{"#demo-user": {Delta: true}}}},
			pbtFrame(pbtVarint(1, 1), pbtBytes(3, pbtString(1, "c"),
				pbtString(2, "3.1.0"), pbtBytes(6, pbtString(1, "#demo-user"),
					pbtBytes(2))))},
		{"publication push", &Reply{Push: &Push{Channel: "#demo-user",
			Pub: &Publication{Data: Raw(`{"time":1650000005}`), Time: 9}}},
			pbtFrame(pbtBytes(3, pbtString(2, "#demo-user"),
				pbtBytes(3, pbtString(4, `{"time":1650000005}`))))},
		{"unsubscribe push", &Reply{Push: &Push{Channel: "news",
			Unsubscribe: &Unsubscribe{Code: 2000}}},
			pbtFrame(pbtBytes(3, pbtVarint(1, 3), pbtString(2, "news")))},
		{"message push", &Reply{Push: &Push{Message: &Message{Data: Raw("hi")}}},
			pbtFrame(pbtBytes(3, pbtVarint(1, 4), pbtBytes(3, pbtString(1, "hi"))))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LegacyProtobuf.AppendReply(nil, tt.r); !bytes.Equal(got, tt.want) {
				t.Errorf("got  % x\nwant % x", got, tt.want)
			}
		})
	}
}

// pbtTop reads the fields of a framed message, which must hold each field
// once.
func pbtTop(t *testing.T, frame []byte) map[protowire.Number][]byte {
	t.Helper()
	size, n := protowire.ConsumeVarint(frame)
	if n < 0 || int(size) != len(frame)-n {
		t.Fatalf("bad length prefix in % x", head(frame))
	}
	return pbtFields(t, frame[n:])
}

// pbtFields maps field numbers to their bytes, or their varint encoding.
func pbtFields(t *testing.T, msg []byte) map[protowire.Number][]byte {
	t.Helper()
	out := map[protowire.Number][]byte{}
	err := pbEach(msg, func(f pbField) error {
		if _, dup := out[f.num]; dup {
			t.Fatalf("field %d repeated", f.num)
		}
		out[f.num] = f.b
		if f.typ == protowire.VarintType {
			out[f.num] = protowire.AppendVarint(nil, f.v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLegacyProtobufReplyMatchesV2 checks every sample reply against the v2
// encoding of its v1 part: v1 result bytes are the v2 result message, and
// a v1 push carries the v2 push body as data.
func TestLegacyProtobufReplyMatchesV2(t *testing.T) {
	for _, s := range sampleReplies() {
		if !legacyWritable(s.r) {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			v1 := pbtTop(t, LegacyProtobuf.AppendReply(nil, s.r))
			v2 := pbtTop(t, Protobuf.AppendReply(nil, v1Reply(s.r)))
			for num := range v1 {
				if num < 1 || num > 3 {
					t.Errorf("unexpected field %d", num)
				}
			}
			if !bytes.Equal(v1[1], v2[1]) || !bytes.Equal(v1[2], v2[2]) {
				t.Errorf("id/error: got % x % x, want % x % x", v1[1], v1[2],
					v2[1], v2[2])
			}
			want := v2Result(v2)
			if s.r.Push != nil {
				want = legacyPushFromV2(t, s.r.Push, v2[4])
			}
			if !bytes.Equal(v1[3], want) {
				t.Errorf("result\n got % x\nwant % x", head(v1[3]), head(want))
			}
		})
	}
}

// v2Result returns the bytes of the one result field of a v2 reply, nil
// for a ping, whose v1 reply has no result.
func v2Result(v2 map[protowire.Number][]byte) []byte {
	for num := protowire.Number(5); num <= 15; num++ {
		if b, ok := v2[num]; ok && num != 12 {
			return b
		}
	}
	return nil
}

// legacyPushFromV2 builds the v1 Push for p from its v2 encoding.
func legacyPushFromV2(t *testing.T, p *Push, v2 []byte) []byte {
	t.Helper()
	fields := pbtFields(t, v2)
	typ, _, num, _ := v1PushBody(p)
	var b []byte
	if typ != 0 {
		b = pbtVarint(1, uint64(typ))
	}
	if ch, ok := fields[2]; ok {
		b = append(b, pbtBytes(2, ch)...)
	}
	if data := fields[num]; len(data) > 0 {
		b = append(b, pbtBytes(3, data)...)
	}
	return b
}

// TestLegacyProtobufReplyOracle reads v1 results and push bodies with the
// reference library's generated types. Its module speaks protocol v2, so
// this holds only because v1 messages keep the v2 field numbers; the v2-only
// fields must come out unset.
func TestLegacyProtobufReplyOracle(t *testing.T) {
	for _, s := range sampleReplies() {
		if !legacyWritable(s.r) {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			result := pbtTop(t, LegacyProtobuf.AppendReply(nil, s.r))[3]
			want := cfReply(v1Reply(s.r))
			var got, exp proto.Message
			switch {
			case want.Push != nil:
				push := pbtFields(t, result)
				_, _, num, _ := v1PushBody(s.r.Push)
				got, exp = cfPushBody(want.Push, num)
				result = push[3]
			case want.Connect != nil:
				got, exp = &cf.ConnectResult{}, want.Connect
			case want.Subscribe != nil:
				got, exp = &cf.SubscribeResult{}, want.Subscribe
			case want.Presence != nil:
				got, exp = &cf.PresenceResult{}, want.Presence
			case want.PresenceStats != nil:
				got, exp = &cf.PresenceStatsResult{}, want.PresenceStats
			case want.History != nil:
				got, exp = &cf.HistoryResult{}, want.History
			case want.Rpc != nil:
				got, exp = &cf.RPCResult{}, want.Rpc
			case want.Refresh != nil:
				got, exp = &cf.RefreshResult{}, want.Refresh
			case want.SubRefresh != nil:
				got, exp = &cf.SubRefreshResult{}, want.SubRefresh
			default:
				if len(result) != 0 {
					t.Errorf("unexpected result % x", result)
				}
				return
			}
			if err := proto.Unmarshal(result, got); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, exp) {
				t.Errorf("decoded %v\nwant    %v", got, exp)
			}
		})
	}
}

// cfPushBody returns an empty message of the type of the body in field num
// of p, and that body.
func cfPushBody(p *cf.Push, num protowire.Number) (proto.Message, proto.Message) {
	switch num {
	case 4:
		return &cf.Publication{}, p.Pub
	case 5:
		return &cf.Join{}, p.Join
	case 6:
		return &cf.Leave{}, p.Leave
	case 7:
		return &cf.Unsubscribe{}, p.Unsubscribe
	case 8:
		return &cf.Message{}, p.Message
	}
	return &cf.Subscribe{}, p.Subscribe
}

// TestLegacyProtobufPushBare checks that AppendPush writes the Push of the
// push reply, framed.
func TestLegacyProtobufPushBare(t *testing.T) {
	for _, s := range sampleReplies() {
		if s.r.Push == nil || !legacyWritable(s.r) {
			continue
		}
		result := pbtTop(t, LegacyProtobuf.AppendReply(nil, s.r))[3]
		got := LegacyProtobuf.AppendPush(nil, s.r.Push)
		if want := protowire.AppendBytes(nil, result); !bytes.Equal(got, want) {
			t.Errorf("%s: push % x\nwant % x", s.name, head(got), head(want))
		}
	}
}
