package app

import (
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/metrics"
	"strings"
)

// mountDebug serves the pprof endpoints under debug.handler_prefix and, at
// <prefix>/runtime, a JSON summary of heap and goroutine stack memory for
// load tools. Only called when debug.enabled is set.
func (a *App) mountDebug(mux *http.ServeMux) {
	p := strings.TrimSuffix(prefix(a.cfg.Debug.HandlerPrefix, "/debug/pprof"), "/")
	mux.HandleFunc(p+"/", pprof.Index)
	mux.HandleFunc(p+"/cmdline", pprof.Cmdline)
	mux.HandleFunc(p+"/profile", pprof.Profile)
	mux.HandleFunc(p+"/symbol", pprof.Symbol)
	mux.HandleFunc(p+"/trace", pprof.Trace)
	// pprof.Index finds named profiles only under /debug/pprof/, so each
	// is routed explicitly for a configured prefix.
	for _, name := range []string{"allocs", "block", "goroutine", "heap",
		"mutex", "threadcreate"} {
		mux.Handle(p+"/"+name, pprof.Handler(name))
	}
	mux.HandleFunc(p+"/runtime", serveRuntime)
}

// runtimeSamples are the runtime/metrics read by serveRuntime.
var runtimeSamples = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/os-stacks:bytes",
	"/memory/classes/total:bytes",
	"/sched/goroutines:goroutines",
}

// serveRuntime answers with heap, stack and goroutine figures; ?gc=1 runs a
// collection first so that the heap figure counts live objects only.
func serveRuntime(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("gc") == "1" {
		runtime.GC()
	}
	s := make([]metrics.Sample, len(runtimeSamples))
	for i, name := range runtimeSamples {
		s[i].Name = name
	}
	metrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	out := struct {
		HeapBytes  uint64 `json:"heap_bytes"`
		StackBytes uint64 `json:"stack_bytes"`
		TotalBytes uint64 `json:"total_bytes"`
		Goroutines uint64 `json:"goroutines"`
	}{v(0), v(1) + v(2), v(3), v(4)}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
