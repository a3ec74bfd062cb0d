package websocket

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/heraldhq/herald/internal/outbound"
)

// socketPair returns the server side of a loopback TCP connection wrapped
// in a conn, and the client side.
func socketPair(t *testing.T) (*conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- nc
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	return newConn(server, nil, false, &Config{WriteTimeout: 5 * time.Second}), client
}

// readFrames reads n text frames from r and returns their payloads.
func readFrames(t *testing.T, r io.Reader, n int) []string {
	t.Helper()
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	out := make([]string, 0, n)
	for range n {
		h, err := ws.ReadHeader(br)
		if err != nil {
			t.Fatalf("frame %d: %v", len(out), err)
		}
		if h.OpCode != ws.OpText || !h.Fin || h.Masked {
			t.Fatalf("frame %d: header %+v", len(out), h)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(br, p); err != nil {
			t.Fatalf("frame %d: %v", len(out), err)
		}
		out = append(out, string(p))
	}
	return out
}

// readMessages reads text frames from r until it has n newline-separated
// messages.
func readMessages(t *testing.T, r io.Reader, n int) []string {
	t.Helper()
	br := bufio.NewReader(r)
	out := make([]string, 0, n)
	for len(out) < n {
		frame := readFrames(t, br, 1)[0]
		out = append(out, strings.Split(frame, "\n")...)
	}
	return out
}

func TestTryWriteWhole(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("non-blocking frame writes are implemented for Linux")
	}
	c, client := socketPair(t)

	res, err := c.TryWrite([]byte(`{"push":{}}`))
	if err != nil || res != outbound.TryWritten {
		t.Fatalf("TryWrite = %v, %v; want written", res, err)
	}
	if got := readFrames(t, client, 1); got[0] != `{"push":{}}` {
		t.Errorf("payload %q", got[0])
	}
}

// countingWriter counts the outcomes of the transport's TryWrite calls.
type countingWriter struct {
	*conn
	results map[outbound.TryResult]int
}

func (w *countingWriter) TryWrite(b []byte) (outbound.TryResult, error) {
	res, err := w.conn.TryWrite(b)
	w.results[res]++
	return res, err
}

// TestTryWriteFullSocket fills the socket while the peer reads nothing:
// pushes must never block, TryWrite must report partial writes or refusals
// once the kernel's buffers are full, and every message must arrive whole
// and in order once the peer reads (those queued meanwhile batched into
// newline-joined frames).
func TestTryWriteFullSocket(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("non-blocking frame writes are implemented for Linux")
	}
	c, client := socketPair(t)
	w := &countingWriter{conn: c, results: map[outbound.TryResult]int{}}
	q := outbound.New(w, outbound.Config{})

	// Pushes come from one goroutine, as from a broadcast. Once the socket
	// is full a writer goroutine takes over and no longer calls TryWrite,
	// so the counters are only read by this goroutine.
	payload := make([]byte, 16<<10)
	msgs := make([][]byte, 256)
	for i := range msgs {
		m := fmt.Appendf(nil, "%05d", i)
		msgs[i] = append(m, payload[:len(payload)-len(m)]...)
		if !q.Push(msgs[i]) {
			t.Fatalf("push %d refused", i)
		}
	}
	got := readMessages(t, client, len(msgs))

	for i, p := range got {
		if p[:5] != string(msgs[i][:5]) || len(p) != len(payload) {
			t.Fatalf("frame %d starts %q with %d bytes, want %q with %d",
				i, p[:5], len(p), msgs[i][:5], len(payload))
		}
	}
	if w.results[outbound.TryWritten] == 0 {
		t.Error("no frame was written inline")
	}
	if w.results[outbound.TryPartial]+w.results[outbound.TryRefused] == 0 {
		t.Errorf("%d frames of %d bytes fitted in the socket; want it to fill",
			len(msgs), len(payload))
	}
}

// TestTryWriteAllocs checks that a non-blocking frame write allocates
// nothing: at low load it is the whole cost of a delivery.
func TestTryWriteAllocs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("non-blocking frame writes are implemented for Linux")
	}
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("coverage and the race detector change allocation counts")
	}
	c, client := socketPair(t)
	go func() { _, _ = io.Copy(io.Discard, client) }()

	msg := []byte(`{"push":{"channel":"a","pub":{"data":{}}}}`)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := c.TryWrite(msg); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("TryWrite: %v allocations, want 0", allocs)
	}
}
