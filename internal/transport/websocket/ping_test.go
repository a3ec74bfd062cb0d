package websocket

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	cf "github.com/centrifugal/protocol"
	"github.com/gobwas/ws"
)

// Timing of the ping tests: the wheel ticks once a second, so intervals are
// whole seconds and the pong check runs on the tick after the ping.
const (
	testPingInterval = 2 * time.Second
	testPongTimeout  = time.Second
	// pingSlack is how far a ping may drift from the interval: the ticker
	// delivering late under load, the race detector, the scheduler.
	pingSlack = 600 * time.Millisecond
)

// frameEvent is one frame the raw client received, or the read error that
// ended its reader.
type frameEvent struct {
	f   ws.Frame
	at  time.Time
	err error
}

// rawPeer is a WebSocket client built on gobwas/ws that sees every frame,
// control frames included, and answers nothing by itself.
type rawPeer struct {
	t      *testing.T
	nc     net.Conn
	frames chan frameEvent
}

// dialRawPeer connects to srv with query and starts a reader goroutine that
// ends when the connection closes.
func dialRawPeer(t *testing.T, srv *testServer, query string) *rawPeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, br, _, err := ws.Dialer{}.Dial(ctx, srv.url+query)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	p := &rawPeer{t: t, nc: nc, frames: make(chan frameEvent, 64)}
	var r io.Reader = nc
	if br != nil {
		r = br
	}
	done := make(chan struct{})
	go p.read(bufio.NewReader(r), done)
	t.Cleanup(func() {
		_ = nc.Close()
		<-done
	})
	return p
}

func (p *rawPeer) read(r io.Reader, done chan struct{}) {
	defer close(done)
	for {
		f, err := readFrame(r)
		p.frames <- frameEvent{f: f, at: time.Now(), err: err}
		if err != nil {
			return
		}
	}
}

// send writes one masked client frame.
func (p *rawPeer) send(op ws.OpCode, payload []byte) {
	p.t.Helper()
	_ = p.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := p.nc.Write(clientFrame(op, true, payload)); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

// next returns the next frame, failing the test if none arrives within
// timeout or the connection ends.
func (p *rawPeer) next(timeout time.Duration) frameEvent {
	p.t.Helper()
	select {
	case ev := <-p.frames:
		if ev.err != nil {
			p.t.Fatalf("connection ended: %v", ev.err)
		}
		return ev
	case <-time.After(timeout):
		p.t.Fatalf("no frame within %v", timeout)
	}
	return frameEvent{}
}

// connect sends a connect command and returns its result.
func (p *rawPeer) connect() *cf.ConnectResult {
	p.t.Helper()
	p.send(ws.OpText, []byte(jsonConnect))
	ev := p.next(5 * time.Second)
	if ev.f.Header.OpCode != ws.OpText {
		p.t.Fatalf("got %v frame, want the connect reply", ev.f.Header.OpCode)
	}
	r, err := cf.NewJSONReplyDecoder(ev.f.Payload).Decode()
	if err != nil || r.Connect == nil {
		p.t.Fatalf("connect reply %q: %v", ev.f.Payload, err)
	}
	return r.Connect
}

// nextPing waits for a ping frame, failing on any other frame: in frame
// ping mode nothing else is sent to an idle client.
func (p *rawPeer) nextPing() time.Time {
	p.t.Helper()
	ev := p.next(testPingInterval + pingSlack)
	if ev.f.Header.OpCode != ws.OpPing {
		p.t.Fatalf("got %v frame %q, want a ping frame", ev.f.Header.OpCode, ev.f.Payload)
	}
	return ev.at
}

// wantInterval fails the test unless the ping at came one interval after
// the ping before it.
func wantInterval(t *testing.T, before, at time.Time) {
	t.Helper()
	if d := at.Sub(before); d < testPingInterval-pingSlack || d > testPingInterval+pingSlack {
		t.Fatalf("ping %v after the previous one, want %v", d, testPingInterval)
	}
}

// TestFramePingPong checks the cf_ws_frame_ping_pong=true mode: ping frames
// every ping interval instead of protocol pings, liveness shown by pong
// frames or by any other frame, and 3012 "no pong" for a silent client.
func TestFramePingPong(t *testing.T) {
	t.Run("pong frames keep the connection", func(t *testing.T) {
		t.Parallel()
		p := dialRawPeer(t, newTimedServer(t, testPingInterval, testPongTimeout),
			"?cf_ws_frame_ping_pong=true")
		if res := p.connect(); res.Ping != 0 || res.Pong {
			t.Fatalf("connect result announces ping %d, pong %v; want none",
				res.Ping, res.Pong)
		}
		prev := p.nextPing()
		p.send(ws.OpPong, nil)
		for range 3 {
			at := p.nextPing()
			wantInterval(t, prev, at)
			p.send(ws.OpPong, nil)
			prev = at
		}
	})

	t.Run("data frames keep the connection", func(t *testing.T) {
		t.Parallel()
		p := dialRawPeer(t, newTimedServer(t, testPingInterval, testPongTimeout),
			"?cf_ws_frame_ping_pong=true")
		p.connect()
		prev := p.nextPing()
		for id := 2; id < 5; id++ {
			// A publish instead of a pong: its reply must come, and the next
			// ping after it, with no close in between.
			p.send(ws.OpText, fmt.Appendf(nil,
				`{"id":%d,"publish":{"channel":"news","data":{}}}`, id))
			if ev := p.next(5 * time.Second); ev.f.Header.OpCode != ws.OpText {
				t.Fatalf("got %v frame, want the publish reply", ev.f.Header.OpCode)
			}
			at := p.nextPing()
			wantInterval(t, prev, at)
			prev = at
		}
	})

	t.Run("silence closes with no pong", func(t *testing.T) {
		t.Parallel()
		p := dialRawPeer(t, newTimedServer(t, testPingInterval, testPongTimeout),
			"?cf_ws_frame_ping_pong=true")
		p.connect()
		prev := p.nextPing()
		p.send(ws.OpPong, nil)
		at := p.nextPing()
		wantInterval(t, prev, at)

		// Not answering this ping: the pong check on a later tick closes.
		ev := p.next(testPongTimeout + time.Second + pingSlack)
		if ev.f.Header.OpCode != ws.OpClose {
			t.Fatalf("got %v frame, want a close frame", ev.f.Header.OpCode)
		}
		code, reason := ws.ParseCloseFrameData(ev.f.Payload)
		if code != 3012 || reason != "no pong" {
			t.Fatalf("close %d %q, want 3012 \"no pong\"", code, reason)
		}
		if d := ev.at.Sub(at); d < testPongTimeout-pingSlack {
			t.Fatalf("closed %v after the ping, before the pong timeout %v",
				d, testPongTimeout)
		}
	})

	t.Run("without the query protocol pings", func(t *testing.T) {
		t.Parallel()
		p := dialRawPeer(t, newTimedServer(t, testPingInterval, testPongTimeout), "")
		res := p.connect()
		if res.Ping != uint32(testPingInterval/time.Second) || !res.Pong {
			t.Fatalf("connect result announces ping %d, pong %v; want %v and true",
				res.Ping, res.Pong, testPingInterval)
		}
		ev := p.next(testPingInterval + pingSlack)
		if ev.f.Header.OpCode != ws.OpText || string(ev.f.Payload) != "{}" {
			t.Fatalf("got %v frame %q, want the protocol ping {}",
				ev.f.Header.OpCode, ev.f.Payload)
		}
	})
}
