package hub

import (
	"bytes"
	"strconv"
	"sync"
	"testing"

	"github.com/heraldhq/herald/internal/protocol"
)

// recConn records what the hub enqueues for it.
type recConn struct {
	mu       sync.Mutex
	got      [][]byte
	n        int
	lost     []string
	countOut bool
}

func (c *recConn) Enqueue(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.countOut {
		c.n++
		return
	}
	c.got = append(c.got, b)
}

func (c *recConn) InsufficientState(ch string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lost = append(c.lost, ch)
}

func (c *recConn) InappropriateData(ch string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lost = append(c.lost, "inappropriate:"+ch)
}

func newTestHub() *Hub {
	return New([]Encoder{protocol.JSON, protocol.Protobuf})
}

func addActive(t testing.TB, h *Hub, c SubConfig) *Sub {
	t.Helper()
	s := NewSub(c)
	h.Add(s)
	s.Activate(0, "", nil)
	return s
}

func TestBroadcastSharesBytesPerVariant(t *testing.T) {
	h := newTestHub()
	a, b, p := &recConn{}, &recConn{}, &recConn{}
	addActive(t, h, SubConfig{Channel: "news", Conn: a})
	addActive(t, h, SubConfig{Channel: "news", Conn: b})
	addActive(t, h, SubConfig{Channel: "news", Conn: p, Variant: 1})
	addActive(t, h, SubConfig{Channel: "other", Conn: &recConn{}})

	pub := &protocol.Publication{Data: []byte(`{"x":1}`)}
	h.BroadcastPublication("news", pub, protocol.StreamPosition{}, false)

	if len(a.got) != 1 || len(b.got) != 1 || len(p.got) != 1 {
		t.Fatalf("deliveries: %d %d %d, want 1 each", len(a.got), len(b.got), len(p.got))
	}
	if &a.got[0][0] != &b.got[0][0] {
		t.Error("JSON subscribers got different byte slices; want one shared encoding")
	}
	want := `{"push":{"channel":"news","pub":{"data":{"x":1}}}}`
	if string(a.got[0]) != want {
		t.Errorf("JSON push = %s, want %s", a.got[0], want)
	}
	if bytes.Equal(p.got[0], a.got[0]) {
		t.Error("Protobuf subscriber got the JSON encoding")
	}
}

func TestBinaryDataRejectedForJSONSubscribers(t *testing.T) {
	h := newTestHub()
	j, p := &recConn{}, &recConn{}
	addActive(t, h, SubConfig{Channel: "bin", Conn: j})
	addActive(t, h, SubConfig{Channel: "bin", Conn: p, Variant: 1})

	pub := &protocol.Publication{Data: []byte{0xff, 0x00, 0x01}}
	h.BroadcastPublication("bin", pub, protocol.StreamPosition{}, false)

	if len(j.got) != 0 || len(j.lost) != 1 || j.lost[0] != "inappropriate:bin" {
		t.Errorf("JSON subscriber: got %d messages, reports %v; want none and one report",
			len(j.got), j.lost)
	}
	if len(p.got) != 1 {
		t.Errorf("Protobuf subscriber got %d messages, want 1", len(p.got))
	}
}

func TestBufferedSubReleasesAfterReply(t *testing.T) {
	h := newTestHub()
	c := &recConn{}
	s := NewSub(SubConfig{Channel: "ch", Conn: c, Positioned: true})
	h.Add(s)

	for off := uint64(4); off <= 6; off++ {
		pub := &protocol.Publication{Data: []byte(`1`), Offset: off}
		sp := protocol.StreamPosition{Offset: off, Epoch: "e"}
		h.BroadcastPublication("ch", pub, sp, false)
	}
	if len(c.got) != 0 {
		t.Fatalf("got %d deliveries while buffering, want 0", len(c.got))
	}

	reply := []byte("reply")
	s.Activate(4, "e", func() { c.Enqueue(reply) })

	if len(c.got) != 3 || string(c.got[0]) != "reply" {
		t.Fatalf("got %q, want the reply then offsets 5 and 6", c.got)
	}
	pub := &protocol.Publication{Data: []byte(`1`), Offset: 7}
	h.BroadcastPublication("ch", pub, protocol.StreamPosition{Offset: 7, Epoch: "e"}, false)
	if len(c.got) != 4 || s.Offset() != 7 {
		t.Fatalf("live delivery: %d messages, offset %d; want 4, 7", len(c.got), s.Offset())
	}
}

func TestPositionGapReportsInsufficientState(t *testing.T) {
	h := newTestHub()
	c := &recConn{}
	addActive(t, h, SubConfig{Channel: "ch", Conn: c, Positioned: true})

	for _, off := range []uint64{1, 3, 4} {
		pub := &protocol.Publication{Data: []byte(`1`), Offset: off}
		h.BroadcastPublication("ch", pub, protocol.StreamPosition{Offset: off}, false)
	}
	if len(c.got) != 1 {
		t.Errorf("delivered %d, want only offset 1 before the gap", len(c.got))
	}
	if len(c.lost) != 1 || c.lost[0] != "ch" {
		t.Errorf("insufficient state calls = %v, want one for ch", c.lost)
	}
}

func TestJoinLeaveOnlyForSubscribersWhoAsked(t *testing.T) {
	h := newTestHub()
	asked, silent := &recConn{}, &recConn{}
	addActive(t, h, SubConfig{Channel: "ch", Conn: asked, JoinLeave: true})
	addActive(t, h, SubConfig{Channel: "ch", Conn: silent})

	info := &protocol.ClientInfo{User: "u", Client: "c"}
	h.BroadcastJoin("ch", info)
	h.BroadcastLeave("ch", info)

	if len(asked.got) != 2 || len(silent.got) != 0 {
		t.Errorf("join/leave deliveries: %d and %d, want 2 and 0",
			len(asked.got), len(silent.got))
	}
}

func TestAddRemoveKeepsSliceDense(t *testing.T) {
	h := newTestHub()
	subs := make([]*Sub, 5)
	for i := range subs {
		subs[i] = addActive(t, h, SubConfig{Channel: "ch", Conn: &recConn{}})
	}
	if h.Remove(subs[1]) {
		t.Fatal("Remove of one of five reported the channel empty")
	}
	if n := h.NumSubscribers("ch"); n != 4 {
		t.Fatalf("subscribers = %d, want 4", n)
	}
	if h.Remove(subs[1]) {
		t.Error("second Remove of the same Sub reported last")
	}
	last := false
	for _, i := range []int{0, 2, 3, 4} {
		last = h.Remove(subs[i])
	}
	if !last || h.NumSubscribers("ch") != 0 {
		t.Errorf("after removing all: last=%v, n=%d", last, h.NumSubscribers("ch"))
	}
}

// BenchmarkBroadcast10k measures fan-out of one publication to 10 000
// subscribers of one channel: one encoding, then one enqueue per subscriber.
func BenchmarkBroadcast10k(b *testing.B) {
	for _, variant := range []uint8{0, 1} {
		b.Run("variant="+strconv.Itoa(int(variant)), func(b *testing.B) {
			h := newTestHub()
			for range 10000 {
				c := &recConn{countOut: true}
				addActive(b, h, SubConfig{Channel: "bench", Conn: c, Variant: variant})
			}
			pub := &protocol.Publication{Data: []byte(`{"input":"hello world"}`)}
			b.ReportAllocs()
			for b.Loop() {
				h.BroadcastPublication("bench", pub, protocol.StreamPosition{}, false)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000,
				"ns/delivery")
		})
	}
}

// TestBehindAndMarkLost checks which subscribers a stream position check
// finds behind, and that only those still behind are told to recover.
func TestBehindAndMarkLost(t *testing.T) {
	h := newTestHub()
	first, second, other, plain := &recConn{}, &recConn{}, &recConn{}, &recConn{}
	for _, c := range []*recConn{first, second} {
		s := NewSub(SubConfig{Channel: "ch", Conn: c, Positioned: true})
		h.Add(s)
		s.Activate(2, "e1", nil)
	}
	s := NewSub(SubConfig{Channel: "ch", Conn: other, Positioned: true})
	h.Add(s)
	s.Activate(3, "e0", nil)
	addActive(t, h, SubConfig{Channel: "ch", Conn: plain})
	buffering := NewSub(SubConfig{Channel: "ch", Conn: &recConn{}, Positioned: true})
	h.Add(buffering)

	// At the position they subscribed at, only the other epoch is behind.
	pub := &protocol.Publication{Data: []byte(`1`), Offset: 3}
	atStart := h.Behind("ch", protocol.StreamPosition{Offset: 2, Epoch: "e1"})
	if len(atStart) != 1 || atStart[0].conn != other {
		t.Fatalf("behind at the subscribe position: %d subscribers", len(atStart))
	}
	h.BroadcastPublication("ch", pub, protocol.StreamPosition{Offset: 3, Epoch: "e1"}, false)

	top := protocol.StreamPosition{Offset: 4, Epoch: "e1"}
	behind := h.Behind("ch", top)
	if len(behind) != 3 {
		t.Fatalf("%d subscribers behind offset 4, want 3 (two at 3, one of epoch e0)",
			len(behind))
	}
	// Offset 4 arrives before the grace period ends: nobody is lost.
	pub4 := &protocol.Publication{Data: []byte(`1`), Offset: 4}
	h.BroadcastPublication("ch", pub4, top, false)
	if n := h.MarkLost(behind, top); n != 1 {
		t.Errorf("MarkLost = %d, want 1: only the subscriber of the old epoch", n)
	}
	if len(other.lost) != 1 || len(first.lost)+len(second.lost)+len(plain.lost) != 0 {
		t.Errorf("lost: other %v, first %v, second %v, plain %v",
			other.lost, first.lost, second.lost, plain.lost)
	}

	// A subscriber that stays behind recovers, once.
	top5 := protocol.StreamPosition{Offset: 5, Epoch: "e1"}
	behind = h.Behind("ch", top5)
	if n := h.MarkLost(behind, top5); n != 2 {
		t.Errorf("MarkLost at 5 = %d, want 2", n)
	}
	if h.MarkLost(behind, top5) != 0 || len(first.lost) != 1 || len(second.lost) != 1 {
		t.Errorf("a lost subscriber was told more than once: %v %v",
			first.lost, second.lost)
	}
}
