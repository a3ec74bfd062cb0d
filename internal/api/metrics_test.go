package api

import (
	"encoding/json"
	"runtime"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/metrics"
)

// TestCommandsAreRecorded calls methods on every route and checks their
// durations and errors by method.
func TestCommandsAreRecorded(t *testing.T) {
	m := metrics.New(metrics.Config{})
	e := newEnv(t, func(c *Config) { c.Metrics = m })
	e.legacy(t, "publish", `{"channel":"a","data":{}}`)
	e.method(t, "publish", `{"channel":"a","data":{}}`)
	e.method(t, "history", `{"channel":"a"}`) // no history: 108
	e.do(t, "POST", "/api/batch", `{"commands":[{"info":{}},{"info":{}}]}`,
		"X-API-Key", testKey)

	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"centrifugo_api_command_duration_seconds",
			[]string{"protocol=http", "method=publish"}, 2},
		{"centrifugo_api_command_duration_seconds", []string{"method=info"}, 2},
		{"centrifugo_api_command_duration_seconds", []string{"method=history"}, 1},
		{"centrifugo_api_command_errors_total",
			[]string{"method=history", "error=108"}, 1},
		{"centrifugo_api_command_errors_total", []string{"method=publish"}, 0},
	} {
		if got := apiSeries(t, m, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// TestInfoFigures checks that info reports this node's process figures and
// its metrics snapshot when the node has metrics, and neither without.
func TestInfoFigures(t *testing.T) {
	type node struct {
		Process *struct {
			CPU *float64 `json:"cpu"`
			RSS *int64   `json:"rss"`
		} `json:"process"`
		Metrics *struct {
			Interval float64            `json:"interval"`
			Items    map[string]float64 `json:"items"`
		} `json:"metrics"`
	}
	info := func(t *testing.T, e *env) node {
		t.Helper()
		var got struct{ Result struct{ Nodes []node } }
		body := e.method(t, "info", `{}`)
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("info %s: %v", body, err)
		}
		if len(got.Result.Nodes) != 1 {
			t.Fatalf("info %s: want one node", body)
		}
		return got.Result.Nodes[0]
	}

	m := metrics.New(metrics.Config{AggregateInterval: time.Minute})
	e := newEnv(t, func(c *Config) { c.Metrics = m })
	// The first snapshot is built now, if the node's announcer has not
	// built it yet; the next one is due an interval later, and reports
	// what happened in between.
	e.node.Figures(time.Now())
	e.method(t, "publish", `{"channel":"a","data":{}}`)
	e.setClock(time.Now().Add(time.Minute + time.Second))
	n := info(t, e)
	if n.Metrics == nil || n.Metrics.Interval != 60 {
		t.Fatalf("metrics %+v, want a snapshot with interval 60", n.Metrics)
	}
	key := "centrifugo.api.command_duration_seconds.count.method.publish.protocol.http"
	if got := n.Metrics.Items[key]; got != 1 {
		t.Errorf("item %s = %v, want 1; items %v", key, got, n.Metrics.Items)
	}
	if runtime.GOOS == "linux" {
		if n.Process == nil || n.Process.CPU == nil || n.Process.RSS == nil ||
			*n.Process.RSS <= 0 {
			t.Errorf("process %+v, want cpu and a positive rss", n.Process)
		}
	}

	plain := info(t, newEnv(t))
	if plain.Process != nil || plain.Metrics != nil {
		t.Errorf("a node without metrics reports process %+v, metrics %+v",
			plain.Process, plain.Metrics)
	}
}

// apiSeries returns the value of family name's series whose labels include
// want ("k=v" pairs), 0 without one.
func apiSeries(t *testing.T, m *metrics.Metrics, name string, want ...string) float64 {
	t.Helper()
	v, _ := m.Value(name, want...)
	return v
}
