package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestBatch(t *testing.T) {
	body := `{"commands":[
		{"publish":{"channel":"hist:a","data":{"n":1}}},
		null,
		{"frobnicate":{}},
		{},
		{"presence_stats":{"channel":"pres:x"}},
		{"publish":{"channel":"","data":1}},
		{"broadcast":{"channels":["news"],"data":1},"publish":{"channel":"hist:a","data":2}},
		{"publish":null},
		{"Info":{}},
		{"rpc":{"method":"x"}},
		{"history":{"channel":"hist:a","limit":-1}}
	],"parallel":%s}`
	noMethod := errorBody(errNotFound, "command names no known method")
	want := `{"replies":[
		{"publish":{"offset":"$any","epoch":"$any"}},
		` + wantBad("command is null") + `,
		` + noMethod + `,
		` + noMethod + `,
		{"presence_stats":{"num_clients":0,"num_users":0}},
		` + wantNoChannel + `,
		{"publish":{"offset":"$any","epoch":"$any"}},
		` + noMethod + `,
		{"info":{"nodes":["$any"]}},
		` + errorBody(errNotFound, `no rpc extension "x"`) + `,
		{"history":"$any"}
	]}`
	for _, parallel := range []string{"false", "true"} {
		t.Run("parallel "+parallel, func(t *testing.T) {
			e := newEnv(t)
			got := e.call(t, "/api/batch", fmt.Sprintf(body, parallel))
			jsonMatch(t, got, want)
			// Both publications landed, in command order when sequential;
			// publish won over broadcast in the command that named both.
			if parallel == "false" {
				wantHistory(t, e, "hist:a",
					`[{"data":{"n":1},"offset":1},{"data":2,"offset":2}]`, 2)
				return
			}
			jsonMatch(t, history(t, e, "hist:a"), `{"result":{"publications":`+
				`[{"data":"$any","offset":1},{"data":"$any","offset":2}],`+
				`"epoch":"$any","offset":2}}`)
		})
	}
}

// TestBatchSequentialOrder checks that a sequential batch runs its
// commands in order: the history at the end sees every publication.
func TestBatchSequentialOrder(t *testing.T) {
	e := newEnv(t)
	var cmds, want []string
	for i := 1; i <= 20; i++ {
		cmds = append(cmds, fmt.Sprintf(`{"publish":{"channel":"hist:a","data":%d}}`, i))
		want = append(want, `{"publish":{"offset":`+fmt.Sprint(i)+`,"epoch":"$any"}}`)
	}
	cmds = append(cmds, `{"history":{"channel":"hist:a","limit":2,"reverse":true}}`)
	want = append(want, `{"history":{"publications":[{"data":20,"offset":20},`+
		`{"data":19,"offset":19}],"epoch":"$any","offset":20}}`)
	got := e.call(t, "/api/batch", `{"commands":[`+strings.Join(cmds, ",")+`]}`)
	jsonMatch(t, got, `{"replies":[`+strings.Join(want, ",")+`]}`)
}

func TestBatchEdges(t *testing.T) {
	e := newEnv(t)
	tests := []struct{ body, want string }{
		{`{"commands":[]}`, `{"replies":[]}`},
		{`{}`, `{"replies":[]}`},
		{`null`, `{"replies":[]}`},
		{`{"commands":null,"parallel":true}`, `{"replies":[]}`},
		{`{"commands":[null],"parallel":true}`,
			`{"replies":[` + wantBad("command is null") + `]}`},
		{`{"commands":[{"x":1,"unsubscribe":{"user":"u"}}],"other":[1]}`,
			`{"replies":[{"unsubscribe":{}}]}`},
	}
	for _, tt := range tests {
		if got := e.call(t, "/api/batch", tt.body); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.body, got, tt.want)
		}
	}
}

// TestTransportErrorMode checks the HTTP statuses of per-method errors
// when asked by config or header, and that the legacy route and batch keep
// answering 200.
func TestTransportErrorMode(t *testing.T) {
	tests := []struct {
		method, params string
		err            string
		status         int
	}{
		{"publish", `{"channel":"news"}`,
			`{"code":107,"message":"bad request: data required"}`, 400},
		{"publish", `{"channel":"nope:x","data":1}`,
			`{"code":102,"message":"unknown channel: unknown namespace"}`, 404},
		{"presence", `{"channel":"news"}`,
			errorObject(errNotAvailable, presenceOff), 400},
		{"history", `{"channel":"hist:a","since":{"offset":5,"epoch":"x"}}`,
			errorObject(errUnrecoverable, "since is not in the stream"), 416},
		{"rpc", `{"method":"x"}`,
			`{"code":104,"message":"method not found: no rpc extension \"x\""}`, 404},
		{"channels", `{"pattern":"{"}`,
			errorObject(errInternal, "malformed channels pattern"), 500},
	}
	modes := []struct {
		name   string
		config bool
		header []string
	}{
		{"config", true, nil},
		{"header", false, []string{"X-Centrifugo-Error-Mode", "transport"}},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.ErrorModeTransport = mode.config })
			for _, tt := range tests {
				hdr := append([]string{"X-API-Key", testKey}, mode.header...)
				r := e.do(t, http.MethodPost, "/api/"+tt.method, tt.params, hdr...)
				if r.status != tt.status || r.body != tt.err {
					t.Errorf("%s %s: %d %s, want %d %s", tt.method, tt.params,
						r.status, r.body, tt.status, tt.err)
				}
				if ct := r.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				legacy := fmt.Sprintf(`{"method":%q,"params":%s}`, tt.method, tt.params)
				if got := e.call(t, "/api", legacy, mode.header...); got != `{"error":`+tt.err+`}` {
					t.Errorf("legacy %s: %s", tt.method, got)
				}
				batch := fmt.Sprintf(`{"commands":[{%q:%s}]}`, tt.method, tt.params)
				if got := e.call(t, "/api/batch", batch, mode.header...); got !=
					`{"replies":[{"error":`+tt.err+`}]}` {
					t.Errorf("batch %s: %s", tt.method, got)
				}
			}
			// Successes keep their envelope.
			if got := e.call(t, "/api/publish", `{"channel":"news","data":1}`,
				mode.header...); got != wantEmpty {
				t.Errorf("success: %s", got)
			}
		})
	}
	// Any other header value is the default mode.
	e := newEnv(t)
	got := e.call(t, "/api/publish", `{"channel":"news"}`, "X-Centrifugo-Error-Mode", "custom")
	if got != wantNoData {
		t.Errorf("custom mode: %s", got)
	}
}
