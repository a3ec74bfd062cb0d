// Package metrics holds Herald's Prometheus registry and the figures the
// server API's info method reports for each node.
//
// Series carry Centrifugo's names (namespace centrifugo) wherever
// Centrifugo has one, so that existing dashboards and alerts keep working;
// docs/metrics.md lists them all. Start reading at [New] and [Metrics].
//
// Hot paths never look labels up and never allocate here: the labelled
// children they use are resolved once (per method, per frame type, per
// transport), and the frame counters of transports are plain atomic
// counters that a collector turns into series at scrape time. A broadcast
// adds its number of deliveries once ([Metrics.Delivered]) rather than
// counting each one. Gauges of counts (clients, users, channels...) are
// read from a [Source] at scrape time, so nothing keeps them up to date.
//
// Every method is safe on a nil *Metrics and does nothing there, so that
// components built without metrics (in tests, for instance) pay nothing
// and behave the same.
//
// The package owns no goroutines. The info figures are built lazily:
// [Metrics.Snapshot] gathers the registry when its aggregation interval
// has passed, and [Metrics.Process] samples /proc/self when its last
// sample is old enough; the node's announcements call both regularly.
package metrics
