package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// methodCase is one call of a method, made in both styles on a fresh env.
type methodCase struct {
	name   string
	setup  func(t *testing.T, e *env) // optional
	method string
	params string
	want   string                     // jsonMatch pattern of the whole answer
	check  func(t *testing.T, e *env) // optional, after the call
}

func runMethodCases(t *testing.T, cases []methodCase) {
	t.Helper()
	for _, st := range styles {
		t.Run(st.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					e := newEnv(t)
					if tc.setup != nil {
						tc.setup(t, e)
					}
					jsonMatch(t, st.call(e, t, tc.method, tc.params), tc.want)
					if tc.check != nil {
						tc.check(t, e)
					}
				})
			}
		})
	}
}

var (
	wantEmpty       = `{"result":{}}`
	wantUnknownChan = errorBody(errUnknownChan, "unknown namespace")
	wantNoChannel   = wantBad("channel required")
	wantNoData      = wantBad("data required")
)

// wantBad is the answer of a 107 given for why.
func wantBad(why string) string { return errorBody(errBadRequest, why) }

// wantNotAvail is the answer of a 108 given for why.
func wantNotAvail(why string) string { return errorBody(errNotAvailable, why) }

// Reasons of 107 and 108 shared by several tests.
const (
	notASCII    = "channel: invalid channel name: not ASCII"
	presenceOff = "presence is off for the namespace"
	historyOff  = "history is off for the namespace"
)

// history returns the publications of ch as the API shows them.
func history(t *testing.T, e *env, ch string) string {
	t.Helper()
	return e.method(t, "history", fmt.Sprintf(`{"channel":%q,"limit":-1}`, ch))
}

// wantHistory fails unless ch holds exactly pubs (a JSON array pattern).
func wantHistory(t *testing.T, e *env, ch, pubs string, offset int) {
	t.Helper()
	jsonMatch(t, history(t, e, ch), fmt.Sprintf(
		`{"result":{"publications":%s,"epoch":"$any","offset":%d}}`, pubs, offset))
}

func TestPublish(t *testing.T) {
	runMethodCases(t, []methodCase{
		{name: "no history", method: "publish",
			params: `{"channel":"news","data":{"a":1}}`, want: wantEmpty},
		{name: "history", method: "publish",
			params: `{"channel":"hist:a","data":{"a":1}}`,
			want:   `{"result":{"offset":1,"epoch":"$any"}}`,
			check: func(t *testing.T, e *env) {
				wantHistory(t, e, "hist:a", `[{"data":{"a":1},"offset":1}]`, 1)
			}},
		{name: "b64data wins", method: "publish",
			params: `{"channel":"hist:a","data":{"no":1},"b64data":"eyJ4IjoxfQ=="}`,
			want:   `{"result":{"offset":1,"epoch":"$any"}}`,
			check: func(t *testing.T, e *env) {
				wantHistory(t, e, "hist:a", `[{"data":{"x":1},"offset":1}]`, 1)
			}},
		{name: "binary b64data", method: "publish",
			params: `{"channel":"hist:a","b64data":"AAEC"}`,
			want:   `{"result":{"offset":1,"epoch":"$any"}}`,
			check: func(t *testing.T, e *env) {
				wantHistory(t, e, "hist:a", `[{"b64data":"AAEC","offset":1}]`, 1)
			}},
		{name: "skip_history", method: "publish",
			params: `{"channel":"hist:a","data":1,"skip_history":true}`, want: wantEmpty,
			check: func(t *testing.T, e *env) { wantHistory(t, e, "hist:a", `[]`, 0) }},
		{name: "tags", method: "publish",
			params: `{"channel":"hist:a","data":1,"tags":{"k":"v","K":"w"}}`,
			want:   `{"result":{"offset":1,"epoch":"$any"}}`,
			check: func(t *testing.T, e *env) {
				wantHistory(t, e, "hist:a",
					`[{"data":1,"offset":1,"tags":{"K":"w","k":"v"}}]`, 1)
			}},
		{name: "idempotency_key", method: "publish",
			setup: func(t *testing.T, e *env) {
				e.method(t, "publish", `{"channel":"hist:a","data":1,"idempotency_key":"k1"}`)
			},
			params: `{"channel":"hist:a","data":2,"idempotency_key":"k1"}`,
			want:   `{"result":{"offset":1,"epoch":"$any"}}`,
			check: func(t *testing.T, e *env) {
				wantHistory(t, e, "hist:a", `[{"data":1,"offset":1}]`, 1)
			}},
		{name: "delta and version accepted", method: "publish",
			params: `{"channel":"news","data":1,"delta":true,"version":3,` +
				`"version_epoch":"e"}`, want: wantEmpty},
		{name: "null data is data", method: "publish",
			params: `{"channel":"news","data":null}`, want: wantEmpty},
		{name: "binary namespace takes empty data", method: "publish",
			params: `{"channel":"bin:x"}`, want: wantEmpty},
		{name: "json_object namespace", method: "publish",
			params: `{"channel":"obj:x","data":{"k":1}}`, want: wantEmpty},
		{name: "unknown fields ignored", method: "publish",
			params: `{"channel":"news","data":1,"extra":{"x":[1,2]}}`, want: wantEmpty},

		{name: "channel missing", method: "publish", params: `{"data":1}`,
			want: wantNoChannel},
		{name: "data missing", method: "publish", params: `{"channel":"news"}`,
			want: wantNoData},
		{name: "data missing before unknown namespace", method: "publish",
			params: `{"channel":"nope:x"}`, want: wantNoData},
		{name: "empty b64data and no data", method: "publish",
			params: `{"channel":"news","b64data":""}`, want: wantNoData},
		{name: "bad base64", method: "publish",
			params: `{"channel":"hist:a","b64data":"!!"}`,
			want:   wantBad("b64data is not base64"),
			check:  func(t *testing.T, e *env) { wantHistory(t, e, "hist:a", `[]`, 0) }},
		{name: "unknown namespace", method: "publish",
			params: `{"channel":"nope:x","data":1}`, want: wantUnknownChan},
		{name: "private unknown namespace", method: "publish",
			params: `{"channel":"$nope:x","data":1}`, want: wantUnknownChan},
		{name: "invalid channel", method: "publish",
			params: `{"channel":"caf\u00e9","data":1}`, want: wantBad(notASCII)},
		{name: "channel too long", method: "publish",
			params: `{"channel":"` + strings.Repeat("c", 256) + `","data":1}`,
			want:   wantBad("channel: invalid channel name: longer than 255 bytes")},
		{name: "json_object namespace rejects array", method: "publish",
			params: `{"channel":"obj:x","data":[1]}`,
			want:   wantBad("data is not a JSON object")},
		{name: "json namespace rejects binary", method: "publish",
			params: `{"channel":"js:x","b64data":"AAEC"}`, want: wantBad("data is not JSON")},
	})
}

func TestBroadcast(t *testing.T) {
	runMethodCases(t, []methodCase{
		{name: "per-channel replies in order", method: "broadcast",
			params: `{"channels":["hist:a","news","nope:x","","hist:b","obj:x"],` +
				`"data":{"x":1}}`,
			want: `{"result":{"responses":[` +
				`{"result":{"offset":1,"epoch":"$any"}},{"result":{}},` + wantUnknownChan +
				`,` + wantNoChannel + `,{"result":{"offset":1,"epoch":"$any"}},{"result":{}}]}}`,
			check: func(t *testing.T, e *env) {
				wantHistory(t, e, "hist:a", `[{"data":{"x":1},"offset":1}]`, 1)
				wantHistory(t, e, "hist:b", `[{"data":{"x":1},"offset":1}]`, 1)
			}},
		{name: "one channel", method: "broadcast",
			params: `{"channels":["hist:a"],"b64data":"eyJ4IjoxfQ==","skip_history":true}`,
			want:   `{"result":{"responses":[{"result":{}}]}}`},
		{name: "many channels", method: "broadcast",
			params: `{"channels":[` + manyChannels(300) + `],"data":1}`,
			want:   `{"result":{"responses":[` + repeatJoin(`{"result":{}}`, 300) + `]}}`},
		{name: "no channels", method: "broadcast", params: `{"data":1}`,
			want: wantBad("channels required")},
		{name: "empty channels", method: "broadcast", params: `{"channels":[],"data":1}`,
			want: wantBad("channels required")},
		{name: "no data", method: "broadcast", params: `{"channels":["hist:a"]}`,
			want: wantNoData},
		{name: "no data, binary namespace", method: "broadcast",
			params: `{"channels":["bin:x","news"]}`,
			want:   `{"result":{"responses":[{"result":{}},` + wantNoData + `]}}`},
		{name: "bad base64", method: "broadcast",
			params: `{"channels":["hist:a"],"b64data":"%"}`,
			want:   wantBad("b64data is not base64"),
			check:  func(t *testing.T, e *env) { wantHistory(t, e, "hist:a", `[]`, 0) }},
	})
}

func manyChannels(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"c%d"`, i)
	}
	return b.String()
}

func repeatJoin(s string, n int) string {
	return strings.TrimSuffix(strings.Repeat(s+",", n), ",")
}

func TestPresenceMethods(t *testing.T) {
	subscribe := func(t *testing.T, e *env) {
		for _, u := range []string{"alice", "bob", "alice"} {
			e.connect(t, u)
		}
		e.method(t, "subscribe", `{"user":"alice","channel":"pres:room","info":{"i":1}}`)
		e.method(t, "subscribe", `{"user":"bob","channel":"pres:room"}`)
	}
	runMethodCases(t, []methodCase{
		{name: "presence empty", method: "presence", params: `{"channel":"pres:x"}`,
			want: `{"result":{"presence":{}}}`},
		{name: "presence off", method: "presence", params: `{"channel":"news"}`,
			want: wantNotAvail(presenceOff)},
		{name: "presence unknown namespace", method: "presence",
			params: `{"channel":"nope:x"}`, want: wantUnknownChan},
		{name: "presence no channel", method: "presence", params: `{}`,
			want: wantNoChannel},
		{name: "stats empty", method: "presence_stats", params: `{"channel":"pres:x"}`,
			want: `{"result":{"num_clients":0,"num_users":0}}`},
		{name: "stats", setup: subscribe, method: "presence_stats",
			params: `{"channel":"pres:room"}`,
			want:   `{"result":{"num_clients":3,"num_users":2}}`},
		{name: "stats off", method: "presence_stats", params: `{"channel":"news"}`,
			want: wantNotAvail(presenceOff)},
		{name: "stats unknown namespace", method: "presence_stats",
			params: `{"channel":"nope:x"}`, want: wantUnknownChan},
		{name: "stats no channel", method: "presence_stats", params: `{}`,
			want: wantNoChannel},
		{name: "stats invalid channel", method: "presence_stats",
			params: `{"channel":"caf\u00e9"}`, want: wantBad(notASCII)},
	})
	// presence lists each client with its user and channel info; client IDs
	// are random, so it is checked on its own.
	for _, st := range styles {
		t.Run(st.name, func(t *testing.T) {
			e := newEnv(t)
			subscribe(t, e)
			var got struct {
				Result struct {
					Presence map[string]struct {
						User, Client string
						ChanInfo     json.RawMessage `json:"chan_info"`
					}
				}
			}
			body := st.call(e, t, "presence", `{"channel":"pres:room"}`)
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			users := map[string]int{}
			for id, ci := range got.Result.Presence {
				if ci.Client != id {
					t.Errorf("entry %s names client %s", id, ci.Client)
				}
				users[ci.User]++
				if ci.User == "alice" && string(ci.ChanInfo) != `{"i":1}` {
					t.Errorf("alice chan_info %s", ci.ChanInfo)
				}
			}
			if len(users) != 2 || users["alice"] != 2 || users["bob"] != 1 {
				t.Fatalf("presence %s", body)
			}
		})
	}
}

func TestHistoryMethods(t *testing.T) {
	publish3 := func(t *testing.T, e *env) {
		for i := 1; i <= 3; i++ {
			e.method(t, "publish", fmt.Sprintf(`{"channel":"hist:a","data":{"n":%d}}`, i))
		}
	}
	pubs := func(ns ...int) string {
		var parts []string
		for _, n := range ns {
			parts = append(parts, fmt.Sprintf(`{"data":{"n":%d},"offset":%d}`, n, n))
		}
		return `{"result":{"publications":[` + strings.Join(parts, ",") +
			`],"epoch":"$any","offset":3}}`
	}
	runMethodCases(t, []methodCase{
		{name: "limit absent: position only", setup: publish3, method: "history",
			params: `{"channel":"hist:a"}`, want: pubs()},
		{name: "limit 0: position only", setup: publish3, method: "history",
			params: `{"channel":"hist:a","limit":0}`, want: pubs()},
		{name: "limit -1: all", setup: publish3, method: "history",
			params: `{"channel":"hist:a","limit":-1}`, want: pubs(1, 2, 3)},
		{name: "limit 2", setup: publish3, method: "history",
			params: `{"channel":"hist:a","limit":2}`, want: pubs(1, 2)},
		{name: "reverse", setup: publish3, method: "history",
			params: `{"channel":"hist:a","limit":2,"reverse":true}`, want: pubs(3, 2)},
		{name: "empty stream", method: "history",
			params: `{"channel":"hist:a","limit":-1}`,
			want:   `{"result":{"publications":[],"epoch":"$any","offset":0}}`},
		{name: "since wrong epoch", setup: publish3, method: "history",
			params: `{"channel":"hist:a","limit":-1,"since":{"offset":1,"epoch":"xyz"}}`,
			want:   errorBody(errUnrecoverable, "since is not in the stream")},
		{name: "history off", method: "history", params: `{"channel":"pres:x"}`,
			want: wantNotAvail(historyOff)},
		{name: "unknown namespace", method: "history", params: `{"channel":"nope:x"}`,
			want: wantUnknownChan},
		{name: "no channel", method: "history", params: `{"limit":1}`,
			want: wantNoChannel},

		{name: "remove", setup: publish3, method: "history_remove",
			params: `{"channel":"hist:a"}`, want: wantEmpty,
			check: func(t *testing.T, e *env) {
				// Publications go, the stream position stays.
				wantHistory(t, e, "hist:a", `[]`, 3)
			}},
		{name: "remove off", method: "history_remove", params: `{"channel":"news"}`,
			want: wantNotAvail(historyOff)},
		{name: "remove unknown namespace", method: "history_remove",
			params: `{"channel":"nope:x"}`, want: wantUnknownChan},
		{name: "remove no channel", method: "history_remove", params: `{}`,
			want: wantNoChannel},
	})
}

// TestHistorySince uses the epoch of a real stream.
func TestHistorySince(t *testing.T) {
	for _, st := range styles {
		t.Run(st.name, func(t *testing.T) {
			e := newEnv(t)
			var res struct{ Result struct{ Epoch string } }
			for i := 1; i <= 3; i++ {
				body := e.method(t, "publish", fmt.Sprintf(`{"channel":"hist:a","data":%d}`, i))
				if err := json.Unmarshal([]byte(body), &res); err != nil {
					t.Fatal(err)
				}
			}
			got := st.call(e, t, "history", fmt.Sprintf(
				`{"channel":"hist:a","limit":-1,"since":{"offset":1,"epoch":%q}}`,
				res.Result.Epoch))
			jsonMatch(t, got, `{"result":{"publications":[{"data":2,"offset":2},`+
				`{"data":3,"offset":3}],"epoch":"`+res.Result.Epoch+`","offset":3}}`)
		})
	}
}

func TestChannelsAndInfo(t *testing.T) {
	subscribed := func(t *testing.T, e *env) {
		e.connect(t, "alice")
		e.connect(t, "bob")
		for _, ch := range []string{"news", "hist:a", "hist:b", "chat"} {
			e.method(t, "subscribe", `{"user":"alice","channel":"`+ch+`"}`)
		}
		e.method(t, "subscribe", `{"user":"bob","channel":"news"}`)
	}
	runMethodCases(t, []methodCase{
		{name: "none", method: "channels", params: `{}`,
			want: `{"result":{"channels":{}}}`},
		{name: "all", setup: subscribed, method: "channels", params: `{}`,
			want: `{"result":{"channels":{"news":{"num_clients":2},` +
				`"hist:a":{"num_clients":1},"hist:b":{"num_clients":1},` +
				`"chat":{"num_clients":1}}}}`},
		{name: "pattern", setup: subscribed, method: "channels",
			params: `{"pattern":"hist:*"}`,
			want: `{"result":{"channels":{"hist:a":{"num_clients":1},` +
				`"hist:b":{"num_clients":1}}}}`},
		{name: "pattern alternatives", setup: subscribed, method: "channels",
			params: `{"pattern":"{news,ch?t}"}`,
			want: `{"result":{"channels":{"news":{"num_clients":2},` +
				`"chat":{"num_clients":1}}}}`},
		{name: "bad pattern", method: "channels", params: `{"pattern":"[a"}`,
			want: errorBody(errInternal, "malformed channels pattern")},
		{name: "info", method: "info", params: `{}`,
			setup: func(t *testing.T, e *env) {
				subscribed(t, e)
				// A zero uptime is left out of the answer.
				e.setClock(e.node.Started().Add(999 * time.Millisecond))
			},
			want: `{"result":{"nodes":[{"uid":"$any","name":"test-node",` +
				`"version":"0.0.0-test","num_clients":2,"num_users":2,` +
				`"num_channels":4,"num_subs":5}]}}`},
		{name: "rpc", method: "rpc", params: `{"method":"x","params":{"a":1}}`,
			want: errorBody(errNotFound, `no rpc extension "x"`)},
		{name: "rpc long method", method: "rpc",
			params: `{"method":"` + strings.Repeat("m", 100) + `"}`,
			want: errorBody(errNotFound,
				`no rpc extension "`+strings.Repeat("m", maxQuoted)+`"...`)},
		{name: "rpc no method", method: "rpc", params: `{"params":{}}`,
			want: wantBad("method required")},
	})
}

// TestInfoUptime checks that info counts whole seconds since the node
// started, on the handler's clock.
func TestInfoUptime(t *testing.T) {
	for _, st := range styles {
		t.Run(st.name, func(t *testing.T) {
			e := newEnv(t)
			for _, tt := range []struct {
				after time.Duration
				want  int
			}{
				{1500 * time.Millisecond, 1},
				{90 * time.Second, 90},
				{49*time.Hour + 999*time.Millisecond, 49 * 3600},
			} {
				e.setClock(e.node.Started().Add(tt.after))
				var got struct {
					Result struct{ Nodes []struct{ Uptime *int } }
				}
				body := st.call(e, t, "info", `{}`)
				if err := json.Unmarshal([]byte(body), &got); err != nil {
					t.Fatal(err)
				}
				n := got.Result.Nodes
				if len(n) != 1 || n[0].Uptime == nil || *n[0].Uptime != tt.want {
					t.Fatalf("%v after start: %s, want uptime %d", tt.after, body, tt.want)
				}
			}
		})
	}
}

// TestParamsTypeErrors checks that params of the wrong JSON type are a 107
// naming the parameter for that command on the legacy route and a 400 for
// the request on the per-method route, and that nothing runs.
func TestParamsTypeErrors(t *testing.T) {
	tests := []struct{ method, params, why string }{
		{"publish", `{"channel":1,"data":{}}`, `"channel": expected string`},
		{"publish", `{"channel":"hist:a","data":{},"tags":{"k":1}}`,
			`"k": expected string`},
		{"publish", `{"channel":"hist:a","data":{},"skip_history":"yes"}`,
			`"skip_history": expected boolean`},
		{"publish", `{"channel":"hist:a","data":{},"version":-1}`,
			`"version": expected non-negative integer`},
		{"broadcast", `{"channels":"hist:a","data":{}}`, `"channels": expected array`},
		{"broadcast", `{"channels":[1],"data":{}}`, `"channels": expected string`},
		{"subscribe", `{"user":"u","channel":"hist:a","expire_at":1.5}`,
			`"expire_at": expected integer`},
		{"subscribe", `{"user":"u","channel":"hist:a","recover_since":{"offset":"1"}}`,
			`"offset": expected integer`},
		{"subscribe", `{"user":"u","channel":"hist:a","override":{"presence":{"value":1}}}`,
			`"value": expected boolean`},
		{"unsubscribe", `{"user":["u"],"channel":"hist:a"}`, `"user": expected string`},
		{"disconnect", `{"user":"u","disconnect":{"code":-1}}`,
			`"code": expected non-negative integer`},
		{"disconnect", `{"user":"u","whitelist":"c"}`, `"whitelist": expected array`},
		{"refresh", `{"user":"u","expired":1}`, `"expired": expected boolean`},
		{"presence", `{"channel":{}}`, `"channel": expected string`},
		{"presence_stats", `{"channel":[]}`, `"channel": expected string`},
		{"history", `{"channel":"hist:a","limit":2147483648}`,
			`"limit": expected integer in range`},
		{"history_remove", `{"channel":true}`, `"channel": expected string`},
		{"channels", `{"pattern":1}`, `"pattern": expected string`},
		{"rpc", `{"method":1}`, `"method": expected string`},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.params, func(t *testing.T) {
			want := wantBad("params: " + tt.why)
			if got := e.legacy(t, tt.method, tt.params); got != want {
				t.Fatalf("legacy: %s, want %s", got, want)
			}
			// Params before the method are decoded after it is known; the
			// reason is the same.
			body := fmt.Sprintf(`{"params":%s,"method":%q}`, tt.params, tt.method)
			if got := e.call(t, "/api", body); got != want {
				t.Fatalf("legacy, params first: %s, want %s", got, want)
			}
			r := e.do(t, "POST", "/api/"+tt.method, tt.params, "X-API-Key", testKey)
			if r.status != 400 || r.body != "Bad Request\n" {
				t.Fatalf("per-method: %d %q, want 400 Bad Request", r.status, r.body)
			}
		})
	}
	wantHistory(t, e, "hist:a", `[]`, 0)
}
