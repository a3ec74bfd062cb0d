package metrics

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// fixedSource is a Source with set counts.
type fixedSource struct{ clients, users, subs, channels, nodes int }

func (s fixedSource) NumClients() int       { return s.clients }
func (s fixedSource) NumUsers() int         { return s.users }
func (s fixedSource) NumSubscriptions() int { return s.subs }
func (s fixedSource) NumChannels() int      { return s.channels }
func (s fixedSource) NumNodes() int         { return s.nodes }

// scrape fetches m's handler and parses the text exposition.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: %s: %s", resp.Status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	return mfs
}

// value returns the value of the series of family name whose labels
// include want ("k=v" pairs), and whether there is one.
func value(mfs map[string]*dto.MetricFamily, name string, want ...string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Summary != nil:
			return float64(m.GetSummary().GetSampleCount()), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		case m.Untyped != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

func TestNodeGaugesReadTheSource(t *testing.T) {
	m := New(Config{Version: "1.2.3"})
	m.SetSource(fixedSource{clients: 3, users: 2, subs: 5, channels: 4, nodes: 2})
	mfs := scrape(t, m)

	for name, want := range map[string]float64{
		"centrifugo_node_num_clients":       3,
		"centrifugo_node_num_users":         2,
		"centrifugo_node_num_subscriptions": 5,
		"centrifugo_node_num_channels":      4,
		"centrifugo_node_num_nodes":         2,
	} {
		if got, ok := value(mfs, name); !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	if got, ok := value(mfs, "centrifugo_node_build", "version=1.2.3"); !ok || got != 1 {
		t.Errorf("centrifugo_node_build{version=1.2.3} = %v (present %v)", got, ok)
	}
	for _, name := range []string{"go_goroutines", "process_start_time_seconds"} {
		if mfs[name] == nil {
			t.Errorf("%s missing: the runtime and process collectors are not registered",
				name)
		}
	}
}

func TestTransportCounters(t *testing.T) {
	m := New(Config{})
	ws, sse := m.Transport("websocket"), m.Transport("sse")
	if ws.Slot() == sse.Slot() {
		t.Fatalf("websocket and sse share slot %d", ws.Slot())
	}
	if again := m.Transport("websocket"); again.Slot() != ws.Slot() {
		t.Fatalf("websocket slot changed from %d to %d", ws.Slot(), again.Slot())
	}
	ws.Sent(FrameConnect)
	ws.Received(FrameConnect)
	ws.Received(FrameClientPong)
	var n Deliveries
	n[ws.Slot()], n[sse.Slot()] = 10, 3
	m.Delivered(FramePushPublication, &n)
	m.Delivered(FramePushPublication, &n)
	mfs := scrape(t, m)

	sent := "centrifugo_transport_messages_sent"
	received := "centrifugo_transport_messages_received"
	for _, c := range []struct {
		family string
		labels []string
		want   float64
	}{
		{sent, []string{"transport=websocket", "frame_type=connect"}, 1},
		{sent, []string{"transport=websocket", "frame_type=push_publication"}, 20},
		{sent, []string{"transport=sse", "frame_type=push_publication"}, 6},
		{received, []string{"transport=websocket", "frame_type=connect"}, 1},
		{received, []string{"transport=websocket", "frame_type=client_pong"}, 1},
	} {
		if got, ok := value(mfs, c.family, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.family, c.labels, got, ok,
				c.want)
		}
	}
	// Kinds never seen are no series at all.
	if _, ok := value(mfs, sent, "transport=sse", "frame_type=connect"); ok {
		t.Error("a frame kind never sent over sse has a series")
	}
}

func TestTransportSlotsOverflowIntoOther(t *testing.T) {
	m := New(Config{})
	var last Transport
	for i := range MaxTransports + 3 {
		last = m.Transport(fmt.Sprintf("t%d", i))
	}
	if last.Slot() != MaxTransports-1 {
		t.Fatalf("slot of a name past the bound = %d, want %d", last.Slot(),
			MaxTransports-1)
	}
	last.Sent(FrameServerPing)
	mfs := scrape(t, m)
	got, ok := value(mfs, "centrifugo_transport_messages_sent", "transport=other",
		"frame_type=server_ping")
	if !ok || got != 1 {
		t.Fatalf("messages_sent{transport=other} = %v (present %v), want 1", got, ok)
	}
}

func TestClientSeries(t *testing.T) {
	m := New(Config{})
	ws := m.Transport("websocket")
	m.Command(FrameConnect, 2*time.Millisecond)
	m.Command(FrameSubscribe, time.Millisecond)
	m.Command(FrameSubscribe, time.Millisecond)
	m.Command(FramePushJoin, time.Millisecond) // not a command: ignored
	m.ReplyError(FrameSubscribe, 103)
	m.ServerDisconnect(3008)
	first := m.Connected(ws, "go")
	second := m.Connected(ws, "")
	mfs := scrape(t, m)

	for _, c := range []struct {
		family string
		labels []string
		want   float64
	}{
		{"centrifugo_client_command_duration_seconds", []string{"method=connect"}, 1},
		{"centrifugo_client_command_duration_seconds", []string{"method=subscribe"}, 2},
		{"centrifugo_client_num_reply_errors", []string{"method=subscribe", "code=103"}, 1},
		{"centrifugo_client_num_server_disconnects", []string{"code=3008"}, 1},
		{"centrifugo_client_connections_accepted",
			[]string{"client_name=go", "transport=websocket"}, 1},
		{"centrifugo_client_connections_inflight",
			[]string{"client_name=go", "transport=websocket"}, 1},
		{"centrifugo_client_connections_inflight",
			[]string{"client_name=unnamed", "transport=websocket"}, 1},
	} {
		if got, ok := value(mfs, c.family, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.family, c.labels, got, ok,
				c.want)
		}
	}

	first.Closed()
	second.Closed()
	mfs = scrape(t, m)
	if got, _ := value(mfs, "centrifugo_client_connections_inflight",
		"client_name=go"); got != 0 {
		t.Errorf("connections_inflight{client_name=go} = %v after close, want 0", got)
	}
}

func TestClientNameLabelsAreBounded(t *testing.T) {
	var c clientMetrics
	c.names = make(map[string]struct{})
	for _, tc := range []struct{ name, want string }{
		{"", clientUnnamed},
		{"js", "js"},
		{"has space", clientUnregistered},
		{strings.Repeat("x", 33), clientUnregistered},
	} {
		if got := c.nameLabel(tc.name); got != tc.want {
			t.Errorf("nameLabel(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	for i := range 2 * maxClientNames {
		c.nameLabel(fmt.Sprintf("sdk%d", i))
	}
	if got := c.nameLabel("late-comer"); got != clientUnregistered {
		t.Errorf("a name past the bound is labelled %q", got)
	}
	if got := c.nameLabel("js"); got != "js" {
		t.Errorf("a name kept earlier is labelled %q after the bound", got)
	}
}

func TestCallSeries(t *testing.T) {
	m := New(Config{})
	m.MessageSent(MessagePublication)
	m.MessageReceived(MessageJoin)
	m.BrokerPublish(time.Millisecond, false)
	m.BrokerPublish(time.Millisecond, true)
	m.Survey("channels", time.Millisecond)
	publish := m.APICommand("http", "publish")
	publish.Done(time.Millisecond, 0)
	publish.Done(time.Millisecond, 107)
	connect := m.ProxyCall("connect")
	connect.Done(time.Millisecond, OutcomeOK)
	connect.Done(time.Millisecond, OutcomeUnavailable)
	connect.Done(time.Millisecond, OutcomeRejected)
	mfs := scrape(t, m)

	for _, c := range []struct {
		family string
		labels []string
		want   float64
	}{
		{"centrifugo_node_messages_sent_count", []string{"type=publication"}, 1},
		{"centrifugo_node_messages_received_count", []string{"type=join"}, 1},
		{"centrifugo_broker_publish_duration_seconds", nil, 2},
		{"centrifugo_broker_publish_errors_total", nil, 1},
		{"centrifugo_node_survey_duration_seconds", []string{"op=channels"}, 1},
		{"centrifugo_api_command_duration_seconds",
			[]string{"protocol=http", "method=publish"}, 2},
		{"centrifugo_api_command_errors_total",
			[]string{"protocol=http", "method=publish", "error=107"}, 1},
		{"centrifugo_proxy_duration_seconds", []string{"type=connect"}, 3},
		{"centrifugo_proxy_errors", []string{"protocol=http", "type=connect"}, 1},
		{"centrifugo_proxy_calls_total", []string{"type=connect", "outcome=ok"}, 1},
		{"centrifugo_proxy_calls_total", []string{"type=connect", "outcome=rejected"}, 1},
		{"centrifugo_proxy_calls_total",
			[]string{"type=connect", "outcome=unavailable"}, 1},
	} {
		if got, ok := value(mfs, c.family, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.family, c.labels, got, ok,
				c.want)
		}
	}
}

// TestNilMetrics checks that every recorder is safe on a nil *Metrics and
// on the zero values it hands out.
func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.SetSource(fixedSource{})
	tr := m.Transport("websocket")
	tr.Sent(FrameConnect)
	tr.Received(FrameConnect)
	m.Delivered(FramePushPublication, &Deliveries{1})
	m.Command(FrameConnect, time.Millisecond)
	m.ReplyError(FrameConnect, 100)
	m.ServerDisconnect(3000)
	m.Connected(tr, "go").Closed()
	m.MessageSent(MessageControl)
	m.MessageReceived(MessageControl)
	m.BrokerPublish(time.Millisecond, true)
	m.Survey("channels", time.Millisecond)
	m.APICommand("http", "info").Done(time.Millisecond, 100)
	m.ProxyCall("rpc").Done(time.Millisecond, OutcomeOK)
	if m.Snapshot(time.Now()) != nil || m.Process(time.Now()) != nil {
		t.Error("a nil Metrics reports info figures")
	}
	if _, err := m.Gatherer().Gather(); err != nil {
		t.Errorf("nil Metrics gather: %v", err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("nil Metrics handler answered %d, want 404", rec.Code)
	}
}

// TestHotPathsDoNotAllocate checks the recorders called per frame, per
// command and per broadcast.
func TestHotPathsDoNotAllocate(t *testing.T) {
	m := New(Config{})
	tr := m.Transport("websocket")
	n := &Deliveries{3}
	for name, fn := range map[string]func(){
		"Sent":      func() { tr.Sent(FramePushPublication) },
		"Received":  func() { tr.Received(FramePublish) },
		"Delivered": func() { m.Delivered(FramePushPublication, n) },
		"Command":   func() { m.Command(FramePublish, time.Millisecond) },
		"Message":   func() { m.MessageSent(MessagePublication) },
		"Broker":    func() { m.BrokerPublish(time.Millisecond, false) },
	} {
		if allocs := testing.AllocsPerRun(100, fn); allocs != 0 {
			t.Errorf("%s allocates %v times per call", name, allocs)
		}
	}
}
