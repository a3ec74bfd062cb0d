package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	cf "github.com/centrifugal/protocol"
	"google.golang.org/protobuf/proto"
)

func TestJSONReplyGolden(t *testing.T) {
	tests := []struct {
		name string
		r    *Reply
		want string
	}{
		{"ping", &Reply{}, `{}`},
		{"publish", &Reply{ID: 3, Publish: &PublishResult{}}, `{"id":3,"publish":{}}`},
		{"unsubscribe", &Reply{ID: 5, Unsubscribe: &UnsubscribeResult{}},
			`{"id":5,"unsubscribe":{}}`},
		{"error", &Reply{ID: 2, Error: ErrPermissionDenied},
			`{"id":2,"error":{"code":103,"message":"permission denied"}}`},
		{"connect", &Reply{ID: 1, Connect: &ConnectResult{
			Client: "c3b7f0a2-1d2e-4b9c-9a55-0f6c2f7f1b11", Version: "6.9.1",
			Ping: 25, Pong: true}},
			`{"id":1,"connect":{"client":"c3b7f0a2-1d2e-4b9c-9a55-0f6c2f7f1b11",` +
				`"version":"6.9.1","ping":25,"pong":true}}`},
		{"connect server-side sub", &Reply{ID: 1, Connect: &ConnectResult{
			Client: "c", Version: "6.9.1", Ping: 25, Pong: true,
			Subs: map[string]*SubscribeResult{"#demo-user": {}}}},
			`{"id":1,"connect":{"client":"c","version":"6.9.1",` +
				`"subs":{"#demo-user":{}},"ping":25,"pong":true}}`},
		{"connect key order", &Reply{ID: 1, Connect: &ConnectResult{
			Client: "c", Version: "v", Expires: true, TTL: 1, Data: Raw(`{}`),
			Ping: 2, Pong: true, Session: "s", Node: "n", Time: 3}},
			`{"id":1,"connect":{"client":"c","version":"v","expires":true,` +
				`"ttl":1,"data":{},"ping":2,"pong":true,"session":"s","node":"n",` +
				`"time":3}}`},
		{"subscribe empty", &Reply{ID: 2, Subscribe: &SubscribeResult{}},
			`{"id":2,"subscribe":{}}`},
		{"subscribe positioned", &Reply{ID: 2, Subscribe: &SubscribeResult{
			Recoverable: true, Epoch: "aBcD", Offset: 12, Positioned: true}},
			`{"id":2,"subscribe":{"recoverable":true,"epoch":"aBcD","offset":12,` +
				`"positioned":true}}`},
		{"subscribe recovered", &Reply{ID: 2, Subscribe: &SubscribeResult{
			Recoverable: true, Epoch: "aBcD", Publications: []*Publication{
				{Data: Raw(`{"text":"missed"}`), Offset: 14}},
			Recovered: true, Offset: 13, Positioned: true, WasRecovering: true}},
			`{"id":2,"subscribe":{"recoverable":true,"epoch":"aBcD",` +
				`"publications":[{"data":{"text":"missed"},"offset":14}],` +
				`"recovered":true,"offset":13,"positioned":true,"was_recovering":true}}`},
		{"presence", &Reply{ID: 7, Presence: &PresenceResult{
			Presence: map[string]*ClientInfo{"c1": {User: "42", Client: "c1"}}}},
			`{"id":7,"presence":{"presence":{"c1":{"user":"42","client":"c1"}}}}`},
		{"presence empty", &Reply{ID: 7, Presence: &PresenceResult{}},
			`{"id":7,"presence":{"presence":{}}}`},
		{"presence stats zero", &Reply{ID: 8, PresenceStats: &PresenceStatsResult{}},
			`{"id":8,"presence_stats":{"num_clients":0,"num_users":0}}`},
		{"history empty", &Reply{ID: 4, History: &HistoryResult{}},
			`{"id":4,"history":{"publications":[],"epoch":"","offset":0}}`},
		{"rpc", &Reply{ID: 9, RPC: &RPCResult{Data: Raw(`{"a":1}`)}},
			`{"id":9,"rpc":{"data":{"a":1}}}`},
		{"rpc empty", &Reply{ID: 9, RPC: &RPCResult{}}, `{"id":9,"rpc":{}}`},
		{"push pub", &Reply{Push: &Push{Channel: "news", Pub: &Publication{
			Data: Raw(`{"text":"hello"}`), Offset: 13}}},
			`{"push":{"channel":"news","pub":{"data":{"text":"hello"},"offset":13}}}`},
		{"push join", &Reply{Push: &Push{Channel: "chat", Join: &Join{
			Info: ClientInfo{User: "42", Client: "8a1f"}}}},
			`{"push":{"channel":"chat","join":{"info":{"user":"42","client":"8a1f"}}}}`},
		{"push join empty user", &Reply{Push: &Push{Channel: "chat", Join: &Join{}}},
			`{"push":{"channel":"chat","join":{"info":{"user":"","client":""}}}}`},
		{"push unsubscribe", &Reply{Push: &Push{Channel: "news", Unsubscribe: &Unsubscribe{
			Code: 2000, Reason: "server unsubscribe"}}},
			`{"push":{"channel":"news","unsubscribe":{"code":2000,` +
				`"reason":"server unsubscribe"}}}`},
		{"push message", &Reply{Push: &Push{Message: &Message{Data: Raw(`{"alert":true}`)}}},
			`{"push":{"message":{"data":{"alert":true}}}}`},
		{"push subscribe", &Reply{Push: &Push{Channel: "#42", Subscribe: &Subscribe{
			Recoverable: true, Epoch: "xYz1", Offset: 3, Positioned: true}}},
			`{"push":{"channel":"#42","subscribe":{"recoverable":true,"epoch":"xYz1",` +
				`"offset":3,"positioned":true}}}`},
		{"push refresh", &Reply{Push: &Push{Refresh: &Refresh{Expires: true, TTL: 3600}}},
			`{"push":{"refresh":{"expires":true,"ttl":3600}}}`},
		{"push disconnect", &Reply{Push: &Push{Disconnect: DisconnectShutdown}},
			`{"push":{"disconnect":{"code":3001,"reason":"shutdown"}}}`},
		{"push tags sorted", &Reply{Push: &Push{ID: 5, Pub: &Publication{
			Data: Raw(`1`), Tags: map[string]string{"b": "2", "a": "1"}, Time: 9}}},
			`{"push":{"id":5,"pub":{"data":1,"tags":{"a":"1","b":"2"},"time":9}}}`},
		{"raw newlines dropped", &Reply{ID: 1, RPC: &RPCResult{
			Data: Raw("{\n  \"a\": \"b\"\n}\n")}}, `{"id":1,"rpc":{"data":{  "a": "b"}}}`},
		{"raw of newlines only", &Reply{ID: 1, RPC: &RPCResult{Data: Raw("\n\n")}},
			`{"id":1,"rpc":{"data":null}}`},
		{"delta data as string", &Reply{Push: &Push{Channel: "d", Pub: &Publication{
			Data: Raw(`"{\"a\":1}"`), Delta: true}}},
			`{"push":{"channel":"d","pub":{"data":"{\"a\":1}","delta":true}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(JSON.AppendReply(nil, tt.r)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestJSONPushBare(t *testing.T) {
	got := string(JSON.AppendPush(nil, &Push{Channel: "news", Pub: &Publication{
		Data: Raw(`{"x":1}`)}}))
	if want := `{"channel":"news","pub":{"data":{"x":1}}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := string(JSON.AppendPush(nil, &Push{})); got != "{}" {
		t.Errorf("keepalive = %s, want {}", got)
	}
}

func TestJSONReplyOracle(t *testing.T) {
	enc := cf.NewJSONReplyEncoder()
	for _, s := range sampleReplies() {
		t.Run(s.name, func(t *testing.T) {
			got := JSON.AppendReply(nil, s.r)
			if !json.Valid(got) {
				t.Fatalf("invalid JSON: %.200s", got)
			}
			want := cfReply(s.r)
			ref, err := enc.Encode(want)
			if err != nil {
				t.Fatal(err)
			}
			// Same bytes as the reference: same key order, omissions and
			// escaping. The reference writes maps in random order, so with
			// several keys in a map only the values can be compared.
			if !bytes.Equal(got, ref) && (!multiKeyMaps(s.r) || !sameJSON(got, ref)) {
				t.Errorf("got  %.300s\nwant %.300s", got, ref)
			}
			back, err := cf.NewJSONReplyDecoder(got).Decode()
			if err != nil {
				t.Fatalf("reference decoder: %v", err)
			}
			if !proto.Equal(back, want) {
				t.Errorf("decoded %v\nwant    %v", back, want)
			}
		})
	}
}

func TestJSONDecodeOracle(t *testing.T) {
	enc := cf.NewJSONCommandEncoder()
	var lines [][]byte
	var want []*Command
	for _, c := range sampleCommands() {
		b, err := enc.Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, b)
		want = append(want, fromCFCommand(c))
		got, err := decodeAll(JSON, b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(got, []*Command{fromCFCommand(c)}) {
			t.Errorf("%s\ndecoded to %+v", b, got[0])
		}
	}
	frame := bytes.Join(lines, []byte{'\n'})
	got, err := decodeAll(JSON, frame)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("batched frame: %v, %d commands", err, len(got))
	}
}

func TestJSONDecodeSpecFrames(t *testing.T) {
	tests := []struct {
		frame string
		want  []*Command
	}{
		{`{"connect":{"token":"eyJhbGciOi...","name":"js"},"id":1}` + "\n" +
			`{"subscribe":{"channel":"news","flag":1},"id":2}`,
			[]*Command{{ID: 1, Connect: &ConnectRequest{Token: "eyJhbGciOi...",
				Name: "js"}}, {ID: 2, Subscribe: &SubscribeRequest{Channel: "news",
				Flag: 1}}}},
		{`{"connect":{"name":"js"},"id":1}` + "\n" + `{"subscribe":{"channel":"news",` +
			`"recoverable":true,"flag":1,"recover":true,"offset":13,"epoch":"aBcD"},"id":2}`,
			[]*Command{{ID: 1, Connect: &ConnectRequest{Name: "js"}},
				{ID: 2, Subscribe: &SubscribeRequest{Channel: "news", Recoverable: true,
					Flag: 1, Recover: true, Offset: 13, Epoch: "aBcD"}}}},
		{`{"id":1,"connect":{"name":"go"}}`,
			[]*Command{{ID: 1, Connect: &ConnectRequest{Name: "go"}}}},
		{`{"send":{"data":{"x":1}}}`,
			[]*Command{{Send: &SendRequest{Data: Raw(`{"x":1}`)}}}},
		{`{"subscribe":{"channel":"secret","flag":1},"id":3}`,
			[]*Command{{ID: 3, Subscribe: &SubscribeRequest{Channel: "secret", Flag: 1}}}},
		{"{}", []*Command{{}}},
		{"{}\n", []*Command{{}}},
		{"{}\n{}", []*Command{{}, {}}},
	}
	for _, tt := range tests {
		got, err := decodeAll(JSON, []byte(tt.frame))
		if err != nil {
			t.Errorf("%q: %v", tt.frame, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %+v", tt.frame, got)
		}
	}
}

func TestJSONDecodeValues(t *testing.T) {
	tests := []struct {
		name string
		line string
		want *Command
	}{
		{"whitespace", " \t{ \"id\" : 7 ,\r \"ping\" : { } } \r",
			&Command{ID: 7, Ping: &PingRequest{}}},
		{"unknown keys skipped", `{"method":0,"params":{"a":[1,{"b":null}]},"x":"y",` +
			`"id":1,"z":-1.5e+3,"t":true,"f":false,"n":null,"e":[],"o":{}}`,
			&Command{ID: 1}},
		{"null fields are absent", `{"id":null,"connect":null,"publish":{"channel":null}}`,
			&Command{Publish: &PublishRequest{}}},
		{"data kept verbatim", `{"publish":{"data": { "a" : [1, 2.5, "\n"] } }}`,
			&Command{Publish: &PublishRequest{Data: Raw(`{ "a" : [1, 2.5, "\n"] }`)}}},
		{"data null kept", `{"rpc":{"data":null,"method":"m"}}`,
			&Command{RPC: &RPCRequest{Data: Raw(`null`), Method: "m"}}},
		{"data scalar", `{"send":{"data":"text"}}`,
			&Command{Send: &SendRequest{Data: Raw(`"text"`)}}},
		{"escaped key", `{"\u0069d":4,"sub_\u0072efresh":{"channel":"c"}}`,
			&Command{ID: 4, SubRefresh: &SubRefreshRequest{Channel: "c"}}},
		{"keys are case-sensitive", `{"ID":4,"Connect":{}}`, &Command{}},
		{"string escapes", `{"presence":{"channel":"\"\\\/\b\f\n\r\t\u00fc\ud83d\ude00"}}`,
			&Command{Presence: &PresenceRequest{Channel: "\"\\/\b\f\n\r\tü😀"}}},
		{"lone surrogates", `{"presence":{"channel":"\ud800x\udc00\ud800\u0041"}}`,
			&Command{Presence: &PresenceRequest{Channel: "\ufffdx\ufffd\ufffdA"}}},
		{"utf8 passes through", `{"presence_stats":{"channel":"日本\u2028"}}`,
			&Command{PresenceStats: &PresenceStatsRequest{Channel: "日本\u2028"}}},
		{"max values", `{"id":4294967295,"subscribe":{"offset":18446744073709551615,` +
			`"flag":-9223372036854775808,"type":2147483647}}`,
			&Command{ID: 1<<32 - 1, Subscribe: &SubscribeRequest{Offset: 1<<64 - 1,
				Flag: -1 << 63, Type: 1<<31 - 1}}},
		{"min int32", `{"history":{"limit":-2147483648,"since":{"offset":0,"epoch":"e"}}}`,
			&Command{History: &HistoryRequest{Limit: -1 << 31,
				Since: &StreamPosition{Epoch: "e"}}}},
		{"since null", `{"history":{"channel":"h","since":null,"reverse":true}}`,
			&Command{History: &HistoryRequest{Channel: "h", Reverse: true}}},
		{"tf present", `{"subscribe":{"channel":"c","tf":{"op":"and","nodes":[]}}}`,
			&Command{Subscribe: &SubscribeRequest{Channel: "c", HasFilter: true}}},
		{"tf null", `{"subscribe":{"channel":"c","tf":null}}`,
			&Command{Subscribe: &SubscribeRequest{Channel: "c"}}},
		{"connect maps", `{"connect":{"subs":{"a":{"recover":true},"b":null,` +
			`"c\u0021":{}},"headers":{"X":"1","Y":null}}}`,
			&Command{Connect: &ConnectRequest{
				Subs: map[string]*SubscribeRequest{"a": {Recover: true}, "b": {},
					"c!": {}},
				Headers: map[string]string{"X": "1", "Y": ""}}}},
		{"duplicate key, last wins", `{"id":1,"id":2}`, &Command{ID: 2}},
		{"deep data", `{"send":{"data":` + strings.Repeat("[", 200) +
			strings.Repeat("]", 200) + `}}`, &Command{Send: &SendRequest{
			Data: Raw(strings.Repeat("[", 200) + strings.Repeat("]", 200))}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeAll(JSON, []byte(tt.line))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, []*Command{tt.want}) {
				t.Errorf("got  %+v\nwant %+v", got[0], tt.want)
			}
		})
	}
}

func TestJSONDecodeMalformed(t *testing.T) {
	tests := []struct {
		name  string
		frame string
	}{
		{"empty frame", ""},
		{"only newline", "\n"},
		{"two trailing newlines", "{}\n\n"},
		{"empty line", "{}\n\n{}"},
		{"leading newline", "\n{}"},
		{"blank line", "{}\n \n{}"},
		{"not an object", `[]`},
		{"null", `null`},
		{"two objects", `{}{}`},
		{"trailing garbage", `{} x`},
		{"unterminated", `{"id":1`},
		{"pretty printed", "{\n\"id\":1\n}"},
		{"missing colon", `{"id" 1}`},
		{"trailing comma", `{"id":1,}`},
		{"single quotes", `{'id':1}`},
		{"id string", `{"id":"1"}`},
		{"id negative", `{"id":-1}`},
		{"id fraction", `{"id":1.0}`},
		{"id exponent", `{"id":1e2}`},
		{"id leading zero", `{"id":01}`},
		{"id overflow", `{"id":4294967296}`},
		{"offset overflow", `{"subscribe":{"offset":18446744073709551616}}`},
		{"int32 overflow", `{"history":{"limit":2147483648}}`},
		{"int64 underflow", `{"subscribe":{"flag":-9223372036854775809}}`},
		{"bare minus", `{"subscribe":{"flag":-}}`},
		{"minus null", `{"subscribe":{"flag":-null}}`},
		{"request not object", `{"connect":"x"}`},
		{"bool as string", `{"subscribe":{"recover":"true"}}`},
		{"bool as number", `{"subscribe":{"recover":1}}`},
		{"string as number", `{"subscribe":{"channel":1}}`},
		{"bad data", `{"publish":{"data":{"a":}}}`},
		{"bad data literal", `{"publish":{"data":tru}}`},
		{"bad data number", `{"publish":{"data":1.}}`},
		{"bad data exponent", `{"publish":{"data":1e}}`},
		{"bad data leading zero", `{"publish":{"data":012}}`},
		{"bad data unclosed", `{"publish":{"data":[1,2}}`},
		{"bad data mismatched", `{"publish":{"data":{"a":1]}}`},
		{"data key not string", `{"publish":{"data":{a:1}}}`},
		{"data missing", `{"publish":{"data":}}`},
		{"raw control char", "{\"presence\":{\"channel\":\"a\x01\"}}"},
		{"raw tab in string", "{\"presence\":{\"channel\":\"a\tb\"}}"},
		{"bad escape", `{"presence":{"channel":"\x"}}`},
		{"short unicode escape", `{"presence":{"channel":"\u12"}}`},
		{"bad unicode escape", `{"presence":{"channel":"\u12g4"}}`},
		{"invalid utf8", "{\"presence\":{\"channel\":\"\xff\"}}"},
		{"invalid utf8 in data", "{\"publish\":{\"data\":\"\xc3\"}}"},
		{"unterminated string", `{"presence":{"channel":"abc`},
		{"unterminated key", `{"abc`},
		{"map value wrong type", `{"connect":{"headers":{"a":1}}}`},
		{"subs value wrong type", `{"connect":{"subs":{"a":[]}}}`},
		{"too deep", `{"send":{"data":` + strings.Repeat("[", maxJSONDepth+1) +
			strings.Repeat("]", maxJSONDepth+1) + `}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeAll(JSON, []byte(tt.frame))
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestJSONDepthLimitMatchesStdlib(t *testing.T) {
	// The command and send objects are two levels; data adds the rest.
	for _, depth := range []int{maxJSONDepth - 3, maxJSONDepth - 2, maxJSONDepth - 1} {
		for _, data := range []string{
			strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth),
			strings.Repeat(`[`, depth) + strings.Repeat("]", depth),
		} {
			line := []byte(`{"send":{"data":` + data + `}}`)
			_, err := decodeAll(JSON, line)
			var v any
			stdErr := json.Unmarshal(line, &v)
			if (err == nil) != (stdErr == nil) {
				t.Errorf("depth %d: ours %v, encoding/json %v", depth, err, stdErr)
			}
		}
	}
}

func TestJSONStringMatchesStdlib(t *testing.T) {
	var all strings.Builder
	for r := rune(0); r < 0x3000; r++ {
		all.WriteRune(r)
	}
	inputs := []string{
		"", "plain", `"quoted" \back\slash/`, "<script>&amp;</script>",
		"\x00\x01\x07\b\t\n\v\f\r\x1f\x7f", "ü日本\U0001F600", "\u2028\u2029",
		"\xff", "a\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80", all.String(),
	}
	for _, s := range inputs {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("%q:\n got %s\nwant %s", s, head(got), head(want))
		}
	}
}

func TestJSONEscapedStringsRoundTrip(t *testing.T) {
	// Whatever the encoder writes, the decoder reads back, with invalid
	// UTF-8 replaced.
	for _, s := range []string{"a\"b\\c\x00\n\u2028<>&ü", "\xffx", "\U0001F600"} {
		line := `{"presence":{"channel":` + string(appendJSONString(nil, s)) + `}}`
		got, err := decodeAll(JSON, []byte(line))
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); got[0].Presence.Channel != want {
			t.Errorf("%q came back as %q", s, got[0].Presence.Channel)
		}
		if !utf8.ValidString(got[0].Presence.Channel) {
			t.Errorf("%q: invalid UTF-8 decoded", s)
		}
	}
}

// sameJSON reports whether a and b hold the same JSON values.
func sameJSON(a, b []byte) bool {
	var va, vb any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	return da.Decode(&va) == nil && db.Decode(&vb) == nil && reflect.DeepEqual(va, vb)
}

// multiKeyMaps reports whether r holds a map with more than one key anywhere.
func multiKeyMaps(r *Reply) bool {
	pubs := func(ps []*Publication) bool {
		for _, p := range ps {
			if p != nil && len(p.Tags) > 1 {
				return true
			}
		}
		return false
	}
	subs := func(m map[string]*SubscribeResult) bool {
		if len(m) > 1 {
			return true
		}
		for _, s := range m {
			if s != nil && pubs(s.Publications) {
				return true
			}
		}
		return false
	}
	switch {
	case r.Connect != nil && subs(r.Connect.Subs),
		r.Subscribe != nil && pubs(r.Subscribe.Publications),
		r.Presence != nil && len(r.Presence.Presence) > 1,
		r.History != nil && pubs(r.History.Publications):
		return true
	}
	p := r.Push
	return p != nil && (p.Pub != nil && pubs([]*Publication{p.Pub}) ||
		p.Connect != nil && subs(p.Connect.Subs))
}
