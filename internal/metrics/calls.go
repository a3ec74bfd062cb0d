package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// brokerBuckets span a publish from a local memory append to a slow Redis
// round trip.
var brokerBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025,
	.05, .1, .25, .5, 1, 2.5}

// callMetrics are the series about the node's broker traffic, the server
// API and the backend proxies.
type callMetrics struct {
	sent, received [numMessages]prometheus.Counter
	publish        prometheus.Observer
	publishErrors  prometheus.Counter
	surveys        *prometheus.SummaryVec

	apiDuration *prometheus.SummaryVec
	apiErrors   *prometheus.CounterVec

	proxyDuration *prometheus.SummaryVec
	proxyErrors   *prometheus.CounterVec
	proxyCalls    *prometheus.CounterVec
}

func (c *callMetrics) register(reg prometheus.Registerer) {
	c.registerNode(reg)

	c.apiDuration = prometheus.NewSummaryVec(prometheus.SummaryOpts{
		Namespace: namespace, Subsystem: "api", Name: "command_duration_seconds",
		Help:       "Duration of server API commands, by protocol and method.",
		Objectives: summaryObjectives,
	}, []string{"protocol", "method"})
	c.apiErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "api", Name: "command_errors_total",
		Help: "Server API commands answered with an error, by protocol, method " +
			"and error code.",
	}, []string{"protocol", "method", "error"})

	c.proxyDuration = prometheus.NewSummaryVec(prometheus.SummaryOpts{
		Namespace: namespace, Subsystem: "proxy", Name: "duration_seconds",
		Help:       "Duration of backend proxy calls, by protocol and event type.",
		Objectives: summaryObjectives,
	}, []string{"protocol", "type"})
	c.proxyErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "proxy", Name: "errors",
		Help: "Backend proxy calls without a usable answer, by protocol and " +
			"event type.",
	}, []string{"protocol", "type"})
	c.proxyCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "proxy", Name: "calls_total",
		Help: "Backend proxy calls, by event type and outcome.",
	}, []string{"type", "outcome"})

	reg.MustRegister(c.apiDuration, c.apiErrors, c.proxyDuration, c.proxyErrors,
		c.proxyCalls)
}

func (c *callMetrics) registerNode(reg prometheus.Registerer) {
	sent := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "node", Name: "messages_sent_count",
		Help: "Messages this node sent to the broker, by type.",
	}, []string{"type"})
	received := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "node", Name: "messages_received_count",
		Help: "Messages this node received from the broker, by type.",
	}, []string{"type"})
	for t, name := range messageNames {
		c.sent[t] = sent.WithLabelValues(name)
		c.received[t] = received.WithLabelValues(name)
	}

	publish := prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Subsystem: "broker", Name: "publish_duration_seconds",
		Help:    "Duration of publishing into the broker, history included.",
		Buckets: brokerBuckets,
	})
	c.publish = publish
	c.publishErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "broker", Name: "publish_errors_total",
		Help: "Publications the broker failed to take.",
	})
	c.surveys = prometheus.NewSummaryVec(prometheus.SummaryOpts{
		Namespace: namespace, Subsystem: "node", Name: "survey_duration_seconds",
		Help:       "Duration of surveys of the other nodes, by operation.",
		Objectives: summaryObjectives,
	}, []string{"op"})
	reg.MustRegister(sent, received, publish, c.publishErrors, c.surveys)
}

// MessageSent counts a message of kind t sent to the broker.
func (m *Metrics) MessageSent(t Message) {
	if m == nil || t >= numMessages {
		return
	}
	m.calls.sent[t].Inc()
}

// MessageReceived counts a message of kind t delivered by the broker.
func (m *Metrics) MessageReceived(t Message) {
	if m == nil || t >= numMessages {
		return
	}
	m.calls.received[t].Inc()
}

// BrokerPublish records one publish into the broker that took d and failed
// when failed.
func (m *Metrics) BrokerPublish(d time.Duration, failed bool) {
	if m == nil {
		return
	}
	m.calls.publish.Observe(d.Seconds())
	if failed {
		m.calls.publishErrors.Inc()
	}
}

// Survey records a survey of the other nodes for op that took d.
func (m *Metrics) Survey(op string, d time.Duration) {
	if m == nil {
		return
	}
	m.calls.surveys.WithLabelValues(op).Observe(d.Seconds())
}

// APICommand records the calls of one server API method. A nil
// *APICommand records nothing.
type APICommand struct {
	c                *callMetrics
	duration         prometheus.Observer
	protocol, method string
}

// APICommand returns the recorder of method served over protocol
// ("http"). Resolve it once per method.
func (m *Metrics) APICommand(protocol, method string) *APICommand {
	if m == nil {
		return nil
	}
	return &APICommand{c: &m.calls, protocol: protocol, method: method,
		duration: m.calls.apiDuration.WithLabelValues(protocol, method)}
}

// Done records a call that took d; a non-zero code is the protocol error
// code it was answered with.
func (a *APICommand) Done(d time.Duration, code uint32) {
	if a == nil {
		return
	}
	a.duration.Observe(d.Seconds())
	if code != 0 {
		a.c.apiErrors.WithLabelValues(a.protocol, a.method,
			strconv.FormatUint(uint64(code), 10)).Inc()
	}
}

// ProxyCall records the backend calls of one event type. A nil
// *ProxyCall records nothing.
type ProxyCall struct {
	duration prometheus.Observer
	errors   prometheus.Counter
	outcomes [numOutcomes]prometheus.Counter
}

// ProxyCall returns the recorder of backend calls for event type kind
// ("connect", "subscribe"...) over HTTP. Resolve it once per kind.
func (m *Metrics) ProxyCall(kind string) *ProxyCall {
	if m == nil {
		return nil
	}
	c := &m.calls
	p := &ProxyCall{
		duration: c.proxyDuration.WithLabelValues("http", kind),
		errors:   c.proxyErrors.WithLabelValues("http", kind),
	}
	for o, name := range outcomeNames {
		p.outcomes[o] = c.proxyCalls.WithLabelValues(kind, name)
	}
	return p
}

// Done records a call that took d and ended with o.
func (p *ProxyCall) Done(d time.Duration, o Outcome) {
	if p == nil || o >= numOutcomes {
		return
	}
	p.duration.Observe(d.Seconds())
	p.outcomes[o].Inc()
	if o == OutcomeUnavailable {
		p.errors.Inc()
	}
}
