package metrics

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// summaryObjectives are the quantiles of every duration summary, those of
// Centrifugo's, so that dashboards reading quantile="0.99" find them.
var summaryObjectives = map[float64]float64{0.5: 0.05, 0.99: 0.001, 0.999: 0.0001}

// maxClientNames bounds the client_name label values: the name is the
// client's to choose, and every value is a series of its own.
const maxClientNames = 32

// Client name label values for the names that are not kept.
const (
	clientUnnamed      = "unnamed"
	clientUnregistered = "unregistered"
)

// clientMetrics are the series about client connections and commands.
type clientMetrics struct {
	// commands holds the duration summary of each command frame,
	// resolved up front so that timing a command looks nothing up.
	commands    [numFrames]prometheus.Observer
	replyErrors *prometheus.CounterVec
	disconnects *prometheus.CounterVec
	accepted    *prometheus.CounterVec
	inflight    *prometheus.GaugeVec

	// namesMu guards names, the client names seen so far.
	namesMu sync.Mutex
	names   map[string]struct{}
}

func (c *clientMetrics) register(reg prometheus.Registerer) {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: namespace, Subsystem: "client",
			Name: name, Help: help}
	}
	durations := prometheus.NewSummaryVec(prometheus.SummaryOpts{
		Namespace: namespace, Subsystem: "client", Name: "command_duration_seconds",
		Help:       "Time from a client command's arrival to its reply, by method.",
		Objectives: summaryObjectives,
	}, []string{"method"})
	for f := FrameConnect; f < numFrames; f++ {
		c.commands[f] = durations.WithLabelValues(f.String())
	}
	c.replyErrors = prometheus.NewCounterVec(prometheus.CounterOpts(opts(
		"num_reply_errors", "Error replies sent to clients, by method and error code.")),
		[]string{"method", "code"})
	c.disconnects = prometheus.NewCounterVec(prometheus.CounterOpts(opts(
		"num_server_disconnects", "Connections closed by the server, by "+
			"disconnect code.")), []string{"code"})
	c.accepted = prometheus.NewCounterVec(prometheus.CounterOpts(opts(
		"connections_accepted", "Connections that completed connect, by client "+
			"name and transport.")), []string{"client_name", "transport"})
	c.inflight = prometheus.NewGaugeVec(prometheus.GaugeOpts(opts(
		"connections_inflight", "Connected clients, by client name and transport.")),
		[]string{"client_name", "transport"})
	c.names = make(map[string]struct{})
	reg.MustRegister(durations, c.replyErrors, c.disconnects, c.accepted, c.inflight)
}

// Command records the duration of a client command of kind f.
func (m *Metrics) Command(f Frame, d time.Duration) {
	if m == nil || !f.isCommand() {
		return
	}
	m.client.commands[f].Observe(d.Seconds())
}

// ReplyError counts an error reply with code to a command of kind f.
func (m *Metrics) ReplyError(f Frame, code uint32) {
	if m == nil {
		return
	}
	m.client.replyErrors.WithLabelValues(f.String(),
		strconv.FormatUint(uint64(code), 10)).Inc()
}

// ServerDisconnect counts a connection the server closes with code, such
// as 3008 for a client too slow to read what it is sent.
func (m *Metrics) ServerDisconnect(code uint32) {
	if m == nil {
		return
	}
	m.client.disconnects.WithLabelValues(strconv.FormatUint(uint64(code), 10)).Inc()
}

// Connection is one connected client in the connection gauge; the zero
// value tracks nothing.
type Connection struct {
	g prometheus.Gauge
}

// Connected counts a client that completed connect over t, calling itself
// name (the SDK's name from the connect command). Call [Connection.Closed]
// once it leaves.
func (m *Metrics) Connected(t Transport, name string) Connection {
	if m == nil {
		return Connection{}
	}
	label := m.client.nameLabel(name)
	transport := m.transport.slots.name(t.slot)
	m.client.accepted.WithLabelValues(label, transport).Inc()
	g := m.client.inflight.WithLabelValues(label, transport)
	g.Inc()
	return Connection{g: g}
}

// Closed takes the connection out of the gauge.
func (c Connection) Closed() {
	if c.g != nil {
		c.g.Dec()
	}
}

// nameLabel returns the label value for a client name: the name itself
// for the first maxClientNames well-formed names, and a fixed value for
// the rest, so that clients cannot grow the registry without bound.
func (c *clientMetrics) nameLabel(name string) string {
	if name == "" {
		return clientUnnamed
	}
	if !validName(name) {
		return clientUnregistered
	}
	c.namesMu.Lock()
	defer c.namesMu.Unlock()

	if _, ok := c.names[name]; ok {
		return name
	}
	if len(c.names) >= maxClientNames {
		return clientUnregistered
	}
	c.names[name] = struct{}{}
	return name
}

// validName accepts the names SDKs send ("js", "go", "dart"...): short,
// of letters, digits, '-', '_' and '.'.
func validName(s string) bool {
	if len(s) > 32 {
		return false
	}
	for i := range len(s) {
		switch b := s[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9',
			b == '-', b == '_', b == '.':
		default:
			return false
		}
	}
	return true
}
