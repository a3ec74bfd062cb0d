// Package session implements one client connection's protocol state machine:
// connect, subscriptions, publish, presence, history, refresh, ping and pong.
//
// A Session does not own a goroutine. The transport's reader calls
// [Session.HandleFrame] for every frame, the [Manager]'s timing wheel calls it
// for pings and expiry, and the outbound queue starts a short-lived writer
// only while there is something to write.
package session

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/heraldhq/herald/internal/channel"
	"github.com/heraldhq/herald/internal/hub"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/outbound"
	"github.com/heraldhq/herald/internal/protocol"
)

// Wire variants served by the hub, indexed by [Session] variant.
const (
	variantJSON uint8 = iota
	variantProtobuf
	variantLegacyJSON
	variantLegacyProtobuf
	variantCount
)

var codecs = [variantCount]protocol.Codec{
	protocol.JSON, protocol.Protobuf, protocol.LegacyJSON, protocol.LegacyProtobuf,
}

// Encoders returns the hub encoders for every wire variant sessions use, in
// variant order.
func Encoders() []hub.Encoder {
	out := make([]hub.Encoder, len(codecs))
	for i, c := range codecs {
		out[i] = c
	}
	return out
}

// Transport is the connection a session writes to.
type Transport interface {
	// WriteBatch writes queued messages as one frame.
	WriteBatch(items [][]byte) error
	// Close ends the connection with d's close code and reason, after the
	// last WriteBatch returned.
	Close(d *protocol.Disconnect)
	// Name names the transport in logs and metrics ("websocket").
	Name() string
}

// nativePinger is a transport that can send a ping of its own framing, such
// as a WebSocket ping frame. NativePing reports false when it skipped the
// ping, so that no answer is awaited for it.
type nativePinger interface {
	NativePing() bool
}

type state int32

const (
	stateConnecting state = iota
	stateConnected
	stateFailed
	stateClosed
)

// Session is one client connection.
type Session struct {
	m  *Manager
	id string
	t  Transport
	// codec and variant are fixed by the first frame, before the session
	// is registered anywhere other goroutines could reach it.
	codec   protocol.Codec
	variant uint8
	version protocol.Version
	// legacy is set for protocol v1 clients (centrifuge-js 2.x).
	legacy  atomic.Bool
	q       *outbound.Queue
	created time.Time
	log     *slog.Logger
	slot    int
	// framePing selects transport ping frames instead of protocol pings;
	// fixed before the first frame, like codec.
	framePing bool
	// mode and key are fixed before the first frame too; key is the
	// session key of an emulated or unidirectional session.
	mode mode
	key  string
	// frameMu serialises HandleFrame: an emulated session's commands come
	// in separate requests that may overlap.
	frameMu sync.Mutex
	// commands limits the session's command rate, nil without a limit; it
	// and refused, the refusals in a row, are used under frameMu.
	commands *rate.Limiter
	refused  int

	// tm counts the session's frames under its transport's name.
	tm metrics.Transport
	// name is the SDK name from the connect command, set before the
	// session registers; conn is its place in the connection gauge,
	// guarded by the manager's mu.
	name string
	conn metrics.Connection

	state atomic.Int32

	// headers are the captured connection request headers; immutable.
	headers http.Header

	// ctx is cancelled once the connection closes, so that backend calls
	// made for it stop early. A cancelCtx costs no goroutine.
	ctx    context.Context
	cancel context.CancelFunc

	// mu guards the fields below.
	mu       sync.Mutex
	user     string
	info     []byte
	meta     []byte
	emulated map[string]string
	expireAt int64
	subs     map[string]*subscription

	// refreshing is set while a backend refresh of the connection is in
	// flight, subRefreshing while one of its subscriptions' is, so the
	// wheel does not start another of the same kind. The two are apart:
	// one must not starve the other when both fall due together.
	refreshing    atomic.Bool
	subRefreshing atomic.Bool

	// pingAt is the UnixNano time of the last ping not answered yet.
	pingAt atomic.Int64

	closeOnce   sync.Once
	closeReason atomic.Pointer[protocol.Disconnect]
	finishOnce  sync.Once
}

type subscription struct {
	sub        *hub.Sub
	opts       *channel.Options
	serverSide bool
	presence   bool
	joinLeave  bool
	chanInfo   []byte
	expireAt   int64
}

// New creates a session for a freshly accepted transport. Binary selects the
// Protobuf codec.
// Headers are the connection request's headers that proxies may forward.
func (m *Manager) New(t Transport, binary bool, headers http.Header) *Session {
	s := &Session{
		m:       m,
		id:      uuid.NewString(),
		t:       t,
		headers: headers,
		codec:   protocol.JSON,
		variant: variantJSON,
		created: time.Now(),
		slot:    -1,
		subs:    make(map[string]*subscription),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if binary {
		s.codec, s.variant = protocol.Protobuf, variantProtobuf
	}
	s.log = m.log.With("client", s.id, "transport", t.Name())
	s.tm = m.cfg.Metrics.Transport(t.Name())
	s.q = outbound.New(t, outbound.Config{
		MaxBytes: m.cfg.QueueMaxSize,
		OnOverflow: func() {
			// Called on a broadcasting goroutine that holds engine and hub
			// locks, so the teardown must happen elsewhere.
			go s.abort(protocol.DisconnectSlow)
		},
		OnWriteError: func(error) { go s.abort(protocol.DisconnectWriteError) },
		// The writer reaches this once everything queued before Close has
		// been written, so replies sent just before a disconnect arrive.
		OnClose: func() {
			s.t.Close(s.closeFor(s.closeReason.Load()))
			s.finish()
		},
	})
	m.addPending(s)
	m.live.Add(1)
	return s
}

// ID returns the client ID.
func (s *Session) ID() string { return s.id }

// User returns the authenticated user ID ("" for anonymous).
func (s *Session) User() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.user
}

// Enqueue implements [hub.Conn].
func (s *Session) Enqueue(b []byte) { s.q.Push(b) }

// InsufficientState implements [hub.Conn]. It runs on a broadcasting
// goroutine, so the recovery advice is sent from a new one.
func (s *Session) InsufficientState(ch string) {
	go s.onInsufficientState(ch)
}

// InappropriateData implements [hub.Conn]: a JSON client cannot receive the
// binary data published into ch, so it is disconnected.
func (s *Session) InappropriateData(string) {
	go s.Disconnect(protocol.DisconnectInappropriateProto)
}

func (s *Session) onInsufficientState(ch string) {
	s.mu.Lock()
	sub := s.subs[ch]
	s.mu.Unlock()
	if sub == nil {
		return
	}
	// Protocol v1 has no way to make a client resubscribe one channel.
	if sub.serverSide || s.legacy.Load() {
		s.Disconnect(protocol.DisconnectInsufficientState)
		return
	}
	s.unsubscribe(ch, sub)
	s.push(&protocol.Push{Channel: ch, Unsubscribe: &protocol.Unsubscribe{
		Code:   protocol.UnsubscribeCodeInsufficientState,
		Reason: "insufficient state",
	}})
}

// errStop ends the processing of a frame without closing the connection.
var errStop = errors.New("session: stop processing")

// HandleFrame decodes and runs the commands of one transport frame in order.
// It reports false when the transport should stop reading.
func (s *Session) HandleFrame(frame []byte) bool {
	s.frameMu.Lock()
	defer s.frameMu.Unlock()
	switch state(s.state.Load()) {
	case stateClosed:
		return false
	case stateFailed:
		// A failed connect leaves the connection unusable; the client is
		// expected to close it, and the stale check closes it otherwise.
		return true
	}

	if s.version == protocol.VersionUnknown {
		if err := s.detectVersion(frame); err != nil {
			s.Disconnect(protocol.DisconnectBadRequest)
			return false
		}
	}
	err := s.codec.DecodeFrame(frame, s.handleCommand)
	if err == nil || errors.Is(err, errStop) {
		return true
	}
	var d *protocol.Disconnect
	if !errors.As(err, &d) {
		if s.log.Enabled(context.Background(), slog.LevelInfo) {
			s.log.Info("malformed frame from client", "error", err)
		}
		d = protocol.DisconnectBadRequest
	}
	s.Disconnect(d)
	return false
}

// ForceVersion fixes the client protocol version before the first frame, for
// transports that are told it (the cf_protocol_version query parameter).
func (s *Session) ForceVersion(v protocol.Version) {
	s.setVersion(v)
}

// detectVersion picks protocol v1 or v2 from the connection's first command;
// both are served on the same endpoint without configuration.
func (s *Session) detectVersion(frame []byte) error {
	v, err := protocol.DetectVersion(frame, s.codec.Binary())
	if err != nil {
		return err
	}
	s.setVersion(v)
	return nil
}

func (s *Session) setVersion(v protocol.Version) {
	s.version = v
	if v != protocol.Version1 {
		return
	}
	s.legacy.Store(true)
	if s.codec.Binary() {
		s.codec, s.variant = protocol.LegacyProtobuf, variantLegacyProtobuf
	} else {
		s.codec, s.variant = protocol.LegacyJSON, variantLegacyJSON
	}
}

// closeFor adapts a disconnect to the client's protocol. Every disconnect
// passes here on its way to the transport, so a backend's disconnect is
// mapped once for all proxies: v1 clients read their reconnect advice from
// a JSON close reason, v2 clients from the close code alone, which for a
// backend code below 3000 would mean a reconnect (protocol.CloseV2).
func (s *Session) closeFor(d *protocol.Disconnect) *protocol.Disconnect {
	if d == nil {
		return nil
	}
	if !s.legacy.Load() {
		return protocol.CloseV2(d)
	}
	c := *d
	c.Reason = protocol.LegacyCloseReason(d)
	return &c
}

// TransportClosed is called by the transport once its connection is gone.
func (s *Session) TransportClosed() {
	s.teardown()
	s.finish()
}

// Disconnect closes the session: pending replies are written first, then the
// transport is closed with d's code.
func (s *Session) Disconnect(d *protocol.Disconnect) {
	s.closeOnce.Do(func() {
		s.countDisconnect(d)
		s.logDisconnect(d)
		s.teardown()
		s.closeReason.Store(d)
		s.q.Close()
	})
}

// abort closes the session without writing what is queued: the client is
// too slow or its connection failed.
func (s *Session) abort(d *protocol.Disconnect) {
	s.closeOnce.Do(func() {
		s.countDisconnect(d)
		s.logDisconnect(d)
		s.q.Abort()
		s.teardown()
		s.t.Close(s.closeFor(d))
		s.finish()
	})
}

// finish marks the connection as gone for the manager's drain.
func (s *Session) finish() {
	s.finishOnce.Do(func() { s.m.live.Add(-1) })
}

// countDisconnect counts a disconnect by the server, unless the client
// had left already: closing what is gone disconnects nobody.
func (s *Session) countDisconnect(d *protocol.Disconnect) {
	if state(s.state.Load()) != stateClosed {
		s.m.cfg.Metrics.ServerDisconnect(d.Code)
	}
}

func (s *Session) logDisconnect(d *protocol.Disconnect) {
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("disconnecting client", "code", d.Code, "reason", d.Reason,
			"user", s.User())
	}
}

// teardown removes the session from the node: subscriptions, presence,
// leave events, registration. It is idempotent.
func (s *Session) teardown() {
	prev := state(s.state.Swap(int32(stateClosed)))
	if prev == stateClosed {
		return
	}
	s.cancel()
	s.mu.Lock()
	subs := s.subs
	s.subs = make(map[string]*subscription)
	s.mu.Unlock()

	for ch, sub := range subs {
		s.leaveChannel(ch, sub)
	}
	s.m.unregister(s)
}

func (s *Session) leaveChannel(ch string, sub *subscription) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	n := s.m.cfg.Node
	n.RemoveSub(ctx, sub.sub)
	if sub.presence {
		if err := n.PresenceManager().RemovePresence(ctx, ch, s.id, s.user); err != nil {
			s.log.Warn("presence remove failed", "channel", ch, "error", err)
		}
	}
	if sub.joinLeave {
		info := s.clientInfo(sub)
		if err := n.PublishLeave(ctx, ch, info); err != nil {
			s.log.Warn("leave publish failed", "channel", ch, "error", err)
		}
	}
}

func (s *Session) clientInfo(sub *subscription) *protocol.ClientInfo {
	info := &protocol.ClientInfo{User: s.user, Client: s.id, ConnInfo: s.info}
	if sub != nil {
		info.ChanInfo = sub.chanInfo
	}
	return info
}

func (s *Session) reply(r *protocol.Reply) {
	s.replyAs(replyFrame(r), r)
}

// replyAs queues r, counted as a frame of kind f: an error reply counts as
// a reply to its command.
func (s *Session) replyAs(f metrics.Frame, r *protocol.Reply) {
	if s.mode == modeUni && r.Connect != nil {
		// A unidirectional client reads no replies: its connect result
		// is the stream's first push.
		r = &protocol.Reply{Push: connectPush(r.Connect)}
		f = metrics.FramePushConnect
	}
	s.tm.Sent(f)
	s.q.Push(s.codec.AppendReply(nil, r))
}

func (s *Session) push(p *protocol.Push) {
	s.tm.Sent(pushFrame(p))
	s.q.Push(s.codec.AppendReply(nil, &protocol.Reply{Push: p}))
}

// onWheel runs once per wheel period: ping, presence refresh, expiry.
func (s *Session) onWheel(now time.Time) {
	if state(s.state.Load()) != stateConnected {
		return
	}
	s.mu.Lock()
	expireAt := s.expireAt
	var presence, expired, due []string
	subGrace := s.m.cfg.ExpiredSubCloseDelay
	for ch, sub := range s.subs {
		if sub.presence {
			presence = append(presence, ch)
		}
		switch {
		case sub.expireAt <= 0 || now.Unix() < sub.expireAt:
		case s.subRefreshProxy(sub) != nil:
			due = append(due, ch)
		case now.After(time.Unix(sub.expireAt, 0).Add(subGrace)):
			expired = append(expired, ch)
		}
	}
	s.mu.Unlock()

	if expireAt > 0 && now.Unix() >= expireAt {
		if s.m.cfg.Proxies.Refresh != nil {
			s.inBackground(&s.refreshing, s.proxyRefresh)
		} else if now.After(time.Unix(expireAt, 0).Add(s.m.cfg.ExpiredCloseDelay)) {
			s.Disconnect(protocol.DisconnectExpired)
			return
		}
	}
	for _, ch := range expired {
		if !s.expireSubscription(ch) {
			return
		}
	}
	if len(due) > 0 {
		s.inBackground(&s.subRefreshing, func() { s.proxySubRefresh(due) })
	}
	switch {
	case s.m.cfg.PingInterval <= 0:
	case s.framePing:
		s.framePingNow(now)
	case s.legacy.Load():
		// Protocol v1 has no server ping message; its clients answer
		// WebSocket ping frames instead.
		if p, ok := s.t.(nativePinger); ok {
			p.NativePing()
		}
	default:
		// A unidirectional client only hears the ping as a keepalive.
		if s.mode != modeUni {
			s.pingAt.CompareAndSwap(0, now.UnixNano())
		}
		s.tm.Sent(metrics.FrameServerPing)
		s.q.Push(s.m.pingBytes[s.variant])
	}
	s.refreshPresence(presence)
}

// expireSubscription ends a subscription whose token expired without a
// sub_refresh. It reports false when the whole connection was closed.
func (s *Session) expireSubscription(ch string) bool {
	s.mu.Lock()
	sub := s.subs[ch]
	s.mu.Unlock()
	if sub == nil {
		return true
	}
	if sub.serverSide {
		s.Disconnect(protocol.DisconnectSubExpired)
		return false
	}
	s.unsubscribe(ch, sub)
	s.push(&protocol.Push{Channel: ch, Unsubscribe: &protocol.Unsubscribe{
		Code: protocol.UnsubscribeCodeExpired, Reason: "subscription expired",
	}})
	return true
}

func (s *Session) refreshPresence(channels []string) {
	if len(channels) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pm := s.m.cfg.Node.PresenceManager()
	for _, ch := range channels {
		s.mu.Lock()
		sub := s.subs[ch]
		s.mu.Unlock()
		if sub == nil {
			continue
		}
		if err := pm.AddPresence(ctx, ch, s.id, s.clientInfo(sub)); err != nil {
			s.log.Warn("presence refresh failed", "channel", ch, "error", err)
		}
	}
}

// UseFramePing makes the session keep the connection alive with the
// transport's own ping frames instead of protocol pings, as a WebSocket
// client asks with cf_ws_frame_ping_pong=true (client-protocol.md §8), so
// that tools that cannot answer {} stay connected. The connect result then
// announces no ping and no pong. A transport without ping frames ignores
// it. Call it before the first frame.
func (s *Session) UseFramePing() {
	if _, ok := s.t.(nativePinger); ok {
		s.framePing = true
	}
}

// Heard records a sign of life from a client in frame ping mode: a pong
// frame or any other frame answers the outstanding ping.
func (s *Session) Heard() {
	if s.framePing && s.pingAt.Load() != 0 {
		s.pingAt.Store(0)
	}
}

// framePingNow sends a transport ping frame that the pong check of the
// wheel then expects an answer to, like a protocol ping.
func (s *Session) framePingNow(now time.Time) {
	at := now.UnixNano()
	armed := s.pingAt.CompareAndSwap(0, at)
	if !s.t.(nativePinger).NativePing() && armed {
		// No frame went out, so no answer can be awaited for it.
		s.pingAt.CompareAndSwap(at, 0)
	}
}

// checkPong disconnects a client that did not answer the last ping within
// the pong timeout.
func (s *Session) checkPong(now time.Time) {
	at := s.pingAt.Load()
	if at == 0 || state(s.state.Load()) != stateConnected {
		return
	}
	// The check runs a whole number of ticks after the ping, at least the
	// pong timeout; some slack (half a tick, or half a short timeout) keeps
	// a ticker that fired late for the ping from pushing the close to the
	// next round.
	timeout := s.m.cfg.PongTimeout
	if now.Sub(time.Unix(0, at)) >= timeout-min(timeout/2, time.Second/2) {
		s.Disconnect(protocol.DisconnectNoPong)
	}
}
