package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// headersBackend answers every proxy kind so that one connection goes
// through all of them: connect (user from the session cookie), refresh,
// subscribe and sub_refresh (short expiries, so both refreshes come),
// publish and rpc.
func headersBackend(t *testing.T) *backend {
	t.Helper()
	soon := func(backendRequest) backendAnswer {
		return jsonAnswer(fmt.Sprintf(`{"result":{"expire_at":%d}}`, expireIn(2*time.Second)))
	}
	return newBackend(t, map[string]backendHandler{
		"/connect": func(req backendRequest) backendAnswer {
			return jsonAnswer(fmt.Sprintf(`{"result":{"user":%q,"expire_at":%d}}`,
				userFromCookie(req), expireIn(2*time.Second)))
		},
		"/refresh": func(backendRequest) backendAnswer {
			// Longer than the subscription's expiry, which otherwise
			// waits behind the connection's refresh on every wheel turn.
			return jsonAnswer(fmt.Sprintf(`{"result":{"expire_at":%d}}`,
				expireIn(time.Minute)))
		},
		"/subscribe":   soon,
		"/sub_refresh": soon,
		"/publish": func(backendRequest) backendAnswer {
			return jsonAnswer(`{"result":{}}`)
		},
		"/rpc": func(backendRequest) backendAnswer {
			return jsonAnswer(`{"result":{"data":{"ok":true}}}`)
		},
	})
}

// TestProxyHeadersEveryKind checks that the configured http_headers of the
// WebSocket upgrade request reach every proxy kind (connect, refresh,
// subscribe, publish, rpc, sub_refresh), for the v3 shared list and for
// v6 per-proxy lists. The names are configured in another case than the
// client sends them in, and headers not listed stay behind.
func TestProxyHeadersEveryKind(t *testing.T) {
	be := headersBackend(t)
	headers := []string{"cookie", "X-CUSTOM"}
	v6Proxy := func(path string) map[string]any {
		return map[string]any{"endpoint": be.url(path), "http_headers": headers}
	}
	dialects := []struct {
		name string
		cfg  Config
	}{
		{"v3", Config{
			"token_hmac_secret_key":      secret,
			"ping_interval":              "2s",
			"pong_timeout":               "1s",
			"proxy_connect_endpoint":     be.url("/connect"),
			"proxy_refresh_endpoint":     be.url("/refresh"),
			"proxy_subscribe_endpoint":   be.url("/subscribe"),
			"proxy_publish_endpoint":     be.url("/publish"),
			"proxy_rpc_endpoint":         be.url("/rpc"),
			"proxy_sub_refresh_endpoint": be.url("/sub_refresh"),
			"proxy_http_headers":         headers,
			"namespaces": []map[string]any{{"name": "ns", "publish": true,
				"proxy_subscribe": true, "proxy_publish": true, "proxy_sub_refresh": true}},
		}},
		{"v6", pingConfig2s(v6Config(map[string]any{"name": "ns",
			"subscribe_proxy_enabled": true, "publish_proxy_enabled": true,
			"sub_refresh_proxy_enabled": true})).
			Set("client.proxy.connect", map[string]any{"enabled": true,
				"endpoint": be.url("/connect"), "http_headers": headers}).
			Set("client.proxy.refresh", map[string]any{"enabled": true,
				"endpoint": be.url("/refresh"), "http_headers": headers}).
			Set("channel.proxy.subscribe", v6Proxy("/subscribe")).
			Set("channel.proxy.publish", v6Proxy("/publish")).
			Set("channel.proxy.sub_refresh", v6Proxy("/sub_refresh")).
			Set("rpc.proxy", v6Proxy("/rpc")).
			Set("rpc.without_namespace.proxy_enabled", true)},
	}
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			srv := Start(t, d.cfg)
			forEachEncoding(t, func(t *testing.T, enc encoding) {
				t.Parallel()
				user := "hdr-" + d.name + "-" + enc.name
				// Lower-case keys, as a browser sends them over HTTP/2.
				h := http.Header{
					"cookie":   {"sid=" + user},
					"x-custom": {"custom-" + user},
					"X-Other":  {"not listed"},
				}
				c := newClient(t, srv, enc, "", withHeader(h))
				id := c.mustConnect(t)

				ch := "ns:" + user
				c.subscribe(t, ch)
				if _, err := c.Publish(opCtx(t), ch, []byte(`{"text":"hi"}`)); err != nil {
					t.Fatalf("publish: %v", err)
				}
				if _, err := c.RPC(opCtx(t), "m", []byte(`{}`)); err != nil {
					t.Fatalf("rpc: %v", err)
				}
				want := map[string]string{"Cookie": "sid=" + user, "X-Custom": "custom-" + user}
				for _, path := range []string{"/connect", "/subscribe", "/publish", "/rpc",
					"/refresh", "/sub_refresh"} {
					req := be.wait(t, refreshTimeout, path, 1, byClient(id))[0]
					wantHeaders(t, req, want, "X-Other")
				}
			})
		})
	}
}
