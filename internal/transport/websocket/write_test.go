package websocket

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestWriteBatchAllocs checks that writing a frame to a real TCP socket
// allocates nothing once warm: a publication reaches every subscriber
// without a per-delivery allocation.
func TestWriteBatchAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("coverage and the race detector change allocation counts")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	done := make(chan struct{})
	go func() {
		defer close(done)
		peer, err := ln.Accept()
		if err != nil {
			return
		}
		defer func() { _ = peer.Close() }()
		buf := make([]byte, 64<<10)
		for {
			if _, err := peer.Read(buf); err != nil {
				return
			}
		}
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close(); <-done })

	c := newConn(nc, nil, false, &Config{WriteTimeout: time.Second})
	one := [][]byte{[]byte(`{"push":{"channel":"a","pub":{"data":{}}}}`)}
	three := [][]byte{one[0], one[0], one[0]}
	for _, items := range [][][]byte{one, three} {
		allocs := testing.AllocsPerRun(200, func() {
			if err := c.WriteBatch(items); err != nil && err != io.EOF {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("WriteBatch of %d messages: %v allocations, want 0",
				len(items), allocs)
		}
	}
}
