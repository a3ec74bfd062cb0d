package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge-go"
	"github.com/centrifugal/protocol"
	fossil "github.com/shadowspore/fossil-delta"
)

// deltaNamespace allows fossil deltas and keeps history, for recovery.
var deltaNamespace = map[string]any{
	"name":                       "delta",
	"allow_subscribe_for_client": true,
	"allowed_delta_types":        []string{"fossil"},
	"history_size":               10,
	"history_ttl":                "300s",
	"allow_recovery":             true,
}

// plainNamespace is like deltaNamespace without delta compression.
var plainNamespace = map[string]any{
	"name":                       "plain",
	"allow_subscribe_for_client": true,
}

// deltaPayload returns a JSON payload that differs little from its
// neighbours, so that deltas are much smaller than payloads.
func deltaPayload(i int) string {
	return fmt.Sprintf(`{"body":%q,"seq":%d}`, strings.Repeat("herald-delta-", 30), i)
}

// publishDelta publishes payload into ch through the server API with the
// delta flag.
func publishDelta(t testing.TB, srv *Server, ch, payload string) {
	t.Helper()
	callAPI(t, srv, "publish",
		fmt.Sprintf(`{"channel":%q,"data":%s,"delta":true}`, ch, payload), nil)
}

// TestDeltaSDK checks that centrifuge-go subscribers that ask for fossil
// deltas get every payload back exactly, next to a subscriber without.
func TestDeltaSDK(t *testing.T) {
	srv := Start(t, apiConfig(deltaNamespace))
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "delta:sdk-" + enc.name
		c, _ := connectUser(t, srv, enc, "alice")
		withDelta := c.subscribe(t, ch, centrifuge.SubscriptionConfig{
			Delta: centrifuge.DeltaTypeFossil,
		})
		other, _ := connectUser(t, srv, enc, "bob")
		without := other.subscribe(t, ch)

		const n = 5
		for i := range n {
			publishDelta(t, srv, ch, deltaPayload(i))
		}
		for name, s := range map[string]*sdkSub{"delta": withDelta, "plain": without} {
			pubs := pubsOf(s.pubs.wait(t, n, name+" publications"))
			for i, p := range pubs {
				if string(p.Data) != deltaPayload(i) {
					t.Errorf("%s subscriber: publication %d = %s, want %s",
						name, i, p.Data, deltaPayload(i))
				}
			}
		}
	})
}

// rawDeltaSub subscribes a raw connection to ch asking for fossil deltas.
func rawDeltaSub(t *testing.T, c *rawConn,
	req *protocol.SubscribeRequest) *protocol.SubscribeResult {
	t.Helper()
	req.Delta = "fossil"
	r := c.call(&protocol.Command{Subscribe: req})
	if r.Error != nil || r.Subscribe == nil {
		t.Fatalf("subscribe %s: %+v", req.Channel, r)
	}
	return r.Subscribe
}

// readPubs reads n publication pushes, skipping pings.
func readPubs(t *testing.T, c *rawConn, n int) []*protocol.Publication {
	t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	var pubs []*protocol.Publication
	for len(pubs) < n {
		r, err := c.read(deadline)
		if err != nil {
			t.Fatalf("after %d of %d publications: %v", len(pubs), n, err)
		}
		if r.Push != nil && r.Push.Pub != nil {
			pubs = append(pubs, r.Push.Pub)
		}
	}
	return pubs
}

// applyChain does what a delta client does with the data it receives and
// returns the payloads. On JSON connections every data must be a string.
func applyChain(t *testing.T, enc encoding, pubs []*protocol.Publication) []string {
	t.Helper()
	var prev []byte
	var out []string
	for i, p := range pubs {
		data := []byte(p.Data)
		if !enc.protobuf {
			var s string
			if err := json.Unmarshal(data, &s); err != nil {
				t.Fatalf("publication %d: data %s is not a JSON string: %v", i, data, err)
			}
			data = []byte(s)
		}
		if p.Delta {
			var err error
			if data, err = fossil.Apply(prev, data); err != nil {
				t.Fatalf("publication %d: apply delta: %v", i, err)
			}
		}
		prev = data
		out = append(out, string(data))
	}
	return out
}

// TestDeltaWire checks the wire form of delta publications: negotiation,
// the first publication full, later ones smaller deltas, and JSON data as
// strings.
func TestDeltaWire(t *testing.T) {
	srv := Start(t, apiConfig(deltaNamespace, plainNamespace))
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "delta:wire-" + enc.name
		c := dialRaw(t, srv, enc, nil)
		c.connect(UserToken(t, secret, "alice", time.Hour))
		if res := rawDeltaSub(t, c, &protocol.SubscribeRequest{Channel: ch}); !res.Delta {
			t.Fatalf("subscribe result %+v, want delta negotiated", res)
		}

		const n = 4
		for i := range n {
			publishDelta(t, srv, ch, deltaPayload(i))
		}
		pubs := readPubs(t, c, n)
		if pubs[0].Delta {
			t.Error("first publication is a delta, want full")
		}
		for i := 1; i < n; i++ {
			if !pubs[i].Delta || len(pubs[i].Data) >= len(deltaPayload(i)) {
				t.Errorf("publication %d: delta %v, %d bytes; want a smaller delta",
					i, pubs[i].Delta, len(pubs[i].Data))
			}
		}
		for i, got := range applyChain(t, enc, pubs) {
			if got != deltaPayload(i) {
				t.Errorf("publication %d = %s, want %s", i, got, deltaPayload(i))
			}
		}

		// A channel that does not allow deltas ignores the request.
		plain := "plain:wire-" + enc.name
		if res := rawDeltaSub(t, c, &protocol.SubscribeRequest{Channel: plain}); res.Delta {
			t.Errorf("subscribe to %s negotiated delta, want not", plain)
		}
		publishDelta(t, srv, plain, deltaPayload(0))
		p := readPubs(t, c, 1)[0]
		if p.Delta || !sameJSON(p.Data, []byte(deltaPayload(0))) {
			t.Errorf("plain channel publication %s (delta %v), want %s", p.Data, p.Delta,
				deltaPayload(0))
		}
	})
}

// TestDeltaUnknownType checks that a delta type the protocol does not
// define is a bad request.
func TestDeltaUnknownType(t *testing.T) {
	srv := Start(t, apiConfig(deltaNamespace))
	c := dialRaw(t, srv, encodings[0], nil)
	c.connect(UserToken(t, secret, "alice", time.Hour))
	c.send(&protocol.Command{Id: c.nextID(), Subscribe: &protocol.SubscribeRequest{
		Channel: "delta:x", Delta: "xdelta",
	}})
	if got := c.waitClose(WaitTimeout); got.code != 3501 {
		t.Errorf("closed with %d %q, want 3501", got.code, got.reason)
	}
}

// TestDeltaRecovery checks that recovered publications form a delta chain
// starting with a full payload, and that live deltas continue it.
func TestDeltaRecovery(t *testing.T) {
	srv := Start(t, apiConfig(deltaNamespace))
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "delta:recover-" + enc.name
		publishDelta(t, srv, ch, deltaPayload(0))
		first := dialRaw(t, srv, enc, nil)
		first.connect(UserToken(t, secret, "alice", time.Hour))
		pos := rawDeltaSub(t, first, &protocol.SubscribeRequest{Channel: ch, Recoverable: true})
		if !pos.Recoverable || pos.Offset != 1 {
			t.Fatalf("subscribe result %+v, want recoverable at offset 1", pos)
		}
		for i := 1; i <= 3; i++ {
			publishDelta(t, srv, ch, deltaPayload(i))
		}

		c := dialRaw(t, srv, enc, nil)
		c.connect(UserToken(t, secret, "alice", time.Hour))
		res := rawDeltaSub(t, c, &protocol.SubscribeRequest{
			Channel: ch, Recoverable: true, Recover: true, Offset: 1, Epoch: pos.Epoch,
		})
		if !res.Recovered || len(res.Publications) != 3 || !res.Delta {
			t.Fatalf("recovery result %+v, want 3 publications recovered with delta", res)
		}
		publishDelta(t, srv, ch, deltaPayload(4))
		pubs := append(res.Publications, readPubs(t, c, 1)...)
		if pubs[0].Delta || !pubs[1].Delta || !pubs[3].Delta {
			t.Errorf("delta flags %v %v %v %v, want false true true true",
				pubs[0].Delta, pubs[1].Delta, pubs[2].Delta, pubs[3].Delta)
		}
		for i, got := range applyChain(t, enc, pubs) {
			if got != deltaPayload(i+1) {
				t.Errorf("publication %d = %s, want %s", i, got, deltaPayload(i+1))
			}
		}
	})
}
