package hub

import (
	"sync"
	"sync/atomic"

	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/protocol"
)

// SubConfig describes one subscription of a connection to a channel.
type SubConfig struct {
	Channel string
	Conn    Conn
	// Variant selects the wire variant the connection reads.
	Variant uint8
	// JoinLeave asks for join and leave pushes.
	JoinLeave bool
	// Positioned makes the hub check that offsets arrive without gaps.
	Positioned bool
	// Delta means the subscription negotiated fossil delta compression.
	Delta bool
	// Transport is the slot of the connection's transport in delivery
	// counts ([metrics.Transport.Slot]).
	Transport uint8
}

// Sub is one connection's subscription to one channel. A new Sub starts in
// the buffering state: publications are held back until [Sub.Activate], so
// that the subscribe reply (with any recovered publications) always reaches
// the client before the live stream does.
type Sub struct {
	channel    string
	conn       Conn
	variant    uint8
	joinLeave  bool
	positioned bool
	delta      bool
	transport  uint8

	// idx is the position in the channel's slice; guarded by the shard lock.
	idx int

	buffering atomic.Bool
	// offset is the last offset delivered on a positioned subscription. Only
	// the channel's broadcasting goroutine writes it once the Sub is active.
	offset atomic.Uint64
	lost   atomic.Bool
	// epoch is the stream epoch the subscription started in; written by
	// Activate before buffering ends, read-only afterwards.
	epoch string
	// deltaBase is set while the client holds the channel's previous
	// payload, so that the next publication may be a delta against it. The
	// session sets it before activation, then only the channel's
	// broadcaster writes it.
	deltaBase atomic.Bool

	// mu guards pending while buffering.
	mu      sync.Mutex
	pending []pendingPub
}

type pendingPub struct {
	data []byte
	// patched is the delta form of data, for delta subscriptions.
	patched []byte
	offset  uint64
	epoch   string
	isPub   bool
}

// NewSub returns a subscription in the buffering state.
func NewSub(c SubConfig) *Sub {
	s := &Sub{
		channel:    c.Channel,
		conn:       c.Conn,
		variant:    c.Variant,
		joinLeave:  c.JoinLeave,
		positioned: c.Positioned,
		delta:      c.Delta,
		transport:  c.Transport,
		idx:        -1,
	}
	s.buffering.Store(true)
	return s
}

// Channel returns the subscribed channel.
func (s *Sub) Channel() string { return s.channel }

// Offset returns the last offset delivered on a positioned subscription.
func (s *Sub) Offset() uint64 { return s.offset.Load() }

// MarkDeltaBase records that the subscribe reply ends with a publication
// the client may apply a delta to: recovered publications. It must be
// called before [Sub.Activate].
func (s *Sub) MarkDeltaBase() { s.deltaBase.Store(s.delta) }

// mayTakeDelta reports whether the next publication's delta form may be
// sent, so that it is worth building. A buffering Sub decides at
// activation, so it keeps both forms.
func (s *Sub) mayTakeDelta() bool {
	return s.buffering.Load() || s.deltaBase.Load()
}

// deliver sends b, or patched, its delta form, when the client holds the
// base of that delta. A publication not delivered breaks the chain of
// bases, so the next one goes in full. It reports whether the message was
// queued or held back for the connection, rather than dropped.
func (s *Sub) deliver(b, patched []byte, pub *protocol.Publication,
	sp protocol.StreamPosition) bool {
	if s.buffering.Load() && s.buffer(b, patched, pub, sp) {
		return true
	}
	if s.positioned && pub != nil && pub.Offset > 0 && !s.advance(pub.Offset) {
		s.deltaBase.Store(false)
		return false
	}
	s.conn.Enqueue(s.pick(b, patched, pub != nil))
	return true
}

// deliverPlain delivers a publication to a subscriber without delta
// compression; b is nil when the payload cannot travel in its variant. It
// reports whether the publication was delivered, as deliver does.
func (s *Sub) deliverPlain(ch string, b []byte, pub *protocol.Publication,
	sp protocol.StreamPosition) bool {
	if b == nil {
		s.conn.InappropriateData(ch)
		return false
	}
	return s.deliver(b, nil, pub, sp)
}

// slot returns the subscriber's index in delivery counts. The mask keeps
// it in range whatever the caller configured, without a bounds check.
func (s *Sub) slot() uint8 { return s.transport & (metrics.MaxTransports - 1) }

// pick chooses between the full and the delta form of a publication.
func (s *Sub) pick(b, patched []byte, isPub bool) []byte {
	if !s.delta || !isPub {
		return b
	}
	if patched != nil && s.deltaBase.Load() {
		b = patched
	}
	s.deltaBase.Store(true)
	return b
}

// buffer holds a message back while the subscription is being set up. It
// reports false when the Sub went live in the meantime.
func (s *Sub) buffer(b, patched []byte, pub *protocol.Publication,
	sp protocol.StreamPosition) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.buffering.Load() {
		return false
	}
	p := pendingPub{data: b, patched: patched}
	if pub != nil {
		p.isPub, p.offset, p.epoch = true, pub.Offset, sp.Epoch
	}
	s.pending = append(s.pending, p)
	return true
}

// advance moves a positioned subscription to offset, reporting whether the
// publication should be delivered. A gap means the client missed something it
// cannot get back from this stream, so the connection is told to recover.
func (s *Sub) advance(offset uint64) bool {
	if s.lost.Load() {
		return false
	}
	cur := s.offset.Load()
	switch {
	case offset <= cur:
		return false
	case offset == cur+1:
		s.offset.Store(offset)
		return true
	default:
		s.markLost()
		return false
	}
}

// Activate ends buffering. It first calls enqueueReply, so the caller can queue
// the subscribe reply (or the connect reply holding it), then delivers the
// held-back messages that come after position top, then goes live. Messages
// at or below top are dropped: the reply already covers them.
func (s *Sub) Activate(top uint64, epoch string, enqueueReply func()) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if enqueueReply != nil {
		enqueueReply()
	}
	s.offset.Store(top)
	s.epoch = epoch
	for _, p := range s.pending {
		if !p.isPub || p.offset == 0 || !s.positioned {
			if !p.isPub || p.offset == 0 || p.offset > top {
				s.conn.Enqueue(s.pick(p.data, p.patched, p.isPub))
			}
			continue
		}
		if epoch != "" && p.epoch != "" && p.epoch != epoch {
			s.markLost()
			break
		}
		// A publication at or below top is in the reply: the delta base
		// stays what the reply left.
		if s.advance(p.offset) {
			s.conn.Enqueue(s.pick(p.data, p.patched, true))
		}
	}
	s.pending = nil
	s.buffering.Store(false)
}

// behind reports whether an active positioned subscription has not reached
// top, or follows another epoch of the stream.
func (s *Sub) behind(top protocol.StreamPosition) bool {
	if !s.positioned || s.buffering.Load() || s.lost.Load() {
		return false
	}
	if s.epoch != "" && top.Epoch != "" && s.epoch != top.Epoch {
		return true
	}
	return s.offset.Load() < top.Offset
}

// markLost tells the connection to recover the subscription, once.
func (s *Sub) markLost() {
	if !s.lost.Swap(true) {
		s.conn.InsufficientState(s.channel)
	}
}
