package metrics

import (
	"testing"
	"time"
)

func TestSnapshotFlattensAndReportsIncrements(t *testing.T) {
	m := New(Config{AggregateInterval: time.Minute})
	m.SetSource(fixedSource{clients: 2})
	ws := m.Transport("websocket")
	m.Command(FrameConnect, time.Millisecond)
	m.MessageSent(MessagePublication)
	m.MessageSent(MessagePublication)
	ws.Sent(FramePushPublication)
	start := time.Now()

	snap := m.Snapshot(start)
	if snap == nil {
		t.Fatal("no snapshot with an aggregation interval set")
	}
	if snap.Interval != 60 {
		t.Errorf("interval = %v, want 60", snap.Interval)
	}
	for key, want := range map[string]float64{
		"centrifugo.node.num_clients":                                     2,
		"centrifugo.node.messages_sent_count.type.publication":            2,
		"centrifugo.client.command_duration_seconds.count.method.connect": 1,
		"centrifugo.transport.messages_sent.frame_type.push_publication." +
			"transport.websocket": 1,
		"centrifugo.client.command_duration_seconds.quantile.0.5.method.connect": 0.001,
	} {
		if got, ok := snap.Items[key]; !ok || got != want {
			t.Errorf("item %s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	// A summary without observations has no quantiles to report.
	if v, ok := snap.Items["centrifugo.client.command_duration_seconds.quantile.0.5."+
		"method.rpc"]; ok {
		t.Errorf("quantile of a command never run reported as %v", v)
	}
	for key := range snap.Items {
		if key[:len(namespace)+1] != namespace+"." {
			t.Errorf("item %s is not one of Herald's series", key)
		}
	}

	// Within the interval the same snapshot comes back, untouched.
	m.MessageSent(MessagePublication)
	if again := m.Snapshot(start.Add(30 * time.Second)); again != snap {
		t.Error("the snapshot was rebuilt before the interval passed")
	}

	// After it, counters report what was added since the last build, and
	// gauges their value.
	m.SetSource(fixedSource{clients: 5})
	next := m.Snapshot(start.Add(time.Minute))
	if next == snap {
		t.Fatal("the snapshot was not rebuilt after the interval")
	}
	for key, want := range map[string]float64{
		"centrifugo.node.num_clients":                                     5,
		"centrifugo.node.messages_sent_count.type.publication":            1,
		"centrifugo.client.command_duration_seconds.count.method.connect": 0,
	} {
		if got := next.Items[key]; got != want {
			t.Errorf("second build: item %s = %v, want %v", key, got, want)
		}
	}
}

func TestSnapshotOff(t *testing.T) {
	if New(Config{}).Snapshot(time.Now()) != nil {
		t.Error("a snapshot without an aggregation interval")
	}
}
