package main

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

type scenarioFunc func(ctx context.Context, o *Options, log *slog.Logger) (*Result, error)

var scenarios = map[string]scenarioFunc{
	"idle":         runIdle,
	"fanout":       runFanout,
	"manychannels": runManyChannels,
	"connectstorm": runConnectStorm,
	"publish":      runPublishRate,
}

// errNoneConnected ends a scenario that could not connect any client.
var errNoneConnected = errors.New("no client connected")

func channelName(o *Options, i int) string {
	return o.ChannelPrefix + strconv.Itoa(i)
}

// connectAll connects n clients, client i to channelOf(i), with at most
// conc attempts in flight; all workers start together once they exist. It
// returns the time from that start until the last attempt finished, and
// records each client's connect time in lat when lat is not nil.
func connectAll(ctx context.Context, f *fleet, n, conc int,
	channelOf func(int) string, lat *histogram) time.Duration {
	ctx, cancel := context.WithTimeout(ctx, f.opts.ConnectLimit)
	defer cancel()

	var (
		mu    sync.Mutex
		next  int
		wg    sync.WaitGroup
		start time.Time
	)
	gate := make(chan struct{})
	for range min(conc, n) {
		wg.Go(func() {
			<-gate
			for ctx.Err() == nil {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				if f.connect(ctx, i, channelOf(i)) == nil && lat != nil {
					lat.record(time.Since(start))
				}
			}
		})
	}
	start = time.Now()
	close(gate)
	wg.Wait()
	return time.Since(start)
}

// newResult starts the result of a scenario and the clock of its run.
func newResult(name string, o *Options, channels int) (*Result, time.Time) {
	return &Result{Scenario: name, Label: o.Label, Conns: o.Conns,
		Channels: channels}, time.Now()
}

// finish fills what every scenario reports.
func (r *Result) finish(f *fleet, began time.Time) {
	r.Connected = f.size()
	r.ConnectErrors = f.connErrors.Load()
	r.Dropped = f.dropped.Load()
	r.ElapsedS = time.Since(began).Seconds()
	if err := f.err(); err != nil && r.Error == "" {
		r.Error = err.Error()
	}
}

func (r *Result) setConnect(d time.Duration, connected int) {
	r.ConnectS = d.Seconds()
	if d > 0 {
		r.ConnectRate = float64(connected) / d.Seconds()
	}
}

// runIdle connects N clients, one channel each, lets them sit idle and
// reports what they cost the server.
func runIdle(ctx context.Context, o *Options, log *slog.Logger) (*Result, error) {
	res, began := newResult("idle", o, o.Conns)
	f, err := newFleet(o)
	if err != nil {
		return nil, err
	}
	defer f.close()

	var rtBefore, rtAfter *runtimeStats
	if len(o.PIDs) > 0 {
		res.RSSBefore, err = o.PIDs.rss()
		if err != nil {
			return nil, err
		}
	}
	if rtBefore, err = readRuntime(ctx, o.DebugURL); err != nil {
		return nil, err
	}

	cpu := startCPU(o.PIDs)
	d := connectAll(ctx, f, o.Conns, o.Concurrency,
		func(i int) string { return channelName(o, i) }, nil)
	cpu.stop(res)
	n := f.size()
	res.setConnect(d, n)
	if n == 0 {
		res.finish(f, began)
		return res, errors.Join(errNoneConnected, f.err())
	}

	sleepCtx(ctx, o.Settle)
	if len(o.PIDs) > 0 {
		if res.RSSAfter, err = o.PIDs.rss(); err != nil {
			return nil, err
		}
		res.RSSPerConn = float64(res.RSSAfter-res.RSSBefore) / float64(n)
	}
	if rtAfter, err = readRuntime(ctx, o.DebugURL); err != nil {
		return nil, err
	}
	if rtBefore != nil && rtAfter != nil {
		res.HeapPerConn = float64(rtAfter.HeapBytes-rtBefore.HeapBytes) / float64(n)
		res.StackPerConn = float64(rtAfter.StackBytes-rtBefore.StackBytes) / float64(n)
		res.GoroutinesPer = float64(rtAfter.Goroutines-rtBefore.Goroutines) / float64(n)
	}
	res.finish(f, began)
	log.Debug("idle done", "connected", n)
	return res, nil
}

// runFanout subscribes N clients to one channel and publishes M
// publications into it at the configured rate.
func runFanout(ctx context.Context, o *Options, log *slog.Logger) (*Result, error) {
	ch := channelName(o, 0)
	return runPublish(ctx, o, "fanout", 1,
		func(int) string { return ch }, func(int) string { return ch })
}

// runManyChannels subscribes client i to channel i and publishes M
// publications to channels picked at random (a fixed, seeded sequence).
func runManyChannels(ctx context.Context, o *Options,
	log *slog.Logger) (*Result, error) {
	n := o.Conns
	return runPublish(ctx, o, "manychannels", n,
		func(i int) string { return channelName(o, i) },
		func(i int) string { return channelName(o, int(mix(uint64(i))%uint64(n))) })
}

// mix is the SplitMix64 finaliser: a cheap, stateless pseudo-random pick.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// runPublish connects the clients, publishes, waits for the deliveries and
// measures throughput, latency and the server's CPU time.
func runPublish(ctx context.Context, o *Options, name string, channels int,
	subChannel, pubChannel func(int) string) (*Result, error) {
	res, began := newResult(name, o, channels)
	f, err := newFleet(o)
	if err != nil {
		return nil, err
	}
	defer f.close()

	d := connectAll(ctx, f, o.Conns, o.Concurrency, subChannel, nil)
	n := f.size()
	res.setConnect(d, n)
	if n == 0 {
		res.finish(f, began)
		return res, errors.Join(errNoneConnected, f.err())
	}

	cpu := startCPU(o.PIDs)
	start := time.Now()
	p := newPublisher(o, o.PubWorkers)
	p.run(ctx, o.Publish, pubChannel)
	res.Published, res.PublishErrors = p.ok.Load(), p.failed.Load()
	res.Expected = res.Published * int64(n/channels)
	waitDeliveries(ctx, f, res.Expected, o.Drain)
	cpu.stop(res)

	res.Deliveries = f.deliveries()
	res.fillDeliveries(f, start)
	if msg := p.firstErr.Load(); msg != nil {
		res.Error = *msg
	}
	res.finish(f, began)
	return res, nil
}

// fillDeliveries computes the delivery figures once the run is over.
func (r *Result) fillDeliveries(f *fleet, start time.Time) {
	if r.Expected > 0 {
		r.DeliveryRatio = float64(r.Deliveries) / float64(r.Expected)
	}
	if last := f.lastDelivery.Load(); last > start.UnixNano() {
		r.DeliveriesPerS = float64(r.Deliveries) /
			time.Duration(last-start.UnixNano()).Seconds()
	}
	if r.Deliveries > 0 && r.ServerCPUS > 0 {
		r.CPUPer100k = r.ServerCPUS / float64(r.Deliveries) * 1e5
		r.DeliveriesPerCPU = float64(r.Deliveries) / r.ServerCPUS
	}
	r.LatP50Ms = ms(f.lat.percentile(0.50))
	r.LatP99Ms = ms(f.lat.percentile(0.99))
	r.LatMaxMs = ms(f.lat.maxValue())
}

// pollInterval is how often the tool checks for outstanding deliveries.
const pollInterval = 10 * time.Millisecond

// waitDeliveries waits until want deliveries arrived, for at most drain.
func waitDeliveries(ctx context.Context, f *fleet, want int64, drain time.Duration) {
	deadline := time.Now().Add(drain)
	for f.deliveries() < want && time.Now().Before(deadline) && ctx.Err() == nil {
		sleepCtx(ctx, pollInterval)
	}
}

// runConnectStorm starts N clients at once and reports how long it took
// until all of them were connected, and the server CPU that cost.
func runConnectStorm(ctx context.Context, o *Options,
	log *slog.Logger) (*Result, error) {
	res, began := newResult("connectstorm", o, o.Conns)
	f, err := newFleet(o)
	if err != nil {
		return nil, err
	}
	defer f.close()

	lat := newHistogram()
	cpu := startCPU(o.PIDs)
	d := connectAll(ctx, f, o.Conns, o.Conns,
		func(i int) string { return channelName(o, i) }, lat)
	cpu.stop(res)
	res.setConnect(d, f.size())
	res.ConnectP50Ms = ms(lat.percentile(0.50))
	res.ConnectP99Ms = ms(lat.percentile(0.99))
	res.finish(f, began)
	if f.size() == 0 {
		return res, errors.Join(errNoneConnected, f.err())
	}
	return res, nil
}
