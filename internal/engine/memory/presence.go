package memory

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/protocol"
)

// PresenceManager is the single-node [engine.PresenceManager]. Entries expire
// [Config.PresenceTTL] after their last [PresenceManager.AddPresence]; expired
// entries are invisible at once and freed by the janitor. It is safe for
// concurrent use; ctx arguments are unused, since nothing here blocks.
type PresenceManager struct {
	clock   clock
	ttl     time.Duration
	seed    maphash.Seed
	janitor *janitor
	closed  atomic.Bool

	stripes [numStripes]presenceStripe
}

// presenceStripe holds the presence of the channels that hash to it.
type presenceStripe struct {
	// mu guards chans: channel -> client ID -> entry.
	mu    sync.Mutex
	chans map[string]map[string]presence

	// Keep neighbouring stripes' mutexes off one cache line.
	_ [64]byte
}

// presence is one client's entry in a channel.
type presence struct {
	info     *protocol.ClientInfo
	expireAt int64
}

var _ engine.PresenceManager = (*PresenceManager)(nil)

// NewPresenceManager returns a PresenceManager and starts its janitor
// goroutine, which [PresenceManager.Close] stops.
func NewPresenceManager(c Config) *PresenceManager {
	c = c.withDefaults()
	m := &PresenceManager{
		clock:   newClock(c.Now),
		ttl:     c.PresenceTTL,
		seed:    maphash.MakeSeed(),
		janitor: newJanitor(),
	}
	for i := range m.stripes {
		m.stripes[i].chans = make(map[string]map[string]presence)
	}
	m.janitor.start(context.Background(), c.CleanupInterval, m.sweep)
	return m
}

func (m *PresenceManager) stripe(ch string) *presenceStripe {
	return &m.stripes[stripeOf(m.seed, ch)]
}

// AddPresence adds clientID to ch or refreshes it, replacing its info. The
// manager keeps info as given: the caller must not modify it afterwards.
func (m *PresenceManager) AddPresence(_ context.Context, ch, clientID string,
	info *protocol.ClientInfo) error {
	if m.closed.Load() {
		return ErrClosed
	}
	if info == nil {
		info = &protocol.ClientInfo{Client: clientID}
	}
	st := m.stripe(ch)
	st.mu.Lock()
	defer st.mu.Unlock()
	clients := st.chans[ch]
	if clients == nil {
		clients = make(map[string]presence)
		st.chans[ch] = clients
	}
	clients[clientID] = presence{info: info, expireAt: deadline(m.clock.nanos(), m.ttl)}
	return nil
}

// RemovePresence removes clientID from ch. userID is not needed here: users
// are counted from the entries themselves.
func (m *PresenceManager) RemovePresence(_ context.Context,
	ch, clientID, _ string) error {
	if m.closed.Load() {
		return ErrClosed
	}
	st := m.stripe(ch)
	st.mu.Lock()
	defer st.mu.Unlock()
	clients := st.chans[ch]
	delete(clients, clientID)
	if len(clients) == 0 {
		delete(st.chans, ch)
	}
	return nil
}

// Presence returns the live clients of ch in a new map. Each ClientInfo is a
// copy, so the caller may change its fields; ConnInfo and ChanInfo bytes are
// shared and, like all Raw values, must not be modified.
func (m *PresenceManager) Presence(_ context.Context, ch string) (
	map[string]*protocol.ClientInfo, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	st := m.stripe(ch)
	st.mu.Lock()
	defer st.mu.Unlock()
	now := m.clock.nanos()
	clients := st.chans[ch]
	out := make(map[string]*protocol.ClientInfo, len(clients))
	for id, p := range clients {
		if now < p.expireAt {
			info := *p.info
			out[id] = &info
		}
	}
	return out, nil
}

// PresenceStats counts the live clients of ch and their distinct users.
func (m *PresenceManager) PresenceStats(_ context.Context, ch string) (
	engine.PresenceStats, error) {
	if m.closed.Load() {
		return engine.PresenceStats{}, ErrClosed
	}
	st := m.stripe(ch)
	st.mu.Lock()
	defer st.mu.Unlock()
	now := m.clock.nanos()
	clients := st.chans[ch]
	users := make(map[string]struct{}, len(clients))
	var stats engine.PresenceStats
	for _, p := range clients {
		if now < p.expireAt {
			stats.NumClients++
			users[p.info.User] = struct{}{}
		}
	}
	stats.NumUsers = len(users)
	return stats, nil
}

// Close stops the janitor and waits for it. Later calls fail with ErrClosed;
// Close itself may be called more than once.
func (m *PresenceManager) Close(context.Context) error {
	m.closed.Store(true)
	m.janitor.stopAndWait()
	return nil
}

// sweep frees expired entries, one stripe lock at a time.
func (m *PresenceManager) sweep() {
	for i := range m.stripes {
		st := &m.stripes[i]
		st.mu.Lock()
		st.sweepLocked(m.clock.nanos())
		st.mu.Unlock()
	}
}

func (st *presenceStripe) sweepLocked(now int64) {
	for ch, clients := range st.chans {
		for id, p := range clients {
			if now >= p.expireAt {
				delete(clients, id)
			}
		}
		if len(clients) == 0 {
			delete(st.chans, ch)
		}
	}
}
