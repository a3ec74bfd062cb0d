package hub

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	cf "github.com/centrifugal/protocol"
	fossil "github.com/shadowspore/fossil-delta"

	"github.com/heraldhq/herald/internal/protocol"
)

// Variant indexes of newTestHub.
const (
	vJSON     uint8 = 0
	vProtobuf uint8 = 1
)

// decodedPub is a publication push as a client reads it.
type decodedPub struct {
	data  []byte // for JSON delta subscribers: the bytes inside the string
	delta bool
}

// decodePub decodes one push of variant v. text tells whether data must be
// a JSON string, as on a delta-negotiated JSON subscription.
func decodePub(t *testing.T, v uint8, b []byte, text bool) decodedPub {
	t.Helper()
	var dec cf.ReplyDecoder = cf.NewJSONReplyDecoder(b)
	if v == vProtobuf {
		dec = cf.NewProtobufReplyDecoder(b)
	}
	r, err := dec.Decode()
	if err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	if r.Push == nil || r.Push.Pub == nil {
		t.Fatalf("not a publication push: %q", b)
	}
	pub := r.Push.Pub
	data := []byte(pub.Data)
	if text {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatalf("data %s is not a JSON string: %v", data, err)
		}
		data = []byte(s)
	}
	return decodedPub{data: data, delta: pub.Delta}
}

// applyAll replays what a delta client does: keep each full payload, apply
// each delta to the previous payload.
func applyAll(t *testing.T, pubs []decodedPub) [][]byte {
	t.Helper()
	var prev []byte
	out := make([][]byte, len(pubs))
	for i, p := range pubs {
		cur := p.data
		if p.delta {
			var err error
			if cur, err = fossil.Apply(prev, p.data); err != nil {
				t.Fatalf("publication %d: apply: %v", i, err)
			}
		}
		out[i], prev = cur, cur
	}
	return out
}

// payload returns a JSON payload that differs little from its neighbours,
// so that a delta is much smaller than the payload.
func payload(i int) []byte {
	return fmt.Appendf(nil, `{"body":%q,"seq":%d}`, strings.Repeat("shared-body-", 20), i)
}

// countingHub returns a test hub whose patch calls are counted.
func countingHub() (*Hub, *int) {
	h := newTestHub()
	n := new(int)
	real := h.patch
	h.patch = func(prev, next []byte) []byte {
		*n++
		return real(prev, next)
	}
	return h, n
}

func TestDeltaSubscribersGetFullThenPatches(t *testing.T) {
	h, patches := countingHub()
	j1, j2, p1, p2, plain := &recConn{}, &recConn{}, &recConn{}, &recConn{}, &recConn{}
	addActive(t, h, SubConfig{Channel: "ch", Conn: j1, Delta: true})
	addActive(t, h, SubConfig{Channel: "ch", Conn: j2, Delta: true})
	addActive(t, h, SubConfig{Channel: "ch", Conn: p1, Variant: vProtobuf, Delta: true})
	addActive(t, h, SubConfig{Channel: "ch", Conn: p2, Variant: vProtobuf, Delta: true})
	addActive(t, h, SubConfig{Channel: "ch", Conn: plain})

	const n = 4
	for i := range n {
		pub := &protocol.Publication{Data: payload(i), Offset: uint64(i + 1)}
		h.BroadcastPublication("ch", pub, protocol.StreamPosition{Offset: uint64(i + 1)}, true)
	}

	// The first publication has no base; each later one is one patch shared
	// by both variants.
	if *patches != n-1 {
		t.Errorf("patch computed %d times for %d publications, want %d", *patches, n, n-1)
	}
	for name, c := range map[string]*recConn{"j1": j1, "j2": j2, "p1": p1, "p2": p2} {
		if len(c.got) != n {
			t.Fatalf("%s got %d pushes, want %d", name, len(c.got), n)
		}
	}
	for i := range n {
		if &j1.got[i][0] != &j2.got[i][0] || &p1.got[i][0] != &p2.got[i][0] {
			t.Errorf("publication %d: subscribers of one variant got different bytes", i)
		}
	}
	for _, tc := range []struct {
		name string
		c    *recConn
		v    uint8
	}{{"json", j1, vJSON}, {"protobuf", p1, vProtobuf}} {
		var pubs []decodedPub
		for _, b := range tc.c.got {
			pubs = append(pubs, decodePub(t, tc.v, b, tc.v == vJSON))
		}
		if pubs[0].delta {
			t.Errorf("%s: first publication is a delta, want full", tc.name)
		}
		for i := 1; i < n; i++ {
			if !pubs[i].delta || len(pubs[i].data) >= len(payload(i)) {
				t.Errorf("%s: publication %d: delta %v, %d bytes; want a smaller delta",
					tc.name, i, pubs[i].delta, len(pubs[i].data))
			}
		}
		for i, got := range applyAll(t, pubs) {
			if string(got) != string(payload(i)) {
				t.Errorf("%s: publication %d = %s, want %s", tc.name, i, got, payload(i))
			}
		}
	}
	if want := `{"push":{"channel":"ch","pub":{"data":` + string(payload(1)) +
		`,"offset":2}}}`; string(plain.got[1]) != want {
		t.Errorf("subscriber without delta got %s, want %s", plain.got[1], want)
	}
}

func TestDeltaOnlyForDeltaPublications(t *testing.T) {
	h, patches := countingHub()
	c := &recConn{}
	addActive(t, h, SubConfig{Channel: "ch", Conn: c, Delta: true})
	for i := range 3 {
		pub := &protocol.Publication{Data: payload(i)}
		h.BroadcastPublication("ch", pub, protocol.StreamPosition{}, i == 2)
	}
	if *patches != 1 {
		t.Errorf("patch computed %d times, want 1 (for the only delta publication)", *patches)
	}
	var pubs []decodedPub
	for _, b := range c.got {
		pubs = append(pubs, decodePub(t, vJSON, b, true))
	}
	if pubs[0].delta || pubs[1].delta || !pubs[2].delta {
		t.Errorf("delta flags %v %v %v, want false false true",
			pubs[0].delta, pubs[1].delta, pubs[2].delta)
	}
	// The third applies to the second: a full publication is a base too.
	for i, got := range applyAll(t, pubs) {
		if string(got) != string(payload(i)) {
			t.Errorf("publication %d = %s, want %s", i, got, payload(i))
		}
	}
}

func TestDeltaLateSubscriberStartsFull(t *testing.T) {
	h := newTestHub()
	early, late := &recConn{}, &recConn{}
	addActive(t, h, SubConfig{Channel: "ch", Conn: early, Delta: true})
	pub := &protocol.Publication{Data: payload(0)}
	h.BroadcastPublication("ch", pub, protocol.StreamPosition{}, true)
	addActive(t, h, SubConfig{Channel: "ch", Conn: late, Variant: vProtobuf, Delta: true})
	pub = &protocol.Publication{Data: payload(1)}
	h.BroadcastPublication("ch", pub, protocol.StreamPosition{}, true)

	if got := decodePub(t, vJSON, early.got[1], true); !got.delta {
		t.Error("early subscriber: second publication is not a delta")
	}
	got := decodePub(t, vProtobuf, late.got[0], false)
	if got.delta || string(got.data) != string(payload(1)) {
		t.Errorf("late subscriber's first publication: delta %v, data %s; want full %s",
			got.delta, got.data, payload(1))
	}
}

func TestDeltaNotSmallerSentFull(t *testing.T) {
	h := newTestHub()
	c := &recConn{}
	addActive(t, h, SubConfig{Channel: "ch", Conn: c, Delta: true})
	for _, d := range []string{`{"a":1}`, `[2]`} {
		pub := &protocol.Publication{Data: []byte(d)}
		h.BroadcastPublication("ch", pub, protocol.StreamPosition{}, true)
	}
	if want := `{"push":{"channel":"ch","pub":{"data":"[2]"}}}`; string(c.got[1]) != want {
		t.Errorf("got %s, want %s", c.got[1], want)
	}
}

func TestDeltaBufferedSubscriber(t *testing.T) {
	for _, recovered := range []bool{false, true} {
		t.Run(fmt.Sprintf("recovered=%v", recovered), func(t *testing.T) {
			h := newTestHub()
			c := &recConn{}
			s := NewSub(SubConfig{Channel: "ch", Conn: c, Positioned: true, Delta: true})
			h.Add(s)
			for off := uint64(1); off <= 4; off++ {
				pub := &protocol.Publication{Data: payload(int(off)), Offset: off}
				h.BroadcastPublication("ch", pub, protocol.StreamPosition{Offset: off}, true)
			}
			if recovered {
				s.MarkDeltaBase()
			}
			// The reply covers offsets up to 2.
			s.Activate(2, "", nil)

			if len(c.got) != 2 {
				t.Fatalf("got %d pushes, want 2 (offsets 3 and 4)", len(c.got))
			}
			first := decodePub(t, vJSON, c.got[0], true)
			second := decodePub(t, vJSON, c.got[1], true)
			if first.delta != recovered || !second.delta {
				t.Errorf("delta flags %v %v, want %v true", first.delta, second.delta, recovered)
			}
			pubs := []decodedPub{{data: payload(2)}, first, second}
			if !recovered {
				pubs = pubs[1:]
			}
			got := applyAll(t, pubs)
			if string(got[len(got)-1]) != string(payload(4)) {
				t.Errorf("last publication = %s, want %s", got[len(got)-1], payload(4))
			}
		})
	}
}

func TestDeltaDroppedPublicationBreaksChain(t *testing.T) {
	h := newTestHub()
	c := &recConn{}
	addActive(t, h, SubConfig{Channel: "ch", Conn: c, Variant: vProtobuf,
		Positioned: true, Delta: true})
	// The repeated offset 1 is dropped for this subscriber, so it does not
	// hold the base the delta of offset 2 would be computed against.
	for i, off := range []uint64{1, 1, 2} {
		pub := &protocol.Publication{Data: payload(i), Offset: off}
		h.BroadcastPublication("ch", pub, protocol.StreamPosition{Offset: off}, true)
	}
	if len(c.got) != 2 {
		t.Fatalf("got %d pushes, want 2", len(c.got))
	}
	got := decodePub(t, vProtobuf, c.got[1], false)
	if got.delta || string(got.data) != string(payload(2)) {
		t.Errorf("publication after a dropped one: delta %v, data %s; want full %s",
			got.delta, got.data, payload(2))
	}
}
