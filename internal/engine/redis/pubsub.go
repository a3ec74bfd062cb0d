package redis

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/heraldhq/herald/internal/engine/wire"
)

// errPubSubDown is returned by Subscribe while a shard's PUB/SUB connection
// is being re-established.
var errPubSubDown = errors.New("redis: pubsub connection down")

// errSlotMoved ends a sharded PUB/SUB connection whose slot moved to
// another master, so that it is opened again on the new one.
var errSlotMoved = errors.New("redis: sharded pubsub slot moved")

const (
	// subscribeChunk caps the channels of one SUBSCRIBE when resubscribing.
	subscribeChunk = 512
	backoffMin     = 50 * time.Millisecond
	backoffMax     = 2 * time.Second
)

// subscriber owns one shard's dedicated PUB/SUB connection. Its run
// goroutine alone sends SUBSCRIBE and UNSUBSCRIBE, so requests queued while
// it is busy go out together in one command, and a resubscription after a
// reconnect cannot race with them. rueidis calls onMessage on one goroutine
// per connection, which is what keeps each channel in order.
type subscriber struct {
	b       *Broker
	client  rueidis.Client
	control bool
	kick    chan struct{}
	readyc  chan error
	// dropped carries channels Redis unsubscribed this node from on its
	// own, as a cluster does when a slot moves to another master.
	dropped chan string

	// mu guards pending.
	mu      sync.Mutex
	pending []subOp

	// channels is the set this node wants; owned by the run goroutine.
	channels map[string]struct{}
}

// subOp is one Subscribe or Unsubscribe waiting for the run goroutine.
type subOp struct {
	ch   string
	sub  bool
	done chan error
}

func newSubscriber(b *Broker, c rueidis.Client, control bool) *subscriber {
	return &subscriber{
		b:        b,
		client:   c,
		control:  control,
		kick:     make(chan struct{}, 1),
		readyc:   make(chan error, 1),
		dropped:  make(chan string, 1),
		channels: make(map[string]struct{}),
	}
}

// waitReady returns the result of the first connection attempt.
func (s *subscriber) waitReady(ctx context.Context) error {
	select {
	case err := <-s.readyc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// change queues a subscription change of ch and waits for Redis to confirm.
func (s *subscriber) change(ctx context.Context, ch string, sub bool) error {
	op := subOp{ch: ch, sub: sub, done: make(chan error, 1)}
	s.mu.Lock()
	s.pending = append(s.pending, op)
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}

	ctx, cancel := withTimeout(ctx)
	defer cancel()
	select {
	case err := <-op.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run keeps the connection up until ctx is done, logging each loss once.
func (s *subscriber) run(ctx context.Context) {
	first, lost := true, false
	backoff := backoffMin
	for {
		dc, release, errc, err := s.connect(ctx)
		if first {
			s.readyc <- err
		}
		if err == nil {
			if lost {
				s.b.log.Info("redis pubsub connection restored")
				lost = false
			}
			if !first {
				s.reportGap()
			}
			backoff = backoffMin
			err = s.serve(ctx, dc, errc)
			release()
		}
		first = false
		if ctx.Err() != nil {
			s.fail(ctx.Err())
			return
		}
		if !lost {
			s.b.log.Warn("redis pubsub connection lost, reconnecting", "error", err)
			lost = true
		}
		if !s.pause(ctx, backoff) {
			s.fail(ctx.Err())
			return
		}
		backoff = min(2*backoff, backoffMax)
	}
}

// reportGap tells the handler which channels may have missed events while
// the connection was down: everything this connection carries again.
func (s *subscriber) reportGap() {
	r := s.b.handler.Load()
	if r == nil || len(s.channels) == 0 {
		return
	}
	chs := make([]string, 0, len(s.channels))
	for ch := range s.channels {
		chs = append(chs, ch)
	}
	r.h.HandleDeliveryGap(chs)
}

// pause waits d, failing subscription requests meanwhile; false means ctx
// is done.
func (s *subscriber) pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-s.kick:
			s.fail(errPubSubDown)
		}
	}
}

// fail answers the queued requests while there is no connection: a
// subscription fails, an unsubscription succeeds since nothing will be
// resubscribed.
func (s *subscriber) fail(err error) {
	for _, op := range s.take() {
		if op.sub {
			op.done <- err
			continue
		}
		delete(s.channels, op.ch)
		op.done <- nil
	}
}

func (s *subscriber) take() []subOp {
	s.mu.Lock()
	defer s.mu.Unlock()
	ops := s.pending
	s.pending = nil
	return ops
}

// connect opens a dedicated connection and subscribes it to everything this
// node wants.
func (s *subscriber) connect(ctx context.Context) (rueidis.DedicatedClient, func(),
	<-chan error, error) {
	dc, release := s.client.Dedicate()
	errc := dc.SetPubSubHooks(rueidis.PubSubHooks{
		OnMessage:      s.onMessage,
		OnSubscription: s.onSubscription,
	})

	var all []string
	if s.control {
		all = append(all, s.b.control)
	}
	for ch := range s.channels {
		all = append(all, s.b.pubsubChannel(ch))
	}
	for len(all) > 0 {
		n := min(len(all), subscribeChunk)
		if err := s.send(ctx, dc, all[:n], true); err != nil {
			release()
			return nil, nil, nil, err
		}
		all = all[n:]
	}
	return dc, release, errc, nil
}

// send subscribes or unsubscribes channels, bounded by opTimeout.
func (s *subscriber) send(ctx context.Context, dc rueidis.DedicatedClient,
	channels []string, sub bool) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	var cmd rueidis.Completed
	switch {
	case s.b.sharded() && sub:
		cmd = dc.B().Ssubscribe().Channel(channels...).Build()
	case s.b.sharded():
		cmd = dc.B().Sunsubscribe().Channel(channels...).Build()
	case sub:
		cmd = dc.B().Subscribe().Channel(channels...).Build()
	default:
		cmd = dc.B().Unsubscribe().Channel(channels...).Build()
	}
	return dc.Do(ctx, cmd).Error()
}

// onSubscription watches for sharded unsubscriptions this node did not ask
// for: a Redis Cluster sends them when a slot changes master, and the
// channels must then be subscribed again on the new one. It runs on the
// connection's reader goroutine and must not block.
func (s *subscriber) onSubscription(m rueidis.PubSubSubscription) {
	if m.Kind != "sunsubscribe" {
		return
	}
	select {
	case s.dropped <- m.Channel:
	default:
		// One pending check is enough: it re-establishes everything.
	}
}

// serve applies queued requests until the connection fails or ctx is done.
func (s *subscriber) serve(ctx context.Context, dc rueidis.DedicatedClient,
	errc <-chan error) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errc:
			if err == nil {
				err = errPubSubDown
			}
			return err
		case <-s.kick:
			if err := s.apply(ctx, dc); err != nil {
				return err
			}
		case pubsub := <-s.dropped:
			if s.wanted(pubsub) {
				return errSlotMoved
			}
		}
	}
}

// wanted reports whether this node still wants the PUB/SUB channel pubsub.
// A channel this node unsubscribed from has left s.channels before its
// UNSUBSCRIBE went out.
func (s *subscriber) wanted(pubsub string) bool {
	if pubsub == s.b.control {
		return s.control
	}
	ch, ok := s.b.channelOf(pubsub)
	if !ok {
		return false
	}
	_, want := s.channels[ch]
	return want
}

// apply sends the queued requests as at most one SUBSCRIBE and one
// UNSUBSCRIBE; the last request for a channel wins.
func (s *subscriber) apply(ctx context.Context, dc rueidis.DedicatedClient) error {
	ops := s.take()
	want := make(map[string]bool, len(ops))
	for _, op := range ops {
		want[op.ch] = op.sub
	}
	var subs, unsubs []string
	for ch, sub := range want {
		if sub {
			s.channels[ch] = struct{}{}
			subs = append(subs, s.b.pubsubChannel(ch))
			continue
		}
		delete(s.channels, ch)
		unsubs = append(unsubs, s.b.pubsubChannel(ch))
	}

	var subErr, unsubErr error
	if len(subs) > 0 {
		subErr = s.send(ctx, dc, subs, true)
	}
	if len(unsubs) > 0 {
		unsubErr = s.send(ctx, dc, unsubs, false)
	}
	for _, op := range ops {
		if op.sub {
			if subErr != nil && want[op.ch] {
				// Not subscribed: the caller will not unsubscribe either.
				delete(s.channels, op.ch)
			}
			op.done <- subErr
			continue
		}
		op.done <- unsubErr
	}
	return errors.Join(subErr, unsubErr)
}

// onMessage decodes one PUB/SUB message and hands it to the handler. It runs
// on the connection's reader goroutine, in arrival order.
func (s *subscriber) onMessage(m rueidis.PubSubMessage) {
	r := s.b.handler.Load()
	if r == nil || len(m.Message) == 0 {
		return
	}
	if m.Channel == s.b.control {
		if m.Message[0] == wire.KindControl {
			r.h.HandleControl([]byte(m.Message[1:]))
		}
		return
	}
	ch, ok := s.b.channelOf(m.Channel)
	if !ok {
		return
	}
	if err := wire.Deliver(r.h, ch, m.Message); err != nil {
		s.b.log.Warn("dropping malformed pubsub message", "channel", ch, "error", err)
	}
}
