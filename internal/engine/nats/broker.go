// Package nats is the NATS [engine.Broker]: nodes exchange publications,
// join and leave events and control messages over NATS core subjects, and
// channel history lives in an [engine.HistoryStore] beside it (the memory
// engine on a single node, Redis for several).
package nats

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/engine/wire"
	"github.com/heraldhq/herald/internal/protocol"
)

// Errors returned by the NATS broker.
var (
	// ErrNotRunning is returned by calls that need [Broker.Run] first.
	ErrNotRunning = errors.New("nats: broker not running")
	// ErrAlreadyRunning is returned by a second [Broker.Run].
	ErrAlreadyRunning = errors.New("nats: broker already running")
	// ErrClosed is returned by calls made after [Broker.Close].
	ErrClosed = errors.New("nats: broker closed")
	// ErrDisconnected is returned by publishing while the connection to
	// NATS is down: NATS core would drop the message, so nothing is sent.
	ErrDisconnected = errors.New("nats: not connected")
)

const (
	defaultPrefix      = "herald"
	defaultDialTimeout = time.Second
	// inboxSize is the buffer shared by every channel subscription. NATS
	// drops messages for a consumer whose buffer is full; a drop is a gap
	// that positioned subscribers recover from, and is logged.
	inboxSize = 1 << 16
)

// Config configures a [Broker].
type Config struct {
	// URL lists the NATS servers, comma-separated (nats://host:port).
	URL string
	// Prefix starts every subject (default "herald").
	Prefix string
	// DialTimeout bounds connecting to a server (default 1 s).
	DialTimeout time.Duration
	// WriteTimeout bounds flushing to NATS (nats.go's default when 0).
	WriteTimeout time.Duration
	// Name is the connection name the NATS server shows.
	Name string
	// History keeps channel streams; nil means publications carry no
	// history and history reads fail.
	History engine.HistoryStore
	// Logger receives connection state changes; nil means slog.Default.
	Logger *slog.Logger
	// Options are applied last, for TLS and credentials.
	Options []nats.Option
}

// Broker is the NATS [engine.Broker]. Subjects, under a prefix p:
//
//	p.ch.<token>   a channel's publications, joins and leaves, in order
//	p.control      node control messages
//
// A channel name becomes one subject token: as it is when it holds only
// letters, digits and "_-:=@", otherwise "~" and its unpadded base64url
// form, so that dots, wildcards and spaces cannot change the subject.
// Messages use the format of package wire.
//
// Every channel subscription delivers into one buffered Go channel read by
// one goroutine: there is no goroutine per channel, and NATS keeps the
// order of one subject, so of one channel.
type Broker struct {
	cfg     Config
	log     *slog.Logger
	control string

	nc      atomic.Pointer[nats.Conn]
	handler engine.EventHandler
	started atomic.Bool
	closed  atomic.Bool
	inbox   chan *nats.Msg

	// mu guards subs.
	mu   sync.Mutex
	subs map[string]*nats.Subscription

	// lost is set from the first connection loss, the one logged at warn,
	// until the connection is back.
	lost atomic.Bool

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ engine.Broker = (*Broker)(nil)

// New returns a Broker; call [Broker.Run] before using it.
func New(cfg Config) *Broker {
	if cfg.Prefix == "" {
		cfg.Prefix = defaultPrefix
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = defaultDialTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Broker{
		cfg:     cfg,
		log:     log.With("component", "nats_broker"),
		control: cfg.Prefix + ".control",
		subs:    make(map[string]*nats.Subscription),
	}
}

// storeRunner is implemented by a history store that needs starting, the
// memory one.
type storeRunner interface {
	RunStore(ctx context.Context)
}

// Run connects to NATS, subscribes to the control subject and starts
// delivering to h. It fails when NATS cannot be reached; later losses are
// retried forever in the background, and the subscriptions come back with
// the connection.
func (b *Broker) Run(ctx context.Context, h engine.EventHandler) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if b.started.Swap(true) {
		return ErrAlreadyRunning
	}
	b.handler = h
	b.inbox = make(chan *nats.Msg, inboxSize)

	opts := []nats.Option{
		nats.Name(b.cfg.Name),
		nats.Timeout(b.cfg.DialTimeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		// No buffering while disconnected: a publish then fails at once
		// instead of being sent later, or never, after it was reported
		// done.
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(b.onDisconnect),
		nats.ReconnectHandler(b.onReconnect),
		nats.ErrorHandler(b.onAsyncError),
	}
	if b.cfg.WriteTimeout > 0 {
		opts = append(opts, nats.FlusherTimeout(b.cfg.WriteTimeout))
	}
	opts = append(opts, b.cfg.Options...)
	nc, err := nats.Connect(b.cfg.URL, opts...)
	if err != nil {
		return fmt.Errorf("nats: connect %s: %w", b.cfg.URL, err)
	}
	if _, err := nc.ChanSubscribe(b.control, b.inbox); err != nil {
		nc.Close()
		return fmt.Errorf("nats: subscribe control: %w", err)
	}
	if err := nc.FlushTimeout(b.flushTimeout()); err != nil {
		nc.Close()
		return fmt.Errorf("nats: subscribe control: %w", err)
	}
	b.nc.Store(nc)

	if r, ok := b.cfg.History.(storeRunner); ok {
		r.RunStore(ctx)
	}
	runCtx, cancel := context.WithCancel(ctx)
	b.cancel = cancel
	b.wg.Go(func() { b.deliverLoop(runCtx) })
	return nil
}

// Close drains nothing: it closes the connection and stops delivery.
func (b *Broker) Close(context.Context) error {
	if b.closed.Swap(true) {
		return nil
	}
	if nc := b.nc.Load(); nc != nil {
		nc.Close()
	}
	if b.cancel != nil {
		b.cancel()
	}
	b.wg.Wait()
	if c, ok := b.cfg.History.(interface{ Close(context.Context) error }); ok {
		return c.Close(context.Background())
	}
	return nil
}

// conn returns the connection, or why it may not be used.
func (b *Broker) conn() (*nats.Conn, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	nc := b.nc.Load()
	if nc == nil {
		return nil, ErrNotRunning
	}
	return nc, nil
}

func (b *Broker) onDisconnect(_ *nats.Conn, err error) {
	if b.closed.Load() || b.lost.Swap(true) {
		return
	}
	b.log.Warn("nats connection lost, reconnecting", "error", err)
}

// onReconnect runs once NATS is back and the subscriptions are restored:
// whatever was published meanwhile did not reach this node.
func (b *Broker) onReconnect(nc *nats.Conn) {
	b.lost.Store(false)
	b.log.Info("nats connection restored", "server", nc.ConnectedUrlRedacted())
	b.mu.Lock()
	chs := make([]string, 0, len(b.subs))
	for ch := range b.subs {
		chs = append(chs, ch)
	}
	b.mu.Unlock()
	if len(chs) > 0 {
		b.handler.HandleDeliveryGap(chs)
	}
}

func (b *Broker) onAsyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	if errors.Is(err, nats.ErrSlowConsumer) {
		// Counted by the client; the hub and the position checks turn
		// the gap into recoveries.
		b.log.Warn("nats deliveries dropped: this node reads too slowly",
			"subject", subjectOf(sub), "error", err)
		return
	}
	b.log.Warn("nats error", "subject", subjectOf(sub), "error", err)
}

func subjectOf(sub *nats.Subscription) string {
	if sub == nil {
		return ""
	}
	return sub.Subject
}

// deliverLoop hands messages to the handler in arrival order.
func (b *Broker) deliverLoop(ctx context.Context) {
	chPrefix := b.cfg.Prefix + ".ch."
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-b.inbox:
			if err := b.deliver(m, chPrefix); err != nil {
				b.log.Warn("dropping malformed nats message", "subject", m.Subject,
					"error", err)
			}
		}
	}
}

func (b *Broker) deliver(m *nats.Msg, chPrefix string) error {
	if len(m.Data) == 0 {
		return wire.ErrMalformed
	}
	if m.Subject == b.control {
		if m.Data[0] == wire.KindControl {
			b.handler.HandleControl(m.Data[1:])
		}
		return nil
	}
	if len(m.Subject) <= len(chPrefix) || m.Subject[:len(chPrefix)] != chPrefix {
		return wire.ErrMalformed
	}
	ch, err := channelOf(m.Subject[len(chPrefix):])
	if err != nil {
		return err
	}
	return wire.Deliver(b.handler, ch, string(m.Data))
}

// Subscribe subscribes this node to ch and returns once NATS confirmed it,
// so that publications made afterwards reach the handler.
func (b *Broker) Subscribe(_ context.Context, ch string) error {
	nc, err := b.conn()
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[ch]; ok {
		return nil
	}
	sub, err := nc.ChanSubscribe(b.subject(ch), b.inbox)
	if err != nil {
		return fmt.Errorf("nats: subscribe %s: %w", ch, err)
	}
	// The round trip makes the subscription known to the server before
	// Subscribe returns.
	if err := nc.FlushTimeout(b.flushTimeout()); err != nil {
		_ = sub.Unsubscribe()
		return fmt.Errorf("nats: subscribe %s: %w", ch, err)
	}
	b.subs[ch] = sub
	return nil
}

// Unsubscribe stops delivery of ch to this node.
func (b *Broker) Unsubscribe(_ context.Context, ch string) error {
	if _, err := b.conn(); err != nil {
		return err
	}
	b.mu.Lock()
	sub := b.subs[ch]
	delete(b.subs, ch)
	b.mu.Unlock()
	if sub == nil {
		return nil
	}
	if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("nats: unsubscribe %s: %w", ch, err)
	}
	return nil
}

// Publish stores pub in the history store when opts ask for history or
// idempotency, then sends it to every subscribed node. It fails at once
// while NATS is down.
func (b *Broker) Publish(ctx context.Context, ch string, pub *protocol.Publication,
	opts engine.PublishOptions) (engine.PublishResult, error) {
	nc, err := b.conn()
	if err != nil {
		return engine.PublishResult{}, err
	}
	if !nc.IsConnected() {
		return engine.PublishResult{}, ErrDisconnected
	}
	kind := byte(wire.KindPublication)
	if opts.Delta {
		kind = wire.KindDelta
	}
	withHistory := opts.HistorySize > 0 && opts.HistoryTTL > 0
	if !withHistory && opts.IdempotencyKey == "" {
		pub.Offset = 0
		return engine.PublishResult{}, b.sendPublication(nc, ch, kind, pub,
			engine.PublishResult{})
	}
	if b.cfg.History == nil {
		return engine.PublishResult{}, errNoHistory
	}
	return b.cfg.History.AddHistory(ctx, ch, pub, opts, func(res engine.PublishResult) error {
		return b.sendPublication(nc, ch, kind, pub, res)
	})
}

// sendPublication sends pub at the position of res to the nodes subscribed
// to ch, in one message built in one allocation.
func (b *Broker) sendPublication(nc *nats.Conn, ch string, kind byte,
	pub *protocol.Publication, res engine.PublishResult) error {
	msg := make([]byte, 0, len(pub.Data)+len(res.Position.Epoch)+48)
	msg = append(msg, kind)
	msg = strconv.AppendUint(msg, res.Position.Offset, 10)
	msg = append(msg, ':')
	msg = append(msg, res.Position.Epoch...)
	msg = append(msg, ':')
	msg = wire.AppendPublication(msg, pub)
	if err := b.send(nc, b.subject(ch), msg); err != nil {
		return err
	}
	if res.Position.Offset == 0 {
		return nil
	}
	// A publication with an offset is confirmed before the next one gets
	// its offset: NATS orders what one connection sends, but a later
	// publication of another node could overtake one still in this
	// connection's buffer.
	if err := nc.FlushTimeout(b.flushTimeout()); err != nil {
		return fmt.Errorf("nats: publish: %w", err)
	}
	return nil
}

// flushTimeout bounds a confirmation round trip to NATS.
func (b *Broker) flushTimeout() time.Duration {
	if b.cfg.WriteTimeout > 0 {
		return b.cfg.WriteTimeout
	}
	return b.cfg.DialTimeout + time.Second
}

// errNoHistory is returned for a publication that needs a history store
// when the broker has none.
var errNoHistory = errors.New("nats: no history store for a channel with history")

func (b *Broker) send(nc *nats.Conn, subject string, msg []byte) error {
	if err := nc.Publish(subject, msg); err != nil {
		if errors.Is(err, nats.ErrReconnectBufExceeded) {
			err = ErrDisconnected
		}
		return fmt.Errorf("nats: publish: %w", err)
	}
	return nil
}

// PublishJoin delivers a join event to every node subscribed to ch, in
// order with ch's publications.
func (b *Broker) PublishJoin(_ context.Context, ch string, info *protocol.ClientInfo) error {
	return b.publishInfo(ch, wire.KindJoin, info)
}

// PublishLeave delivers a leave event, as [Broker.PublishJoin].
func (b *Broker) PublishLeave(_ context.Context, ch string, info *protocol.ClientInfo) error {
	return b.publishInfo(ch, wire.KindLeave, info)
}

func (b *Broker) publishInfo(ch string, kind byte, info *protocol.ClientInfo) error {
	nc, err := b.conn()
	if err != nil {
		return err
	}
	msg := append([]byte{kind}, wire.EncodeClientInfo(info)...)
	return b.send(nc, b.subject(ch), msg)
}

// PublishControl sends data to every node, this one included.
func (b *Broker) PublishControl(_ context.Context, data []byte) error {
	nc, err := b.conn()
	if err != nil {
		return err
	}
	msg := append([]byte{wire.KindControl}, data...)
	return b.send(nc, b.control, msg)
}

// History reads ch's stream from the history store.
func (b *Broker) History(ctx context.Context, ch string, opts engine.HistoryOptions) (
	[]*protocol.Publication, protocol.StreamPosition, error) {
	if b.closed.Load() {
		return nil, protocol.StreamPosition{}, ErrClosed
	}
	if b.cfg.History == nil {
		return nil, protocol.StreamPosition{}, errNoHistory
	}
	return b.cfg.History.History(ctx, ch, opts)
}

// RemoveHistory drops ch's stored publications in the history store.
func (b *Broker) RemoveHistory(ctx context.Context, ch string) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if b.cfg.History == nil {
		return errNoHistory
	}
	return b.cfg.History.RemoveHistory(ctx, ch)
}

// subject is the NATS subject of ch.
func (b *Broker) subject(ch string) string {
	return b.cfg.Prefix + ".ch." + channelToken(ch)
}

// channelToken turns a channel name into one subject token.
func channelToken(ch string) string {
	if ch != "" && plainToken(ch) {
		return ch
	}
	return "~" + base64.RawURLEncoding.EncodeToString([]byte(ch))
}

func plainToken(ch string) bool {
	for i := 0; i < len(ch); i++ {
		c := ch[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '_' || c == '-' || c == ':' || c == '=' || c == '@':
		default:
			return false
		}
	}
	return true
}

// channelOf is the inverse of channelToken.
func channelOf(token string) (string, error) {
	if token == "" || token[0] != '~' {
		return token, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token[1:])
	if err != nil {
		return "", wire.ErrMalformed
	}
	return string(b), nil
}
