package e2e

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge-go"
	"github.com/centrifugal/protocol"
	"github.com/gorilla/websocket"
)

// floodPayload pads every flood publication to about 60 KB, so that a
// client that stops reading fills its socket buffers within a few hundred
// publications.
var floodPayload = strings.Repeat("x", 60_000)

// maxFlood bounds a flood: far more than loopback socket buffers hold.
const maxFlood = 3000

// floodConfig has a namespace feed that clients subscribe to and whose
// publications come through the server API.
func floodConfig() Config {
	return apiConfig(map[string]any{"name": "feed", "allow_subscribe_for_client": true})
}

// publishSeq publishes the n-th publication of a flood into ch, padded
// with pad.
func publishSeq(t *testing.T, srv *Server, ch string, n int, pad string) {
	t.Helper()
	callAPI(t, srv, "publish",
		fmt.Sprintf(`{"channel":%q,"data":{"n":%d,"pad":%q}}`, ch, n, pad), nil)
}

// stuckClient connects a raw client of user, subscribes it to ch and returns
// it with its client ID. From then on the test never reads from it, as a
// client whose network or event loop is stuck.
func stuckClient(t *testing.T, srv *Server, user, ch string) (*rawConn, string) {
	t.Helper()
	c := dialRaw(t, srv, encodings[0], nil)
	id := c.connect(UserToken(t, secret, user, time.Hour)).Client
	r := c.call(&protocol.Command{Subscribe: &protocol.SubscribeRequest{Channel: ch}})
	if r.Error != nil || r.Subscribe == nil {
		t.Fatalf("subscribe %s: %+v", ch, r)
	}
	return c, id
}

// TestSlowClient checks the slow-consumer policy: a subscriber that stops
// reading is disconnected with 3008 "slow" once what is queued for it goes
// over client.queue_max_size, while another subscriber of the same channel
// receives every publication, before and after.
func TestSlowClient(t *testing.T) {
	const queueMax = 256 << 10
	srv := Start(t, floodConfig().
		Set("client.queue_max_size", queueMax).
		Set("log.level", "debug"))
	const ch = "feed:slow"
	reader, _ := connectUser(t, srv, encodings[0], "reader")
	sub := reader.subscribe(t, ch)
	stuck, id := stuckClient(t, srv, "stuck", ch)

	// The client cannot see the decision: its socket is full, so the close
	// frame may not get through. The server's log tells when it was made.
	slow := regexp.MustCompile(`msg="disconnecting client".* client=` +
		regexp.QuoteMeta(id) + ` .*code=3008 reason=slow`)
	n := 0
	for !slow.MatchString(srv.Output()) {
		if n == maxFlood {
			t.Fatalf("not disconnected as slow after %d publications of %d bytes",
				n, len(floodPayload))
		}
		n++
		publishSeq(t, srv, ch, n, floodPayload)
	}
	t.Logf("disconnected as slow after %d publications", n)
	if n*len(floodPayload) < queueMax {
		t.Fatalf("disconnected as slow after %d publications, before the queue was full", n)
	}
	for range 5 {
		n++
		publishSeq(t, srv, ch, n, floodPayload)
	}

	got := seqOf(t, pubsOf(sub.pubs.wait(t, n, "publications")))
	if fmt.Sprint(got) != fmt.Sprint(seq(1, n)) {
		t.Fatalf("reader got publications %v, want 1..%d in order", got, n)
	}
	// The reader never lost its connection: one connecting event, the
	// initial one.
	if reader.State() != centrifuge.StateConnected || reader.connecting.len() != 1 {
		t.Fatalf("reader is %s after %+v", reader.State(), reader.connecting.all())
	}
	wantDropped(t, stuck)
}

// wantDropped reads what the server managed to send a stuck client and
// fails unless the connection then ends: with a 3008 close frame when it
// got through, or with the TCP connection closed.
func wantDropped(t *testing.T, c *rawConn) {
	t.Helper()
	deadline := time.Now().Add(2 * WaitTimeout)
	_ = c.ws.SetReadDeadline(deadline)
	for read := 0; ; read++ {
		_, _, err := c.ws.ReadMessage()
		if err == nil {
			continue
		}
		t.Logf("stuck client: %d messages, then %v", read, err)
		var ce *websocket.CloseError
		var ne net.Error
		switch {
		case errors.As(err, &ce):
			if ce.Code != 3008 || ce.Text != "slow" {
				t.Fatalf("closed with %d %q, want 3008 \"slow\"", ce.Code, ce.Text)
			}
		case errors.As(err, &ne) && ne.Timeout():
			t.Fatalf("connection still open %v after the slow disconnect",
				2*WaitTimeout)
		}
		return
	}
}
