package metrics

import (
	"maps"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// Snapshot is the metrics part of a node in the info method: Herald's
// series flattened into dotted names, as the admin UI reads them.
type Snapshot struct {
	// Interval is the aggregation interval in seconds.
	Interval float64 `json:"interval"`
	// Items maps flattened names to values. A series name splits into
	// namespace, subsystem and name at its first two underscores, then
	// come the part of a summary or histogram (count, sum, quantile.<q>)
	// and the label names and values in label name order:
	// centrifugo.client.command_duration_seconds.count.method.connect.
	// Counters, sums and counts are what was added during the last
	// interval; gauges and quantiles are the value at its end. Values
	// that are not numbers, such as the quantiles of a summary without
	// observations, are left out.
	Items map[string]float64 `json:"items"`
}

// aggregator rebuilds the snapshot once per interval.
type aggregator struct {
	interval time.Duration

	// mu guards the fields below.
	mu   sync.Mutex
	at   time.Time
	snap *Snapshot
	// last holds the running totals of the last aggregation, so that the
	// next one reports what was added since.
	last map[string]float64
}

// Snapshot returns the info figures, rebuilding them first when the
// aggregation interval has passed since the last build at now. It returns
// nil when aggregation is off. A snapshot is never changed once returned.
func (m *Metrics) Snapshot(now time.Time) *Snapshot {
	if m == nil || m.agg.interval <= 0 {
		return nil
	}
	a := &m.agg
	a.mu.Lock()
	defer a.mu.Unlock()

	if a.snap != nil && now.Sub(a.at) < a.interval {
		return a.snap
	}
	mfs, err := m.reg.Gather()
	if err != nil {
		// Gather returns what it could collect along with the error.
		m.log.Warn("gathering metrics for info failed", "error", err)
	}
	totals := make(map[string]float64, len(a.last))
	items := make(map[string]float64, len(a.last))
	for _, mf := range mfs {
		flattenFamily(mf, totals, items)
	}
	for k, v := range totals {
		items[k] = v - a.last[k]
	}
	// JSON, which carries snapshots between nodes, has no NaN or infinity.
	maps.DeleteFunc(items, func(_ string, v float64) bool {
		return math.IsNaN(v) || math.IsInf(v, 0)
	})
	a.last = totals
	a.at = now
	a.snap = &Snapshot{Interval: a.interval.Seconds(), Items: items}
	return a.snap
}

// flattenFamily adds the series of mf, when it is one of Herald's, to
// totals (running totals, reported as increments) and items (values
// reported as they are).
func flattenFamily(mf *dto.MetricFamily, totals, items map[string]float64) {
	name := mf.GetName()
	if !strings.HasPrefix(name, namespace+"_") {
		return
	}
	base := strings.Replace(name, "_", ".", 2)
	for _, mt := range mf.GetMetric() {
		labels := labelPath(mt.GetLabel())
		key := func(part string) string {
			if part == "" {
				return base + labels
			}
			return base + "." + part + labels
		}

		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			totals[key("")] = mt.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			items[key("")] = mt.GetGauge().GetValue()
		case dto.MetricType_UNTYPED:
			items[key("")] = mt.GetUntyped().GetValue()
		case dto.MetricType_SUMMARY:
			s := mt.GetSummary()
			totals[key("count")] = float64(s.GetSampleCount())
			totals[key("sum")] = s.GetSampleSum()
			for _, q := range s.GetQuantile() {
				qs := strconv.FormatFloat(q.GetQuantile(), 'f', -1, 64)
				items[key("quantile."+qs)] = q.GetValue()
			}
		case dto.MetricType_HISTOGRAM:
			h := mt.GetHistogram()
			totals[key("count")] = float64(h.GetSampleCount())
			totals[key("sum")] = h.GetSampleSum()
		}
	}
}

// labelPath returns ".name.value" for each label, in the order given:
// the registry sorts labels by name.
func labelPath(pairs []*dto.LabelPair) string {
	var b strings.Builder
	for _, p := range pairs {
		b.WriteByte('.')
		b.WriteString(p.GetName())
		b.WriteByte('.')
		b.WriteString(p.GetValue())
	}
	return b.String()
}
