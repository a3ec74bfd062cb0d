package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestStreamsConnectProxy runs the tutorial's cookie login over the
// HTTP-streaming and SSE transports: the connect proxy gets the browser's
// cookie from the stream request, the connection becomes demo-user with
// its personal channel, and what the API publishes there arrives on the
// stream. Without the cookie the backend's refusal arrives as a disconnect
// push and the stream ends.
func TestStreamsConnectProxy(t *testing.T) {
	be := tutorialBackend(t)
	srv := Start(t, v6Config().
		Set("http_api.key", apiKey).
		Set("client.allowed_origins", []string{tutorialOrigin}).
		Set("client.subscribe_to_user_personal_channel.enabled", true).
		Set("client.proxy.connect", map[string]any{
			"enabled": true, "endpoint": be.url(tutorialPath),
			"http_headers": []string{"Cookie"},
		}).
		Set("http_stream.enabled", true).
		Set("sse.enabled", true))

	const connect = `{"id":1,"connect":{}}`
	open := func(t *testing.T, kind string, cookie bool) (*bufio.Reader, func()) {
		t.Helper()
		var req *http.Request
		var err error
		if kind == "sse" {
			req, err = http.NewRequest(http.MethodGet,
				srv.URL("/connection/sse?cf_connect="+url.QueryEscape(connect)), nil)
		} else {
			req, err = http.NewRequest(http.MethodPost, srv.URL("/connection/http_stream"),
				strings.NewReader(connect))
			req.Header.Set("Content-Type", "application/json")
		}
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", tutorialOrigin)
		if cookie {
			req.Header.Set("Cookie", sessionCookie)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", kind, resp.StatusCode)
		}
		return bufio.NewReader(resp.Body), func() { _ = resp.Body.Close() }
	}
	// next returns the next message of the stream, without SSE framing.
	next := func(t *testing.T, r *bufio.Reader) map[string]json.RawMessage {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("stream ended: %v", err)
			}
			line = strings.TrimSpace(strings.TrimPrefix(line, "data: "))
			if line == "" {
				continue
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("message %q: %v", line, err)
			}
			return m
		}
	}

	for _, kind := range []string{"http_stream", "sse"} {
		t.Run(kind, func(t *testing.T) {
			r, done := open(t, kind, true)
			defer done()
			reply := next(t, r)
			if reply["connect"] == nil {
				t.Fatalf("first message %v, want the connect reply", reply)
			}
			reqs := be.requests(tutorialPath, nil)
			if got := reqs[len(reqs)-1].Header.Get("Cookie"); got != sessionCookie {
				t.Errorf("backend got Cookie %q, want %q", got, sessionCookie)
			}

			callAPI(t, srv, "publish", `{"channel":"#demo-user","data":{"via":"api"}}`, nil)
			deadline := time.Now().Add(WaitTimeout)
			for {
				m := next(t, r)
				if p := m["push"]; p != nil && strings.Contains(string(p), `"via":"api"`) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("no publication on the stream")
				}
			}

			r2, done2 := open(t, kind, false)
			defer done2()
			m := next(t, r2)
			if p := string(m["push"]); !strings.Contains(p, `"disconnect"`) ||
				!strings.Contains(p, `"unauthorized"`) {
				t.Fatalf("without the cookie: %v, want a disconnect push", m)
			}
		})
	}
}
