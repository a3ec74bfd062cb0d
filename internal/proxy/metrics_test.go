package proxy

import (
	"context"
	"net/http"
	"testing"

	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/metrics"
)

// TestCallsAreRecorded answers subscribe calls with a result, an error and
// a failure, and checks each outcome, the timings and the error count.
func TestCallsAreRecorded(t *testing.T) {
	answers := []struct {
		status int
		body   string
	}{
		{http.StatusOK, `{"result":{}}`},
		{http.StatusOK, `{"error":{"code":403,"message":"no"}}`},
		{http.StatusInternalServerError, ``},
	}
	i := 0
	b := newBackendFunc(t, func(w http.ResponseWriter, _ *http.Request) {
		a := answers[i%len(answers)]
		i++
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(a.body))
	})
	m := metrics.New(metrics.Config{})
	p := newProxy(t, config.Proxy{Endpoint: b.URL})
	p.SetMetrics(m)
	for range answers {
		_, _ = p.Subscribe(context.Background(), caller(), SubscribeRequest{Channel: "ch"})
	}

	calls := "centrifugo_proxy_calls_total"
	for _, c := range []struct {
		name, outcome string
		want          float64
	}{
		{calls, "ok", 1},
		{calls, "rejected", 1},
		{calls, "unavailable", 1},
		{"centrifugo_proxy_errors", "", 1},
		{"centrifugo_proxy_duration_seconds", "", 3},
	} {
		if got := proxySeries(t, m, c.name, "subscribe", c.outcome); got != c.want {
			t.Errorf("%s{type=subscribe,outcome=%q} = %v, want %v", c.name, c.outcome,
				got, c.want)
		}
	}
	if got := proxySeries(t, m, "centrifugo_proxy_duration_seconds", "connect", ""); got != 0 {
		t.Errorf("connect timings %v without a connect call", got)
	}
}

// proxySeries returns the value of family name's series with the given
// type and, when set, outcome.
func proxySeries(t *testing.T, m *metrics.Metrics, name, typ, outcome string) float64 {
	t.Helper()
	want := []string{"type=" + typ}
	if outcome != "" {
		want = append(want, "outcome="+outcome)
	}
	v, _ := m.Value(name, want...)
	return v
}
