package metrics

import (
	"sync"
	"time"
)

// minProcessWindow is the shortest interval a CPU figure is computed over:
// shorter ones say more about scheduling noise than about load.
const minProcessWindow = time.Second

// Process is the node process's resource use as the info method reports
// it.
type Process struct {
	// CPU is the CPU time used over the last sampling window, in percent
	// of one core: 250 means two and a half cores were busy.
	CPU float64 `json:"cpu"`
	// RSS is the resident set size in bytes.
	RSS int64 `json:"rss"`
}

// processSampler turns cumulative CPU time into a recent rate.
type processSampler struct {
	// mu guards the fields below.
	mu  sync.Mutex
	ok  bool
	at  time.Time
	cpu float64 // CPU seconds used by the process up to at
	cur *Process
}

// start takes the first sample, the base of the first CPU figure.
func (p *processSampler) start(now time.Time) {
	cpu, _, ok := readProcess()
	p.ok, p.at, p.cpu = ok, now, cpu
}

// Process returns the process figures, sampling again when the last
// sample is at least a second older than now. It returns nil where the
// figures cannot be read (outside Linux), and during the first second,
// which has no window to measure yet.
func (m *Metrics) Process(now time.Time) *Process {
	if m == nil {
		return nil
	}
	p := &m.proc
	p.mu.Lock()
	defer p.mu.Unlock()

	if !p.ok {
		return nil
	}
	window := now.Sub(p.at)
	if window < minProcessWindow {
		return p.cur
	}
	cpu, rss, ok := readProcess()
	if !ok {
		return p.cur
	}
	p.cur = &Process{CPU: max(cpu-p.cpu, 0) / window.Seconds() * 100, RSS: rss}
	p.at, p.cpu = now, cpu
	return p.cur
}
