package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge-go"
)

// withHeader makes the client send h with its WebSocket upgrade request, as
// a browser sends its cookies.
func withHeader(h http.Header) clientOption {
	return func(c *centrifuge.Config) { c.Header = h }
}

// wantHeaders fails the test unless req carries each header of want with
// that value, and none of absent.
func wantHeaders(t testing.TB, req backendRequest, want map[string]string,
	absent ...string) {
	t.Helper()
	for k, v := range want {
		if got := req.Header.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("%s: header %s %q, want %q", req.Path, k, got, v)
		}
	}
	for _, k := range absent {
		if got := req.Header.Values(k); len(got) != 0 {
			t.Errorf("%s: header %s %q forwarded, want it absent", req.Path, k, got)
		}
	}
}

// userFromCookie is the user a connect backend finds in a "sid=<user>"
// cookie, "" without one.
func userFromCookie(req backendRequest) string {
	for _, part := range strings.Split(req.Header.Get("Cookie"), ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "sid="); ok {
			return v
		}
	}
	return ""
}

// granularBackend serves one path per named proxy of the granular test.
func granularBackend(t *testing.T) *backend {
	t.Helper()
	return newBackend(t, map[string]backendHandler{
		"/conn": func(req backendRequest) backendAnswer {
			user := userFromCookie(req)
			if user == "" {
				return jsonAnswer(`{"disconnect":{"code":4503,"reason":"no session"}}`)
			}
			return jsonAnswer(fmt.Sprintf(`{"result":{"user":%q,"expire_at":%d}}`,
				user, expireIn(2*time.Second)))
		},
		"/ref": func(req backendRequest) backendAnswer {
			// Longer than the subscriptions' expiry: Herald runs one
			// backend refresh per connection at a time, and a
			// connection due on every wheel turn would starve them.
			return jsonAnswer(fmt.Sprintf(`{"result":{"expire_at":%d}}`,
				expireIn(time.Minute)))
		},
		"/sub1": func(req backendRequest) backendAnswer {
			ch := req.str("channel")
			switch {
			case strings.Contains(ch, "deny"):
				return jsonAnswer(`{"error":{"code":403,"message":"permission denied"}}`)
			case strings.HasPrefix(ch, "exp:"):
				return jsonAnswer(fmt.Sprintf(`{"result":{"expire_at":%d}}`,
					expireIn(2*time.Second)))
			}
			return jsonAnswer(fmt.Sprintf(`{"result":{"data":{"via":"sub1","channel":%q}}}`, ch))
		},
		"/subref": func(req backendRequest) backendAnswer {
			return jsonAnswer(fmt.Sprintf(`{"result":{"expire_at":%d}}`,
				expireIn(2*time.Second)))
		},
		"/pub1": func(req backendRequest) backendAnswer {
			return jsonAnswer(`{"result":{"data":{"via":"pub1"}}}`)
		},
		"/rpc1": func(req backendRequest) backendAnswer {
			return jsonAnswer(fmt.Sprintf(`{"result":{"data":{"via":"rpc1","method":%q}}}`,
				req.str("method")))
		},
		"/rpcdef": func(req backendRequest) backendAnswer {
			return jsonAnswer(fmt.Sprintf(`{"result":{"data":{"via":"rpcdef","method":%q}}}`,
				req.str("method")))
		},
	})
}

// TestProxyGranular runs v3 granular proxy mode against a real backend:
// every event goes to the named proxy its configuration picks, the channel
// proxies are enabled by their names alone (proxy_subscribe and
// proxy_publish are not set), each proxy forwards only the headers of its
// own http_headers, and the flat proxy_*_endpoint keys are ignored.
func TestProxyGranular(t *testing.T) {
	be := granularBackend(t)
	proxies := []map[string]any{
		{"name": "conn", "endpoint": be.url("/conn"), "http_headers": []string{"cookie"}},
		{"name": "ref", "endpoint": be.url("/ref"), "http_headers": []string{"X-Custom"}},
		{"name": "sub1", "endpoint": be.url("/sub1"), "http_headers": []string{"x-sub"}},
		{"name": "subref", "endpoint": be.url("/subref")},
		{"name": "pub1", "endpoint": be.url("/pub1"), "http_headers": []string{"Cookie"}},
		{"name": "rpc1", "endpoint": be.url("/rpc1"), "http_headers": []string{"X-Custom"}},
		{"name": "rpcdef", "endpoint": be.url("/rpcdef")},
	}
	srv := Start(t, Config{
		"token_hmac_secret_key": secret,
		"ping_interval":         "2s",
		"pong_timeout":          "1s",
		"granular_proxy_mode":   true,
		"proxies":               proxies,
		"connect_proxy_name":    "conn",
		"refresh_proxy_name":    "ref",
		"rpc_proxy_name":        "rpcdef",
		"rpc_namespaces": []map[string]any{
			{"name": "billing", "rpc_proxy_name": "rpc1"},
		},
		"namespaces": []map[string]any{
			{"name": "room", "publish": true, "subscribe_proxy_name": "sub1",
				"publish_proxy_name": "pub1"},
			{"name": "exp", "subscribe_proxy_name": "sub1",
				"sub_refresh_proxy_name": "subref"},
			{"name": "plain", "publish": true},
		},
		// Ignored in granular mode.
		"proxy_connect_endpoint":   be.url("/flat"),
		"proxy_subscribe_endpoint": be.url("/flat"),
		"proxy_rpc_endpoint":       be.url("/flat"),
	})

	forEachEncoding(t, func(t *testing.T, enc encoding) {
		user := "granular-" + enc.name
		h := http.Header{}
		h.Set("Cookie", "sid="+user)
		h.Set("X-Custom", "custom-"+enc.name)
		h.Set("X-Sub", "sub-"+enc.name)
		h.Set("X-Other", "never")
		c := newClient(t, srv, enc, "", withHeader(h))
		id := c.mustConnect(t)
		mine := byClient(id)

		t.Run("connect", func(t *testing.T) {
			req := be.wait(t, WaitTimeout, "/conn", 1, mine)[0]
			wantCommonFields(t, req, enc, id)
			wantHeaders(t, req, map[string]string{"Cookie": "sid=" + user},
				"X-Custom", "X-Sub", "X-Other")
		})
		t.Run("subscribe by name", func(t *testing.T) {
			ch := "room:allow-" + enc.name
			s := c.subscribe(t, ch)
			want := fmt.Sprintf(`{"via":"sub1","channel":%q}`, ch)
			if got := s.subscribed.all()[0].Data; !sameJSON(got, []byte(want)) {
				t.Errorf("subscribed with data %s, want %s", got, want)
			}
			req := be.wait(t, WaitTimeout, "/sub1", 1, byChannel(ch))[0]
			wantCommonFields(t, req, enc, id)
			if req.str("user") != user {
				t.Errorf("subscribe request %s, want user %s", req.Raw, user)
			}
			wantHeaders(t, req, map[string]string{"X-Sub": "sub-" + enc.name},
				"Cookie", "X-Custom", "X-Other")
		})
		t.Run("subscribe denied", func(t *testing.T) {
			s := c.newSub(t, "room:deny-"+enc.name)
			wantErrorCode(t, s.errs.wait(t, 1, "subscription errors")[0], 403)
		})
		t.Run("publish by name", func(t *testing.T) {
			ch := "room:pub-" + enc.name
			s := c.subscribe(t, ch)
			if _, err := c.Publish(opCtx(t), ch, []byte(`{"text":"hi"}`)); err != nil {
				t.Fatalf("publish: %v", err)
			}
			pub := pubsOf(s.pubs.wait(t, 1, "publications"))[0]
			if !sameJSON(pub.Data, []byte(`{"via":"pub1"}`)) {
				t.Fatalf("publication %s, want the backend's data", pub.Data)
			}
			req := be.wait(t, WaitTimeout, "/pub1", 1, byChannel(ch))[0]
			wantCommonFields(t, req, enc, id)
			wantHeaders(t, req, map[string]string{"Cookie": "sid=" + user},
				"X-Custom", "X-Sub", "X-Other")
		})
		t.Run("namespace without proxies", func(t *testing.T) {
			ch := "plain:x-" + enc.name
			s := c.subscribe(t, ch)
			if _, err := c.Publish(opCtx(t), ch, []byte(`{"text":"as is"}`)); err != nil {
				t.Fatalf("publish: %v", err)
			}
			pub := pubsOf(s.pubs.wait(t, 1, "publications"))[0]
			if !sameJSON(pub.Data, []byte(`{"text":"as is"}`)) {
				t.Errorf("publication %s, want the client's data", pub.Data)
			}
			for _, path := range []string{"/sub1", "/pub1"} {
				if n := len(be.requests(path, byChannel(ch))); n != 0 {
					t.Errorf("%d calls on %s for a namespace without proxy names", n, path)
				}
			}
		})
		t.Run("rpc namespaces", func(t *testing.T) {
			calls := []struct{ method, via string }{
				{"billing:pay", "rpc1"}, {"hello", "rpcdef"},
			}
			for _, call := range calls {
				res, err := c.RPC(opCtx(t), call.method, []byte(`{"n":1}`))
				if err != nil {
					t.Fatalf("rpc %s: %v", call.method, err)
				}
				want := fmt.Sprintf(`{"via":%q,"method":%q}`, call.via, call.method)
				if !sameJSON(res.Data, []byte(want)) {
					t.Errorf("rpc %s data %s, want %s", call.method, res.Data, want)
				}
			}
			req := be.wait(t, WaitTimeout, "/rpc1", 1, mine)[0]
			wantCommonFields(t, req, enc, id)
			wantHeaders(t, req, map[string]string{"X-Custom": "custom-" + enc.name},
				"Cookie", "X-Sub", "X-Other")
			if req.str("method") != "billing:pay" ||
				!sameJSON(req.field("data"), []byte(`{"n":1}`)) {
				t.Errorf("rpc request %s, want method billing:pay and the client's data",
					req.Raw)
			}
		})
		t.Run("refresh and sub_refresh", func(t *testing.T) {
			ch := "exp:" + enc.name
			s := c.subscribe(t, ch)
			req := be.wait(t, refreshTimeout, "/ref", 1, mine)[0]
			wantCommonFields(t, req, enc, id)
			wantHeaders(t, req, map[string]string{"X-Custom": "custom-" + enc.name},
				"Cookie", "X-Sub", "X-Other")
			sr := be.wait(t, refreshTimeout, "/subref", 1, byChannel(ch))[0]
			wantCommonFields(t, sr, enc, id)
			if c.State() != centrifuge.StateConnected || s.unsubscribed.len() != 0 {
				t.Errorf("after refreshes: state %q, unsubscribed %+v", c.State(),
					s.unsubscribed.all())
			}
		})
		if n := len(be.requests("/flat", nil)); n != 0 {
			t.Errorf("%d calls to the flat endpoints granular mode ignores", n)
		}
	})

	t.Run("connect proxy refuses", func(t *testing.T) {
		c := newClient(t, srv, encodings[0], "")
		if err := c.Connect(); err != nil {
			t.Fatalf("connect: %v", err)
		}
		d := c.disconnected.wait(t, 1, "disconnected events")[0]
		if d.Code != 4503 || d.Reason != "no session" {
			t.Fatalf("disconnected with %d %q, want 4503 \"no session\"", d.Code, d.Reason)
		}
	})
}
