package httpstream

import (
	"testing"

	"github.com/heraldhq/herald/internal/protocol"
)

// FuzzDecodeEmulation checks that no emulation request body panics the
// decoder, and that an accepted one always carries a frame.
func FuzzDecodeEmulation(f *testing.F) {
	f.Add([]byte(`{"node":"n","session":"s","data":"{}"}`), false)
	f.Add([]byte(`{"node":"n","session":"s","data":{"id":1}}`), false)
	f.Add(pbEmulation("n", "s", []byte{0x00}), true)
	f.Add([]byte{0x0a, 0x05, 'x'}, true)
	f.Fuzz(func(t *testing.T, body []byte, binary bool) {
		req, err := decodeEmulation(body, binary)
		if err == nil && len(req.data) == 0 {
			t.Fatalf("decodeEmulation(%q) accepted a request without data", body)
		}
	})
}

// FuzzConnectFrame checks that every accepted ConnectRequest becomes one
// connect command.
func FuzzConnectFrame(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte("{\n\"token\":\"t\",\n\"subs\":{\"a\":{\"recover\":true}}}"))
	f.Add([]byte(`{"data":{"x":[1,2]},"headers":{"a":"b"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, req []byte) {
		frame, err := connectFrame(req)
		if err != nil {
			return
		}
		var n int
		err = protocol.JSON.DecodeFrame(frame, func(cmd *protocol.Command) error {
			n++
			if cmd.ID != 1 || cmd.Connect == nil {
				t.Fatalf("command %+v from %q, want connect 1", cmd, req)
			}
			return nil
		})
		if err != nil || n != 1 {
			t.Fatalf("frame %q of %q: %d commands, %v", frame, req, n, err)
		}
	})
}
