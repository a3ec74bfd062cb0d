package memory

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/protocol"
)

// Errors returned by the memory engine.
var (
	// ErrNotRunning is returned by deliveries attempted before [Broker.Run].
	ErrNotRunning = errors.New("memory: broker not running")
	// ErrAlreadyRunning is returned by a second [Broker.Run].
	ErrAlreadyRunning = errors.New("memory: broker already running")
	// ErrClosed is returned by calls made after Close.
	ErrClosed = errors.New("memory: closed")
)

// Broker is the single-node [engine.Broker]: it orders publications per
// channel, keeps their history in memory and delivers them to the handler
// given to [Broker.Run]. It is safe for concurrent use; ctx arguments are
// accepted for the interface but unused, since nothing here blocks.
//
// Handler contract: HandlePublication, HandleJoin and HandleLeave are called
// synchronously on the publishing goroutine while the channel's stripe lock
// is held (a stripe is shared by many channels). They must be cheap and must
// not block: append references to connection queues and return. They must
// not call the Broker, or they may deadlock. HandleControl is called under a
// separate lock with the same rules. The *protocol.Publication handed over is
// shared with history and with every reader: nobody may modify it.
type Broker struct {
	clock   clock
	every   time.Duration
	seed    maphash.Seed
	janitor *janitor

	// handler is set once by Run. It is atomic so that a publish racing
	// with Run fails cleanly instead of reading a half-set interface.
	handler atomic.Pointer[handlerRef]
	closed  atomic.Bool

	// controlMu serialises control messages, which belong to no channel.
	controlMu sync.Mutex

	stripes [numStripes]brokerStripe
}

// brokerStripe holds the channels that hash to it.
type brokerStripe struct {
	// mu guards streams and idem, and is held across handler calls.
	mu      sync.Mutex
	streams map[string]*stream
	idem    map[idemKey]idemResult

	// Keep neighbouring stripes' mutexes off one cache line.
	_ [64]byte
}

// handlerRef boxes the handler interface for atomic.Pointer.
type handlerRef struct {
	h engine.EventHandler
}

// idemKey scopes an idempotency key to its channel.
type idemKey struct {
	ch, key string
}

// idemResult is the first result for an idempotency key and its expiry.
type idemResult struct {
	res      engine.PublishResult
	expireAt int64
}

var (
	_ engine.Broker       = (*Broker)(nil)
	_ engine.HistoryStore = (*Broker)(nil)
)

// NewBroker returns a Broker; call [Broker.Run] before using it.
func NewBroker(c Config) *Broker {
	c = c.withDefaults()
	b := &Broker{
		clock:   newClock(c.Now),
		every:   c.CleanupInterval,
		seed:    maphash.MakeSeed(),
		janitor: newJanitor(),
	}
	for i := range b.stripes {
		b.stripes[i].streams = make(map[string]*stream)
	}
	return b
}

// Run stores h and starts the janitor goroutine, which stops when ctx is done
// or on [Broker.Close]. It returns at once.
func (b *Broker) Run(ctx context.Context, h engine.EventHandler) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if !b.handler.CompareAndSwap(nil, &handlerRef{h}) {
		return ErrAlreadyRunning
	}
	b.janitor.start(ctx, b.every, b.sweep)
	return nil
}

// Close stops the janitor and waits for it. Later calls fail with ErrClosed;
// Close itself may be called more than once.
func (b *Broker) Close(context.Context) error {
	b.closed.Store(true)
	b.janitor.stopAndWait()
	return nil
}

// Subscribe does nothing: on a single node every publication already reaches
// the handler.
func (b *Broker) Subscribe(context.Context, string) error { return nil }

// Unsubscribe does nothing, as [Broker.Subscribe].
func (b *Broker) Unsubscribe(context.Context, string) error { return nil }

// deliverer returns the handler, or why it may not be called.
func (b *Broker) deliverer() (engine.EventHandler, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	r := b.handler.Load()
	if r == nil {
		return nil, ErrNotRunning
	}
	return r.h, nil
}

func (b *Broker) stripe(ch string) *brokerStripe {
	return &b.stripes[stripeOf(b.seed, ch)]
}

// Publish stores pub in ch's history when opts enables it, assigning
// pub.Offset, and hands it to the handler before returning. Without history
// the offset is 0 and the result's position is empty. A repeated
// opts.IdempotencyKey returns the first result with Suppressed set and
// delivers nothing.
func (b *Broker) Publish(_ context.Context, ch string, pub *protocol.Publication,
	opts engine.PublishOptions) (engine.PublishResult, error) {
	h, err := b.deliverer()
	if err != nil {
		return engine.PublishResult{}, err
	}
	return b.store(ch, pub, opts, func(res engine.PublishResult) error {
		h.HandlePublication(ch, pub, res.Position, opts.Delta)
		return nil
	})
}

// AddHistory implements [engine.HistoryStore]: send is called under the
// channel's stripe lock, like the handler in Publish, so it must not block
// for long. The broker needs no Run for it; [Broker.RunStore] starts the
// sweeps that free expired streams.
func (b *Broker) AddHistory(_ context.Context, ch string, pub *protocol.Publication,
	opts engine.PublishOptions, send func(engine.PublishResult) error) (
	engine.PublishResult, error) {
	if b.closed.Load() {
		return engine.PublishResult{}, ErrClosed
	}
	return b.store(ch, pub, opts, send)
}

// RunStore starts the janitor of a broker used only as an
// [engine.HistoryStore]; it stops when ctx is done or on Close.
func (b *Broker) RunStore(ctx context.Context) {
	b.janitor.start(ctx, b.every, b.sweep)
}

// store appends pub to ch's history as opts say and hands the result to
// deliver, under the channel's lock.
func (b *Broker) store(ch string, pub *protocol.Publication, opts engine.PublishOptions,
	deliver func(engine.PublishResult) error) (engine.PublishResult, error) {
	withHistory := opts.HistorySize > 0 && opts.HistoryTTL > 0
	var now int64
	if withHistory || opts.IdempotencyKey != "" {
		// Read outside the lock, and only when needed: the clock is a
		// measurable share of a plain publish. A publisher that read it
		// earlier may still append later; push keeps expiry monotonic.
		now = b.clock.nanos()
	}
	st := b.stripe(ch)
	st.mu.Lock()
	defer st.mu.Unlock()

	if opts.IdempotencyKey != "" {
		if res, ok := st.suppressedLocked(ch, opts.IdempotencyKey, now); ok {
			return res, nil
		}
	}

	var res engine.PublishResult
	if withHistory {
		res.Position = st.appendLocked(ch, pub, opts, now)
	} else {
		pub.Offset = 0
	}
	// Delivering under the lock is the ordering guarantee: the next
	// publication in ch cannot get an offset before this one is handed over.
	err := deliver(res)

	// Remembered even when delivery failed: the publication is in history,
	// and a retry with the key must not store it twice.
	if opts.IdempotencyKey != "" {
		st.rememberLocked(ch, opts, res, now)
	}
	return res, err
}

// appendLocked stores pub in ch's stream and returns its new position.
func (st *brokerStripe) appendLocked(ch string, pub *protocol.Publication,
	opts engine.PublishOptions, now int64) protocol.StreamPosition {
	s := st.streamLocked(ch, now)
	if s == nil {
		s = st.createLocked(ch)
	}
	s.publishedMeta(now, opts.HistoryMetaTTL)
	s.top++
	pub.Offset = s.top
	s.push(pub, deadline(now, opts.HistoryTTL), opts.HistorySize)
	return s.position()
}

// suppressedLocked returns the first result for an idempotency key still
// remembered at now, marked as suppressed.
func (st *brokerStripe) suppressedLocked(ch, key string, now int64) (
	engine.PublishResult, bool) {
	r, ok := st.idem[idemKey{ch, key}]
	if !ok || now >= r.expireAt {
		return engine.PublishResult{}, false
	}
	r.res.Suppressed = true
	return r.res, true
}

// rememberLocked records the first result for an idempotency key.
func (st *brokerStripe) rememberLocked(ch string, opts engine.PublishOptions,
	res engine.PublishResult, now int64) {
	ttl := opts.IdempotentResultTTL
	if ttl <= 0 {
		ttl = defaultIdempotentTTL
	}
	if st.idem == nil {
		st.idem = make(map[idemKey]idemResult)
	}
	st.idem[idemKey{ch, opts.IdempotencyKey}] = idemResult{res, deadline(now, ttl)}
}

// streamLocked returns ch's stream with expired entries trimmed, or nil. A
// stream whose metadata expired is forgotten here, so that it is recreated
// with a new epoch even if the janitor has not run yet.
func (st *brokerStripe) streamLocked(ch string, now int64) *stream {
	s := st.streams[ch]
	if s == nil {
		return nil
	}
	if s.metaExpired(now) {
		delete(st.streams, ch)
		return nil
	}
	s.trim(now)
	return s
}

// createLocked adds an empty stream for ch with a fresh epoch.
func (st *brokerStripe) createLocked(ch string) *stream {
	s := newStream()
	st.streams[ch] = s
	return s
}

// PublishJoin hands a join event to the handler, in order with ch's
// publications.
func (b *Broker) PublishJoin(_ context.Context, ch string,
	info *protocol.ClientInfo) error {
	h, err := b.deliverer()
	if err != nil {
		return err
	}
	st := b.stripe(ch)
	st.mu.Lock()
	defer st.mu.Unlock()
	h.HandleJoin(ch, info)
	return nil
}

// PublishLeave hands a leave event to the handler, in order with ch's
// publications.
func (b *Broker) PublishLeave(_ context.Context, ch string,
	info *protocol.ClientInfo) error {
	h, err := b.deliverer()
	if err != nil {
		return err
	}
	st := b.stripe(ch)
	st.mu.Lock()
	defer st.mu.Unlock()
	h.HandleLeave(ch, info)
	return nil
}

// PublishControl hands data to the handler: this node is the whole cluster.
func (b *Broker) PublishControl(_ context.Context, data []byte) error {
	h, err := b.deliverer()
	if err != nil {
		return err
	}
	b.controlMu.Lock()
	defer b.controlMu.Unlock()
	h.HandleControl(data)
	return nil
}

// History returns a page of ch's stream and its current position. It creates
// the stream's metadata if missing (kept for opts.MetaTTL, or forever when
// 0), so that the epoch it reports is the one the next publication will
// carry. See [engine.HistoryOptions]; in addition:
//
//   - Since is checked even when Limit is 0, so a caller can validate a
//     position without reading publications.
//   - A Since offset beyond the top is unrecoverable.
//   - Reverse with Since returns the newest publications after Since, newest
//     first; with a limit, forward reads return the oldest ones.
//
// On ErrUnrecoverablePosition the current position is still returned. The
// slice is the caller's; the publications in it are shared and immutable.
func (b *Broker) History(_ context.Context, ch string, opts engine.HistoryOptions) (
	[]*protocol.Publication, protocol.StreamPosition, error) {
	if b.closed.Load() {
		return nil, protocol.StreamPosition{}, ErrClosed
	}
	now := b.clock.nanos()
	st := b.stripe(ch)
	st.mu.Lock()
	defer st.mu.Unlock()

	s := st.streamLocked(ch, now)
	if s == nil {
		s = st.createLocked(ch)
		s.publishedMeta(now, opts.MetaTTL)
	} else {
		s.readMeta(now, opts.MetaTTL)
	}
	pos := s.position()

	if opts.Since != nil && opts.Reverse {
		// A reverse read with a position pages backwards: the publications
		// before that position, newest first, as Centrifuge clients expect
		// when they walk history page by page.
		if opts.Since.Epoch != "" && opts.Since.Epoch != s.epoch {
			return nil, pos, engine.ErrUnrecoverablePosition
		}
		return s.collectBefore(opts.Since.Offset, opts.Limit), pos, nil
	}
	after := s.gone()
	if opts.Since != nil {
		if !s.recoverable(*opts.Since) {
			return nil, pos, engine.ErrUnrecoverablePosition
		}
		after = opts.Since.Offset
	}
	if opts.Limit == 0 {
		return nil, pos, nil
	}
	return s.collect(after, opts.Limit, opts.Reverse), pos, nil
}

// RemoveHistory drops ch's stored publications and keeps its position, so
// positioned subscribers see no spurious epoch change.
func (b *Broker) RemoveHistory(_ context.Context, ch string) error {
	if b.closed.Load() {
		return ErrClosed
	}
	st := b.stripe(ch)
	st.mu.Lock()
	defer st.mu.Unlock()
	if s := st.streamLocked(ch, b.clock.nanos()); s != nil {
		s.clear()
	}
	return nil
}

// sweep frees expired streams, publications and idempotency results. It
// takes one stripe lock at a time so publishers wait at most one stripe scan.
func (b *Broker) sweep() {
	for i := range b.stripes {
		st := &b.stripes[i]
		st.mu.Lock()
		st.sweepLocked(b.clock.nanos())
		st.mu.Unlock()
	}
}

func (st *brokerStripe) sweepLocked(now int64) {
	for ch, s := range st.streams {
		if s.metaExpired(now) {
			delete(st.streams, ch)
			continue
		}
		s.trim(now)
	}
	for k, r := range st.idem {
		if now >= r.expireAt {
			delete(st.idem, k)
		}
	}
}
