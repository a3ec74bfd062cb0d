package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"time"
)

// Options are the command-line settings of a run.
type Options struct {
	Scenarios string
	Label     string

	// URL is the client WebSocket endpoint; API the server API prefix.
	URL    string
	API    string
	APIKey string
	Secret string

	// Subscribe selects how clients join channels: "token" puts the
	// channel in the connection token's channels claim (a server-side
	// subscription), "client" sends a subscribe command.
	Subscribe     string
	ChannelPrefix string

	Conns       int
	Publish     int
	Rate        float64
	PubBatch    int
	PubWorkers  int
	Concurrency int
	SrcAddrs    int
	PayloadPad  int

	// PIDs are the server processes whose CPU time and RSS are summed:
	// one Herald, or every node of a cluster.
	PIDs     pidList
	DebugURL string

	// Publishers and Duration shape the publish scenario.
	Publishers int
	Duration   time.Duration

	Settle       time.Duration
	Drain        time.Duration
	ConnectLimit time.Duration
	Timeout      time.Duration
}

func parseFlags(args []string, out io.Writer) (*Options, error) {
	o := &Options{}
	fs := flag.NewFlagSet("herald-bench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.Scenarios, "scenarios", "idle",
		"comma-separated: idle, fanout, manychannels, connectstorm, publish")
	fs.StringVar(&o.Label, "label", "server", "name of the server in the output")
	fs.StringVar(&o.URL, "url", "ws://127.0.0.1:8000/connection/websocket",
		"client WebSocket endpoint (loopback)")
	fs.StringVar(&o.API, "api", "http://127.0.0.1:8000/api", "server API prefix")
	fs.StringVar(&o.APIKey, "api-key", "", "server API key (X-API-Key)")
	fs.StringVar(&o.Secret, "secret", "", "HMAC secret for HS256 connection tokens")
	fs.StringVar(&o.Subscribe, "subscribe", "token",
		"token: channels claim in the connection token; client: subscribe command")
	fs.StringVar(&o.ChannelPrefix, "channel-prefix", "bench_",
		"channel name prefix (with -subscribe client use a namespace, bench:)")
	fs.IntVar(&o.Conns, "n", 1000, "connections")
	fs.IntVar(&o.Publish, "m", 100, "publications")
	fs.Float64Var(&o.Rate, "rate", 50, "publications per second (0: as fast as possible)")
	fs.IntVar(&o.PubBatch, "pub-batch", 1,
		"publications per API request (>1 uses POST <api>/batch)")
	fs.IntVar(&o.PubWorkers, "pub-workers", 4, "concurrent API requests")
	fs.IntVar(&o.Concurrency, "c", 64, "concurrent connection attempts (not connectstorm)")
	fs.IntVar(&o.SrcAddrs, "src-addrs", 4, "loopback source addresses 127.0.0.1..N")
	fs.IntVar(&o.PayloadPad, "pad", 0, "extra bytes of padding in each payload")
	fs.Var(&o.PIDs, "pid", "server process IDs, comma-separated, for RSS and CPU "+
		"from /proc (summed over the list)")
	fs.StringVar(&o.DebugURL, "debug-url", "",
		"Herald's runtime metrics endpoint (debug.enabled), e.g. "+
			"http://127.0.0.1:8000/debug/pprof/runtime")
	fs.IntVar(&o.Publishers, "publishers", 16,
		"publish: concurrent publishers, each sending request after request")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "publish: length of the run")
	fs.DurationVar(&o.Settle, "settle", 3*time.Second, "idle: wait before measuring")
	fs.DurationVar(&o.Drain, "drain", 15*time.Second,
		"wait for outstanding deliveries after the last publication")
	fs.DurationVar(&o.ConnectLimit, "connect-timeout", 120*time.Second,
		"bound on connecting all clients")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Minute, "hard deadline of the run")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return o, o.validate()
}

// Hard limits keep a mistyped flag from running away.
const (
	maxConns   = 100_000
	maxPublish = 10_000_000
	maxTimeout = time.Hour
	maxPubs    = 1024
)

func (o *Options) validate() error {
	switch {
	case o.Conns < 1 || o.Conns > maxConns:
		return errors.New("-n must be in 1..100000")
	case o.Publish < 0 || o.Publish > maxPublish:
		return errors.New("-m must be in 0..10000000")
	case o.Rate < 0:
		return errors.New("-rate must not be negative")
	case o.PubBatch < 1 || o.PubBatch > 1000:
		return errors.New("-pub-batch must be in 1..1000")
	case o.PubWorkers < 1 || o.PubWorkers > 256:
		return errors.New("-pub-workers must be in 1..256")
	case o.Concurrency < 1:
		return errors.New("-c must be positive")
	case o.SrcAddrs < 1 || o.SrcAddrs > 250:
		return errors.New("-src-addrs must be in 1..250")
	case o.Timeout <= 0 || o.Timeout > maxTimeout:
		return errors.New("-timeout must be in (0, 1h]")
	case o.Publishers < 1 || o.Publishers > maxPubs:
		return errors.New("-publishers must be in 1..1024")
	case o.Duration <= 0 || o.Duration > maxTimeout:
		return errors.New("-duration must be in (0, 1h]")
	case o.Subscribe != "token" && o.Subscribe != "client":
		return errors.New(`-subscribe must be "token" or "client"`)
	case o.Secret == "" && o.connectsClients():
		return errors.New("-secret is required")
	}
	return nil
}

// connectsClients reports whether a scenario of the run opens client
// connections, which need a token secret; publish alone does not.
func (o *Options) connectsClients() bool {
	for name := range strings.SplitSeq(o.Scenarios, ",") {
		if strings.TrimSpace(name) != "publish" {
			return true
		}
	}
	return false
}
