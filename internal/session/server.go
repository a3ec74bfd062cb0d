package session

import (
	"context"
	"time"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/protocol"
)

// Target selects connections of a user on this node. Empty Client and
// Session match every connection of the user.
type Target struct {
	User    string
	Client  string
	Session string
}

func (t Target) matches(s *Session) bool {
	return (t.Client == "" || t.Client == s.id) && (t.Session == "" || t.Session == s.id ||
		(s.key != "" && t.Session == s.key))
}

func (m *Manager) targets(t Target) []*Session {
	var out []*Session
	for _, s := range m.UserSessions(t.User) {
		if t.matches(s) {
			out = append(out, s)
		}
	}
	return out
}

// SubscribeOptions describe a subscription the server adds to connections.
type SubscribeOptions struct {
	Info     []byte
	Data     []byte
	ExpireAt int64
	Override *auth.Override
	// RecoverSince, when set, recovers publications after that position.
	RecoverSince *protocol.StreamPosition
}

// SubscribeUser subscribes the matching connections of t to ch and tells each
// client with a subscribe push. Connections already subscribed are skipped.
func (m *Manager) SubscribeUser(ctx context.Context, t Target, ch string,
	o SubscribeOptions) error {
	opts, ok := m.cfg.Rules.Options(ch)
	if !ok {
		return protocol.ErrUnknownChannel
	}
	for _, s := range m.targets(t) {
		req := &protocol.SubscribeRequest{Channel: ch}
		if o.RecoverSince != nil {
			req.Recover = true
			req.Offset, req.Epoch = o.RecoverSince.Offset, o.RecoverSince.Epoch
		}
		p := subParams{channel: ch, req: req, serverSide: true, opts: opts,
			chanInfo: o.Info, data: o.Data, override: o.Override, expireAt: o.ExpireAt}
		res, act, err := s.subscribeChannel(ctx, p)
		if err == protocol.ErrAlreadySubscribed || err == errSubscriptionGone {
			continue
		}
		if err != nil {
			return err
		}
		s.activateAll([]activation{act}, func() {
			s.push(&protocol.Push{Channel: ch, Subscribe: &protocol.Subscribe{
				Recoverable: res.Recoverable, Epoch: res.Epoch, Offset: res.Offset,
				Positioned: res.Positioned, Data: res.Data,
			}})
			// Recovered publications follow the subscribe push in order.
			for _, pub := range res.Publications {
				s.push(&protocol.Push{Channel: ch, Pub: pub})
			}
		})
	}
	return nil
}

// UnsubscribeUser removes the matching connections of t from ch and tells
// each client with an unsubscribe push.
func (m *Manager) UnsubscribeUser(t Target, ch string) {
	for _, s := range m.targets(t) {
		s.mu.Lock()
		sub := s.subs[ch]
		s.mu.Unlock()
		if sub == nil {
			continue
		}
		s.unsubscribe(ch, sub)
		s.push(&protocol.Push{Channel: ch, Unsubscribe: &protocol.Unsubscribe{
			Code: protocol.UnsubscribeCodeServer, Reason: "server unsubscribe",
		}})
	}
}

// DisconnectUser closes the matching connections of t with d, sparing the
// client IDs in keep.
func (m *Manager) DisconnectUser(t Target, d *protocol.Disconnect, keep []string) {
	for _, s := range m.targets(t) {
		spared := false
		for _, id := range keep {
			spared = spared || id == s.id
		}
		if !spared {
			s.Disconnect(d)
		}
	}
}

// RefreshOptions change the expiry or info of connections.
type RefreshOptions struct {
	// Expired closes the connections as expired.
	Expired bool
	// ExpireAt sets a new expiry in Unix seconds; 0 leaves it unchanged.
	ExpireAt int64
	// Info replaces the connection info when not nil.
	Info []byte
}

// RefreshUser updates the matching connections of t and tells each client
// its new expiry with a refresh push.
func (m *Manager) RefreshUser(t Target, o RefreshOptions) {
	for _, s := range m.targets(t) {
		if o.Expired {
			s.Disconnect(protocol.DisconnectExpired)
			continue
		}
		s.mu.Lock()
		if o.ExpireAt > 0 {
			s.expireAt = o.ExpireAt
		}
		if o.Info != nil {
			s.info = o.Info
		}
		expireAt := s.expireAt
		s.mu.Unlock()

		r := &protocol.Refresh{}
		if expireAt > 0 {
			r.Expires, r.TTL = true, uint32(max(expireAt-time.Now().Unix(), 0))
		}
		s.push(&protocol.Push{Refresh: r})
	}
}

// NumSubscriptions returns the number of subscriptions of all sessions.
func (m *Manager) NumSubscriptions() int {
	m.mu.RLock()
	all := make([]*Session, 0, len(m.sessions))
	for _, s := range m.sessions {
		all = append(all, s)
	}
	m.mu.RUnlock()
	n := 0
	for _, s := range all {
		s.mu.Lock()
		n += len(s.subs)
		s.mu.Unlock()
	}
	return n
}
