package main

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// runPublishRate measures the server API on its own: Publishers workers
// send publish requests back to back for Duration, worker w always to
// channel w, with no client connected. Whether the channels keep history
// is up to the server's namespace of -channel-prefix. It reports
// publications per second, the latency of one API request and the server
// CPU per 10k publications.
func runPublishRate(ctx context.Context, o *Options,
	log *slog.Logger) (*Result, error) {
	res := &Result{Scenario: "publish", Label: o.Label, Channels: o.Publishers,
		Publishers: o.Publishers}
	began := time.Now()
	p := newPublisher(o, o.Publishers)
	defer p.client.CloseIdleConnections()
	lat := newHistogram()

	cpu := startCPU(o.PIDs)
	start := time.Now()
	p.closedLoop(ctx, start.Add(o.Duration), lat)
	elapsed := time.Since(start)
	cpu.stop(res)

	res.Published, res.PublishErrors = p.ok.Load(), p.failed.Load()
	if elapsed > 0 {
		res.PubPerS = float64(res.Published) / elapsed.Seconds()
	}
	if res.Published > 0 && res.ServerCPUS > 0 {
		res.CPUPer10kPub = res.ServerCPUS / float64(res.Published) * 1e4
	}
	res.APIP50Ms = ms(lat.percentile(0.50))
	res.APIP99Ms = ms(lat.percentile(0.99))
	res.APIMaxMs = ms(lat.maxValue())
	if msg := p.firstErr.Load(); msg != nil {
		res.Error = *msg
	}
	res.ElapsedS = time.Since(began).Seconds()
	log.Debug("publish done", "published", res.Published,
		"errors", res.PublishErrors)
	return res, nil
}

// closedLoop runs the publishers until deadline and records the time of
// every request in lat. Each publisher waits for its reply before sending
// again, so the offered load is what the server can take at that
// concurrency. The first failure stops every publisher: the figures of a
// run with errors would not describe the server.
func (p *publisher) closedLoop(ctx context.Context, deadline time.Time,
	lat *histogram) {
	batch := p.opts.PubBatch
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range p.opts.Publishers {
		ch := channelName(p.opts, w)
		pick := func(int) string { return ch }
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) &&
				p.firstErr.Load() == nil {
				first := int(next.Add(int64(batch))) - batch
				t0 := time.Now()
				p.send(ctx, first, batch, pick)
				lat.record(time.Since(t0))
			}
		})
	}
	wg.Wait()
}
