package httpstream

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/protocol"
)

func newRecorded(ep endpoint, binary bool) (*stream, *httptest.ResponseRecorder) {
	rec := httptest.NewRecorder()
	return newStream(rec, ep, binary, time.Second), rec
}

// TestFraming checks how each stream frames a batch of encoded replies.
func TestFraming(t *testing.T) {
	push := []byte(`{"push":{"channel":"a","pub":{"data":{"x":1}}}}`)
	ping := []byte(`{}`)
	reply := []byte(`{"id":2,"subscribe":{}}`)
	pb := []byte{0x02, 0x0a, 0x00, 0x00}
	cases := []struct {
		name   string
		ep     endpoint
		binary bool
		items  [][]byte
		want   string
	}{
		{"lines", endpoint{}, false, [][]byte{reply, push, ping},
			string(reply) + "\n" + string(push) + "\n{}\n"},
		{"protobuf", endpoint{}, true, [][]byte{pb, pb}, string(pb) + string(pb)},
		{"events", endpoint{sse: true}, false, [][]byte{reply, ping},
			"data: " + string(reply) + "\n\ndata: {}\n\n"},
		{"event with line breaks", endpoint{sse: true}, false,
			[][]byte{[]byte("{\"a\":\r1,\n\"b\":2}")},
			"data: {\"a\":\ndata: 1,\ndata: \"b\":2}\n\n"},
		{"uni lines", endpoint{uni: true}, false, [][]byte{push, ping},
			`{"channel":"a","pub":{"data":{"x":1}}}` + "\n{}\n"},
		{"uni events", endpoint{uni: true, sse: true}, false, [][]byte{push},
			`data: {"channel":"a","pub":{"data":{"x":1}}}` + "\n\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, rec := newRecorded(tc.ep, tc.binary)
			if err := s.WriteBatch(tc.items); err != nil {
				t.Fatal(err)
			}
			if got := rec.Body.String(); got != tc.want {
				t.Errorf("wrote %q, want %q", got, tc.want)
			}
			if !rec.Flushed {
				t.Error("batch not flushed")
			}
		})
	}
}

// TestClose checks the Disconnect push of each stream, and that nothing
// touches the response once the handler is done with it.
func TestClose(t *testing.T) {
	d := protocol.DisconnectForceNoReconnect
	cases := []struct {
		name   string
		ep     endpoint
		binary bool
		want   string
	}{
		{"bidi", endpoint{}, false,
			`{"push":{"disconnect":{"code":3503,"reason":"force disconnect"}}}` + "\n"},
		{"uni", endpoint{uni: true}, false,
			`{"disconnect":{"code":3503,"reason":"force disconnect"}}` + "\n"},
		{"protobuf", endpoint{}, true, string(protocol.Protobuf.AppendReply(nil,
			&protocol.Reply{Push: &protocol.Push{Disconnect: d}}))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, rec := newRecorded(tc.ep, tc.binary)
			s.Close(d)
			s.Close(d)
			if got := rec.Body.String(); got != tc.want {
				t.Errorf("wrote %q, want %q", got, tc.want)
			}
			select {
			case <-s.done:
			default:
				t.Error("Close did not end the stream")
			}
		})
	}

	t.Run("nil", func(t *testing.T) {
		s, rec := newRecorded(endpoint{}, false)
		s.Close(nil)
		if rec.Body.Len() != 0 {
			t.Errorf("wrote %q for a close without disconnect", rec.Body)
		}
	})
	t.Run("after the handler returned", func(t *testing.T) {
		s, rec := newRecorded(endpoint{}, false)
		s.end()
		if err := s.WriteBatch([][]byte{[]byte(`{}`)}); !errors.Is(err, errClosed) {
			t.Errorf("WriteBatch: %v, want errClosed", err)
		}
		s.Close(d)
		if rec.Body.Len() != 0 {
			t.Errorf("wrote %q after the end", rec.Body)
		}
	})
}

// TestConnectFrame checks the wrapping of a ConnectRequest.
func TestConnectFrame(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{`{}`, `{"id":1,"connect":{}}`},
		{" {\n \"token\": \"t\" }\n", `{"id":1,"connect":{"token":"t"}}`},
		{`{"subs":{"a":{"recover":true,"offset":3,"epoch":"e"}}}`,
			`{"id":1,"connect":{"subs":{"a":{"recover":true,"offset":3,"epoch":"e"}}}}`},
		{``, ""},
		{`null`, ""},
		{`"x"`, ""},
		{`{} {}`, ""},
		{`{"name":1}`, ""},
	}
	for _, tc := range cases {
		got, err := connectFrame([]byte(tc.in))
		if tc.want == "" {
			if err == nil {
				t.Errorf("connectFrame(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("connectFrame(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
}
