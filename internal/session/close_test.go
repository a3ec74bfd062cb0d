package session

import (
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/heraldhq/herald/internal/protocol"
)

// tutorialDenial is the seed tutorial backend's answer to a connect proxy
// call without a session, as internal/proxy hands it to the session.
var tutorialDenial = &protocol.Disconnect{Code: 1000, Reason: "unauthorized"}

// closes returns how the transport was closed so far.
func (c *client) closes() []protocol.Disconnect {
	c.t.Helper()
	synctest.Wait()
	c.tr.mu.Lock()
	defer c.tr.mu.Unlock()
	var out []protocol.Disconnect
	for _, d := range c.tr.closes {
		if d == nil {
			d = protocol.DisconnectConnectionClosed
		}
		out = append(out, *d)
	}
	return out
}

// wantCloseFrame fails unless the transport was closed once, with want.
func (c *client) wantCloseFrame(want protocol.Disconnect) {
	c.t.Helper()
	got := c.closes()
	if len(got) != 1 || got[0] != want {
		c.t.Fatalf("transport closed with %+v, want once with %+v", got, want)
	}
}

// TestCloseBackendDisconnect checks that a backend's disconnect reaches
// each protocol in the form its SDKs obey: a v2 client gets a terminal
// close code for a code below 3000 without reconnect, a v1 client the
// code as sent with its advice in a JSON reason.
func TestCloseBackendDisconnect(t *testing.T) {
	terminalV2 := protocol.Disconnect{Code: 3503, Reason: "unauthorized"}
	t.Run("v2 json, connected", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t, openChannels(), nil)
			c := e.connected(t, "alice")
			e.m.DisconnectUser(Target{User: "alice"}, tutorialDenial, nil)
			c.wantCloseFrame(terminalV2)
		})
	})
	t.Run("v2, before connect", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t, openChannels(), nil)
			c := e.dial(t)
			c.s.Disconnect(tutorialDenial)
			c.wantCloseFrame(terminalV2)
		})
	})
	t.Run("v2, codes it understands", func(t *testing.T) {
		for _, d := range []*protocol.Disconnect{
			{Code: 1000, Reason: "retry", Reconnect: true},
			{Code: 4500, Reason: "banned"},
			{Code: 4000, Reason: "later", Reconnect: true},
			protocol.DisconnectInvalidToken,
		} {
			t.Run(fmt.Sprint(d.Code), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					e := newEnv(t, openChannels(), nil)
					c := e.dial(t)
					c.s.Disconnect(d)
					c.wantCloseFrame(*d)
				})
			})
		}
	})
	t.Run("v1", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t, openChannels(), nil)
			c := e.dial(t)
			// centrifuge-js 2.x: connect is method 0, which it leaves out.
			c.send(fmt.Sprintf(`{"id":1,"params":{"token":%q}}`,
				token(t, "alice", 0, nil)))
			e.m.DisconnectUser(Target{User: "alice"}, tutorialDenial, nil)
			c.wantCloseFrame(protocol.Disconnect{Code: 1000,
				Reason: `{"reason":"unauthorized","reconnect":false}`})
		})
	})
}
