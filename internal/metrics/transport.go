package metrics

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// MaxTransports bounds the transport names counted apart. Herald has six
// transports; names beyond the bound share the last slot, "other". It is a
// power of two, so that a slot can be masked into range.
const MaxTransports = 8

// otherTransport names the shared last slot.
const otherTransport = "other"

// Deliveries counts the deliveries of one broadcast per transport slot
// ([Transport.Slot]).
type Deliveries [MaxTransports]uint32

// transportCounters counts frames by transport and kind in plain atomics,
// which the collector reads at scrape time: a frame costs one atomic add
// and no label lookup.
type transportCounters struct {
	slots    slots
	sent     [MaxTransports][numFrames]atomic.Uint64
	received [MaxTransports][numFrames]atomic.Uint64

	sentDesc, receivedDesc *prometheus.Desc
}

func (c *transportCounters) register(reg prometheus.Registerer) {
	labels := []string{"transport", "frame_type"}
	c.sentDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "transport", "messages_sent"),
		"Messages queued for clients, by transport and frame type.", labels, nil)
	c.receivedDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "transport", "messages_received"),
		"Commands received from clients, by transport and frame type.", labels, nil)
	reg.MustRegister(c)
}

// Describe implements [prometheus.Collector].
func (c *transportCounters) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.sentDesc
	ch <- c.receivedDesc
}

// Collect implements [prometheus.Collector]. Only the frame kinds seen at
// least once become series.
func (c *transportCounters) Collect(ch chan<- prometheus.Metric) {
	names := c.slots.all()
	for slot, name := range names {
		for f := range numFrames {
			if v := c.sent[slot][f].Load(); v > 0 {
				ch <- prometheus.MustNewConstMetric(c.sentDesc, prometheus.CounterValue,
					float64(v), name, f.String())
			}
			if v := c.received[slot][f].Load(); v > 0 {
				ch <- prometheus.MustNewConstMetric(c.receivedDesc,
					prometheus.CounterValue, float64(v), name, f.String())
			}
		}
	}
}

// slots gives each transport name a small index once, so that hot paths
// count by index.
type slots struct {
	// mu guards names.
	mu    sync.Mutex
	names []string
}

// slot returns the index of name, assigning the next free one on first
// use.
func (s *slots) slot(name string) uint8 {
	s.mu.Lock()
	defer s.mu.Unlock()

	for i, n := range s.names {
		if n == name {
			return uint8(i)
		}
	}
	if len(s.names) == MaxTransports-1 {
		s.names = append(s.names, otherTransport)
	}
	if len(s.names) == MaxTransports {
		return MaxTransports - 1
	}
	s.names = append(s.names, name)
	return uint8(len(s.names) - 1)
}

// name returns the name of slot i.
func (s *slots) name(i uint8) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if int(i) < len(s.names) {
		return s.names[i]
	}
	return otherTransport
}

// all returns the names by slot.
func (s *slots) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.names...)
}

// Transport counts the frames of the connections of one transport. The
// zero value of a nil [Metrics] counts nothing.
type Transport struct {
	m    *Metrics
	slot uint8
}

// Transport returns the counters of the transport called name
// ("websocket", "sse"...). Look it up once per connection.
func (m *Metrics) Transport(name string) Transport {
	if m == nil {
		return Transport{}
	}
	return Transport{m: m, slot: m.transport.slots.slot(name)}
}

// Slot returns the transport's index in [Deliveries].
func (t Transport) Slot() uint8 { return t.slot }

// Sent counts a frame of kind f queued for a client.
func (t Transport) Sent(f Frame) {
	if t.m == nil || f >= numFrames {
		return
	}
	t.m.transport.sent[t.slot][f].Add(1)
}

// Received counts a command of kind f from a client.
func (t Transport) Received(f Frame) {
	if t.m == nil || f >= numFrames {
		return
	}
	t.m.transport.received[t.slot][f].Add(1)
}

// Delivered counts the deliveries of one broadcast of frames of kind f,
// with one add per transport that had any.
func (m *Metrics) Delivered(f Frame, n *Deliveries) {
	if m == nil || f >= numFrames {
		return
	}
	for slot, k := range n {
		if k > 0 {
			m.transport.sent[slot][f].Add(uint64(k))
		}
	}
}
