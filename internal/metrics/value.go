package metrics

import (
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// Value returns the current value of the first series of family name whose
// labels include want ("key=value" pairs): a counter's or gauge's value,
// the sample count of a summary or histogram. It gathers the whole
// registry, so it is for tests and diagnostics, never a hot path.
func (m *Metrics) Value(name string, want ...string) (float64, bool) {
	if m == nil {
		return 0, false
	}
	mfs, err := m.Gatherer().Gather()
	if err != nil {
		return 0, false
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			if hasLabels(s, want) {
				return sampleValue(s), true
			}
		}
	}
	return 0, false
}

// sampleValue is the one number a series stands for.
func sampleValue(s *dto.Metric) float64 {
	switch {
	case s.Counter != nil:
		return s.GetCounter().GetValue()
	case s.Gauge != nil:
		return s.GetGauge().GetValue()
	case s.Summary != nil:
		return float64(s.GetSummary().GetSampleCount())
	case s.Histogram != nil:
		return float64(s.GetHistogram().GetSampleCount())
	case s.Untyped != nil:
		return s.GetUntyped().GetValue()
	}
	return 0
}

// hasLabels reports whether s carries every "key=value" pair of want.
func hasLabels(s *dto.Metric, want []string) bool {
	for _, w := range want {
		k, v, _ := strings.Cut(w, "=")
		found := false
		for _, l := range s.GetLabel() {
			if l.GetName() == k && l.GetValue() == v {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
