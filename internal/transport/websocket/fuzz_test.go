package websocket

import (
	"bytes"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// fuzzLimit is the message size limit of FuzzReadMessage.
const fuzzLimit = 512

// FuzzReadMessage feeds arbitrary client bytes to the frame reader. It must
// never panic, never return a message over the size limit, and never hold a
// buffer larger than the limit or a pooled one, whatever lengths the frame
// headers declare.
func FuzzReadMessage(f *testing.F) {
	text := []byte(`{"id":1,"connect":{}}`)
	f.Add(clientFrame(ws.OpText, true, text))
	f.Add(fragments(ws.OpText, split(text, 3)))
	f.Add(bytes.Join([][]byte{
		clientFrame(ws.OpBinary, false, []byte{1, 2}),
		clientFrame(ws.OpPing, true, []byte("ping")),
		clientFrame(ws.OpContinuation, true, []byte{3}),
		clientFrame(ws.OpClose, true, ws.NewCloseFrameBody(1000, "bye")),
	}, nil))
	f.Add(clientFrame(ws.OpText, true, bytes.Repeat([]byte("x"), fuzzLimit+1)))
	f.Add(frameBytes(ws.OpText, true, text, false))
	// Headers declaring huge payloads with 16- and 64-bit lengths.
	f.Add([]byte{0x81, 0xfe, 0xff, 0xff, 1, 2, 3, 4})
	f.Add([]byte{0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4})
	f.Add([]byte{0x01, 0xfe, 0x01, 0x00, 1, 2, 3, 4, 0x80, 0xfe, 0x01, 0x00})
	f.Add([]byte{0x89, 0xfe, 0x00, 0x7e, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &conn{
			nc:  discardConn{},
			r:   bytes.NewReader(data),
			cfg: &Config{MessageSizeLimit: fuzzLimit, WriteTimeout: time.Second},
		}
		for range len(data) + 1 {
			msg, err := c.readMessage()
			if err != nil {
				return
			}
			if len(msg) > fuzzLimit {
				t.Fatalf("message of %d bytes over the limit %d", len(msg), fuzzLimit)
			}
			if cap(msg) > max(fuzzLimit, 1<<16) {
				t.Fatalf("buffer of %d bytes for a %d-byte message", cap(msg), len(msg))
			}
			putBuffer(msg)
		}
		t.Fatal("reader did not stop at the end of its input")
	})
}
