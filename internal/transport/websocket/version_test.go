package websocket

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	gorilla "github.com/gorilla/websocket"
)

// TestProtocolVersionQuery checks the cf_protocol_version query parameter:
// v1 and v2 fix the protocol whatever the first command looks like, and an
// unknown value is refused with 400 before the upgrade.
func TestProtocolVersionQuery(t *testing.T) {
	srv := newServer(t, nil)

	t.Run("v1", func(t *testing.T) {
		// Alone, this connect would be detected as v2.
		c := srv.mustDial(t, dialOptions{query: "?cf_protocol_version=v1"})
		if err := c.WriteMessage(gorilla.TextMessage, []byte(jsonConnect)); err != nil {
			t.Fatal(err)
		}
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var reply struct {
			ID     uint32 `json:"id"`
			Result struct {
				Client string `json:"client"`
			} `json:"result"`
		}
		if err := json.Unmarshal(data, &reply); err != nil || reply.ID != 1 ||
			reply.Result.Client == "" {
			t.Fatalf("reply %s (%v), want a protocol v1 connect result", data, err)
		}
	})
	t.Run("v2", func(t *testing.T) {
		// Alone, a command with only an id is a v1 connect; in v2 it is
		// no connect at all.
		c := srv.mustDial(t, dialOptions{query: "?cf_protocol_version=v2"})
		if err := c.WriteMessage(gorilla.TextMessage, []byte(`{"id":1}`)); err != nil {
			t.Fatal(err)
		}
		if ce := readCloseError(t, c); ce.Code != 3501 {
			t.Fatalf("closed with %d %q, want 3501 bad request", ce.Code, ce.Text)
		}
	})
	t.Run("detected without it", func(t *testing.T) {
		c := srv.mustDial(t, dialOptions{query: "?cf_protocol_version="})
		if err := c.WriteMessage(gorilla.TextMessage, []byte(`{"id":1}`)); err != nil {
			t.Fatal(err)
		}
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var reply struct {
			Result struct {
				Client string `json:"client"`
			} `json:"result"`
		}
		if err := json.Unmarshal(data, &reply); err != nil || reply.Result.Client == "" {
			t.Fatalf("reply %s (%v), want a protocol v1 connect result", data, err)
		}
	})
	for _, bad := range []string{"v3", "1", "V1", "v1,v2"} {
		t.Run("bad "+bad, func(t *testing.T) {
			_, resp, err := srv.dial(t, dialOptions{query: "?cf_protocol_version=" + bad})
			if !errors.Is(err, gorilla.ErrBadHandshake) || resp == nil ||
				resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("dial: %v (response %v), want 400", err, resp)
			}
		})
	}
}
