package session

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldhq/herald/internal/channel"
)

// answer is how a test client reacts to the pings of one step.
type answer func(c *client)

// pong answers with an empty command, as SDKs do.
func pong(c *client) {
	c.t.Helper()
	if !c.send(`{}`) {
		c.t.Fatalf("pong refused with %d", c.closeCode())
	}
}

// ignore does not answer.
func ignore(*client) {}

// busy answers with other traffic, which must not count as a pong.
func busy(c *client) {
	c.t.Helper()
	if c.closeCode() == 0 {
		c.call("rpc", `{"method":"m"}`)
	}
}

// advance moves the bubble clock forward by d in one-second steps, the
// manager's tick. After each step the client reacts to new pings with a.
// It stops early once the connection is closed.
func (c *client) advance(d time.Duration, a answer) {
	c.t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); {
		time.Sleep(time.Second)
		synctest.Wait()
		if c.closeCode() != 0 {
			return
		}
		if c.pings() > 0 {
			a(c)
		}
	}
}

// closedAt returns when the transport was closed.
func (c *client) closedAt() time.Time {
	c.t.Helper()
	c.tr.mu.Lock()
	defer c.tr.mu.Unlock()
	return c.tr.closed
}

// TestPingInterval checks that a connected client is pinged once per ping
// interval and stays connected while it answers.
func TestPingInterval(t *testing.T) {
	for _, interval := range []time.Duration{3 * time.Second, 7 * time.Second} {
		t.Run(interval.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, openChannels(), func(c *Config) {
					c.PingInterval, c.PongTimeout = interval, 2*time.Second
				})
				e.run(t)
				c := e.dial(t)
				start := time.Now()
				res := c.connect(token(t, "42", 0, nil))
				if res.Ping != uint32(interval/time.Second) {
					t.Fatalf("ping %d in the connect reply", res.Ping)
				}
				c.advance(10*interval, pong)
				c.wantOpen()
				at := c.pingTimes
				if len(at) < 9 || len(at) > 10 {
					t.Fatalf("%d pings in %s, want 9 or 10", len(at), 10*interval)
				}
				if first := at[0].Sub(start); first <= 0 || first > interval {
					t.Errorf("first ping after %s, want within %s", first, interval)
				}
				for i := 1; i < len(at); i++ {
					if d := at[i].Sub(at[i-1]); d != interval {
						t.Errorf("ping %d came %s after the previous one, want %s", i, d,
							interval)
					}
				}
			})
		})
	}
}

// TestPongTimeout checks that a client that does not answer a ping with a
// pong is disconnected with 3012 once the pong timeout has passed, rounded
// up to the manager's one-second tick. Short intervals put the pinged and
// the checked sessions in the same wheel slot.
func TestPongTimeout(t *testing.T) {
	cases := []struct {
		name   string
		answer answer
		closed bool
	}{
		{"pong", pong, false},
		{"no answer", ignore, true},
		{"other traffic", busy, true},
	}
	timings := []struct{ interval, timeout, closeAfter time.Duration }{
		{5 * time.Second, 2 * time.Second, 2 * time.Second},
		{time.Second, time.Second / 2, time.Second},
		{2 * time.Second, 1500 * time.Millisecond, 2 * time.Second},
	}
	for _, tm := range timings {
		for _, tc := range cases {
			name := fmt.Sprintf("%s/%s/%s", tm.interval, tm.timeout, tc.name)
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					testPongTimeout(t, tm.interval, tm.timeout, tm.closeAfter,
						tc.answer, tc.closed)
				})
			})
		}
	}
}

func testPongTimeout(t *testing.T, interval, timeout, closeAfter time.Duration,
	a answer, closed bool) {
	e := newEnv(t, openChannels(), func(c *Config) {
		c.PingInterval, c.PongTimeout = interval, timeout
	})
	e.run(t)
	c := e.connected(t, "42")
	c.advance(6*interval, a)
	if !closed {
		c.wantOpen()
		if n := len(c.pingTimes); n < 5 {
			t.Errorf("%d pings, want at least 5", n)
		}
		return
	}

	c.wantClosed(3012)
	if len(c.pingTimes) != 1 {
		t.Fatalf("%d pings before the disconnect, want 1", len(c.pingTimes))
	}
	if d := c.closedAt().Sub(c.pingTimes[0]); d != closeAfter {
		t.Errorf("closed %s after the ping, want %s", d, closeAfter)
	}
}

// TestStale checks that a connection that does not connect in time is
// closed with 3502, whether it sent nothing or its connect failed.
func TestStale(t *testing.T) {
	const delay = 5 * time.Second
	cases := []struct {
		name  string
		first string // frame sent at once; "" sends nothing
		stale bool
	}{
		{"silent", "", true},
		{"failed connect", "expired", true},
		{"connected", "valid", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, openChannels(), func(c *Config) {
					c.StaleCloseDelay = delay
				})
				e.run(t)
				c := e.dial(t)
				start := time.Now()
				switch tc.first {
				case "expired":
					r := c.call("connect", connectBody(token(t, "42", -time.Second, nil)))
					if r.Error == nil {
						t.Fatal("connect with an expired token succeeded")
					}
				case "valid":
					c.connect(token(t, "42", 0, nil))
				}
				c.advance(delay-time.Second, pong)
				c.wantOpen()
				c.advance(3*delay, pong)
				if !tc.stale {
					c.wantOpen()
					return
				}
				c.wantClosed(3502)
				if d := c.closedAt().Sub(start); d != delay {
					t.Errorf("closed after %s, want %s", d, delay)
				}
			})
		})
	}
}

// TestConnectionExpiry checks that a connection whose token expires is
// closed with 3005 after the grace period, unless the client refreshes.
func TestConnectionExpiry(t *testing.T) {
	const ttl, grace, interval = 10 * time.Second, 5 * time.Second, 3 * time.Second
	cases := []struct {
		name    string
		refresh bool
	}{
		{"expires", false},
		{"refreshed", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, openChannels(), func(c *Config) {
					c.PingInterval, c.PongTimeout = interval, time.Second
					c.ExpiredCloseDelay = grace
				})
				e.run(t)
				c := e.dial(t)
				start := time.Now()
				res := c.connect(token(t, "42", ttl, nil))
				if !res.Expires || res.Ttl != uint32(ttl/time.Second) {
					t.Fatalf("expires %v ttl %d", res.Expires, res.Ttl)
				}
				c.advance(ttl-2*time.Second, pong)
				if tc.refresh {
					tok := token(t, "42", time.Minute, nil)
					if r := c.call("refresh", `{"token":"`+tok+`"}`); r.Refresh == nil {
						t.Fatalf("refresh reply %v", r)
					}
				}
				// Not before the grace period has passed.
				c.advance(ttl+grace-time.Since(start), pong)
				c.wantOpen()
				c.advance(3*interval, pong)
				if tc.refresh {
					c.wantOpen()
					return
				}
				c.wantClosed(3005)
				if d := c.closedAt().Sub(start); d <= ttl+grace || d > ttl+grace+interval {
					t.Errorf("closed after %s, want within %s after %s", d, interval,
						ttl+grace)
				}
			})
		})
	}
}

// TestSubscriptionExpiry checks that a subscription whose token expires
// ends after its grace period: a client-side one with an unsubscribe push
// (2501), a server-side one by closing the connection (3006).
func TestSubscriptionExpiry(t *testing.T) {
	const ttl, grace, interval = 10 * time.Second, 5 * time.Second, 3 * time.Second
	cases := []struct {
		name       string
		serverSide bool
	}{
		{"client-side", false},
		{"server-side", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, channels(channel.Options{}), func(c *Config) {
					c.PingInterval, c.PongTimeout = interval, time.Second
					c.ExpiredSubCloseDelay = grace
				})
				e.run(t)
				c := e.connected(t, "42")
				start := time.Now()
				if tc.serverSide {
					err := e.m.SubscribeUser(context.Background(), Target{User: "42"},
						"news", SubscribeOptions{ExpireAt: start.Add(ttl).Unix()})
					if err != nil {
						t.Fatal(err)
					}
				} else {
					tok := subToken(t, "42", "$news", ttl, nil)
					r := c.call("subscribe", `{"channel":"$news","token":"`+tok+`"}`)
					if r.Error != nil {
						t.Fatal(r.Error)
					}
				}
				c.pushes()
				c.advance(ttl+grace, pong)
				c.wantOpen()
				c.advance(2*interval, pong)
				if tc.serverSide {
					c.wantClosed(3006)
					return
				}
				c.wantOpen()
				ps := c.pushes()
				if len(ps) != 1 || ps[0].Channel != "$news" || ps[0].Unsubscribe == nil ||
					ps[0].Unsubscribe.Code != 2501 {
					t.Fatalf("pushes %v, want an unsubscribe push with code 2501", ps)
				}
				if n := e.hub.NumSubscribers("$news"); n != 0 {
					t.Errorf("%d hub subscribers after expiry", n)
				}
			})
		})
	}
}
