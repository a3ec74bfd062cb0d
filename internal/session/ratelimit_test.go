package session

import (
	"context"
	"maps"
	"testing"
	"testing/synctest"
	"time"
)

// TestConnectionRateLimit checks that a node accepts at most its
// connection rate limit of connects per second: the one over it is closed
// with 3013 (so that SDKs back off), and a second later connects pass
// again.
func TestConnectionRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, openChannels(), func(c *Config) { c.ConnectionRateLimit = 2 })
		e.connected(t, "1")
		e.connected(t, "2")
		third := e.dial(t)
		third.send(`{"id":1,"connect":` + connectBody(token(t, "3", 0, nil)) + `}`)
		third.wantClosed(3013)

		time.Sleep(time.Second)
		e.connected(t, "4")
	})
}

// TestCommandRateLimit checks that a connection's commands over its rate
// limit are answered with error 111 while it stays open, that a client
// that keeps flooding is closed with 3013, and that one that slows down is
// served again.
func TestCommandRateLimit(t *testing.T) {
	const limit = 5
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, openChannels(), func(c *Config) { c.CommandRateLimit = limit })
		c := e.connected(t, "42")
		// The channel has no presence, so every command that runs gets
		// 108; what matters is that it runs.
		for i := range limit {
			if code := c.callErr("presence_stats", `{"channel":"a"}`); code == 111 {
				t.Fatalf("command %d within the limit refused", i+1)
			}
		}
		if code := c.callErr("presence_stats", `{"channel":"a"}`); code != 111 {
			t.Fatalf("command over the limit: error %d, want 111", code)
		}
		c.wantOpen()

		// Slowing down is served again.
		time.Sleep(time.Second)
		if code := c.callErr("presence_stats", `{"channel":"a"}`); code == 111 {
			t.Fatal("command after a pause refused")
		}

		// A flood goes past a second's worth of refusals: closed.
		for range 3 * limit {
			if c.closeCode() != 0 {
				break
			}
			c.send(`{"id":99,"presence_stats":{"channel":"a"}}`)
		}
		c.wantClosed(3013)
	})
}

// TestShutdownPacesDisconnects checks that shutdown tells its clients to
// reconnect in batches of drainBatch, drainPause apart, each with 3001.
func TestShutdownPacesDisconnects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, openChannels(), func(c *Config) { c.AllowAnonymous = true })
		const n = 2*drainBatch + 1
		clients := make([]*client, n)
		for i := range clients {
			clients[i] = e.connected(t, "")
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.m.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		batches := map[time.Duration]int{}
		for _, c := range clients {
			c.wantClosed(3001)
			batches[c.closedAt().Sub(start)]++
		}
		want := map[time.Duration]int{0: drainBatch, drainPause: drainBatch,
			2 * drainPause: 1}
		if !maps.Equal(batches, want) {
			t.Fatalf("disconnects by time after the shutdown began: %v, want %v",
				batches, want)
		}
	})
}
