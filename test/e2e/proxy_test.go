package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge-go"
	"github.com/centrifugal/protocol"
)

// The seed tutorial's browser origin and a session cookie of its backend.
const (
	tutorialOrigin = "http://localhost:9000"
	sessionCookie  = "connect.sid=s%3AkP2x.Zm9v"
	tutorialPath   = "/centrifugo/connect"
)

// refreshTimeout bounds waits for refresh and sub_refresh calls, which the
// timing wheel makes once per ping interval after an expiry.
const refreshTimeout = 20 * time.Second

// tutorialBackend answers the connect proxy as the seed tutorial's backend
// does: a request carrying the session cookie is demo-user, any other is
// refused with disconnect 1000 "unauthorized".
func tutorialBackend(t *testing.T) *backend {
	t.Helper()
	return newBackend(t, map[string]backendHandler{
		tutorialPath: func(req backendRequest) backendAnswer {
			if strings.Contains(req.Header.Get("Cookie"), "connect.sid=") {
				return jsonAnswer(`{"result":{"user":"demo-user"}}`)
			}
			return jsonAnswer(`{"disconnect":{"code":1000,"reason":"unauthorized","reconnect":false}}`)
		},
	})
}

// TestProxyConnectTutorial runs the seed tutorial's connect flow against a
// real backend, with the seed's v3 config and with its v6 nested form: a
// browser-like client with a session cookie and no token is accepted as
// demo-user, subscribed to #demo-user and receives what the API publishes
// there; a v2 client without the cookie is closed with 3503 "unauthorized".
func TestProxyConnectTutorial(t *testing.T) {
	dialects := []struct {
		name string
		cfg  func(endpoint string) Config
	}{
		{"v3", func(endpoint string) Config {
			return Config{
				"token_hmac_secret_key":      secret,
				"admin":                      true,
				"admin_password":             "password",
				"admin_secret":               "my_admin_secret",
				"api_key":                    apiKey,
				"allowed_origins":            []string{tutorialOrigin},
				"user_subscribe_to_personal": true,
				"proxy_connect_endpoint":     endpoint,
				"proxy_http_headers":         []string{"Cookie"},
			}
		}},
		{"v6", func(endpoint string) Config {
			return v6Config().
				Set("http_api.key", apiKey).
				Set("client.allowed_origins", []string{tutorialOrigin}).
				Set("client.subscribe_to_user_personal_channel.enabled", true).
				Set("client.proxy.connect", map[string]any{
					"enabled":      true,
					"endpoint":     endpoint,
					"http_headers": []string{"Cookie"},
				})
		}},
	}
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			be := tutorialBackend(t)
			srv := Start(t, d.cfg(be.url(tutorialPath)))
			forEachEncoding(t, func(t *testing.T, enc encoding) {
				t.Run("logged in", func(t *testing.T) {
					testTutorialLoggedIn(t, srv, be, enc)
				})
				t.Run("not logged in", func(t *testing.T) {
					c := dialRaw(t, srv, enc, http.Header{"Origin": {tutorialOrigin}})
					cmd := &protocol.Command{Id: c.nextID(),
						Connect: &protocol.ConnectRequest{Name: "herald-e2e"}}
					c.send(cmd)
					got := c.waitClose(WaitTimeout)
					// 1000 would make a v2 SDK reconnect; see
					// TestProxyDisconnectTerminal.
					if got.code != 3503 || got.reason != "unauthorized" {
						t.Fatalf("closed with %d %q, want 3503 \"unauthorized\"",
							got.code, got.reason)
					}
					reqs := be.requests(tutorialPath, func(r backendRequest) bool {
						return r.str("name") == "herald-e2e" &&
							r.str("protocol") == protocolName(enc)
					})
					if len(reqs) != 1 || reqs[0].Header.Get("Cookie") != "" {
						t.Fatalf("want one connect request without a cookie; got:%s",
							be.describe())
					}
				})
			})
		})
	}
}

func testTutorialLoggedIn(t *testing.T, srv *Server, be *backend, enc encoding) {
	t.Helper()
	header := http.Header{}
	header.Set("Cookie", sessionCookie)
	header.Set("Origin", tutorialOrigin)
	c := newClient(t, srv, enc, "", func(cfg *centrifuge.Config) { cfg.Header = header })
	id := c.mustConnect(t)

	req := be.wait(t, WaitTimeout, tutorialPath, 1, byClient(id))[0]
	wantCommonFields(t, req, enc, id)
	if got := req.Header.Values("Cookie"); len(got) != 1 || got[0] != sessionCookie {
		t.Errorf("Cookie %q, want %q", got, sessionCookie)
	}
	for _, h := range []string{"Origin", "Sec-Websocket-Key", "Upgrade"} {
		if v := req.Header.Get(h); v != "" {
			t.Errorf("header %s: %q forwarded, but only Cookie is listed", h, v)
		}
	}
	if got := req.str("name"); got != "go" {
		t.Errorf("name %q, want go; body %s", got, req.Raw)
	}
	for _, f := range []string{"user", "meta"} {
		if req.has(f) {
			t.Errorf("connect request carries %s: %s", f, req.Raw)
		}
	}

	sub := c.serverSubscribed.wait(t, 1, "server-side subscriptions")[0]
	if sub.Channel != "#demo-user" {
		t.Fatalf("server-side subscription to %q, want #demo-user", sub.Channel)
	}
	data := fmt.Sprintf(`{"time":%d,"enc":%q}`, time.Now().Unix(), enc.name)
	a := postAPI(t, srv, "/api",
		`{"method":"publish","params":{"channel":"#demo-user","data":`+data+`}}`,
		"Authorization", "apikey "+apiKey)
	if a.status != http.StatusOK || string(a.body) != `{"result":{}}` {
		t.Fatalf("publish: %d %s", a.status, a.body)
	}
	pub := c.serverPubs.wait(t, 1, "publications")[0]
	if pub.Channel != "#demo-user" || !sameJSON(pub.Data, []byte(data)) {
		t.Fatalf("got %s in %q, want %s in #demo-user", pub.Data, pub.Channel, data)
	}
}

// connectCase is what the client asks the connect backend of
// TestProxyConnectResult to answer, sent as the client's connect data.
type connectCase struct {
	Case    string `json:"case"`
	User    string `json:"user,omitempty"`
	Channel string `json:"channel,omitempty"`
	Sub     string `json:"sub,omitempty"`
}

// resultBackend answers connect by the case in the connect data, and RPCs
// with a fixed payload.
func resultBackend(t *testing.T) *backend {
	t.Helper()
	return newBackend(t, map[string]backendHandler{
		"/connect": func(req backendRequest) backendAnswer {
			var cc connectCase
			_ = json.Unmarshal(req.field("data"), &cc)
			switch cc.Case {
			case "error":
				return jsonAnswer(`{"error":{"code":1001,"message":"nope"}}`)
			case "empty":
				return jsonAnswer(`{}`)
			case "unknown namespace":
				return jsonAnswer(`{"result":{"user":"carol","channels":["nosuch:x"]}}`)
			case "full":
				return jsonAnswer(fmt.Sprintf(`{"result":{"user":%q,"expire_at":%d,`+
					`"info":{"name":"Bob"},"data":{"hello":%q},"channels":[%q],`+
					`"meta":{"tier":"gold"}}}`,
					cc.User, expireIn(time.Hour), cc.User, cc.Channel))
			case "subs":
				return jsonAnswer(fmt.Sprintf(`{"result":{"user":%q,`+
					`"subs":{%q:{"data":{"feed":1}},%q:{}}}}`, cc.User, cc.Channel, cc.Sub))
			}
			return backendAnswer{status: http.StatusBadRequest}
		},
		"/rpc": func(backendRequest) backendAnswer {
			return jsonAnswer(`{"result":{"data":{"echo":true}}}`)
		},
	})
}

// TestProxyConnectResult checks how Herald acts on the connect backend's
// answers: an error fails the connect with its code, and every field of a
// result is honoured.
func TestProxyConnectResult(t *testing.T) {
	be := resultBackend(t)
	srv := Start(t, v6Config(
		map[string]any{"name": "news", "presence": true},
		map[string]any{"name": "extra"},
	).
		Set("http_api.key", apiKey).
		Set("client.proxy.connect", map[string]any{"enabled": true, "endpoint": be.url("/connect")}).
		Set("rpc.proxy", map[string]any{"endpoint": be.url("/rpc"), "include_connection_meta": true}).
		Set("rpc.without_namespace.proxy_enabled", true))

	forEachEncoding(t, func(t *testing.T, enc encoding) {
		t.Run("error", func(t *testing.T) {
			c := newClient(t, srv, enc, "", func(cfg *centrifuge.Config) {
				cfg.Data = jsonData(t, connectCase{Case: "error"})
			})
			if err := c.Connect(); err != nil {
				t.Fatalf("connect: %v", err)
			}
			wantErrorCode(t, c.errs.wait(t, 1, "errors")[0], 1001)
			d := c.disconnected.wait(t, 1, "disconnected events")[0]
			if d.Code != 1001 || d.Reason != "nope" {
				t.Fatalf("disconnected with %d %q, want 1001 \"nope\"", d.Code, d.Reason)
			}
			assertStaysDisconnected(t, c)
		})
		t.Run("empty answer", func(t *testing.T) {
			// Neither result, error nor disconnect: no credentials, and
			// anonymous connections are not allowed.
			c := dialRaw(t, srv, enc, nil)
			cmd := &protocol.Command{Id: c.nextID(), Connect: &protocol.ConnectRequest{
				Data: jsonData(t, connectCase{Case: "empty"})}}
			c.send(cmd)
			wantClose(t, c, 3501)
		})
		t.Run("unknown namespace", func(t *testing.T) {
			c := dialRaw(t, srv, enc, nil)
			r := c.connectNoToken(jsonData(t, connectCase{Case: "unknown namespace"}))
			if r.Error == nil || r.Error.Code != 102 {
				t.Fatalf("connect reply %+v, want error 102", r)
			}
		})
		t.Run("full result", func(t *testing.T) {
			testFullConnectResult(t, srv, be, enc)
		})
		t.Run("subs", func(t *testing.T) {
			cc := connectCase{Case: "subs", User: "dave-" + enc.name,
				Channel: "extra:a-" + enc.name, Sub: "news:b-" + enc.name}
			c := dialRaw(t, srv, enc, nil)
			r := c.connectNoToken(jsonData(t, cc))
			if r.Error != nil || r.Connect == nil {
				t.Fatalf("connect reply %+v", r)
			}
			subs := r.Connect.Subs
			if len(subs) != 2 || subs[cc.Sub] == nil {
				t.Fatalf("server-side subscriptions %v, want %s and %s", keys(subs),
					cc.Channel, cc.Sub)
			}
			if s := subs[cc.Channel]; s == nil || !sameJSON(s.Data, []byte(`{"feed":1}`)) {
				t.Fatalf("subscription %s: %+v, want data {\"feed\":1}", cc.Channel, s)
			}
		})
	})
}

func testFullConnectResult(t *testing.T, srv *Server, be *backend, enc encoding) {
	t.Helper()
	cc := connectCase{Case: "full", User: "bob-" + enc.name, Channel: "news:" + enc.name}
	sent := jsonData(t, cc)
	c := dialRaw(t, srv, enc, nil)
	// A reconnecting client names the server-side channels it had.
	r := c.call(&protocol.Command{Connect: &protocol.ConnectRequest{
		Name: "herald-e2e", Data: sent,
		Subs: map[string]*protocol.SubscribeRequest{cc.Channel: {}, "news:old": {}},
	}})
	if r.Error != nil || r.Connect == nil {
		t.Fatalf("connect reply %+v", r)
	}
	res := r.Connect

	req := be.wait(t, WaitTimeout, "/connect", 1, byClient(res.Client))[0]
	wantCommonFields(t, req, enc, res.Client)
	if req.str("name") != "herald-e2e" || !sameJSON(req.field("data"), sent) {
		t.Errorf("connect request %s, want name herald-e2e and data %s", req.Raw, sent)
	}
	var channels []string
	_ = json.Unmarshal(req.field("channels"), &channels)
	slices.Sort(channels)
	want := []string{"news:old", cc.Channel}
	slices.Sort(want)
	if !slices.Equal(channels, want) {
		t.Errorf("connect request %s, want channels %q in any order", req.Raw, want)
	}

	if !sameJSON(res.Data, []byte(fmt.Sprintf(`{"hello":%q}`, cc.User))) {
		t.Errorf("connect reply data %s, want the backend's", res.Data)
	}
	if !res.Expires || res.Ttl < 3500 || res.Ttl > 3600 {
		t.Errorf("connect reply expires %v ttl %d, want an expiry in about an hour",
			res.Expires, res.Ttl)
	}
	if _, found := res.Subs[cc.Channel]; !found || len(res.Subs) != 1 {
		t.Errorf("server-side subscriptions %v, want %s", keys(res.Subs), cc.Channel)
	}

	var pres struct {
		Presence map[string]struct {
			User     string
			Client   string
			ConnInfo json.RawMessage `json:"conn_info"`
		}
	}
	callAPI(t, srv, "presence", fmt.Sprintf(`{"channel":%q}`, cc.Channel), &pres)
	p, found := pres.Presence[res.Client]
	if !found || p.User != cc.User || !sameJSON(p.ConnInfo, []byte(`{"name":"Bob"}`)) {
		t.Errorf("presence of %s: %+v, want user %s with info {\"name\":\"Bob\"}",
			cc.Channel, pres.Presence, cc.User)
	}

	// The meta never reaches the client but travels with later proxy calls.
	rr := c.call(&protocol.Command{Rpc: &protocol.RPCRequest{
		Method: "whoami", Data: []byte(`{"q":1}`)}})
	if rr.Error != nil || rr.Rpc == nil || !sameJSON(rr.Rpc.Data, []byte(`{"echo":true}`)) {
		t.Fatalf("rpc reply %+v", rr)
	}
	rpc := be.wait(t, WaitTimeout, "/rpc", 1, byClient(res.Client))[0]
	wantCommonFields(t, rpc, enc, res.Client)
	if rpc.str("user") != cc.User || rpc.str("method") != "whoami" ||
		!sameJSON(rpc.field("data"), []byte(`{"q":1}`)) ||
		!sameJSON(rpc.field("meta"), []byte(`{"tier":"gold"}`)) {
		t.Errorf("rpc request %s, want user %s, method whoami, data {\"q\":1}, "+
			"meta {\"tier\":\"gold\"}", rpc.Raw, cc.User)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestProxyConnectFailures checks that a connect backend that gives no
// usable answer costs the client a temporary error 100, after which the
// SDK keeps retrying, while the server logs a warning and keeps serving
// clients that bring a token.
func TestProxyConnectFailures(t *testing.T) {
	cases := []struct {
		name   string
		answer backendHandler // nil: nothing listens on the endpoint
	}{
		{"backend down", nil},
		{"slower than the timeout", func(backendRequest) backendAnswer {
			return backendAnswer{block: true}
		}},
		{"status 500", func(backendRequest) backendAnswer {
			return backendAnswer{status: http.StatusInternalServerError,
				body: `{"result":{"user":"mallory"}}`}
		}},
		{"status 204", func(backendRequest) backendAnswer {
			return backendAnswer{status: http.StatusNoContent}
		}},
		{"bad json", func(backendRequest) backendAnswer {
			return jsonAnswer(`{"result":{"user":`)
		}},
		{"not an object", func(backendRequest) backendAnswer {
			return jsonAnswer(`"demo-user"`)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			endpoint := closedURL(t) + "/connect"
			var be *backend
			if tc.answer != nil {
				be = newBackend(t, map[string]backendHandler{"/connect": tc.answer})
				endpoint = be.url("/connect")
			}
			srv := Start(t, Config{
				"token_hmac_secret_key":  secret,
				"proxy_connect_endpoint": endpoint,
				"proxy_connect_timeout":  "200ms",
			})
			forEachEncoding(t, func(t *testing.T, enc encoding) {
				c := newClient(t, srv, enc, "")
				if err := c.Connect(); err != nil {
					t.Fatalf("connect: %v", err)
				}
				for _, err := range c.errs.wait(t, 3, "connect errors") {
					wantErrorCode(t, err, 100)
				}
				if c.connected.len() != 0 || c.disconnected.len() != 0 ||
					c.State() != centrifuge.StateConnecting {
					t.Fatalf("state %q, connected %+v, disconnected %+v; want retrying",
						c.State(), c.connected.all(), c.disconnected.all())
				}

				// Clients with a token do not need the backend.
				connectUser(t, srv, enc, "alice")
				resp, err := http.Get(srv.URL("/health"))
				if err != nil {
					t.Fatalf("health: %v", err)
				}
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("health: %s", resp.Status)
				}
			})
			if out := srv.Output(); !strings.Contains(out, "backend call failed") {
				t.Errorf("no warning about the backend in the server output:\n%s", out)
			}
			if be == nil {
				return
			}
			if n := len(be.requests("/connect", nil)); n < 6 {
				t.Errorf("backend saw %d connect requests, want one per attempt (6+)", n)
			}
			// proxy_connect_timeout applies, not the default of one second.
			for _, d := range be.blockedFor() {
				if d > 800*time.Millisecond {
					t.Errorf("a request was held %v before Herald gave up, "+
						"want about the 200ms proxy_connect_timeout", d)
				}
			}
		})
	}
}

// pingConfig2s makes the timing wheel visit every connection each 2 s, so
// that expiries are checked often.
func pingConfig2s(cfg Config) Config {
	return cfg.Set("client.ping_interval", "2s").Set("client.pong_timeout", "1s")
}

// TestProxyRefresh checks server-side connection refresh through the
// refresh proxy: a later expire_at keeps the connection, expired closes it
// with 3005, and a failed call grants a grace period instead of closing.
func TestProxyRefresh(t *testing.T) {
	be := newBackend(t, map[string]backendHandler{
		"/connect": func(req backendRequest) backendAnswer {
			var cc connectCase
			_ = json.Unmarshal(req.field("data"), &cc)
			return jsonAnswer(fmt.Sprintf(`{"result":{"user":%q,"expire_at":%d}}`,
				cc.User, expireIn(2*time.Second)))
		},
		"/refresh": func(req backendRequest) backendAnswer {
			user := req.str("user")
			switch {
			case strings.HasPrefix(user, "extend-"):
				return jsonAnswer(fmt.Sprintf(`{"result":{"expire_at":%d}}`, expireIn(2*time.Second)))
			case strings.HasPrefix(user, "expire-"):
				return jsonAnswer(`{"result":{"expired":true}}`)
			}
			return backendAnswer{status: http.StatusServiceUnavailable}
		},
	})
	srv := Start(t, pingConfig2s(v6Config()).
		Set("client.proxy.connect", map[string]any{"enabled": true, "endpoint": be.url("/connect")}).
		Set("client.proxy.refresh", map[string]any{"enabled": true, "endpoint": be.url("/refresh")}))

	connect := func(t *testing.T, enc encoding, user string) (*sdkClient, string) {
		t.Helper()
		c := newClient(t, srv, enc, "", func(cfg *centrifuge.Config) {
			cfg.Data = jsonData(t, connectCase{User: user})
		})
		return c, c.mustConnect(t)
	}
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		t.Run("extended", func(t *testing.T) {
			t.Parallel()
			user := "extend-" + enc.name
			c, id := connect(t, enc, user)
			reqs := be.wait(t, refreshTimeout, "/refresh", 2, byUser(user))
			wantCommonFields(t, reqs[0], enc, id)
			if reqs[0].has("name") || reqs[0].has("meta") {
				t.Errorf("refresh request %s carries connect-only or meta fields", reqs[0].Raw)
			}
			if c.State() != centrifuge.StateConnected || c.connecting.len() != 1 ||
				c.disconnected.len() != 0 || c.errs.len() != 0 {
				t.Fatalf("after %d refreshes: state %q, connecting %+v, disconnected %+v, "+
					"errors %v", len(reqs), c.State(), c.connecting.all(),
					c.disconnected.all(), c.errs.all())
			}
		})
		t.Run("expired", func(t *testing.T) {
			t.Parallel()
			user := "expire-" + enc.name
			c, _ := connect(t, enc, user)
			if !poll(refreshTimeout, func() bool { return c.connecting.len() >= 2 }) {
				t.Fatalf("not disconnected within %v; connecting %+v, refresh requests:%s",
					refreshTimeout, c.connecting.all(), be.describe())
			}
			ev := c.connecting.all()[1]
			if ev.Code != 3005 || ev.Reason != "connection expired" {
				t.Fatalf("reconnecting after %d %q, want 3005 \"connection expired\"",
					ev.Code, ev.Reason)
			}
		})
		t.Run("backend failing", func(t *testing.T) {
			t.Parallel()
			user := "fail-" + enc.name
			c, _ := connect(t, enc, user)
			be.wait(t, refreshTimeout, "/refresh", 1, byUser(user))
			// The 60 s grace means no second call and no disconnect soon.
			Consistently(t, 5*time.Second, func() bool {
				return c.State() == centrifuge.StateConnected && c.connecting.len() == 1 &&
					len(be.requests("/refresh", byUser(user))) == 1
			}, func() string {
				return fmt.Sprintf("state %q, connecting %+v, refresh requests %d",
					c.State(), c.connecting.all(), len(be.requests("/refresh", byUser(user))))
			})
		})
	})
}

// channelBackend answers subscribe, publish and sub_refresh by the channel
// name: its part after the namespace says what to do.
func channelBackend(t *testing.T) *backend {
	t.Helper()
	verdict := func(req backendRequest) string {
		_, name, _ := strings.Cut(req.str("channel"), ":")
		v, _, _ := strings.Cut(name, "-")
		return v
	}
	return newBackend(t, map[string]backendHandler{
		"/subscribe": func(req backendRequest) backendAnswer {
			switch verdict(req) {
			case "allow":
				return jsonAnswer(fmt.Sprintf(`{"result":{"data":{"welcome":%q}}}`, req.str("channel")))
			case "deny":
				return jsonAnswer(`{"error":{"code":403,"message":"permission denied"}}`)
			case "kick":
				return jsonAnswer(`{"disconnect":{"code":4501,"reason":"kicked"}}`)
			case "extend", "expire", "fail":
				return jsonAnswer(fmt.Sprintf(`{"result":{"expire_at":%d}}`, expireIn(2*time.Second)))
			}
			return backendAnswer{status: http.StatusBadRequest}
		},
		"/publish": func(req backendRequest) backendAnswer {
			var d struct{ Text string }
			_ = json.Unmarshal(req.field("data"), &d)
			if d.Text == "forbidden" {
				return jsonAnswer(`{"error":{"code":1002,"message":"forbidden words"}}`)
			}
			return jsonAnswer(fmt.Sprintf(`{"result":{"data":{"text":%q,"by":"backend"}}}`,
				strings.ToUpper(d.Text)))
		},
		"/sub_refresh": func(req backendRequest) backendAnswer {
			switch verdict(req) {
			case "extend":
				return jsonAnswer(fmt.Sprintf(`{"result":{"expire_at":%d}}`, expireIn(2*time.Second)))
			case "expire":
				return jsonAnswer(`{"result":{"expired":true}}`)
			}
			return backendAnswer{status: http.StatusBadGateway}
		},
	})
}

// channelProxyConfig enables the subscribe, publish and sub_refresh proxies
// in namespaces, some of them through a named proxy whose backend is down.
func channelProxyConfig(t *testing.T, be *backend) Config {
	t.Helper()
	return pingConfig2s(v6Config(
		map[string]any{"name": "sub", "subscribe_proxy_enabled": true},
		map[string]any{"name": "subdown", "subscribe_proxy_enabled": true,
			"subscribe_proxy_name": "down"},
		map[string]any{"name": "pub", "publish_proxy_enabled": true,
			"allow_subscribe_for_client": true},
		map[string]any{"name": "pubdown", "publish_proxy_enabled": true,
			"publish_proxy_name": "down"},
		map[string]any{"name": "exp", "subscribe_proxy_enabled": true,
			"sub_refresh_proxy_enabled": true},
	)).
		Set("channel.proxy.subscribe", map[string]any{"endpoint": be.url("/subscribe")}).
		Set("channel.proxy.publish", map[string]any{"endpoint": be.url("/publish")}).
		Set("channel.proxy.sub_refresh", map[string]any{"endpoint": be.url("/sub_refresh")}).
		Set("proxies", []map[string]any{{"name": "down", "endpoint": closedURL(t) + "/down"}})
}

// TestProxySubscribe checks the subscribe proxy: the backend allows with
// data for the subscriber, denies with its error, or disconnects; a backend
// that is down costs a temporary error 100 that the SDK retries.
func TestProxySubscribe(t *testing.T) {
	be := channelBackend(t)
	srv := Start(t, channelProxyConfig(t, be))
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		user := "alice-" + enc.name
		c, id := connectUser(t, srv, enc, user)

		t.Run("allow", func(t *testing.T) {
			ch := "sub:allow-" + enc.name
			s := c.subscribe(t, ch, centrifuge.SubscriptionConfig{Data: []byte(`{"want":"it"}`)})
			want := fmt.Sprintf(`{"welcome":%q}`, ch)
			if got := s.subscribed.all()[0].Data; !sameJSON(got, []byte(want)) {
				t.Errorf("subscribed with data %s, want %s", got, want)
			}
			req := be.wait(t, WaitTimeout, "/subscribe", 1, byChannel(ch))[0]
			wantCommonFields(t, req, enc, id)
			if req.str("user") != user || !sameJSON(req.field("data"), []byte(`{"want":"it"}`)) {
				t.Errorf("subscribe request %s, want user %s and data {\"want\":\"it\"}",
					req.Raw, user)
			}
		})
		t.Run("deny", func(t *testing.T) {
			s := c.newSub(t, "sub:deny-"+enc.name)
			u := s.unsubscribed.wait(t, 1, "unsubscribed events")[0]
			if u.Code != 403 || u.Reason != "permission denied" {
				t.Errorf("unsubscribed with %d %q, want 403 \"permission denied\"",
					u.Code, u.Reason)
			}
			wantErrorCode(t, s.errs.wait(t, 1, "subscription errors")[0], 403)
		})
		t.Run("backend down", func(t *testing.T) {
			s := c.newSub(t, "subdown:room-"+enc.name)
			// Temporary: the SDK tries again rather than giving up.
			for _, err := range s.errs.wait(t, 2, "subscription errors") {
				wantErrorCode(t, err, 100)
			}
			if n := s.unsubscribed.len() + s.subscribed.len(); n != 0 {
				t.Errorf("subscription settled (%+v, %+v), want it retrying",
					s.subscribed.all(), s.unsubscribed.all())
			}
			if err := s.Unsubscribe(); err != nil {
				t.Fatalf("unsubscribe: %v", err)
			}
		})
		t.Run("disconnect", func(t *testing.T) {
			k, _ := connectUser(t, srv, enc, "kicked-"+enc.name)
			k.newSub(t, "sub:kick-"+enc.name)
			d := k.disconnected.wait(t, 1, "disconnected events")[0]
			if d.Code != 4501 || d.Reason != "kicked" {
				t.Fatalf("disconnected with %d %q, want 4501 \"kicked\"", d.Code, d.Reason)
			}
		})
	})
}

// TestProxyPublish checks the publish proxy: the backend's data replaces
// the client's, its error refuses the publication, and a backend that is
// down costs error 100.
func TestProxyPublish(t *testing.T) {
	be := channelBackend(t)
	srv := Start(t, channelProxyConfig(t, be))
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		user := "alice-" + enc.name
		c, id := connectUser(t, srv, enc, user)
		ch := "pub:room-" + enc.name
		s := c.subscribe(t, ch)

		_, err := c.Publish(opCtx(t), ch, []byte(`{"text":"forbidden"}`))
		wantErrorCode(t, err, 1002)
		if _, err := c.Publish(opCtx(t), ch, []byte(`{"text":"hi"}`)); err != nil {
			t.Fatalf("publish: %v", err)
		}
		// Publications arrive in order: a refused one would come first.
		pubs := pubsOf(s.pubs.wait(t, 1, "publications"))
		if len(pubs) != 1 || !sameJSON(pubs[0].Data, []byte(`{"text":"HI","by":"backend"}`)) {
			t.Fatalf("publications %+v, want only the backend's {\"text\":\"HI\"...}", pubs)
		}
		if pubs[0].Info == nil || pubs[0].Info.User != user || pubs[0].Info.Client != id {
			t.Errorf("publication info %+v, want the publisher %s/%s", pubs[0].Info, user, id)
		}
		reqs := be.wait(t, WaitTimeout, "/publish", 2, byChannel(ch))
		for _, req := range reqs {
			wantCommonFields(t, req, enc, id)
			if req.str("user") != user {
				t.Errorf("publish request %s, want user %s", req.Raw, user)
			}
		}
		if !sameJSON(reqs[1].field("data"), []byte(`{"text":"hi"}`)) {
			t.Errorf("publish request %s, want the client's data", reqs[1].Raw)
		}

		_, err = c.Publish(opCtx(t), "pubdown:room-"+enc.name, []byte(`{"text":"hi"}`))
		wantErrorCode(t, err, 100)
	})
}

// TestProxySubRefresh checks subscription refresh through the sub_refresh
// proxy for subscriptions the subscribe proxy gave an expiry.
func TestProxySubRefresh(t *testing.T) {
	be := channelBackend(t)
	srv := Start(t, channelProxyConfig(t, be))
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		t.Run("extended", func(t *testing.T) {
			t.Parallel()
			user := "extend-" + enc.name
			c, id := connectUser(t, srv, enc, user)
			ch := "exp:extend-" + enc.name
			s := c.subscribe(t, ch)
			reqs := be.wait(t, refreshTimeout, "/sub_refresh", 3, byChannel(ch))
			wantCommonFields(t, reqs[0], enc, id)
			if reqs[0].str("user") != user {
				t.Errorf("sub_refresh request %s, want user %s", reqs[0].Raw, user)
			}
			if s.subscribing.len() != 1 || s.unsubscribed.len() != 0 || s.errs.len() != 0 {
				t.Fatalf("after %d refreshes: subscribing %+v, unsubscribed %+v, errors %v",
					len(reqs), s.subscribing.all(), s.unsubscribed.all(), s.errs.all())
			}
		})
		t.Run("expired", func(t *testing.T) {
			t.Parallel()
			c, _ := connectUser(t, srv, enc, "expire-"+enc.name)
			ch := "exp:expire-" + enc.name
			s := c.subscribe(t, ch)
			if !poll(refreshTimeout, func() bool { return s.subscribing.len() >= 2 }) {
				t.Fatalf("subscription not ended within %v; subscribing %+v, requests:%s",
					refreshTimeout, s.subscribing.all(), be.describe())
			}
			ev := s.subscribing.all()[1]
			if ev.Code != 2501 || ev.Reason != "subscription expired" {
				t.Fatalf("resubscribing after %d %q, want 2501 \"subscription expired\"",
					ev.Code, ev.Reason)
			}
			if c.State() != centrifuge.StateConnected {
				t.Fatalf("connection state %q, want only the subscription to end", c.State())
			}
		})
		t.Run("backend failing", func(t *testing.T) {
			t.Parallel()
			c, _ := connectUser(t, srv, enc, "fail-"+enc.name)
			ch := "exp:fail-" + enc.name
			s := c.subscribe(t, ch)
			be.wait(t, refreshTimeout, "/sub_refresh", 1, byChannel(ch))
			// The 60 s grace means no second call and no unsubscribe soon.
			Consistently(t, 5*time.Second, func() bool {
				return s.subscribing.len() == 1 && s.unsubscribed.len() == 0 &&
					len(be.requests("/sub_refresh", byChannel(ch))) == 1
			}, func() string {
				return fmt.Sprintf("subscribing %+v, unsubscribed %+v, requests %d",
					s.subscribing.all(), s.unsubscribed.all(),
					len(be.requests("/sub_refresh", byChannel(ch))))
			})
		})
	})
}

// rpcCall is one client RPC and the outcome it should have.
type rpcCall struct {
	method string
	want   string // the reply data when code is 0
	code   uint32 // the expected error code
}

// TestProxyRPC checks RPC routing to the rpc proxy in the v6 form (with
// a namespace served by a named proxy that is down), in the v3 flat form,
// and without any rpc proxy.
func TestProxyRPC(t *testing.T) {
	be := newBackend(t, map[string]backendHandler{
		"/rpc": func(req backendRequest) backendAnswer {
			if req.str("method") == "fail" {
				return jsonAnswer(`{"error":{"code":1003,"message":"bad call"}}`)
			}
			return jsonAnswer(fmt.Sprintf(`{"result":{"data":{"method":%q,"price":42}}}`,
				req.str("method")))
		},
	})
	price := rpcCall{method: "getCurrentPrice", want: `{"method":"getCurrentPrice","price":42}`}
	cases := []struct {
		name  string
		cfg   Config
		calls []rpcCall
	}{
		{"v6", v6Config().
			Set("rpc.proxy", map[string]any{"endpoint": be.url("/rpc")}).
			Set("rpc.without_namespace.proxy_enabled", true).
			Set("rpc.namespaces", []map[string]any{
				{"name": "billing", "proxy_enabled": true, "proxy_name": "down"},
				{"name": "local"},
			}).
			Set("proxies", []map[string]any{{"name": "down", "endpoint": closedURL(t)}}),
			[]rpcCall{price, {method: "fail", code: 1003}, {method: "billing:pay", code: 100},
				{method: "local:x", code: 108}}},
		{"v3", Config{
			"token_hmac_secret_key": secret,
			"proxy_rpc_endpoint":    be.url("/rpc"),
		}, []rpcCall{price, {method: "fail", code: 1003}}},
		{"no proxy", v6Config(), []rpcCall{{method: "getCurrentPrice", code: 108}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := Start(t, tc.cfg)
			forEachEncoding(t, func(t *testing.T, enc encoding) {
				user := tc.name + "-" + enc.name
				c, id := connectUser(t, srv, enc, user)
				for _, call := range tc.calls {
					t.Run(call.method, func(t *testing.T) {
						res, err := c.RPC(opCtx(t), call.method, []byte(`{"params":{"object_id":12}}`))
						if call.code != 0 {
							wantErrorCode(t, err, call.code)
							return
						}
						if err != nil {
							t.Fatalf("rpc: %v", err)
						}
						if !sameJSON(res.Data, []byte(call.want)) {
							t.Fatalf("rpc data %s, want %s", res.Data, call.want)
						}
						req := be.wait(t, WaitTimeout, "/rpc", 1, func(r backendRequest) bool {
							return r.str("client") == id && r.str("method") == call.method
						})[0]
						wantCommonFields(t, req, enc, id)
						if req.str("user") != user ||
							!sameJSON(req.field("data"), []byte(`{"params":{"object_id":12}}`)) {
							t.Errorf("rpc request %s, want user %s and the client's data",
								req.Raw, user)
						}
					})
				}
			})
		})
	}
}

// TestProxyChannelV3 checks the subscribe and publish proxies configured
// with v3 flat keys, and that v3 keeps publishing closed in a namespace
// without "publish" even when its publish proxy is on.
func TestProxyChannelV3(t *testing.T) {
	be := channelBackend(t)
	srv := Start(t, Config{
		"token_hmac_secret_key":    secret,
		"proxy_subscribe_endpoint": be.url("/subscribe"),
		"proxy_publish_endpoint":   be.url("/publish"),
		"namespaces": []map[string]any{
			{"name": "sub", "proxy_subscribe": true},
			{"name": "pub", "publish": true, "proxy_publish": true},
			{"name": "nopub", "proxy_publish": true},
		},
	})
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		user := "v3-" + enc.name
		c, id := connectUser(t, srv, enc, user)
		t.Run("subscribe allowed", func(t *testing.T) {
			ch := "sub:allow-v3-" + enc.name
			s := c.subscribe(t, ch)
			want := fmt.Sprintf(`{"welcome":%q}`, ch)
			if got := s.subscribed.all()[0].Data; !sameJSON(got, []byte(want)) {
				t.Errorf("subscribed with data %s, want %s", got, want)
			}
			req := be.wait(t, WaitTimeout, "/subscribe", 1, byChannel(ch))[0]
			wantCommonFields(t, req, enc, id)
		})
		t.Run("subscribe denied", func(t *testing.T) {
			s := c.newSub(t, "sub:deny-v3-"+enc.name)
			wantErrorCode(t, s.errs.wait(t, 1, "subscription errors")[0], 403)
		})
		t.Run("publish", func(t *testing.T) {
			ch := "pub:room-v3-" + enc.name
			s := c.subscribe(t, ch)
			if _, err := c.Publish(opCtx(t), ch, []byte(`{"text":"hi"}`)); err != nil {
				t.Fatalf("publish: %v", err)
			}
			pub := pubsOf(s.pubs.wait(t, 1, "publications"))[0]
			if !sameJSON(pub.Data, []byte(`{"text":"HI","by":"backend"}`)) {
				t.Fatalf("publication %s, want the backend's data", pub.Data)
			}
			if n := len(be.requests("/subscribe", byChannel(ch))); n != 0 {
				t.Errorf("%d subscribe proxy calls for a namespace without proxy_subscribe", n)
			}
		})
		t.Run("publish not enabled", func(t *testing.T) {
			ch := "nopub:room-v3-" + enc.name
			_, err := c.Publish(opCtx(t), ch, []byte(`{"text":"hi"}`))
			wantErrorCode(t, err, 103)
			if n := len(be.requests("/publish", byChannel(ch))); n != 0 {
				t.Errorf("publish proxy called %d times for a namespace without publish", n)
			}
		})
	})
}

// TestProxyBinaryEncoding checks a proxy with binary_encoding: payloads
// travel base64-encoded in b64data with encoding "binary", so that
// Protobuf clients may send bytes that are not JSON; a proxy without it
// cannot forward such bytes and answers error 100.
func TestProxyBinaryEncoding(t *testing.T) {
	be := newBackend(t, map[string]backendHandler{
		"/rpc": func(req backendRequest) backendAnswer {
			return jsonAnswer(fmt.Sprintf(`{"result":{"b64data":%q}}`, req.str("b64data")))
		},
	})
	srv := Start(t, v6Config().
		Set("rpc.proxy", map[string]any{"endpoint": be.url("/rpc")}).
		Set("rpc.without_namespace.proxy_enabled", true).
		Set("rpc.namespaces", []map[string]any{
			{"name": "bin", "proxy_enabled": true, "proxy_name": "bin"},
		}).
		Set("proxies", []map[string]any{
			{"name": "bin", "endpoint": be.url("/rpc"), "binary_encoding": true},
		}))
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		c, id := connectUser(t, srv, enc, "bin-"+enc.name)
		data := []byte(`{"n":1}`)
		if enc.protobuf {
			data = []byte{0x00, 0xff, 0x10, '{'}
		}
		res, err := c.RPC(opCtx(t), "bin:echo", data)
		if err != nil {
			t.Fatalf("rpc: %v", err)
		}
		if string(res.Data) != string(data) {
			t.Fatalf("rpc data %q, want the echoed %q", res.Data, data)
		}
		req := be.wait(t, WaitTimeout, "/rpc", 1, byClient(id))[0]
		if req.str("encoding") != "binary" || req.has("data") ||
			req.str("b64data") != base64.StdEncoding.EncodeToString(data) {
			t.Fatalf("rpc request %s, want encoding binary and b64data of %q", req.Raw, data)
		}
		if enc.protobuf {
			_, err := c.RPC(opCtx(t), "echo", data)
			wantErrorCode(t, err, 100)
		}
	})
}
