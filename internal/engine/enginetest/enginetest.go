// Package enginetest is the conformance suite every engine runs: the
// behaviour of [engine.Broker] and [engine.PresenceManager] that the node
// relies on whichever engine is configured. Engines call [RunBroker] and
// [RunPresence] from their own tests; what only one engine does (memory's
// synchronous delivery, Redis key layout, expiry) stays in that engine's
// tests.
//
// Deliveries are awaited by polling with a deadline, so the suite suits
// engines that deliver asynchronously, through a Redis PUB/SUB for example.
package enginetest

import (
	"context"
	"crypto/rand"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/protocol"
)

// waitLimit bounds every wait for a delivery.
const waitLimit = 5 * time.Second

// event is one handler call seen by a recorder.
type event struct {
	kind string // "pub", "join", "leave" or "control"
	ch   string
	pub  *protocol.Publication
	pos  protocol.StreamPosition
	info *protocol.ClientInfo
	data []byte
}

// recorder is an EventHandler keeping every call; brokers may call it from
// several goroutines, for different channels.
type recorder struct {
	mu     sync.Mutex
	events []event
}

func (r *recorder) add(e event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
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

// of returns the events of ch so far; ch "" selects control messages.
func (r *recorder) of(ch string) []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []event
	for _, e := range r.events {
		if e.ch == ch {
			out = append(out, e)
		}
	}
	return out
}

// waitFor polls until ch has at least n events and returns them.
func (r *recorder) waitFor(t *testing.T, ch string, n int) []event {
	t.Helper()
	var evs []event
	poll(t, "events of "+ch, func() bool {
		evs = r.of(ch)
		return len(evs) >= n
	})
	return evs
}

// poll calls cond until it holds, failing the test after waitLimit.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitLimit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// channel returns a channel name no other subtest uses, so engines that
// share storage between subtests still start every subtest empty.
func channel(name string) string {
	return name + "-" + rand.Text()[:10]
}

// startBroker makes a broker, runs it with a recorder and closes it when
// the test ends.
func startBroker(t *testing.T, newBroker func(t *testing.T) engine.Broker) (
	engine.Broker, *recorder) {
	t.Helper()
	b := newBroker(t)
	rec := &recorder{}
	if err := b.Run(context.Background(), rec); err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b, rec
}

func subscribe(t *testing.T, b engine.Broker, ch string) {
	t.Helper()
	if err := b.Subscribe(context.Background(), ch); err != nil {
		t.Fatalf("Subscribe(%q): %v", ch, err)
	}
}

// withHistory enables history with a long TTL.
func withHistory(size int) engine.PublishOptions {
	return engine.PublishOptions{HistorySize: size, HistoryTTL: time.Hour}
}

// publishN publishes n publications whose data is their 1-based sequence
// number and returns the last result.
func publishN(t *testing.T, b engine.Broker, ch string, n int,
	opts engine.PublishOptions) engine.PublishResult {
	t.Helper()
	var res engine.PublishResult
	for i := range n {
		pub := &protocol.Publication{Data: protocol.Raw(strconv.Itoa(i + 1))}
		var err error
		res, err = b.Publish(context.Background(), ch, pub, opts)
		if err != nil {
			t.Fatalf("Publish(%q): %v", ch, err)
		}
	}
	return res
}

// history reads ch's history, failing the test on an error.
func history(t *testing.T, b engine.Broker, ch string, opts engine.HistoryOptions) (
	[]*protocol.Publication, protocol.StreamPosition) {
	t.Helper()
	pubs, pos, err := b.History(context.Background(), ch, opts)
	if err != nil {
		t.Fatalf("History(%q, %+v): %v", ch, opts, err)
	}
	return pubs, pos
}

// offsets lists the offsets of pubs.
func offsets(pubs []*protocol.Publication) []uint64 {
	out := make([]uint64, len(pubs))
	for i, p := range pubs {
		out[i] = p.Offset
	}
	return out
}

// pubOffsets lists the offsets of the publications among evs.
func pubOffsets(evs []event) []uint64 {
	var out []uint64
	for _, e := range evs {
		if e.kind == "pub" {
			out = append(out, e.pub.Offset)
		}
	}
	return out
}

// sameInfo reports whether two client infos carry the same values; engines
// that cross a network hand over copies, not the caller's pointer.
func sameInfo(a, b *protocol.ClientInfo) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.User == b.User && a.Client == b.Client &&
		slices.Equal(a.ConnInfo, b.ConnInfo) && slices.Equal(a.ChanInfo, b.ChanInfo)
}
