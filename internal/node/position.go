package node

import (
	"context"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/hub"
	"github.com/heraldhq/herald/internal/protocol"
)

// positionGrace is how long a publication may still be on its way to this
// node after the stream position that counts it was read: a subscriber
// behind the position is only told to recover if it is still behind then.
const positionGrace = time.Second

// positionRetry is when channels whose position could not be read after a
// delivery gap are tried again.
const positionRetry = 2 * time.Second

// Why a position check runs, as logged.
const (
	reasonPeriodic = "periodic"
	reasonGap      = "delivery gap"
)

// positionWorkers bounds the position reads in flight during one check;
// the Redis client pipelines them over its connections.
const positionWorkers = 16

// positions is the node's state for checking that positioned subscribers
// received every publication of their channels. The hub notices a gap when
// a later publication arrives; this check also catches the publications
// lost last, after which nothing arrives to show the gap.
type positions struct {
	// mu guards gaps.
	mu   sync.Mutex
	gaps []string
	wake chan struct{}

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// HandleDeliveryGap implements [engine.EventHandler]: the channels are
// checked at once, away from the broker's goroutine.
func (n *Node) HandleDeliveryGap(channels []string) {
	n.pos.mu.Lock()
	n.pos.gaps = append(n.pos.gaps, channels...)
	n.pos.mu.Unlock()
	select {
	case n.pos.wake <- struct{}{}:
	default:
	}
}

// startPositions runs the position checks until ctx ends or
// [Node.stopPositions].
func (n *Node) startPositions(ctx context.Context) {
	ctx, n.pos.cancel = context.WithCancel(ctx)
	n.pos.wg.Go(func() { n.positionLoop(ctx) })
}

func (n *Node) stopPositions() {
	if n.pos.cancel != nil {
		n.pos.cancel()
	}
	n.pos.wg.Wait()
}

func (n *Node) positionLoop(ctx context.Context) {
	var tick <-chan time.Time
	if d := n.cfg.PositionCheckDelay; d > 0 {
		t := time.NewTicker(d)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			n.checkPositions(ctx, n.cfg.Hub.PositionedChannels(), reasonPeriodic)
		case <-n.pos.wake:
			n.pos.mu.Lock()
			chs := n.pos.gaps
			n.pos.gaps = nil
			n.pos.mu.Unlock()
			n.checkPositions(ctx, chs, reasonGap)
		}
	}
}

// suspect is a channel whose subscribers looked behind its stream.
type suspect struct {
	ch   string
	top  protocol.StreamPosition
	subs []*hub.Sub
}

// checkPositions reads the stream position of each channel and makes the
// subscribers that are still behind it after positionGrace recover.
func (n *Node) checkPositions(ctx context.Context, channels []string, why string) {
	if len(channels) == 0 {
		return
	}
	suspects, failed, firstErr := n.readPositions(ctx, channels)
	if len(failed) > 0 {
		n.log.Warn("stream position check failed", "reason", why,
			"channels", len(failed), "error", firstErr)
		if why == reasonGap {
			// The broker is back but not quite: try those again soon
			// rather than at the next periodic check.
			time.AfterFunc(positionRetry, func() { n.HandleDeliveryGap(failed) })
		}
	}
	if len(suspects) == 0 {
		return
	}

	t := time.NewTimer(positionGrace)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}

	lost, chans := 0, 0
	for _, s := range suspects {
		if k := n.cfg.Hub.MarkLost(s.subs, s.top); k > 0 {
			lost += k
			chans++
		}
	}
	if lost > 0 {
		n.log.Info("subscribers missed publications and recover from history",
			"reason", why, "subscribers", lost, "channels", chans)
	}
}

// readPositions reads the positions of channels with bounded concurrency
// and returns the channels with subscribers behind them.
func (n *Node) readPositions(ctx context.Context, channels []string) (
	suspects []suspect, failed []string, firstErr error) {
	var mu sync.Mutex
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(positionWorkers, len(channels)) {
		wg.Go(func() {
			for ch := range work {
				_, top, err := n.cfg.Broker.History(ctx, ch, engine.HistoryOptions{})
				var subs []*hub.Sub
				if err == nil {
					subs = n.cfg.Hub.Behind(ch, top)
				}
				mu.Lock()
				switch {
				case err != nil:
					failed = append(failed, ch)
					if firstErr == nil {
						firstErr = err
					}
				case len(subs) > 0:
					suspects = append(suspects, suspect{ch: ch, top: top, subs: subs})
				}
				mu.Unlock()
			}
		})
	}
	for _, ch := range channels {
		select {
		case work <- ch:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	return suspects, failed, firstErr
}
