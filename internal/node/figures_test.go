package node

import (
	"context"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/engine/memory"
	"github.com/heraldhq/herald/internal/hub"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/protocol"
)

// TestBrokerTrafficIsCounted publishes through the memory broker and
// checks the node's message counters and publish timings.
func TestBrokerTrafficIsCounted(t *testing.T) {
	m := metrics.New(metrics.Config{})
	b := memory.NewBroker(memory.Config{})
	n := New(Config{Name: "n1", Broker: b, Hub: hub.New([]hub.Encoder{protocol.JSON}),
		Logger: discardLogger(), Metrics: m})
	ctx := t.Context()
	if err := n.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.Stop(context.Background())
		_ = b.Close(context.Background())
	})

	c := &recConn{}
	sub := hub.NewSub(hub.SubConfig{Channel: "a", Conn: c, JoinLeave: true})
	sub.Activate(0, "", nil)
	if err := n.AddSub(ctx, sub); err != nil {
		t.Fatal(err)
	}
	pub := &protocol.Publication{Data: []byte(`{}`)}
	for range 2 {
		if _, err := n.Publish(ctx, "a", pub, engine.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	info := &protocol.ClientInfo{User: "u", Client: "c"}
	if err := n.PublishJoin(ctx, "a", info); err != nil {
		t.Fatal(err)
	}
	if err := n.PublishLeave(ctx, "a", info); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, typ string
		want      float64
	}{
		{"centrifugo_node_messages_sent_count", "publication", 2},
		{"centrifugo_node_messages_sent_count", "join", 1},
		{"centrifugo_node_messages_sent_count", "leave", 1},
		// The memory broker hands every message straight back.
		{"centrifugo_node_messages_received_count", "publication", 2},
		{"centrifugo_node_messages_received_count", "join", 1},
		{"centrifugo_node_messages_received_count", "leave", 1},
	} {
		if got := counter(t, m, c.name, "type", c.typ); got != c.want {
			t.Errorf("%s{type=%s} = %v, want %v", c.name, c.typ, got, c.want)
		}
	}
	if got := counter(t, m, "centrifugo_broker_publish_duration_seconds", "", ""); got != 2 {
		t.Errorf("broker publish timings: %v, want 2", got)
	}
	if n.NumChannels() != 1 || n.NumNodes() != 1 {
		t.Errorf("channels %d, nodes %d; want 1 and 1", n.NumChannels(), n.NumNodes())
	}
}

// TestAnnouncementsCarryFigures checks that announcements carry the
// process figures always and the metrics snapshot only when it is new or
// a newcomer needs it, and that the receivers keep the snapshot they got.
func TestAnnouncementsCarryFigures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &controlBroker{}
		m := metrics.New(metrics.Config{AggregateInterval: time.Minute})
		n := New(Config{Name: "me", Version: "v1", Broker: b, Hub: hub.New(nil),
			Logger: discardLogger(), Metrics: m})
		n.SetLocal(&fakeLocal{})
		if err := n.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Stop(context.Background()) })

		synctest.Wait()
		first := b.take()
		if len(first) != 1 || first[0].Node.Metrics == nil {
			t.Fatalf("first announcement %+v, want one with metrics", first)
		}
		if _, ok := first[0].Node.Metrics.Items["centrifugo.node.num_clients"]; !ok {
			t.Errorf("announced metrics lack num_clients: %v", first[0].Node.Metrics.Items)
		}

		time.Sleep(DefaultAnnounceInterval)
		synctest.Wait()
		next := b.take()
		if len(next) != 1 || next[0].Node.Metrics != nil {
			t.Fatalf("announcement within the interval %+v, want one without metrics",
				next)
		}
		if runtime.GOOS == "linux" && next[0].Node.Process == nil {
			t.Error("announcement without process figures")
		}

		// A newcomer gets the snapshot again.
		n.HandleControl(encodeAnnounce(Info{ID: "other", Name: "you"}))
		synctest.Wait()
		if sent := b.take(); len(sent) != 1 || sent[0].Node.Metrics == nil {
			t.Fatalf("answer to a newcomer %+v, want one with metrics", sent)
		}

		// So does everybody once the interval has passed.
		time.Sleep(time.Minute)
		synctest.Wait()
		withMetrics := 0
		for _, c := range b.take() {
			if c.kind == kindAnnounce && c.Node.Metrics != nil {
				withMetrics++
			}
		}
		if withMetrics != 1 {
			t.Errorf("%d announcements with metrics in the next interval, want 1",
				withMetrics)
		}
	})
}

func TestPeersKeepTheirLastMetrics(t *testing.T) {
	n, _ := newTestNode(t)
	snap := &metrics.Snapshot{Interval: 60, Items: map[string]float64{"a": 1}}
	n.HandleControl(encodeAnnounce(Info{ID: "other", Name: "you", Metrics: snap,
		Process: &metrics.Process{CPU: 1.5, RSS: 1 << 20}}))
	n.HandleControl(encodeAnnounce(Info{ID: "other", Name: "you", NumClients: 4,
		Process: &metrics.Process{CPU: 2, RSS: 2 << 20}}))

	p := n.Peers()
	if len(p) != 1 || p[0].NumClients != 4 {
		t.Fatalf("peers %+v, want other with 4 clients", p)
	}
	if p[0].Metrics == nil || p[0].Metrics.Items["a"] != 1 {
		t.Errorf("peer metrics %+v, want those of the earlier announcement", p[0].Metrics)
	}
	if p[0].Process == nil || p[0].Process.CPU != 2 {
		t.Errorf("peer process %+v, want the latest", p[0].Process)
	}
}

// counter returns the value of family name's series with label=value, or
// of its first series when label is "".
func counter(t *testing.T, m *metrics.Metrics, name, label, value string) float64 {
	t.Helper()
	var want []string
	if label != "" {
		want = []string{label + "=" + value}
	}
	v, _ := m.Value(name, want...)
	return v
}
