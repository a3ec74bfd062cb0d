package node

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/hub"
	"github.com/heraldhq/herald/internal/protocol"
)

// fakeBroker records the channel subscriptions the node asks for. Methods
// it does not override panic through the nil embedded interface.
type fakeBroker struct {
	engine.Broker

	mu           sync.Mutex
	calls        []string
	subscribeErr error
}

func (b *fakeBroker) Subscribe(_ context.Context, ch string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, "subscribe "+ch)
	return b.subscribeErr
}

func (b *fakeBroker) Unsubscribe(_ context.Context, ch string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, "unsubscribe "+ch)
	return nil
}

// takeCalls returns and forgets the calls recorded so far.
func (b *fakeBroker) takeCalls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.calls
	b.calls = nil
	return out
}

// recConn records what the hub delivers to it.
type recConn struct {
	mu  sync.Mutex
	got []string
}

func (c *recConn) Enqueue(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, string(b))
}

func (c *recConn) InsufficientState(string) {}
func (c *recConn) InappropriateData(string) {}

func newTestNode(t *testing.T) (*Node, *fakeBroker) {
	t.Helper()
	b := &fakeBroker{}
	n := New(Config{
		Name: "n1", Version: "1.2.3", Broker: b,
		Hub: hub.New([]hub.Encoder{protocol.JSON}),
	})
	return n, b
}

func newSub(ch string, c hub.Conn) *hub.Sub {
	s := hub.NewSub(hub.SubConfig{Channel: ch, Conn: c})
	s.Activate(0, "", nil)
	return s
}

// TestSubscriptionLifecycle checks that the broker hears about a channel
// on its first subscriber and its last unsubscriber only.
func TestSubscriptionLifecycle(t *testing.T) {
	n, b := newTestNode(t)
	ctx := context.Background()
	a1, a2 := newSub("a", &recConn{}), newSub("a", &recConn{})
	other := newSub("b", &recConn{})

	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"first of a", func() error { return n.AddSub(ctx, a1) },
			[]string{"subscribe a"}},
		{"second of a", func() error { return n.AddSub(ctx, a2) }, nil},
		{"first of b", func() error { return n.AddSub(ctx, other) },
			[]string{"subscribe b"}},
		{"one of a leaves", func() error { n.RemoveSub(ctx, a1); return nil }, nil},
		{"removed twice", func() error { n.RemoveSub(ctx, a1); return nil }, nil},
		{"last of a leaves", func() error { n.RemoveSub(ctx, a2); return nil },
			[]string{"unsubscribe a"}},
		{"a again", func() error { return n.AddSub(ctx, a1) }, []string{"subscribe a"}},
		{"never added", func() error {
			n.RemoveSub(ctx, newSub("c", &recConn{}))
			return nil
		}, nil},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := b.takeCalls(); !slices.Equal(got, st.want) {
			t.Fatalf("%s: broker calls %q, want %q", st.name, got, st.want)
		}
	}
	if got := n.Hub().NumSubscribers("a"); got != 1 {
		t.Errorf("%d subscribers of a, want 1", got)
	}
}

// TestAddSubBrokerError checks that a failed broker subscribe leaves the
// hub as it was, so the next subscriber tries again.
func TestAddSubBrokerError(t *testing.T) {
	n, b := newTestNode(t)
	ctx := context.Background()
	boom := errors.New("boom")
	b.subscribeErr = boom
	s := newSub("a", &recConn{})
	if err := n.AddSub(ctx, s); !errors.Is(err, boom) {
		t.Fatalf("AddSub: %v, want the broker error", err)
	}
	if got := n.Hub().NumSubscribers("a"); got != 0 {
		t.Errorf("%d subscribers after a failed AddSub", got)
	}
	b.takeCalls()
	b.subscribeErr = nil
	if err := n.AddSub(ctx, newSub("a", &recConn{})); err != nil {
		t.Fatal(err)
	}
	if got := b.takeCalls(); !slices.Equal(got, []string{"subscribe a"}) {
		t.Errorf("broker calls %q, want a new subscribe", got)
	}
	// Removing the sub that never made it does not unsubscribe the channel.
	n.RemoveSub(ctx, s)
	if got := b.takeCalls(); len(got) != 0 {
		t.Errorf("broker calls %q, want none", got)
	}
}

// TestDelivery checks that broker events reach the hub's subscribers.
func TestDelivery(t *testing.T) {
	n, _ := newTestNode(t)
	ctx := context.Background()
	c := &recConn{}
	jl := hub.NewSub(hub.SubConfig{Channel: "a", Conn: c, JoinLeave: true})
	jl.Activate(0, "", nil)
	if err := n.AddSub(ctx, jl); err != nil {
		t.Fatal(err)
	}
	var h engine.EventHandler = n
	h.HandlePublication("a", &protocol.Publication{Data: []byte(`{"x":1}`)},
		protocol.StreamPosition{}, false)
	h.HandleJoin("a", &protocol.ClientInfo{User: "u", Client: "c"})
	h.HandleLeave("a", &protocol.ClientInfo{User: "u", Client: "c"})
	h.HandlePublication("b", &protocol.Publication{Data: []byte(`{}`)},
		protocol.StreamPosition{}, false)
	h.HandleControl([]byte("x"))
	want := []string{
		`{"push":{"channel":"a","pub":{"data":{"x":1}}}}`,
		`{"push":{"channel":"a","join":{"info":{"user":"u","client":"c"}}}}`,
		`{"push":{"channel":"a","leave":{"info":{"user":"u","client":"c"}}}}`,
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Equal(c.got, want) {
		t.Errorf("delivered %q, want %q", c.got, want)
	}
}

func TestIdentity(t *testing.T) {
	n, _ := newTestNode(t)
	m, _ := newTestNode(t)
	if n.Name() != "n1" || n.Version() != "1.2.3" {
		t.Errorf("name %q version %q", n.Name(), n.Version())
	}
	if len(n.ID()) != 16 || n.ID() == m.ID() {
		t.Errorf("IDs %q and %q, want two different 16-digit IDs", n.ID(), m.ID())
	}
	if n.Started().IsZero() {
		t.Error("zero start time")
	}
}
