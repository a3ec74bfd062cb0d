package httpstream

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/heraldhq/herald/internal/session"
)

// TestSlowStreamReader opens an HTTP-streaming connection that never reads
// its response while publications flow into its channel: the session's
// bounded queue, or the write deadline, ends it, as on WebSocket, and a
// reader of the same channel is not held up.
func TestSlowStreamReader(t *testing.T) {
	srv := newServer(t, serverOptions{sessions: func(c *session.Config) {
		c.QueueMaxSize = 256 << 10
	}})
	const ch = "slow"
	tok := token(t, "stalled", map[string]any{"channels": []string{ch}})

	// A raw client that sends its request and then reads nothing.
	u, err := url.Parse(srv.url)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if tc, ok := nc.(*net.TCPConn); ok {
		// A small window fills at once.
		_ = tc.SetReadBuffer(4096)
	}
	body := fmt.Sprintf(`{"id":1,"connect":{"token":%q}}`, tok)
	req := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n"+
		"Content-Length: %d\r\n\r\n%s", pathStream, u.Host, contentJSON, len(body), body)
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stalled client's session", func() bool {
		return srv.sessions.NumClients() == 1
	})

	reader := srv.connect(t, viaStream)
	reader.subscribe(ch, 2)

	// Paced by the reader, which keeps up, while the stalled client's
	// socket and then its queue fill.
	payload := `"` + strings.Repeat("x", 16<<10) + `"`
	const n = 1000
	for i := range n {
		srv.publish(t, ch, payload)
		for {
			msg := reader.next()
			if strings.Contains(string(msg), `"pub"`) {
				break
			}
		}
		if i%100 == 0 && srv.sessions.NumClients() == 1 {
			break
		}
	}
	waitFor(t, "the stalled session to be dropped", func() bool {
		return srv.sessions.NumClients() == 1
	})
}
