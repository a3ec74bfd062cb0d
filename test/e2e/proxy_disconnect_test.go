package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge-go"
)

// reconnectWindow is how long a test watches for a reconnect that must not
// happen: three times the longest reconnect delay newClient sets.
const reconnectWindow = 1500 * time.Millisecond

// denyingBackend answers every connect proxy call with answer.
func denyingBackend(t *testing.T, answer string) *backend {
	t.Helper()
	return newBackend(t, map[string]backendHandler{
		tutorialPath: func(backendRequest) backendAnswer { return jsonAnswer(answer) },
	})
}

// startWithConnectProxy starts Herald with only a connect proxy to be.
func startWithConnectProxy(t *testing.T, be *backend) *Server {
	t.Helper()
	return Start(t, v6Config().Set("client.proxy.connect", map[string]any{
		"enabled": true, "endpoint": be.url(tutorialPath),
	}))
}

// TestProxyDisconnectTerminal checks the v2 side of the seed tutorial's
// refusal {"disconnect":{"code":1000,...,"reconnect":false}}: close code
// 1000 means "transport closed, reconnect" to a v2 SDK, so Herald closes
// with the terminal 3503 and the backend's reason, and centrifuge-go ends
// disconnected after one connect proxy call instead of asking again.
func TestProxyDisconnectTerminal(t *testing.T) {
	be := denyingBackend(t,
		`{"disconnect":{"code":1000,"reason":"unauthorized","reconnect":false}}`)
	srv := startWithConnectProxy(t, be)
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		c := newClient(t, srv, enc, "")
		before := len(be.requests(tutorialPath, nil))
		if err := c.Connect(); err != nil {
			t.Fatalf("connect: %v", err)
		}

		got := c.disconnected.wait(t, 1, "disconnected events")[0]
		if got.Code != 3503 || got.Reason != "unauthorized" {
			t.Fatalf("disconnected with %d %q, want 3503 \"unauthorized\"",
				got.Code, got.Reason)
		}
		calls := func() int { return len(be.requests(tutorialPath, nil)) - before }
		Consistently(t, reconnectWindow, func() bool {
			return calls() == 1 && c.State() == centrifuge.StateDisconnected
		}, func() string {
			return fmt.Sprintf("%d connect proxy calls, state %s, connecting "+
				"events %+v; requests:%s", calls(), c.State(), c.connecting.all(),
				be.describe())
		})
		if n := c.connected.len(); n != 0 {
			t.Fatalf("%d connected events without a session", n)
		}
	})
}

// TestProxyDisconnectPassThrough checks that the disconnects a v2 SDK
// already reads correctly reach it unchanged: a terminal application code
// ends the client, and reconnect advice, whatever the code, makes it
// reconnect and ask the backend again.
func TestProxyDisconnectPassThrough(t *testing.T) {
	t.Run("terminal", func(t *testing.T) {
		be := denyingBackend(t, `{"disconnect":{"code":4501,"reason":"banned"}}`)
		srv := startWithConnectProxy(t, be)
		c := newClient(t, srv, encodings[0], "")
		if err := c.Connect(); err != nil {
			t.Fatalf("connect: %v", err)
		}
		got := c.disconnected.wait(t, 1, "disconnected events")[0]
		if got.Code != 4501 || got.Reason != "banned" {
			t.Fatalf("disconnected with %d %q, want 4501 \"banned\"", got.Code, got.Reason)
		}
		Consistently(t, reconnectWindow, func() bool {
			return len(be.requests(tutorialPath, nil)) == 1
		}, be.describe)
	})
	for _, answer := range []string{
		`{"disconnect":{"code":4000,"reason":"later"}}`,
		`{"disconnect":{"code":1000,"reason":"later","reconnect":true}}`,
	} {
		t.Run(answer, func(t *testing.T) {
			be := denyingBackend(t, answer)
			srv := startWithConnectProxy(t, be)
			c := newClient(t, srv, encodings[0], "")
			if err := c.Connect(); err != nil {
				t.Fatalf("connect: %v", err)
			}
			// The SDK retries: the backend hears from it again, and the
			// client does not settle as disconnected. (centrifuge-go
			// v0.12 then waits for its connect timeout, as it ignores a
			// reconnecting close while it is connecting, so only the
			// second call is waited for.)
			be.wait(t, WaitTimeout, tutorialPath, 2, nil)
			if n := c.disconnected.len(); n != 0 {
				t.Fatalf("disconnected: %+v", c.disconnected.all())
			}
		})
	}
}

// TestProxyDisconnectLegacy checks that a protocol v1 client still gets the
// backend's code with its advice in the JSON reason that centrifuge-js 2.x
// reads.
func TestProxyDisconnectLegacy(t *testing.T) {
	be := denyingBackend(t,
		`{"disconnect":{"code":1000,"reason":"unauthorized","reconnect":false}}`)
	srv := startWithConnectProxy(t, be)
	c := dialRaw(t, srv, encodings[0], http.Header{})
	// centrifuge-js 2.x: connect is method 0, which it leaves out.
	c.sendFrame([]byte(`{"id":1,"params":{}}`))
	got := c.waitClose(WaitTimeout)
	want := `{"reason":"unauthorized","reconnect":false}`
	if got.code != 1000 || got.reason != want {
		t.Fatalf("closed with %d %q, want 1000 %q", got.code, got.reason, want)
	}
}
