package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrapeMetrics fetches srv's /metrics and parses the text exposition.
func scrapeMetrics(t testing.TB, srv *Server) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequestWithContext(opCtx(t), http.MethodGet,
		srv.URL("/metrics"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}

// metricSum adds up the series of family name whose labels include want
// ("k=v" pairs): values of counters and gauges, sample counts of
// summaries and histograms.
func metricSum(mfs map[string]*dto.MetricFamily, name string, want ...string) float64 {
	sum := 0.0
	for _, m := range mfs[name].GetMetric() {
		if !hasMetricLabels(m, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Summary != nil:
			sum += float64(m.GetSummary().GetSampleCount())
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

func hasMetricLabels(m *dto.Metric, want []string) bool {
	for _, w := range want {
		k, v, _ := strings.Cut(w, "=")
		found := false
		for _, l := range m.GetLabel() {
			found = found || l.GetName() == k && l.GetValue() == v
		}
		if !found {
			return false
		}
	}
	return true
}

// metricWant is one expected figure of a scrape.
type metricWant struct {
	name   string
	labels []string
	want   float64
}

// waitMetrics scrapes srv until every figure of wants has its value.
func waitMetrics(t testing.TB, srv *Server, wants ...metricWant) {
	t.Helper()
	var mfs map[string]*dto.MetricFamily
	Eventually(t, WaitTimeout, func() bool {
		mfs = scrapeMetrics(t, srv)
		for _, w := range wants {
			if metricSum(mfs, w.name, w.labels...) != w.want {
				return false
			}
		}
		return true
	}, func() string {
		var b strings.Builder
		for _, w := range wants {
			fmt.Fprintf(&b, "\n%s%v = %v, want %v", w.name, w.labels,
				metricSum(mfs, w.name, w.labels...), w.want)
		}
		return b.String()
	})
}

// TestMetrics follows the Prometheus endpoint while two SDK clients
// connect and subscribe, publications flow through the server API, and
// one client is disconnected by the API.
func TestMetrics(t *testing.T) {
	srv := Start(t, apiConfig(map[string]any{
		"name":                       "chat",
		"allow_subscribe_for_client": true,
	}).Set("prometheus.enabled", true))

	waitMetrics(t, srv,
		metricWant{"centrifugo_node_num_clients", nil, 0},
		metricWant{"centrifugo_node_num_nodes", nil, 1},
		metricWant{"centrifugo_node_build", nil, 1},
	)
	if mfs := scrapeMetrics(t, srv); mfs["go_goroutines"] == nil ||
		mfs["process_resident_memory_bytes"] == nil {
		t.Error("the Go runtime and process collectors are missing")
	}

	alice, _ := connectUser(t, srv, encodings[0], "alice")
	bob, _ := connectUser(t, srv, encodings[1], "bob")
	subs := []*sdkSub{alice.subscribe(t, "chat:room"), bob.subscribe(t, "chat:room")}
	for i := range 3 {
		callAPI(t, srv, "publish", fmt.Sprintf(`{"channel":"chat:room","data":{"n":%d}}`,
			i), nil)
	}
	for _, s := range subs {
		s.pubs.wait(t, 3, "publications")
	}
	ws := "transport=websocket"
	waitMetrics(t, srv,
		metricWant{"centrifugo_node_num_clients", nil, 2},
		metricWant{"centrifugo_node_num_users", nil, 2},
		metricWant{"centrifugo_node_num_subscriptions", nil, 2},
		metricWant{"centrifugo_node_num_channels", nil, 1},
		metricWant{"centrifugo_client_connections_inflight", []string{ws}, 2},
		metricWant{"centrifugo_client_command_duration_seconds",
			[]string{"method=connect"}, 2},
		metricWant{"centrifugo_client_command_duration_seconds",
			[]string{"method=subscribe"}, 2},
		metricWant{"centrifugo_transport_messages_received",
			[]string{ws, "frame_type=subscribe"}, 2},
		metricWant{"centrifugo_transport_messages_sent",
			[]string{ws, "frame_type=push_publication"}, 6},
		metricWant{"centrifugo_node_messages_sent_count",
			[]string{"type=publication"}, 3},
		metricWant{"centrifugo_broker_publish_duration_seconds", nil, 3},
		metricWant{"centrifugo_api_command_duration_seconds",
			[]string{"protocol=http", "method=publish"}, 3},
	)

	callAPI(t, srv, "disconnect",
		`{"user":"bob","disconnect":{"code":4501,"reason":"banned"}}`, nil)
	bob.disconnected.wait(t, 1, "disconnected events")
	waitMetrics(t, srv,
		metricWant{"centrifugo_node_num_clients", nil, 1},
		metricWant{"centrifugo_client_connections_inflight", []string{ws}, 1},
		metricWant{"centrifugo_client_num_server_disconnects", []string{"code=4501"}, 1},
		metricWant{"centrifugo_api_command_duration_seconds",
			[]string{"method=disconnect"}, 1},
	)
}

// TestInfoProcessAndMetrics checks that info reports the process figures
// and the flattened metrics of the node, rebuilt every aggregation
// interval.
func TestInfoProcessAndMetrics(t *testing.T) {
	srv := Start(t, apiConfig(map[string]any{
		"name":                       "chat",
		"allow_subscribe_for_client": true,
	}).Set("node.info_metrics_aggregate_interval", "1s"))
	c, _ := connectUser(t, srv, encodings[0], "alice")
	c.subscribe(t, "chat:room")

	type node struct {
		Process *struct {
			CPU *float64 `json:"cpu"`
			RSS int64    `json:"rss"`
		} `json:"process"`
		Metrics *struct {
			Interval float64            `json:"interval"`
			Items    map[string]float64 `json:"items"`
		} `json:"metrics"`
	}
	var info struct{ Nodes []node }
	clients := "centrifugo.node.num_clients"
	Eventually(t, WaitTimeout, func() bool {
		callAPI(t, srv, "info", `{}`, &info)
		if len(info.Nodes) != 1 {
			return false
		}
		n := info.Nodes[0]
		return n.Process != nil && n.Metrics != nil && n.Metrics.Items[clients] == 1
	}, func() string { return fmt.Sprintf("info %+v", info) })

	n := info.Nodes[0]
	if n.Process.CPU == nil || *n.Process.CPU < 0 || n.Process.RSS <= 0 {
		t.Errorf("process cpu %v, rss %d", n.Process.CPU, n.Process.RSS)
	}
	if n.Metrics.Interval != 1 {
		t.Errorf("metrics interval %v, want 1", n.Metrics.Interval)
	}
	// The keys the admin status page reads.
	for _, key := range []string{
		"centrifugo.node.messages_sent_count.type.publication",
		"centrifugo.client.command_duration_seconds.count.method.connect",
		"centrifugo.client.command_duration_seconds.count.method.subscribe",
		"centrifugo.api.command_duration_seconds.count.method.info.protocol.http",
		"centrifugo.client.connections_inflight.client_name.go.transport.websocket",
	} {
		if _, ok := n.Metrics.Items[key]; !ok {
			t.Errorf("metrics items lack %s", key)
		}
	}
	prefixes := map[string]bool{
		"centrifugo.transport.messages_received.frame_type.": false,
		"centrifugo.transport.messages_sent.frame_type.":     false,
	}
	for key := range n.Metrics.Items {
		for p := range prefixes {
			prefixes[p] = prefixes[p] || strings.HasPrefix(key, p)
		}
	}
	for p, seen := range prefixes {
		if !seen {
			t.Errorf("no metrics item starts with %s", p)
		}
	}
}
