package e2e

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge-go"
)

// TestProxyRefreshesDoNotStarveEachOther checks that a connection refresh
// in flight does not hold back a subscription refresh that falls due
// meanwhile: the refresh backend answers only once a sub_refresh request
// has arrived, which it can only do while the refresh is still waiting.
func TestProxyRefreshesDoNotStarveEachOther(t *testing.T) {
	subRefreshed := make(chan struct{})
	var once atomic.Bool
	var overlapped atomic.Bool
	be := newBackend(t, map[string]backendHandler{
		"/connect": func(req backendRequest) backendAnswer {
			var cc connectCase
			_ = json.Unmarshal(req.field("data"), &cc)
			return jsonAnswer(fmt.Sprintf(`{"result":{"user":%q,"expire_at":%d}}`,
				cc.User, expireIn(2*time.Second)))
		},
		"/refresh": func(backendRequest) backendAnswer {
			select {
			case <-subRefreshed:
				overlapped.Store(true)
			case <-time.After(4 * time.Second):
			}
			return jsonAnswer(fmt.Sprintf(`{"result":{"expire_at":%d}}`,
				expireIn(time.Minute)))
		},
		"/subscribe": func(backendRequest) backendAnswer {
			return jsonAnswer(fmt.Sprintf(`{"result":{"expire_at":%d}}`,
				expireIn(3*time.Second)))
		},
		"/sub_refresh": func(backendRequest) backendAnswer {
			if once.CompareAndSwap(false, true) {
				close(subRefreshed)
			}
			return jsonAnswer(fmt.Sprintf(`{"result":{"expire_at":%d}}`,
				expireIn(time.Minute)))
		},
	})
	proxy := func(path string) map[string]any {
		return map[string]any{"enabled": true, "endpoint": be.url(path), "timeout": "10s"}
	}
	srv := Start(t, pingConfig2s(v6Config(
		map[string]any{"name": "exp", "subscribe_proxy_enabled": true,
			"sub_refresh_proxy_enabled": true},
	)).
		Set("client.proxy.connect", proxy("/connect")).
		Set("client.proxy.refresh", proxy("/refresh")).
		Set("channel.proxy.subscribe", map[string]any{"endpoint": be.url("/subscribe")}).
		Set("channel.proxy.sub_refresh", map[string]any{
			"endpoint": be.url("/sub_refresh"), "timeout": "10s"}))

	enc := encodings[0]
	c := newClient(t, srv, enc, "", func(cfg *centrifuge.Config) {
		cfg.Data = jsonData(t, connectCase{User: "both"})
	})
	c.mustConnect(t)
	c.subscribe(t, "exp:both")

	be.wait(t, refreshTimeout, "/refresh", 1, nil)
	be.wait(t, refreshTimeout, "/sub_refresh", 1, nil)
	Eventually(t, refreshTimeout, func() bool { return overlapped.Load() }, func() string {
		return "the subscription was refreshed only after the connection refresh ended; " +
			"requests: " + be.describe()
	})
}
