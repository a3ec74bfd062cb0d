package api

import (
	"net/http"
	"strings"
	"testing"
)

func TestLegacyCommands(t *testing.T) {
	e := newEnv(t)
	notServed := func(enum string) string {
		return errorBody(errNotFound, "method "+enum+" is not served")
	}
	noParams := wantBad("params required")
	tests := []struct {
		name, body, want string
	}{
		{"tutorial",
			`{"method":"publish","params":{"channel":"#demo-user","data":{"time":1700000000}}}`,
			`{"result":{}}`},
		{"method in capitals", `{"method":"PUBLISH","params":{"channel":"a","data":1}}`,
			`{"result":{}}`},
		{"method in mixed case", `{"method":"Presence_Stats","params":{"channel":"pres:x"}}`,
			`{"result":{"num_clients":0,"num_users":0}}`},
		{"method escaped", `{"method":"p\u0075blish","params":{"channel":"a","data":1}}`,
			`{"result":{}}`},
		{"method number", `{"method":5,"params":{"channel":"pres:x"}}`,
			`{"result":{"num_clients":0,"num_users":0}}`},
		{"missing method is publish", `{"params":{"channel":"a","data":{}}}`,
			`{"result":{}}`},
		{"params before method",
			`{"params":{"channel":"pres:x"},"method":"presence_stats"}`,
			`{"result":{"num_clients":0,"num_users":0}}`},
		{"keys in any case", `{"METHOD":"publish","Params":{"Channel":"a","DATA":1}}`,
			`{"result":{}}`},
		{"last method wins",
			`{"method":"info","params":{"channel":"pres:x"},"method":"presence_stats"}`,
			`{"result":{"num_clients":0,"num_users":0}}`},
		{"id echoed", `{"id":7,"method":"publish","params":{"channel":"a","data":1}}`,
			`{"id":7,"result":{}}`},
		{"id zero omitted", `{"id":0,"method":"rpc","params":{}}`,
			wantBad("method required")},
		{"info without params", `{"method":"info"}`, ``},
		{"params absent", `{"method":"presence"}`, noParams},
		{"params null", `{"method":"publish","params":null}`, wantNoChannel},
		{"params wrong type", `{"id":1,"method":"publish","params":{"channel":5}}`,
			`{"id":1,"error":{"code":107,` +
				`"message":"bad request: params: \"channel\": expected string"}}`},
		{"params not an object", `{"method":"publish","params":[]}`,
			wantBad("params: expected object")},
		{"params type error before method",
			`{"params":{"channel":true},"method":"publish"}`,
			wantBad(`params: "channel": expected string`)},
		{"nested type error names the inner key",
			`{"method":"publish","params":{"channel":"a","data":1,"tags":{"t":[]}}}`,
			wantBad(`params: "t": expected string`)},
		{"null command", `null`, noParams},
		{"served elsewhere: connections", `{"method":"connections","params":{}}`,
			notServed("14")},
		{"v3 name user_connections", `{"method":"user_connections","params":{}}`,
			notServed("14")},
		{"PRO method by number", `{"method":18,"params":{}}`, notServed("18")},
		{"unused number", `{"method":13,"params":{}}`, notServed("13")},
		{"unknown number", `{"method":99,"params":{}}`, notServed("99")},
		{"negative number", `{"method":-1,"params":{}}`, notServed("-1")},
		{"map method", `{"method":"map_publish","params":{}}`, notServed("33")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.call(t, "/api", tt.body)
			if tt.want == "" {
				jsonMatch(t, got, `{"result":{"nodes":["$any"]}}`)
				return
			}
			if got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestLegacyStream(t *testing.T) {
	e := newEnv(t)
	body := `{"id":1,"method":"publish","params":{"channel":"hist:a","data":{"n":1}}}
{"id":2,"method":"publish","params":{"channel":"hist:a","data":{"n":2}}}
  {"id":3,"method":6,"params":{"channel":"hist:a","limit":-1}}{"id":4,"method":10,"params":{}}
{"method":"publish","params":{"channel":"nope:x","data":1}}
`
	lines := strings.Split(e.call(t, "/api", body), "\n")
	want := []string{
		`{"id":1,"result":{"offset":1,"epoch":"$any"}}`,
		`{"id":2,"result":{"offset":2,"epoch":"$any"}}`,
		`{"id":3,"result":{"publications":[{"data":{"n":1},"offset":1},` +
			`{"data":{"n":2},"offset":2}],"epoch":"$any","offset":2}}`,
		`{"id":4,"error":{"code":107,"message":"bad request: method required"}}`,
		wantUnknownChan,
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d replies, want %d: %q", len(lines), len(want), lines)
	}
	for i := range want {
		jsonMatch(t, lines[i], want[i])
	}
}

// TestLegacyBadBody checks that a body that fails to decode anywhere is
// answered 400 as a whole, and that none of its commands ran.
func TestLegacyBadBody(t *testing.T) {
	e := newEnv(t)
	first := `{"method":"publish","params":{"channel":"hist:a","data":1}}`
	tests := []struct{ name, body string }{
		{"empty", ``},
		{"whitespace", " \n\t "},
		{"malformed", `{"method":"publish"`},
		{"malformed after a good command", first + `{"method":`},
		{"garbage after a good command", first + `x`},
		{"unknown method string", first + `{"method":"frobnicate","params":{}}`},
		{"empty method string", `{"method":"","params":{}}`},
		{"method null", `{"method":null,"params":{}}`},
		{"method number as string", `{"method":"1","params":{}}`},
		{"method fraction", `{"method":1.5,"params":{}}`},
		{"method object", `{"method":{},"params":{}}`},
		{"id negative", first + `{"id":-1,"method":"info"}`},
		{"id too large", `{"id":4294967296,"method":"info"}`},
		{"id string", `{"id":"1","method":"info"}`},
		{"top-level array", `[` + first + `]`},
		{"top-level string", `"publish"`},
		{"malformed params", `{"method":"publish","params":{"channel":}}`},
		{"unterminated string in data", `{"method":"publish","params":{"data":"x}}`},
		{"deep nesting", `{"method":"publish","params":{"channel":"a","data":` +
			strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1) + `}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, "/api", tt.body, "X-API-Key", testKey)
			if r.status != http.StatusBadRequest || r.body != "Bad Request\n" {
				t.Fatalf("%d %q, want 400 Bad Request", r.status, r.body)
			}
		})
	}
	jsonMatch(t, e.legacy(t, "history", `{"channel":"hist:a"}`),
		`{"result":{"publications":[],"epoch":"$any","offset":0}}`)
}

// TestLegacyRaw checks that data reaches history byte for byte and that a
// reply never spans lines, even when data held newlines.
func TestLegacyRaw(t *testing.T) {
	e := newEnv(t)
	data := "{ \"b\" : [1, 2 ,3] ,\n \"a\":\"\\u00e9\\n\", \"c\":null }"
	e.call(t, "/api", `{"method":"publish","params":{"channel":"hist:a","data":`+data+`}}`)
	got := e.call(t, "/api", `{"method":"history","params":{"channel":"hist:a","limit":1}}
{"method":"info"}`)
	lines := strings.Split(got, "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", got)
	}
	want := strings.ReplaceAll(data, "\n", "")
	if !strings.Contains(lines[0], `"data":`+want+`,`) {
		t.Fatalf("history %s does not hold the data as sent: %s", lines[0], want)
	}
}
