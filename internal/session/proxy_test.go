package session

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/channel"
	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/protocol"
	"github.com/heraldhq/herald/internal/proxy"
)

// holdingBackend is an application backend that never answers: it reports
// each request as it arrives and, on the request's own channel, when
// Herald gave up on it.
type holdingBackend struct {
	url     string
	arrived chan string        // the path of each request
	ended   chan time.Duration // how long each request was held
}

func newHoldingBackend(t *testing.T) *holdingBackend {
	t.Helper()
	b := &holdingBackend{arrived: make(chan string, 8), ended: make(chan time.Duration, 8)}
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// The server notices a client going away only once it read
		// the whole body.
		_, _ = io.Copy(io.Discard, r.Body)
		b.arrived <- r.URL.Path
		select {
		case <-r.Context().Done():
			b.ended <- time.Since(start)
		case <-release:
			// The test failed already; let the server close.
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	b.url = srv.URL
	return b
}

// pollUntil waits for cond, failing the test after timeout.
func pollUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestProxyCallEndsWithConnection checks that a backend call made for a
// connection is cancelled as soon as the connection closes, rather than
// holding the client's reader until the command timeout, and that nothing
// is answered for it (proxy.md §2). It runs outside a synctest bubble: the
// backend is a real HTTP server, whose sockets never block durably.
func TestProxyCallEndsWithConnection(t *testing.T) {
	cases := []struct {
		name    string
		connect bool // the command is the connect itself
		frame   string
	}{
		{"connect", true, `{"id":1,"connect":{"name":"test"}}`},
		{"rpc", false, `{"id":2,"rpc":{"method":"slow","data":{}}}`},
		{"subscribe", false, `{"id":2,"subscribe":{"channel":"px:room"}}`},
		{"publish", false, `{"id":2,"publish":{"channel":"px:room","data":{}}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			be := newHoldingBackend(t)
			// A long proxy timeout, so that only the connection's close
			// can end the call before commandTimeout.
			px, err := proxy.New(config.Proxy{Endpoint: be.url + "/" + tc.name,
				Timeout: time.Minute}, discardLogger)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(px.Close)
			e := newEnv(t, channels(channel.Options{}, channel.Namespace{Name: "px",
				Options: channel.Options{
					SubscribeProxyEnabled: true, PublishProxyEnabled: true,
					SubscribeProxyName: channel.DefaultProxyName,
					PublishProxyName:   channel.DefaultProxyName,
				}}), func(c *Config) {
				c.Proxies = Proxies{
					Channel: func(string, string) *proxy.Proxy { return px },
					RPC:     func(string) *proxy.Proxy { return px },
				}
				if tc.connect {
					c.Proxies.Connect = px
				}
			})
			tr := &fakeTransport{}
			s := e.m.New(tr, false, nil)
			t.Cleanup(s.TransportClosed)
			if !tc.connect {
				frame := fmt.Sprintf(`{"id":1,"connect":{"token":%q,"name":"test"}}`,
					token(t, "alice", 0, nil))
				if !s.HandleFrame([]byte(frame)) {
					t.Fatal("connect refused")
				}
				pollUntil(t, 5*time.Second, "connect reply", func() bool {
					tr.mu.Lock()
					defer tr.mu.Unlock()
					return len(tr.frames) == 1
				})
			}

			handled := make(chan bool, 1)
			go func() { handled <- s.HandleFrame([]byte(tc.frame)) }()
			select {
			case path := <-be.arrived:
				if path != "/"+tc.name {
					t.Fatalf("backend called on %s", path)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the backend was not called")
			}
			s.Disconnect(protocol.DisconnectForceNoReconnect)

			select {
			case held := <-be.ended:
				if held >= commandTimeout {
					t.Fatalf("call held %v, not ended by the close", held)
				}
			case <-time.After(commandTimeout / 2):
				t.Fatalf("call still running %v after the connection closed",
					commandTimeout/2)
			}
			select {
			case more := <-handled:
				if more {
					t.Error("HandleFrame asks for more frames of a closed connection")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("HandleFrame did not return")
			}
			pollUntil(t, 5*time.Second, "transport close", func() bool {
				tr.mu.Lock()
				defer tr.mu.Unlock()
				return len(tr.closes) > 0
			})
			tr.mu.Lock()
			defer tr.mu.Unlock()
			if d := tr.closes[0]; d != protocol.DisconnectForceNoReconnect {
				t.Errorf("closed with %+v, want the disconnect that closed it", d)
			}
			var replies int
			for _, f := range tr.frames {
				replies += len(decodeFrame(t, f.data, false))
			}
			want := 1 // the connect reply
			if tc.connect {
				want = 0
			}
			if replies != want || tr.afterClose != 0 {
				t.Errorf("%d replies and %d writes after close, want %d and none: %v",
					replies, tr.afterClose, want, tr.frames)
			}
		})
	}
}
