package session

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/channel"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/node"
	"github.com/heraldhq/herald/internal/protocol"
)

// Config holds the client-facing settings shared by all sessions.
type Config struct {
	Node  *node.Node
	Rules *channel.Rules
	// Verifier checks connection and subscription tokens; nil when no key
	// is configured.
	Verifier *auth.Verifier
	Logger   *slog.Logger

	// Insecure accepts every connection as anonymous and allows every
	// channel operation.
	Insecure bool
	// AllowAnonymous accepts connections without a token as user "".
	AllowAnonymous bool
	// DisallowAnonymousTokens rejects tokens with an empty sub.
	DisallowAnonymousTokens bool

	PingInterval      time.Duration // <= 0 disables app-level pings
	PongTimeout       time.Duration // <= 0 disables pong checks
	StaleCloseDelay   time.Duration
	ExpiredCloseDelay time.Duration
	// ExpiredSubCloseDelay is the grace after a subscription token expires.
	ExpiredSubCloseDelay time.Duration
	PresenceInterval     time.Duration

	ChannelLimit        int
	UserConnectionLimit int
	ConnectionLimit     int
	// ConnectionRateLimit caps the connects this node accepts per second
	// (0: no cap); a connect over it is closed with 3013, so that SDKs
	// back off before they try again.
	ConnectionRateLimit int
	// CommandRateLimit caps the commands per second of one connection (0:
	// no cap). A command over it is answered with error 111; a client
	// that keeps going past a second's worth of refusals is closed with
	// 3013.
	CommandRateLimit  int
	QueueMaxSize      int
	HistoryMaxLimit   int
	RecoveryMaxLimit  int
	IncludeServerTime bool

	PersonalChannel          bool
	PersonalChannelNamespace string
	PersonalSingleConnection bool

	// Proxies are the application backend endpoints sessions call.
	Proxies Proxies
	// Metrics records commands, frames, connections and disconnects; nil
	// records nothing.
	Metrics *metrics.Metrics
}

// Manager owns all sessions of a node: it registers them, enforces
// connection limits, and drives the node-wide timing wheel for pings, pong
// checks, presence refresh, expiry and stale connections.
type Manager struct {
	cfg Config
	log *slog.Logger

	// mu guards sessions, users and keys.
	mu       sync.RWMutex
	sessions map[string]*Session
	users    map[string]map[string]*Session
	// keys has the connected emulated sessions by session key.
	keys map[string]*Session

	// pendingMu guards pending: sessions that have not connected yet.
	pendingMu sync.Mutex
	pending   map[*Session]struct{}

	wheel *wheel
	count atomic.Int64
	// live counts transports not yet closed, so that a drain waits until
	// every client has been sent its close frame.
	live     atomic.Int64
	closing  atomic.Bool
	stop     chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once

	pingBytes [variantCount][]byte

	// connects is the connection rate limiter, nil without a limit.
	connects *rate.Limiter
}

// NewManager returns a manager; call [Manager.Run] to start its timers.
func NewManager(cfg Config) *Manager {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StaleCloseDelay <= 0 {
		cfg.StaleCloseDelay = 10 * time.Second
	}
	if cfg.PresenceInterval <= 0 {
		cfg.PresenceInterval = 27 * time.Second
	}
	m := &Manager{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "session"),
		sessions: make(map[string]*Session),
		users:    make(map[string]map[string]*Session),
		keys:     make(map[string]*Session),
		pending:  make(map[*Session]struct{}),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	period := cfg.PingInterval
	if period <= 0 {
		period = cfg.PresenceInterval
	}
	m.wheel = newWheel(period)
	if n := cfg.ConnectionRateLimit; n > 0 {
		m.connects = rate.NewLimiter(rate.Limit(n), n)
	}
	for v := range variantCount {
		// Legacy codecs have no ping message and encode nothing here.
		m.pingBytes[v] = codecs[v].AppendReply(nil, &protocol.Reply{})
	}
	return m
}

// Run drives the timing wheel until ctx ends or Shutdown is called.
func (m *Manager) Run(ctx context.Context) {
	defer close(m.stopped)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for tick := 0; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-m.stop:
			return
		case now := <-t.C:
			m.onTick(tick, now)
		}
	}
}

func (m *Manager) onTick(tick int, now time.Time) {
	m.checkStale(now)

	// Pongs are checked before this tick's pings go out: with a ping
	// interval of a second or two the slot checked and the slot pinged can
	// be the same one, and a ping sent a moment ago has not failed yet.
	if m.cfg.PingInterval > 0 && m.cfg.PongTimeout > 0 {
		back := int((m.cfg.PongTimeout + time.Second - 1) / time.Second)
		for _, s := range m.wheel.members(m.wheel.slot(tick - back)) {
			s.checkPong(now)
		}
	}

	slot := m.wheel.slot(tick)
	for _, s := range m.wheel.members(slot) {
		s.onWheel(now)
	}
}

func (m *Manager) checkStale(now time.Time) {
	var stale []*Session
	m.pendingMu.Lock()
	for s := range m.pending {
		if now.Sub(s.created) >= m.cfg.StaleCloseDelay {
			stale = append(stale, s)
			delete(m.pending, s)
		}
	}
	m.pendingMu.Unlock()
	for _, s := range stale {
		s.Disconnect(protocol.DisconnectStale)
	}
}

func (m *Manager) addPending(s *Session) {
	m.pendingMu.Lock()
	m.pending[s] = struct{}{}
	m.pendingMu.Unlock()
}

func (m *Manager) removePending(s *Session) {
	m.pendingMu.Lock()
	delete(m.pending, s)
	m.pendingMu.Unlock()
}

// register adds a connected session, enforcing the connection limits.
func (m *Manager) register(s *Session) *protocol.Disconnect {
	m.mu.Lock()
	defer m.mu.Unlock()

	if m.closing.Load() {
		return protocol.DisconnectShutdown
	}
	if lim := m.cfg.ConnectionLimit; lim > 0 && len(m.sessions) >= lim {
		return protocol.DisconnectConnectionLimit
	}
	conns := m.users[s.user]
	if lim := m.cfg.UserConnectionLimit; lim > 0 && s.user != "" && len(conns) >= lim {
		return protocol.DisconnectConnectionLimit
	}
	if conns == nil {
		conns = make(map[string]*Session)
		m.users[s.user] = conns
	}
	conns[s.id] = s
	m.sessions[s.id] = s
	if s.mode == modeEmulated {
		m.keys[s.key] = s
	}
	m.count.Add(1)
	// Counted under mu, like the registration, so that unregister takes
	// out exactly what was put in.
	s.conn = m.cfg.Metrics.Connected(s.tm, s.name)
	s.slot = rand.IntN(m.wheel.size())
	m.wheel.add(s.slot, s)
	return nil
}

func (m *Manager) unregister(s *Session) {
	m.removePending(s)

	m.mu.Lock()
	if _, ok := m.sessions[s.id]; ok {
		delete(m.sessions, s.id)
		if s.mode == modeEmulated {
			delete(m.keys, s.key)
		}
		m.count.Add(-1)
		s.conn.Closed()
		s.conn = metrics.Connection{}
		if conns := m.users[s.user]; conns != nil {
			delete(conns, s.id)
			if len(conns) == 0 {
				delete(m.users, s.user)
			}
		}
	}
	m.mu.Unlock()
	if s.slot >= 0 {
		m.wheel.remove(s.slot, s)
	}
}

// NumClients returns the number of connected sessions.
func (m *Manager) NumClients() int { return int(m.count.Load()) }

// NumUsers returns the number of distinct users connected.
func (m *Manager) NumUsers() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.users)
}

// UserSessions returns the connected sessions of user.
func (m *Manager) UserSessions(user string) []*Session {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*Session, 0, len(m.users[user]))
	for _, s := range m.users[user] {
		out = append(out, s)
	}
	return out
}

// Closing reports whether the node is draining.
func (m *Manager) Closing() bool { return m.closing.Load() }

// drainBatch clients are disconnected at a time on shutdown, drainPause
// apart: 20 000 clients a second.
const (
	drainBatch = 1000
	drainPause = 50 * time.Millisecond
)

// Shutdown stops accepting connects, tells every client to reconnect
// elsewhere, in batches of drainBatch, and waits until their sessions are
// gone or ctx ends.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.closing.Store(true)
	m.stopOnce.Do(func() { close(m.stop) })

	m.mu.RLock()
	all := make([]*Session, 0, len(m.sessions))
	for _, s := range m.sessions {
		all = append(all, s)
	}
	m.mu.RUnlock()
	m.pendingMu.Lock()
	for s := range m.pending {
		all = append(all, s)
	}
	m.pendingMu.Unlock()

	// Paced, so that the reconnects of a full node do not all land on the
	// others at once; once ctx runs out the rest go without pauses.
	for i, s := range all {
		if i > 0 && i%drainBatch == 0 && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(drainPause):
			}
		}
		s.Disconnect(protocol.DisconnectShutdown)
	}
	for m.live.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// ApplyUserCommand implements [node.Local]: it applies to this node's
// connections a server API command that another node received.
func (m *Manager) ApplyUserCommand(ctx context.Context, c node.UserCommand) error {
	t := Target{User: c.User, Client: c.Client, Session: c.Session}
	switch c.Kind {
	case node.CommandSubscribe:
		return m.SubscribeUser(ctx, t, c.Channel, SubscribeOptions{
			Info: c.Info, Data: c.Data, ExpireAt: c.ExpireAt,
			Override: c.Override, RecoverSince: c.RecoverSince,
		})
	case node.CommandUnsubscribe:
		m.UnsubscribeUser(t, c.Channel)
	case node.CommandDisconnect:
		d := c.Disconnect
		if d == nil {
			d = protocol.DisconnectForceNoReconnect
		}
		m.DisconnectUser(t, d, c.Keep)
	case node.CommandRefresh:
		m.RefreshUser(t, RefreshOptions{Expired: c.Expired, ExpireAt: c.ExpireAt,
			Info: c.Info})
	case node.CommandEmulate:
		// Only the node holding the session has its key.
		if s := m.EmulatedSession(c.Session); s != nil {
			s.HandleFrame(c.Data)
		}
	default:
		return fmt.Errorf("session: unknown user command %d", c.Kind)
	}
	return nil
}
