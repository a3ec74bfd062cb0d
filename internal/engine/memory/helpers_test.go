package memory

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/protocol"
)

// event is one handler call seen by a recorder.
type event struct {
	kind string // "pub", "join", "leave" or "control"
	ch   string
	pub  *protocol.Publication
	pos  protocol.StreamPosition
	info *protocol.ClientInfo
	data []byte
}

// recorder is an EventHandler that keeps every call. Its own mutex is needed
// because channels on different stripes are delivered concurrently.
type recorder struct {
	mu     sync.Mutex
	events []event
	// last is the highest offset delivered per channel.
	last map[string]uint64
}

func (r *recorder) add(e event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	if e.pub != nil {
		if r.last == nil {
			r.last = make(map[string]uint64)
		}
		r.last[e.ch] = max(r.last[e.ch], e.pub.Offset)
	}
	r.mu.Unlock()
}

// delivered returns the highest offset delivered in ch.
func (r *recorder) delivered(ch string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[ch]
}

func (r *recorder) HandlePublication(ch string, pub *protocol.Publication,
	sp protocol.StreamPosition, _ bool) {
	r.add(event{kind: "pub", ch: ch, pub: pub, pos: sp})
}

func (r *recorder) HandleJoin(ch string, info *protocol.ClientInfo) {
	r.add(event{kind: "join", ch: ch, info: info})
}

func (r *recorder) HandleLeave(ch string, info *protocol.ClientInfo) {
	r.add(event{kind: "leave", ch: ch, info: info})
}

func (r *recorder) HandleControl(data []byte) {
	r.add(event{kind: "control", data: data})
}

func (r *recorder) HandleDeliveryGap([]string) {}

// snapshot returns a copy of the events seen so far.
func (r *recorder) snapshot() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}

// nopHandler discards everything; benchmarks use it.
type nopHandler struct{}

func (nopHandler) HandlePublication(string, *protocol.Publication, protocol.StreamPosition,
	bool) {
}
func (nopHandler) HandleJoin(string, *protocol.ClientInfo)  {}
func (nopHandler) HandleLeave(string, *protocol.ClientInfo) {}
func (nopHandler) HandleControl([]byte)                     {}
func (nopHandler) HandleDeliveryGap([]string)               {}

// newTestBroker returns a running Broker delivering to a recorder; it is
// closed when the test ends.
func newTestBroker(t testing.TB, c Config) (*Broker, *recorder) {
	t.Helper()
	b := NewBroker(c)
	rec := &recorder{}
	if err := b.Run(context.Background(), rec); err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b, rec
}

// withHistory enables history with a long TTL.
func withHistory(size int) engine.PublishOptions {
	return engine.PublishOptions{HistorySize: size, HistoryTTL: time.Hour}
}

// publishN publishes n publications whose data is their sequence number
// (1-based) and returns the last result.
func publishN(t testing.TB, b *Broker, ch string, n int,
	opts engine.PublishOptions) engine.PublishResult {
	t.Helper()
	var res engine.PublishResult
	for i := range n {
		pub := &protocol.Publication{Data: protocol.Raw(strconv.Itoa(i + 1))}
		var err error
		res, err = b.Publish(context.Background(), ch, pub, opts)
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	return res
}

// offsets lists the offsets of pubs.
func offsets(pubs []*protocol.Publication) []uint64 {
	out := make([]uint64, len(pubs))
	for i, p := range pubs {
		out[i] = p.Offset
	}
	return out
}

// history reads ch's history, failing the test on an unexpected error.
func history(t testing.TB, b *Broker, ch string, opts engine.HistoryOptions) (
	[]*protocol.Publication, protocol.StreamPosition) {
	t.Helper()
	pubs, pos, err := b.History(context.Background(), ch, opts)
	if err != nil {
		t.Fatalf("History(%q, %+v): %v", ch, opts, err)
	}
	return pubs, pos
}

// streamCount counts the streams held across all stripes.
func (b *Broker) streamCount() int {
	n := 0
	for i := range b.stripes {
		st := &b.stripes[i]
		st.mu.Lock()
		n += len(st.streams)
		st.mu.Unlock()
	}
	return n
}
