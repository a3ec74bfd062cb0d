package app

import "net/http"

// mountMetrics serves the Prometheus metrics under prometheus.handler_prefix.
func (a *App) mountMetrics(mux *http.ServeMux) {
	c := &a.cfg.Prometheus
	// Herald's series are fixed: these options of the reference server
	// change nothing here.
	for key, set := range map[string]bool{
		"instrument_http_handlers":         c.InstrumentHTTPHandlers,
		"recovered_publications_histogram": c.RecoveredPublicationsHistogram,
		"native_histograms":                c.NativeHistograms,
	} {
		if set {
			a.log.Warn("prometheus option ignored", "key", "prometheus."+key)
		}
	}
	p := prefix(c.HandlerPrefix, "/metrics")
	mux.Handle(p, a.metrics.Handler())
	a.log.Info("serving metrics", "path", p)
}
