package protocol

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	cf "github.com/centrifugal/protocol"
	"google.golang.org/protobuf/encoding/protowire"
)

// legacyMethodNames are the v2 request names in v1 method order: the
// request of method m sits in v2 Command field 4+m.
var legacyMethodNames = []string{"connect", "subscribe", "unsubscribe", "publish",
	"presence", "presence_stats", "history", "ping", "send", "rpc", "refresh",
	"sub_refresh"}

// v1Frames turns a v2 command of the reference library into what a v1
// client sends for it, one JSON line and one Protobuf frame: the request
// moves into params and its name becomes the method number. The JSON keys
// come in the order centrifuge-js 2.8.3 writes them: method (unless 0),
// params, id (unless 0). ok is false for a command without a request, a v2
// pong, which v1 does not have.
func v1Frames(t testing.TB, c *cf.Command) (line, frame []byte, ok bool) {
	t.Helper()
	v2, err := cf.NewJSONCommandEncoder().Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(v2, &keys); err != nil {
		t.Fatal(err)
	}
	method := -1
	for m, name := range legacyMethodNames {
		if _, ok := keys[name]; ok {
			method = m
			break
		}
	}
	if method < 0 {
		return nil, nil, false
	}
	var b strings.Builder
	b.WriteByte('{')
	if method != 0 {
		b.WriteString(`"method":` + itoa(method) + ",")
	}
	b.WriteString(`"params":` + string(keys[legacyMethodNames[method]]))
	if c.Id != 0 {
		b.WriteString(`,"id":` + itoa(int(c.Id)))
	}
	b.WriteByte('}')
	return []byte(b.String()), v1FramePB(t, c), true
}

func itoa(v int) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// v1FramePB re-encodes the reference Protobuf encoding of c as a v1
// Command{id=1, method=2, params=3}.
func v1FramePB(t testing.TB, c *cf.Command) []byte {
	t.Helper()
	v2, err := cf.NewProtobufCommandEncoder().Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	_, n := protowire.ConsumeVarint(v2)
	var msg []byte
	err = pbEach(v2[n:], func(f pbField) error {
		switch {
		case f.is(1, protowire.VarintType):
			msg = pbUint(msg, 1, f.v)
		case f.num >= 4 && f.num <= 15:
			msg = pbUint(msg, 2, uint64(f.num-4))
			msg = pbBytes(msg, 3, f.b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return protowire.AppendBytes(nil, msg)
}

// v1Command is what the v1 decoders must make of a command that the v2
// decoders turn into c: the same, less the request fields v2 added.
func v1Command(c *Command) *Command {
	if r := c.Connect; r != nil {
		r.Headers = nil
		for k, sr := range r.Subs {
			r.Subs[k] = v1SubscribeRequest(sr)
		}
	}
	if c.Subscribe != nil {
		c.Subscribe = v1SubscribeRequest(c.Subscribe)
	}
	return c
}

func v1SubscribeRequest(r *SubscribeRequest) *SubscribeRequest {
	return &SubscribeRequest{Channel: r.Channel, Token: r.Token, Recover: r.Recover,
		Epoch: r.Epoch, Offset: r.Offset}
}

// v1Reply is r less everything v1 cannot carry, for comparing the v1
// encoders with the v2 ones. It shares r's leaves.
func v1Reply(r *Reply) *Reply {
	out := *r
	if r.Error != nil {
		e := *r.Error
		e.Temporary = false
		out.Error = &e
	}
	if c := r.Connect; c != nil {
		out.Connect = &ConnectResult{Client: c.Client, Version: c.Version,
			Expires: c.Expires, TTL: c.TTL, Data: c.Data, Subs: v1Subs(c.Subs)}
	}
	if r.Subscribe != nil {
		out.Subscribe = v1SubscribeResult(r.Subscribe)
	}
	if h := r.History; h != nil {
		out.History = &HistoryResult{Publications: v1Pubs(h.Publications),
			Epoch: h.Epoch, Offset: h.Offset}
	}
	if p := r.Push; p != nil {
		q := *p
		q.ID = 0
		if p.Pub != nil {
			q.Pub = v1Pub(p.Pub)
		}
		if p.Unsubscribe != nil {
			q.Unsubscribe = &Unsubscribe{}
		}
		out.Push = &q
	}
	return &out
}

func v1Subs(subs map[string]*SubscribeResult) map[string]*SubscribeResult {
	if subs == nil {
		return nil
	}
	out := make(map[string]*SubscribeResult, len(subs))
	for k, v := range subs {
		if v != nil {
			v = v1SubscribeResult(v)
		}
		out[k] = v
	}
	return out
}

func v1SubscribeResult(r *SubscribeResult) *SubscribeResult {
	return &SubscribeResult{Expires: r.Expires, TTL: r.TTL,
		Recoverable: r.Recoverable, Epoch: r.Epoch,
		Publications: v1Pubs(r.Publications), Recovered: r.Recovered,
		Offset: r.Offset, Positioned: r.Positioned, Data: r.Data}
}

func v1Pubs(pubs []*Publication) []*Publication {
	if pubs == nil {
		return nil
	}
	out := make([]*Publication, len(pubs))
	for i, p := range pubs {
		if p != nil {
			p = v1Pub(p)
		}
		out[i] = p
	}
	return out
}

func v1Pub(p *Publication) *Publication {
	return &Publication{Data: p.Data, Info: p.Info, Offset: p.Offset}
}

// v1PushBody returns the v1 push type of p and the name and number of its
// body in the v2 Push, or ok false when v1 has no such push.
func v1PushBody(p *Push) (typ int, name string, num protowire.Number, ok bool) {
	bodies := []struct {
		set  bool
		name string
	}{
		{p.Pub != nil, "pub"}, {p.Join != nil, "join"}, {p.Leave != nil, "leave"},
		{p.Unsubscribe != nil, "unsubscribe"}, {p.Message != nil, "message"},
		{p.Subscribe != nil, "subscribe"},
	}
	for i, b := range bodies {
		if b.set {
			return i, b.name, protowire.Number(4 + i), true
		}
	}
	return 0, "", 0, false
}

func TestLegacyCloseReason(t *testing.T) {
	tests := []struct {
		name string
		d    *Disconnect
		want string
	}{
		{"tutorial proxy denial", &Disconnect{Code: 1000, Reason: "unauthorized"},
			`{"reason":"unauthorized","reconnect":false}`},
		{"force disconnect", DisconnectForceNoReconnect,
			`{"reason":"force disconnect","reconnect":false}`},
		{"insufficient state", DisconnectInsufficientState,
			`{"reason":"insufficient state","reconnect":true}`},
		{"escapes", &Disconnect{Reason: "a\"b\\c<\n", Reconnect: true},
			`{"reason":"a\"b\\c\u003c\n","reconnect":true}`},
		{"empty", &Disconnect{}, `{"reason":"","reconnect":false}`},
		// The longest reason that fits: 123 - len(`{"reason":""`) -
		// len(`,"reconnect":false}`) = 92 bytes.
		{"exactly full", &Disconnect{Reason: strings.Repeat("x", 92)},
			`{"reason":"` + strings.Repeat("x", 92) + `","reconnect":false}`},
		{"one over", &Disconnect{Reason: strings.Repeat("x", 93)},
			`{"reason":"` + strings.Repeat("x", 92) + `","reconnect":false}`},
		{"one over, reconnect", &Disconnect{Reason: strings.Repeat("x", 94),
			Reconnect: true},
			`{"reason":"` + strings.Repeat("x", 93) + `","reconnect":true}`},
		{"escape not split", &Disconnect{Reason: strings.Repeat("x", 87) + "\x01"},
			`{"reason":"` + strings.Repeat("x", 87) + `","reconnect":false}`},
		{"rune not split", &Disconnect{Reason: strings.Repeat("x", 90) + "日本"},
			`{"reason":"` + strings.Repeat("x", 90) + `","reconnect":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := LegacyCloseReason(tt.d)
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestLegacyCloseReasonLimit(t *testing.T) {
	// Whatever the text, the result is valid JSON of at most 123 bytes whose
	// reason is a prefix of the text (of its valid UTF-8 form).
	for _, unit := range []string{"a", "\"", "\\", "\x00", "ü", "日", "\U0001F600",
		"\u2028", "<", "\xff", "a\x1f", "日\""} {
		for n := 0; n < 130; n++ {
			reason := strings.Repeat(unit, n)
			for _, reconnect := range []bool{false, true} {
				got := LegacyCloseReason(&Disconnect{Reason: reason,
					Reconnect: reconnect})
				var v struct {
					Reason    string `json:"reason"`
					Reconnect *bool  `json:"reconnect"`
				}
				if len(got) > 123 || json.Unmarshal([]byte(got), &v) != nil {
					t.Fatalf("%q: %d bytes: %s", reason, len(got), got)
				}
				full := string([]rune(reason)) // each invalid byte becomes U+FFFD
				if !strings.HasPrefix(full, v.Reason) || v.Reconnect == nil ||
					*v.Reconnect != reconnect {
					t.Fatalf("%q: got %s", reason, got)
				}
				if v.Reason != full && len(got) < 123-6 {
					t.Fatalf("%q: cut more than needed: %s", reason, got)
				}
			}
		}
	}
}

func TestVersionString(t *testing.T) {
	for v, want := range map[Version]string{VersionUnknown: "unknown",
		Version1: "v1", Version2: "v2", 7: "unknown"} {
		if got := v.String(); got != want {
			t.Errorf("%d: %q, want %q", int(v), got, want)
		}
	}
}

func TestLegacyBinary(t *testing.T) {
	if LegacyJSON.Binary() || !LegacyProtobuf.Binary() {
		t.Errorf("Binary: LegacyJSON %v, LegacyProtobuf %v",
			LegacyJSON.Binary(), LegacyProtobuf.Binary())
	}
}

// TestLegacyNotWritten covers the replies and pushes that have no v1 form.
func TestLegacyNotWritten(t *testing.T) {
	replies := map[string]*Reply{
		"server ping":     {},
		"empty push":      {Push: &Push{Channel: "news"}},
		"connect push":    {Push: &Push{Connect: &Connect{Client: "c"}}},
		"disconnect push": {Push: &Push{Disconnect: DisconnectShutdown}},
		"refresh push":    {Push: &Push{Refresh: &Refresh{Expires: true, TTL: 9}}},
	}
	for _, c := range []Codec{LegacyJSON, LegacyProtobuf} {
		for name, r := range replies {
			dst := []byte("prefix")
			if got := c.AppendReply(dst, r); string(got) != "prefix" {
				t.Errorf("%T %s: AppendReply wrote %q", c, name, got[6:])
			}
			if r.Push == nil {
				continue
			}
			if got := c.AppendPush(dst, r.Push); string(got) != "prefix" {
				t.Errorf("%T %s: AppendPush wrote %q", c, name, got[6:])
			}
		}
	}
}

func TestLegacyAppendKeepsPrefix(t *testing.T) {
	for _, c := range []Codec{LegacyJSON, LegacyProtobuf} {
		for _, s := range sampleReplies() {
			alone := c.AppendReply(nil, s.r)
			prefixed := c.AppendReply([]byte("prefix"), s.r)
			if string(prefixed) != "prefix"+string(alone) {
				t.Errorf("%T %s: appending after a prefix changed the output",
					c, s.name)
			}
		}
	}
}

// TestLegacyDecodeMatchesV2 sends every sample command the v1 way and
// checks that it decodes to what its v2 form decodes to, less the fields v1
// does not have. The params messages share v2's field numbers and names,
// so this covers every request field in both formats.
func TestLegacyDecodeMatchesV2(t *testing.T) {
	var lines [][]byte
	var frame []byte
	var want []*Command
	for _, c := range sampleCommands() {
		line, pb, ok := v1Frames(t, c)
		if !ok {
			continue
		}
		lines = append(lines, line)
		frame = append(frame, pb...)
		want = append(want, v1Command(fromCFCommand(c)))
		for codec, in := range map[Codec][]byte{LegacyJSON: line, LegacyProtobuf: pb} {
			got, err := decodeAll(codec, in)
			if err != nil {
				t.Fatalf("%T %q: %v", codec, in, err)
			}
			if len(got) != 1 || !reflect.DeepEqual(got[0], want[len(want)-1]) {
				t.Errorf("%T %q\n got %+v\nwant %+v", codec, in, got[0],
					want[len(want)-1])
			}
		}
	}
	// All of them batched in one frame.
	for codec, in := range map[Codec][]byte{
		LegacyJSON:     []byte(strings.Join(byteStrings(lines), "\n")),
		LegacyProtobuf: frame,
	} {
		got, err := decodeAll(codec, in)
		if err != nil || len(got) != len(want) {
			t.Fatalf("%T batched: %v, %d commands", codec, err, len(got))
		}
		for i := range got {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("%T batched command %d: %+v", codec, i, got[i])
			}
		}
	}
}

func byteStrings(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

// checkLegacyCommand checks what every decoded v1 command promises: one
// request, an id unless it is a send, and no v2-only request fields.
func checkLegacyCommand(t *testing.T, c *Command) {
	t.Helper()
	set := 0
	for _, p := range []bool{c.Connect != nil, c.Subscribe != nil,
		c.Unsubscribe != nil, c.Publish != nil, c.Presence != nil,
		c.PresenceStats != nil, c.History != nil, c.Ping != nil, c.Send != nil,
		c.RPC != nil, c.Refresh != nil, c.SubRefresh != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		t.Fatalf("%d requests in %+v", set, c)
	}
	if c.ID == 0 && c.Send == nil {
		t.Fatalf("id 0 on %+v", c)
	}
	if r := c.Connect; r != nil {
		if r.Headers != nil {
			t.Fatalf("connect headers: %v", r.Headers)
		}
		for k, sr := range r.Subs {
			if sr == nil || !reflect.DeepEqual(sr, v1SubscribeRequest(sr)) {
				t.Fatalf("subs[%q] = %+v", k, sr)
			}
		}
	}
	if sr := c.Subscribe; sr != nil && !reflect.DeepEqual(sr, v1SubscribeRequest(sr)) {
		t.Fatalf("subscribe has v2 fields: %+v", sr)
	}
}

func TestLegacyEncodePublicationAllocs(t *testing.T) {
	r := benchPublication()
	r.Push.Pub.Tags = map[string]string{"kind": "chat", "lang": "en"}
	r.Push.Pub.Time = 1724300000123
	for _, c := range []Codec{LegacyJSON, LegacyProtobuf} {
		dst := make([]byte, 0, 4096)
		if n := testing.AllocsPerRun(100, func() {
			dst = c.AppendReply(dst[:0], r)
			dst = c.AppendPush(dst[:0], r.Push)
		}); n != 0 {
			t.Errorf("%T: %v allocations per publication", c, n)
		}
	}
}

func BenchmarkEncodePublicationLegacyJSON(b *testing.B) {
	benchmarkEncode(b, LegacyJSON, benchPublication())
}

func BenchmarkEncodePublicationLegacyProtobuf(b *testing.B) {
	benchmarkEncode(b, LegacyProtobuf, benchPublication())
}

func BenchmarkDecodePublishLegacyJSON(b *testing.B) {
	benchmarkDecode(b, LegacyJSON, []byte(`{"method":3,"params":{"channel":`+
		`"chat:room-42","data":{"user":"ann","text":"hello everybody, how is `+
		`it going today?","ts":1724300000123}},"id":17}`))
}

func BenchmarkDecodePublishLegacyProtobuf(b *testing.B) {
	msg := pbString(nil, 1, "chat:room-42")
	msg = pbBytes(msg, 2, []byte(`{"user":"ann","text":"hello everybody, how is it`+
		` going today?","ts":1724300000123}`))
	cmd := pbUint(nil, 1, 17)
	cmd = pbUint(cmd, 2, uint64(legacyPublish))
	cmd = pbBytes(cmd, 3, msg)
	benchmarkDecode(b, LegacyProtobuf, protowire.AppendBytes(nil, cmd))
}

// TestLegacyJSONStringsStayValid makes sure that v1 replies escape strings
// like v2 ones: frames are text and must stay valid UTF-8.
func TestLegacyJSONStringsStayValid(t *testing.T) {
	r := &Reply{Push: &Push{Channel: "ch\xff\u2028", Pub: &Publication{
		Data: Raw(`{"a":1}`), Info: &ClientInfo{User: "\x00", Client: "日"}}}}
	got := LegacyJSON.AppendReply(nil, r)
	if !utf8.Valid(got) || !json.Valid(got) {
		t.Errorf("invalid output %q", got)
	}
}
