package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// TestLegacyJSONDecodeSpec decodes the commands of legacy spec §2.2 byte for
// byte as centrifuge-js 2.8.3 sends them.
func TestLegacyJSONDecodeSpec(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  *Command
	}{
		{"connect", `{"params":{"name":"js"},"id":1}`,
			&Command{ID: 1, Connect: &ConnectRequest{Name: "js"}}},
		{"connect with token",
			`{"params":{"token":"eyJhbGciOi","data":{"a":1},"name":"js",` +
				`"version":"2.8.3"},"id":1}`,
			&Command{ID: 1, Connect: &ConnectRequest{Token: "eyJhbGciOi",
				Data: Raw(`{"a":1}`), Name: "js", Version: "2.8.3"}}},
		{"reconnect with a recoverable server-side sub",
			`{"params":{"name":"js","subs":{"#demo-user":{"recover":true,` +
				`"offset":5,"epoch":"abc"}}},"id":1}`,
			&Command{ID: 1, Connect: &ConnectRequest{Name: "js",
				Subs: map[string]*SubscribeRequest{"#demo-user": {Recover: true,
					Offset: 5, Epoch: "abc"}}}}},
		{"subscribe", `{"method":1,"params":{"channel":"news"},"id":2}`,
			&Command{ID: 2, Subscribe: &SubscribeRequest{Channel: "news"}}},
		{"subscribe with recovery",
			`{"method":1,"params":{"channel":"news","recover":true,"offset":5,` +
				`"epoch":"abc"},"id":3}`,
			&Command{ID: 3, Subscribe: &SubscribeRequest{Channel: "news",
				Recover: true, Offset: 5, Epoch: "abc"}}},
		{"private channel", `{"method":1,"params":{"channel":"$x","token":"tok"},"id":4}`,
			&Command{ID: 4, Subscribe: &SubscribeRequest{Channel: "$x", Token: "tok"}}},
		{"unsubscribe", `{"method":2,"params":{"channel":"news"},"id":5}`,
			&Command{ID: 5, Unsubscribe: &UnsubscribeRequest{Channel: "news"}}},
		{"publish", `{"method":3,"params":{"channel":"news","data":{"text":"hi"}},"id":6}`,
			&Command{ID: 6, Publish: &PublishRequest{Channel: "news",
				Data: Raw(`{"text":"hi"}`)}}},
		{"presence", `{"method":4,"params":{"channel":"c"},"id":7}`,
			&Command{ID: 7, Presence: &PresenceRequest{Channel: "c"}}},
		{"presence stats", `{"method":5,"params":{"channel":"c"},"id":7}`,
			&Command{ID: 7, PresenceStats: &PresenceStatsRequest{Channel: "c"}}},
		{"history",
			`{"method":6,"params":{"channel":"c","since":{"offset":1,"epoch":"e"},` +
				`"limit":10,"reverse":true},"id":8}`,
			&Command{ID: 8, History: &HistoryRequest{Channel: "c", Limit: 10,
				Since: &StreamPosition{Offset: 1, Epoch: "e"}, Reverse: true}}},
		{"ping", `{"method":7,"id":9}`, &Command{ID: 9, Ping: &PingRequest{}}},
		{"send", `{"method":8,"params":{"data":{"x":1}}}`,
			&Command{Send: &SendRequest{Data: Raw(`{"x":1}`)}}},
		{"rpc", `{"method":9,"params":{"data":{"x":1},"method":"name"},"id":10}`,
			&Command{ID: 10, RPC: &RPCRequest{Data: Raw(`{"x":1}`), Method: "name"}}},
		{"unnamed rpc", `{"method":9,"params":{"data":[]},"id":10}`,
			&Command{ID: 10, RPC: &RPCRequest{Data: Raw(`[]`)}}},
		{"refresh", `{"method":10,"params":{"token":"jwt"},"id":11}`,
			&Command{ID: 11, Refresh: &RefreshRequest{Token: "jwt"}}},
		{"sub_refresh", `{"method":11,"params":{"channel":"$x","token":"tok"},"id":12}`,
			&Command{ID: 12, SubRefresh: &SubRefreshRequest{Channel: "$x",
				Token: "tok"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeAll(LegacyJSON, []byte(tt.frame))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, []*Command{tt.want}) {
				t.Errorf("got  %+v\nwant %+v", got[0], tt.want)
			}
		})
	}
}

func TestLegacyJSONDecodeRules(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  []*Command
	}{
		{"connect without params", `{"id":1}`,
			[]*Command{{ID: 1, Connect: &ConnectRequest{}}}},
		{"null params", `{"method":1,"params":null,"id":2}`,
			[]*Command{{ID: 2, Subscribe: &SubscribeRequest{}}}},
		{"seq and gen ignored",
			`{"method":1,"params":{"channel":"news","recover":true,"seq":4,` +
				`"gen":1,"offset":5,"epoch":"abc"},"id":3}`,
			[]*Command{{ID: 3, Subscribe: &SubscribeRequest{Channel: "news",
				Recover: true, Offset: 5, Epoch: "abc"}}}},
		{"seq and gen ignored in connect subs",
			`{"params":{"name":"js","subs":{"a":{"recover":true,"seq":1,"gen":2}}},` +
				`"id":1}`,
			[]*Command{{ID: 1, Connect: &ConnectRequest{Name: "js",
				Subs: map[string]*SubscribeRequest{"a": {Recover: true}}}}}},
		{"unknown command keys ignored", `{"method":7,"id":9,"x":[{}]}`,
			[]*Command{{ID: 9, Ping: &PingRequest{}}}},
		{"v2 request fields dropped",
			`{"method":1,"params":{"channel":"c","data":{},"positioned":true,` +
				`"recoverable":true,"join_leave":true,"delta":"fossil",` +
				`"tf":{"op":"and"},"flag":3,"type":2},"id":2}`,
			[]*Command{{ID: 2, Subscribe: &SubscribeRequest{Channel: "c"}}}},
		{"v2 connect headers dropped",
			`{"params":{"headers":{"a":"b"},"subs":{"c":{"delta":"fossil"}}},"id":1}`,
			[]*Command{{ID: 1, Connect: &ConnectRequest{
				Subs: map[string]*SubscribeRequest{"c": {}}}}}},
		{"id first", `{"id":2,"method":1,"params":{"channel":"news"}}`,
			[]*Command{{ID: 2, Subscribe: &SubscribeRequest{Channel: "news"}}}},
		{"params before method", `{"params":{"channel":"news"},"id":2,"method":1}`,
			[]*Command{{ID: 2, Subscribe: &SubscribeRequest{Channel: "news"}}}},
		{"method changes after params",
			`{"method":1,"params":{"channel":"news"},"method":2,"id":2}`,
			[]*Command{{ID: 2, Unsubscribe: &UnsubscribeRequest{Channel: "news"}}}},
		{"last params wins",
			`{"method":1,"params":{"channel":"a","token":"t"},` +
				`"params":{"channel":"b"},"id":2}`,
			[]*Command{{ID: 2, Subscribe: &SubscribeRequest{Channel: "b"}}}},
		{"null params keeps the earlier one",
			`{"method":3,"params":{"channel":"a"},"params":null,"id":2}`,
			[]*Command{{ID: 2, Publish: &PublishRequest{Channel: "a"}}}},
		{"send with id", `{"method":8,"params":{"data":1},"id":4}`,
			[]*Command{{ID: 4, Send: &SendRequest{Data: Raw(`1`)}}}},
		{"whitespace", " {\t\"method\" : 7 ,\r\"id\" : 9 } ",
			[]*Command{{ID: 9, Ping: &PingRequest{}}}},
		{"batch with trailing newline",
			`{"params":{"name":"js"},"id":1}` + "\n" +
				`{"method":1,"params":{"channel":"a"},"id":2}` + "\n",
			[]*Command{{ID: 1, Connect: &ConnectRequest{Name: "js"}},
				{ID: 2, Subscribe: &SubscribeRequest{Channel: "a"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeAll(LegacyJSON, []byte(tt.frame))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLegacyJSONDecodeMalformed(t *testing.T) {
	for _, frame := range []string{
		"",
		"\n",
		"{}",                       // a connect without an id
		`{"method":7}`,             // v1 has no pong
		`{"method":1,"params":{}}`, // an id is required
		`{"method":12,"id":1}`,
		`{"method":-1,"id":1}`,
		`{"method":1.0,"id":1}`,
		`{"method":"1","id":1}`,
		`{"method":2147483648,"id":1}`,
		`{"method":1,"params":[],"id":1}`,
		`{"params":5,"id":1}`,
		`{"params":"e30=","id":1}`,
		`{"method":1,"params":{"channel":5},"id":1}`,
		`{"params":{"channel":"a"},"method":6,"id":1,"x":}`,
		`{"params":{"since":5},"method":6,"id":1}`,
		`{"id":4294967296,"method":7}`,
		`{"method":7,"id":1}x`,
		`[]`,
		"{\"method\":7,\"id\":1}\n\n{\"method\":7,\"id\":2}",
		"{\"method\":7,\"id\":1}\n{",
		"{\"params\":{\"data\":\"\xff\"},\"id\":1}",
	} {
		_, err := decodeAll(LegacyJSON, []byte(frame))
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err = %v, want ErrMalformed", frame, err)
		}
	}
}

func TestLegacyJSONCommandsDoNotAliasFrame(t *testing.T) {
	frame := []byte(`{"params":{"channel":"ch","data":{"a":"b"}},"method":3,"id":1}`)
	cmds, err := decodeAll(LegacyJSON, frame)
	if err != nil {
		t.Fatal(err)
	}
	for i := range frame {
		frame[i] = 'z'
	}
	if p := cmds[0].Publish; p.Channel != "ch" || string(p.Data) != `{"a":"b"}` {
		t.Errorf("command changed with the frame: %q %q", p.Channel, p.Data)
	}
}

// TestLegacyJSONReplyGolden holds the encoder to the exchanges of legacy spec
// §3 and §4, byte for byte.
func TestLegacyJSONReplyGolden(t *testing.T) {
	pub := func(data string, offset uint64) *Reply {
		return &Reply{Push: &Push{Channel: "#demo-user", Pub: &Publication{
			Data: Raw(data), Offset: offset}}}
	}
	tests := []struct {
		name string
		r    *Reply
		want string
	}{
		{"connect with server-side sub", &Reply{ID: 1, Connect: &ConnectResult{
			Client: "9a1c1d0e-7b0f-4b7e-8a3e-2f8c1a4d5e6f", Version: "3.1.0",
			Subs: map[string]*SubscribeResult{"#demo-user": {}},
			// v2 keepalive and emulation fields have no v1 form.
			Ping: 25, Pong: true, Session: "s", Node: "n", Time: 5}},
			`{"id":1,"result":{"client":"9a1c1d0e-7b0f-4b7e-8a3e-2f8c1a4d5e6f",` +
				`"version":"3.1.0","subs":{"#demo-user":{}}}}`},
		{"connect with a recoverable sub", &Reply{ID: 1, Connect: &ConnectResult{
			Client: "c", Version: "3.1.0", Subs: map[string]*SubscribeResult{
				"#demo-user": {Recoverable: true, Epoch: "XyZ1", Offset: 1,
					Positioned: true, WasRecovering: true, Delta: true, ID: 4}}}},
			`{"id":1,"result":{"client":"c","version":"3.1.0","subs":{"#demo-user":` +
				`{"recoverable":true,"epoch":"XyZ1","offset":1,"positioned":true}}}}`},
		{"connect with expiry and data", &Reply{ID: 1, Connect: &ConnectResult{
			Client: "c", Version: "v", Expires: true, TTL: 60, Data: Raw(`{"a":1}`)}},
			`{"id":1,"result":{"client":"c","version":"v","expires":true,"ttl":60,` +
				`"data":{"a":1}}}`},
		{"connect error", &Reply{ID: 1, Error: ErrUnauthorized},
			`{"id":1,"error":{"code":101,"message":"unauthorized"}}`},
		{"temporary error", &Reply{ID: 3, Error: ErrTooManyRequests},
			`{"id":3,"error":{"code":111,"message":"too many requests"}}`},
		{"publication push", pub(`{"time":1650000005}`, 0),
			`{"result":{"channel":"#demo-user","data":{"data":{"time":1650000005}}}}`},
		{"publication push with offset", pub(`{"time":1650000010}`, 2),
			`{"result":{"channel":"#demo-user","data":{"data":{"time":1650000010},` +
				`"offset":2}}}`},
		{"publication v2 fields dropped", &Reply{Push: &Push{ID: 7, Channel: "c",
			Pub: &Publication{Data: Raw(`1`), Info: &ClientInfo{User: "u",
				Client: "c1"}, Offset: 3, Tags: map[string]string{"a": "b"},
				Delta: true, Time: 99}}},
			`{"result":{"channel":"c","data":{"data":1,"info":{"user":"u",` +
				`"client":"c1"},"offset":3}}}`},
		{"ping", &Reply{ID: 2, Ping: &PingResult{}}, `{"id":2}`},
		{"bare id", &Reply{ID: 2}, `{"id":2}`},
		{"subscribe", &Reply{ID: 3, Subscribe: &SubscribeResult{}},
			`{"id":3,"result":{}}`},
		{"subscribe recovered", &Reply{ID: 3, Subscribe: &SubscribeResult{
			Recoverable: true, Epoch: "e", Recovered: true, Offset: 13,
			Positioned: true, WasRecovering: true, Publications: []*Publication{
				{Data: Raw(`{"text":"missed"}`), Offset: 14, Time: 5}, nil}}},
			`{"id":3,"result":{"recoverable":true,"epoch":"e","publications":` +
				`[{"data":{"text":"missed"},"offset":14},{}],"recovered":true,` +
				`"offset":13,"positioned":true}}`},
		{"publish", &Reply{ID: 6, Publish: &PublishResult{}}, `{"id":6,"result":{}}`},
		{"unsubscribe", &Reply{ID: 5, Unsubscribe: &UnsubscribeResult{}},
			`{"id":5,"result":{}}`},
		{"presence", &Reply{ID: 7, Presence: &PresenceResult{
			Presence: map[string]*ClientInfo{"c1": {User: "42", Client: "c1"}}}},
			`{"id":7,"result":{"presence":{"c1":{"user":"42","client":"c1"}}}}`},
		{"presence stats", &Reply{ID: 7, PresenceStats: &PresenceStatsResult{}},
			`{"id":7,"result":{"num_clients":0,"num_users":0}}`},
		{"history", &Reply{ID: 8, History: &HistoryResult{Epoch: "e", Offset: 2,
			Publications: []*Publication{{Data: Raw(`{"n":2}`), Offset: 2,
				Tags: map[string]string{"x": "y"}}}}},
			`{"id":8,"result":{"publications":[{"data":{"n":2},"offset":2}],` +
				`"epoch":"e","offset":2}}`},
		{"history empty", &Reply{ID: 8, History: &HistoryResult{}},
			`{"id":8,"result":{"publications":[],"epoch":"","offset":0}}`},
		{"rpc", &Reply{ID: 10, RPC: &RPCResult{Data: Raw(`{"ok":true}`)}},
			`{"id":10,"result":{"data":{"ok":true}}}`},
		{"refresh", &Reply{ID: 11, Refresh: &RefreshResult{Client: "c",
			Version: "v", Expires: true, TTL: 30}},
			`{"id":11,"result":{"client":"c","version":"v","expires":true,"ttl":30}}`},
		{"sub_refresh", &Reply{ID: 12, SubRefresh: &SubRefreshResult{
			Expires: true, TTL: 40}},
			`{"id":12,"result":{"expires":true,"ttl":40}}`},
		{"join", &Reply{Push: &Push{Channel: "chat", Join: &Join{
			Info: ClientInfo{User: "42", Client: "8a1f"}}}},
			`{"result":{"type":1,"channel":"chat","data":{"info":{"user":"42",` +
				`"client":"8a1f"}}}}`},
		{"leave", &Reply{Push: &Push{Channel: "chat", Leave: &Leave{}}},
			`{"result":{"type":2,"channel":"chat","data":{"info":{"user":"",` +
				`"client":""}}}}`},
		{"unsubscribe push", &Reply{Push: &Push{Channel: "news",
			Unsubscribe: &Unsubscribe{Code: 2000, Reason: "server unsubscribe"}}},
			`{"result":{"type":3,"channel":"news","data":{}}}`},
		{"message", &Reply{Push: &Push{Message: &Message{Data: Raw(`{"alert":1}`)}}},
			`{"result":{"type":4,"data":{"data":{"alert":1}}}}`},
		{"subscribe push", &Reply{Push: &Push{Channel: "#42", Subscribe: &Subscribe{
			Recoverable: true, Epoch: "e", Offset: 3, Positioned: true,
			Data: Raw(`{}`)}}},
			`{"result":{"type":5,"channel":"#42","data":{"recoverable":true,` +
				`"epoch":"e","offset":3,"positioned":true,"data":{}}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(LegacyJSON.AppendReply(nil, tt.r)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestLegacyJSONPushBare checks that AppendPush writes the result object of
// the push reply.
func TestLegacyJSONPushBare(t *testing.T) {
	for _, s := range sampleReplies() {
		if s.r.Push == nil || !legacyWritable(s.r) {
			continue
		}
		var reply struct{ Result json.RawMessage }
		if err := json.Unmarshal(LegacyJSON.AppendReply(nil, s.r), &reply); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := LegacyJSON.AppendPush(nil, s.r.Push); !bytes.Equal(got, reply.Result) {
			t.Errorf("%s: push %s, reply result %s", s.name, got, reply.Result)
		}
	}
}

// TestLegacyJSONReplyMatchesV2 checks every sample reply against the v2
// encoding of its v1 part: a v1 result is the v2 result object, and a v1
// push carries the v2 push body as data, byte for byte.
func TestLegacyJSONReplyMatchesV2(t *testing.T) {
	for _, s := range sampleReplies() {
		if !legacyWritable(s.r) {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			var v1, v2 map[string]json.RawMessage
			got := LegacyJSON.AppendReply(nil, s.r)
			if err := json.Unmarshal(got, &v1); err != nil {
				t.Fatalf("%v: %.80s", err, got)
			}
			v2Bytes := JSON.AppendReply(nil, v1Reply(s.r))
			if err := json.Unmarshal(v2Bytes, &v2); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(v1["id"], v2["id"]) ||
				!bytes.Equal(v1["error"], v2["error"]) {
				t.Errorf("id/error: got %s %s, want %s %s", v1["id"], v1["error"],
					v2["id"], v2["error"])
			}
			want := legacyResultFromV2(t, s.r, v2)
			if !bytes.Equal(v1["result"], want) {
				t.Errorf("result\n got %.200s\nwant %.200s", v1["result"], want)
			}
			for k := range v1 {
				if k != "id" && k != "error" && k != "result" {
					t.Errorf("unexpected key %q", k)
				}
			}
		})
	}
}

// legacyResultFromV2 builds the v1 result that the decoded v2 reply v2
// stands for; nil when there is none.
func legacyResultFromV2(t *testing.T, r *Reply, v2 map[string]json.RawMessage) []byte {
	t.Helper()
	if p := r.Push; p != nil {
		var push map[string]json.RawMessage
		if err := json.Unmarshal(v2["push"], &push); err != nil {
			t.Fatal(err)
		}
		typ, body, _, _ := v1PushBody(p)
		var b []byte
		b = append(b, '{')
		if typ != 0 {
			b = append(b, `"type":`+itoa(typ)+`,`...)
		}
		if ch, ok := push["channel"]; ok {
			b = append(append(append(b, `"channel":`...), ch...), ',')
		}
		return append(append(append(b, `"data":`...), push[body]...), '}')
	}
	for k, v := range v2 {
		if k != "id" && k != "error" && k != "ping" {
			return v
		}
	}
	return nil
}
