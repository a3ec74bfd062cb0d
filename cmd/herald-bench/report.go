package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Result is one scenario's line of output. Times are in seconds or
// milliseconds as their names say; sizes in bytes.
type Result struct {
	Scenario string `json:"scenario"`
	Label    string `json:"label"`
	Conns    int    `json:"conns"`
	Channels int    `json:"channels"`

	Connected     int     `json:"connected"`
	ConnectErrors int64   `json:"connect_errors"`
	Dropped       int64   `json:"dropped"`
	ConnectS      float64 `json:"connect_s"`
	ConnectRate   float64 `json:"connect_rate"`
	ConnectP50Ms  float64 `json:"connect_p50_ms,omitempty"`
	ConnectP99Ms  float64 `json:"connect_p99_ms,omitempty"`

	Published      int64   `json:"published,omitempty"`
	PublishErrors  int64   `json:"publish_errors,omitempty"`
	Expected       int64   `json:"expected,omitempty"`
	Deliveries     int64   `json:"deliveries,omitempty"`
	DeliveryRatio  float64 `json:"delivery_ratio,omitempty"`
	DeliveriesPerS float64 `json:"deliveries_per_s,omitempty"`
	LatP50Ms       float64 `json:"lat_p50_ms,omitempty"`
	LatP99Ms       float64 `json:"lat_p99_ms,omitempty"`
	LatMaxMs       float64 `json:"lat_max_ms,omitempty"`

	Publishers int     `json:"publishers,omitempty"`
	PubPerS    float64 `json:"publications_per_s,omitempty"`
	APIP50Ms   float64 `json:"api_p50_ms,omitempty"`
	APIP99Ms   float64 `json:"api_p99_ms,omitempty"`
	APIMaxMs   float64 `json:"api_max_ms,omitempty"`

	ServerCPUS float64 `json:"server_cpu_s"`
	// ServerCPUByPID splits ServerCPUS by -pid entry when there are several.
	ServerCPUByPID   []float64 `json:"server_cpu_s_by_pid,omitempty"`
	ClientCPUS       float64   `json:"client_cpu_s"`
	CPUPer10kPub     float64   `json:"server_cpu_s_per_10k_pub,omitempty"`
	CPUPer100k       float64   `json:"server_cpu_s_per_100k,omitempty"`
	DeliveriesPerCPU float64   `json:"deliveries_per_server_cpu_s,omitempty"`

	RSSBefore     int64   `json:"rss_before,omitempty"`
	RSSAfter      int64   `json:"rss_after,omitempty"`
	RSSPerConn    float64 `json:"rss_per_conn,omitempty"`
	HeapPerConn   float64 `json:"heap_per_conn,omitempty"`
	StackPerConn  float64 `json:"stack_per_conn,omitempty"`
	GoroutinesPer float64 `json:"goroutines_per_conn,omitempty"`

	ElapsedS float64 `json:"elapsed_s"`
	Error    string  `json:"error,omitempty"`
}

// write prints the JSON line on stdout and the summary on stderr.
func (r *Result) write(stdout, stderr io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", b); err != nil {
		return err
	}
	_, err = io.WriteString(stderr, r.summary())
	return err
}

func (r *Result) summary() string {
	var b strings.Builder
	if r.Conns > 0 {
		fmt.Fprintf(&b, "== %s on %s: %d/%d connected (%d errors, %d dropped) "+
			"in %.2fs, %.0f conn/s\n", r.Scenario, r.Label, r.Connected, r.Conns,
			r.ConnectErrors, r.Dropped, r.ConnectS, r.ConnectRate)
	} else {
		fmt.Fprintf(&b, "== %s on %s: %d publishers\n", r.Scenario, r.Label,
			r.Publishers)
	}
	if r.ConnectP99Ms > 0 {
		fmt.Fprintf(&b, "   connect time p50 %.1f ms, p99 %.1f ms\n",
			r.ConnectP50Ms, r.ConnectP99Ms)
	}
	if r.RSSPerConn != 0 {
		fmt.Fprintf(&b, "   server RSS %.1f -> %.1f MiB: %.0f B per connection\n",
			mib(r.RSSBefore), mib(r.RSSAfter), r.RSSPerConn)
	}
	if r.HeapPerConn != 0 || r.StackPerConn != 0 {
		fmt.Fprintf(&b, "   heap %.0f B, stack %.0f B, %.2f goroutines per connection\n",
			r.HeapPerConn, r.StackPerConn, r.GoroutinesPer)
	}
	if r.Expected > 0 {
		fmt.Fprintf(&b, "   %d published (%d errors), %d/%d delivered (ratio %.4f), "+
			"%.0f deliveries/s\n", r.Published, r.PublishErrors, r.Deliveries,
			r.Expected, r.DeliveryRatio, r.DeliveriesPerS)
		fmt.Fprintf(&b, "   latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
			r.LatP50Ms, r.LatP99Ms, r.LatMaxMs)
	}
	if r.Publishers > 0 {
		fmt.Fprintf(&b, "   %d published (%d errors), %.0f publications/s, "+
			"API latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", r.Published,
			r.PublishErrors, r.PubPerS, r.APIP50Ms, r.APIP99Ms, r.APIMaxMs)
	}
	fmt.Fprintf(&b, "   server CPU %.2fs", r.ServerCPUS)
	if len(r.ServerCPUByPID) > 0 {
		parts := make([]string, len(r.ServerCPUByPID))
		for i, s := range r.ServerCPUByPID {
			parts[i] = fmt.Sprintf("%.2f", s)
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(parts, " + "))
	}
	if r.CPUPer100k > 0 {
		fmt.Fprintf(&b, " (%.3fs per 100k deliveries, %.0f deliveries per CPU-s)",
			r.CPUPer100k, r.DeliveriesPerCPU)
	}
	if r.CPUPer10kPub > 0 {
		fmt.Fprintf(&b, " (%.3fs per 10k publications)", r.CPUPer10kPub)
	}
	fmt.Fprintf(&b, ", tool CPU %.2fs, elapsed %.1fs\n", r.ClientCPUS, r.ElapsedS)
	if r.Error != "" {
		fmt.Fprintf(&b, "   first error: %s\n", r.Error)
	}
	return b.String()
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
