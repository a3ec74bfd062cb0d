package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// requestTimeout bounds one server API request.
const requestTimeout = 30 * time.Second

// publisher sends publications through the server API, paced to a rate.
// Each payload carries its send time ("bt", UnixNano) for latency.
type publisher struct {
	opts   *Options
	client *http.Client
	pad    string

	ok     atomic.Int64
	failed atomic.Int64
	// firstErr keeps the first failure for the report.
	firstErr atomic.Pointer[string]
}

// newPublisher returns a publisher that keeps up to workers API
// connections open, one per concurrent request.
func newPublisher(o *Options, workers int) *publisher {
	tr := &http.Transport{
		MaxIdleConnsPerHost: workers,
		IdleConnTimeout:     time.Minute,
	}
	return &publisher{
		opts:   o,
		client: &http.Client{Transport: tr, Timeout: requestTimeout},
		pad:    strings.Repeat("x", o.PayloadPad),
	}
}

// run publishes count publications to the channels chosen by pick, as
// PubWorkers concurrent requests of PubBatch publications each, and returns
// when all are sent or ctx ends.
func (p *publisher) run(ctx context.Context, count int, pick func(i int) string) {
	defer p.client.CloseIdleConnections()
	batch := p.opts.PubBatch
	requests := (count + batch - 1) / batch
	var interval time.Duration
	if p.opts.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(batch) / p.opts.Rate)
	}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range p.opts.PubWorkers {
		wg.Go(func() {
			for ctx.Err() == nil {
				r := int(next.Add(1) - 1)
				if r >= requests {
					return
				}
				if !sleepUntil(ctx, start.Add(time.Duration(r)*interval)) {
					return
				}
				first := r * batch
				p.send(ctx, first, min(batch, count-first), pick)
			}
		})
	}
	wg.Wait()
}

// sleepUntil waits until t; it reports false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// send posts publications first..first+n-1 in one request.
func (p *publisher) send(ctx context.Context, first, n int, pick func(int) string) {
	var body []byte
	path := "/publish"
	if p.opts.PubBatch == 1 {
		body = p.appendPublish(nil, first, pick(first))
	} else {
		path = "/batch"
		body = append(body, `{"commands":[`...)
		for i := range n {
			if i > 0 {
				body = append(body, ',')
			}
			body = append(body, `{"publish":`...)
			body = p.appendPublish(body, first+i, pick(first+i))
			body = append(body, '}')
		}
		body = append(body, `]}`...)
	}
	failed, err := p.post(ctx, path, body)
	if err != nil {
		failed = n
		msg := err.Error()
		p.firstErr.CompareAndSwap(nil, &msg)
	}
	p.ok.Add(int64(n - failed))
	p.failed.Add(int64(failed))
}

func (p *publisher) appendPublish(dst []byte, seq int, channel string) []byte {
	dst = append(dst, `{"channel":`...)
	dst = strconv.AppendQuote(dst, channel)
	dst = append(dst, `,"data":{"bt":`...)
	dst = strconv.AppendInt(dst, time.Now().UnixNano(), 10)
	dst = append(dst, `,"s":`...)
	dst = strconv.AppendInt(dst, int64(seq), 10)
	if p.pad != "" {
		dst = append(dst, `,"p":"`...)
		dst = append(dst, p.pad...)
		dst = append(dst, '"')
	}
	return append(dst, `}}`...)
}

// post sends one request and returns how many of its commands failed.
func (p *publisher) post(ctx context.Context, path string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		p.opts.API+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", p.opts.APIKey)
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(out))
	}
	failed := bytes.Count(out, []byte(`"error":`))
	if failed > 0 {
		msg := string(out[:min(len(out), 200)])
		p.firstErr.CompareAndSwap(nil, &msg)
	}
	return failed, nil
}
