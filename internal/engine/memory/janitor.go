package memory

import (
	"context"
	"sync"
	"time"
)

// janitor runs a sweep function periodically on one goroutine that it owns.
// Sweeps only free memory; readers trim expired data themselves.
type janitor struct {
	// mu orders start against stopAndWait, so that a start racing with
	// Close either runs before the wait or not at all.
	mu      sync.Mutex
	stopped bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

func newJanitor() *janitor {
	return &janitor{stop: make(chan struct{})}
}

// start launches the goroutine; it ends when ctx is done or stopAndWait is
// called. It does nothing once stopped.
func (j *janitor) start(ctx context.Context, every time.Duration, sweep func()) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stopped {
		return
	}
	j.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-j.stop:
				return
			case <-t.C:
				sweep()
			}
		}
	})
}

// stopAndWait stops the goroutine, if any, and waits for it. A sweep in
// progress finishes first; it holds each stripe lock only briefly, so the
// wait is short and not worth a context.
func (j *janitor) stopAndWait() {
	j.mu.Lock()
	if !j.stopped {
		j.stopped = true
		close(j.stop)
	}
	j.mu.Unlock()
	j.wg.Wait()
}
