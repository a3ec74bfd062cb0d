package hub

import (
	"testing"

	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/protocol"
)

// TestBroadcastsCountDeliveries checks that publications, joins and leaves
// are counted per transport as delivered, parallel deliveries included,
// and that a subscriber skipped by its position or its wire format is not.
func TestBroadcastsCountDeliveries(t *testing.T) {
	m := metrics.New(metrics.Config{})
	ws, sse := m.Transport("websocket"), m.Transport("sse")
	h := newTestHub()
	h.SetMetrics(m)
	h.workers = 2

	addActive(t, h, SubConfig{Channel: "news", Conn: &recConn{}, Transport: ws.Slot(),
		JoinLeave: true})
	addActive(t, h, SubConfig{Channel: "news", Conn: &recConn{}, Transport: ws.Slot()})
	addActive(t, h, SubConfig{Channel: "news", Conn: &recConn{}, Transport: sse.Slot(),
		JoinLeave: true})
	// A positioned subscriber at offset 0 skips a publication at offset 5.
	addActive(t, h, SubConfig{Channel: "news", Conn: &recConn{}, Transport: sse.Slot(),
		Positioned: true})
	h.BroadcastPublication("news", &protocol.Publication{Data: []byte(`{}`), Offset: 5},
		protocol.StreamPosition{Offset: 5}, false)
	info := &protocol.ClientInfo{User: "u", Client: "c"}
	h.BroadcastJoin("news", info)
	h.BroadcastLeave("news", info)

	for _, c := range []struct {
		transport, frame string
		want             float64
	}{
		{"websocket", "push_publication", 2},
		{"sse", "push_publication", 1},
		{"websocket", "push_join", 1},
		{"sse", "push_leave", 1},
	} {
		if got := sentCount(t, m, c.transport, c.frame); got != c.want {
			t.Errorf("messages_sent{%s,%s} = %v, want %v", c.transport, c.frame,
				got, c.want)
		}
	}

	for range parallelMin {
		addActive(t, h, SubConfig{Channel: "big", Conn: &recConn{countOut: true},
			Transport: ws.Slot()})
	}
	h.BroadcastPublication("big", &protocol.Publication{Data: []byte(`{}`)},
		protocol.StreamPosition{}, false)
	if got := sentCount(t, m, "websocket", "push_publication"); got != 2+parallelMin {
		t.Errorf("after a parallel broadcast: %v websocket publications, want %d",
			got, 2+parallelMin)
	}
}

// BenchmarkBroadcast10kWithMetrics is BenchmarkBroadcast10k with delivery
// counting on and subscribers spread over two transports, to compare with
// it: counting costs a stack increment per delivery, one atomic add per
// transport per broadcast, and no allocation.
func BenchmarkBroadcast10kWithMetrics(b *testing.B) {
	m := metrics.New(metrics.Config{})
	slots := []uint8{m.Transport("websocket").Slot(), m.Transport("sse").Slot()}
	h := newTestHub()
	h.SetMetrics(m)
	for i := range 10000 {
		addActive(b, h, SubConfig{Channel: "bench", Conn: &recConn{countOut: true},
			Transport: slots[i%2]})
	}
	pub := &protocol.Publication{Data: []byte(`{"input":"hello world"}`)}
	b.ReportAllocs()
	for b.Loop() {
		h.BroadcastPublication("bench", pub, protocol.StreamPosition{}, false)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000,
		"ns/delivery")
}

// sentCount returns centrifugo_transport_messages_sent for transport and
// frame type.
func sentCount(t *testing.T, m *metrics.Metrics, transport, frame string) float64 {
	t.Helper()
	v, _ := m.Value("centrifugo_transport_messages_sent", "transport="+transport,
		"frame_type="+frame)
	return v
}
