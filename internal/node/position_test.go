package node

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/engine/memory"
	"github.com/heraldhq/herald/internal/hub"
	"github.com/heraldhq/herald/internal/protocol"
)

// lossyBroker is the memory broker on a link that can lose publications
// on their way to the node, as a Redis PUB/SUB connection does while it is
// down. History still has them.
type lossyBroker struct {
	engine.Broker
	drop atomic.Bool
}

func (b *lossyBroker) Run(ctx context.Context, h engine.EventHandler) error {
	return b.Broker.Run(ctx, &lossyHandler{EventHandler: h, b: b})
}

type lossyHandler struct {
	engine.EventHandler
	b *lossyBroker
}

func (h *lossyHandler) HandlePublication(ch string, pub *protocol.Publication,
	sp protocol.StreamPosition, delta bool) {
	if !h.b.drop.Load() {
		h.EventHandler.HandlePublication(ch, pub, sp, delta)
	}
}

// lostConn records the channels it is told to recover.
type lostConn struct {
	mu   sync.Mutex
	n    int
	lost []string
}

func (c *lostConn) Enqueue([]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
}

func (c *lostConn) InsufficientState(ch string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lost = append(c.lost, ch)
}

func (c *lostConn) InappropriateData(string) {}

func (c *lostConn) lostChannels() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lost...)
}

var historyOpts = engine.PublishOptions{HistorySize: 10, HistoryTTL: time.Minute}

// positionedSub subscribes a positioned subscriber to ch on n at the
// channel's current position.
func positionedSub(t *testing.T, n *Node, ch string) *lostConn {
	t.Helper()
	c := &lostConn{}
	s := hub.NewSub(hub.SubConfig{Channel: ch, Conn: c, Positioned: true})
	if err := n.AddSub(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	_, top, err := n.History(t.Context(), ch, engine.HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Activate(top.Offset, top.Epoch, nil)
	return c
}

func publishTo(t *testing.T, n *Node, ch string) {
	t.Helper()
	pub := &protocol.Publication{Data: protocol.Raw(`{}`)}
	if _, err := n.Publish(t.Context(), ch, pub, historyOpts); err != nil {
		t.Fatal(err)
	}
}

func startLossyNode(t *testing.T, checkDelay time.Duration) (*Node, *lossyBroker) {
	t.Helper()
	b := &lossyBroker{Broker: memory.NewBroker(memory.Config{})}
	n := New(Config{
		Name: "n1", Broker: b, Presence: memory.NewPresenceManager(memory.Config{}),
		Hub:                hub.New([]hub.Encoder{protocol.JSON}),
		PositionCheckDelay: checkDelay,
	})
	if err := n.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	return n, b
}

// waitLost polls until c was told to recover ch.
func waitLost(t *testing.T, c *lostConn, ch string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if got := c.lostChannels(); len(got) == 1 && got[0] == ch {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not told to recover %s within %s; told %v", ch, within,
				c.lostChannels())
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

// TestDeliveryGapRecoversLastPublication checks that after the broker
// reports a delivery gap, a subscriber that missed the last publication of
// its channel (so no later one shows the gap) is told to recover, and one
// that missed nothing is left alone.
func TestDeliveryGapRecoversLastPublication(t *testing.T) {
	n, b := startLossyNode(t, 0)
	missed := positionedSub(t, n, "missed")
	intact := positionedSub(t, n, "intact")

	publishTo(t, n, "missed")
	publishTo(t, n, "intact")
	b.drop.Store(true)
	publishTo(t, n, "missed")
	b.drop.Store(false)

	n.HandleDeliveryGap([]string{"missed", "intact"})
	waitLost(t, missed, "missed", 5*time.Second)

	// The intact channel's check ran in the same round, before "missed"
	// was marked: nothing may come for it.
	if got := intact.lostChannels(); len(got) != 0 {
		t.Errorf("intact subscriber told to recover %v", got)
	}
}

// TestPeriodicPositionCheck checks that the periodic check finds a lost
// last publication without any report from the broker.
func TestPeriodicPositionCheck(t *testing.T) {
	n, b := startLossyNode(t, 200*time.Millisecond)
	c := positionedSub(t, n, "ch")
	b.drop.Store(true)
	publishTo(t, n, "ch")
	waitLost(t, c, "ch", 5*time.Second)
}
