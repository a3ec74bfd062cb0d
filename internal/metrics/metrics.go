package metrics

import (
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every Herald series, as Centrifugo's.
const namespace = "centrifugo"

// Config configures [New].
type Config struct {
	// Version is the server version, reported by centrifugo_node_build.
	Version string
	// AggregateInterval is how often [Metrics.Snapshot] rebuilds the
	// figures of the info method (node.info_metrics_aggregate_interval).
	// Zero or less leaves info without metrics.
	AggregateInterval time.Duration
	// Logger receives scrape errors, under component=metrics; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Source is what the node-wide gauges read at scrape time. The node
// implements it.
type Source interface {
	NumClients() int
	NumUsers() int
	NumSubscriptions() int
	NumChannels() int
	NumNodes() int
}

// Metrics is the registry of one Herald process and the instruments that
// components record into. A nil *Metrics records nothing; every method may
// be called on it.
type Metrics struct {
	cfg Config
	log *slog.Logger
	reg *prometheus.Registry

	// src is set once the node exists, which is after the components
	// that record metrics were given this object.
	src atomic.Pointer[sourceBox]

	client    clientMetrics
	transport transportCounters
	calls     callMetrics

	agg  aggregator
	proc processSampler
}

type sourceBox struct{ Source }

// New returns metrics with their own registry, holding Herald's series and
// the Go runtime and process collectors.
func New(cfg Config) *Metrics {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Metrics{
		cfg: cfg,
		log: cfg.Logger.With("component", "metrics"),
		reg: prometheus.NewRegistry(),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.registerNode()
	m.client.register(m.reg)
	m.transport.register(m.reg)
	m.calls.register(m.reg)
	m.agg.interval = cfg.AggregateInterval
	m.proc.start(time.Now())
	return m
}

// SetSource makes the count gauges read src from now on.
func (m *Metrics) SetSource(src Source) {
	if m == nil {
		return
	}
	m.src.Store(&sourceBox{src})
}

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
	})
}

// Gatherer returns the registry, for callers that read series directly.
func (m *Metrics) Gatherer() prometheus.Gatherer {
	if m == nil {
		return prometheus.Gatherers{}
	}
	return m.reg
}

// registerNode registers the gauges of this node's state, read at scrape
// time from the source.
func (m *Metrics) registerNode() {
	gauge := func(name, help string, read func(Source) int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "node", Name: name, Help: help,
		}, func() float64 {
			b := m.src.Load()
			if b == nil {
				return 0
			}
			return float64(read(b.Source))
		})
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Subsystem: "node", Name: "build",
		Help: "Always 1, labelled with the server version.",
	}, []string{"version"})
	build.WithLabelValues(m.cfg.Version).Set(1)

	m.reg.MustRegister(build,
		gauge("num_clients", "Number of clients connected to this node.",
			Source.NumClients),
		gauge("num_users", "Number of distinct users connected to this node.",
			Source.NumUsers),
		gauge("num_subscriptions", "Number of subscriptions on this node.",
			Source.NumSubscriptions),
		gauge("num_channels", "Number of channels with subscribers on this node.",
			Source.NumChannels),
		gauge("num_nodes", "Number of live nodes in the cluster, this one included.",
			Source.NumNodes),
	)
}
