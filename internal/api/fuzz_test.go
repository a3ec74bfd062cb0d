package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzLegacyAPIBody feeds arbitrary bodies to the legacy route. The handler
// must never panic, must answer 200 or 400, and every line of a 200 answer
// must be a JSON reply object. The same body also goes to the per-method
// and batch routes, which share the decoder.
func FuzzLegacyAPIBody(f *testing.F) {
	seeds := []string{
		`{"method":"publish","params":{"channel":"#demo-user","data":{"time":1}}}`,
		`{"method":"broadcast","params":{"channels":["a","hist:a"],"data":[1,"x"]}}`,
		`{"id":3,"method":6,"params":{"channel":"hist:a","limit":-1,"reverse":true}}`,
		`{"params":{"channel":"pres:x"},"method":"PRESENCE"}` + "\n" + `{"method":"info"}`,
		`{"method":"subscribe","params":{"user":"u","channel":"c","override":` +
			`{"presence":{"value":true},"recover":false},"recover_since":{"offset":1}}}`,
		`{"method":"disconnect","params":{"user":"u","disconnect":{"code":4000}}}`,
		`{"method":"channels","params":{"pattern":"{a,b}*[!c]?"}}`,
		`{"method":"publish","params":{"channel":"a","b64data":"AAEC","tags":{"k":"v"}}}`,
		`{"method":"history","params":{"channel":"hist:a","since":{"offset":1,"epoch":"e"}}}`,
		`{"method":"rpc","params":{"method":"m","params":null}}`,
		`{"commands":[{"publish":{"channel":"a","data":1}},null,{"x":{}}],"parallel":true}`,
		`null`, `[]`, `{"method":"x"}`, `{"method":"p\u0075blish"}`, "\"\\ud83d\"", "",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/api", "/api/publish", "/api/subscribe",
			"/api/history", "/api/batch"} {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("X-API-Key", testKey)
			e.handler.ServeHTTP(rec, req)
			checkFuzzAnswer(t, path, body, rec)
		}
	})
}

func checkFuzzAnswer(t *testing.T, path string, body []byte, rec *httptest.ResponseRecorder) {
	switch rec.Code {
	case http.StatusBadRequest:
		return
	case http.StatusOK:
	default:
		t.Fatalf("%s %q: status %d", path, body, rec.Code)
	}
	for line := range strings.SplitSeq(rec.Body.String(), "\n") {
		var reply map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &reply); err != nil {
			t.Fatalf("%s %q: reply %q is not a JSON object: %v", path, body, line, err)
		}
		if path != "/api" && strings.Contains(rec.Body.String(), "\n") {
			t.Fatalf("%s %q: multi-line answer %q", path, body, rec.Body.String())
		}
	}
}
