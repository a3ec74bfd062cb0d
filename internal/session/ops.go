package session

import (
	"context"
	"errors"

	"github.com/heraldhq/herald/internal/channel"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/protocol"
)

// channelOptions validates ch for a command and returns its options.
func (s *Session) channelOptions(ch string) (*channel.Options, error) {
	if ch == "" {
		return nil, protocol.DisconnectBadRequest
	}
	rules := s.m.cfg.Rules
	if err := rules.Validate(ch); err != nil {
		return nil, protocol.ErrBadRequest
	}
	opts, ok := rules.Options(ch)
	if !ok {
		return nil, protocol.ErrUnknownChannel
	}
	return opts, nil
}

// allowed applies the permission pattern shared by publish, presence and
// history: any client, or subscribers only, and anonymous users only when
// the anonymous flag is also on.
func (s *Session) allowed(ch string, forClient, forSubscriber, forAnonymous bool) bool {
	if s.m.cfg.Insecure {
		return true
	}
	s.mu.Lock()
	user := s.user
	_, subscribed := s.subs[ch]
	s.mu.Unlock()
	if !forClient && !(forSubscriber && subscribed) {
		return false
	}
	return user != "" || forAnonymous
}

func (s *Session) handlePublish(id uint32, req *protocol.PublishRequest) error {
	opts, err := s.channelOptions(req.Channel)
	if err != nil {
		return err
	}
	// With a publish proxy the backend is the permission check.
	if !opts.PublishProxyEnabled && !s.allowed(req.Channel, opts.AllowPublishForClient,
		opts.AllowPublishForSubscriber, opts.AllowPublishForAnonymous) {
		return protocol.ErrPermissionDenied
	}
	if len(req.Data) == 0 {
		return protocol.ErrBadRequest
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	s.mu.Lock()
	info := s.clientInfo(s.subs[req.Channel])
	s.mu.Unlock()
	pub := &protocol.Publication{Data: req.Data, Info: info}
	popts := engine.PublishOptions{
		HistorySize:    opts.HistorySize,
		HistoryTTL:     opts.HistoryTTL,
		HistoryMetaTTL: opts.HistoryMetaTTL,
		Delta:          opts.DeltaPublish,
	}
	if opts.PublishProxyEnabled {
		if err := s.proxyPublish(ctx, req.Channel, opts, &popts, pub); err != nil {
			return err
		}
	}
	_, err = s.m.cfg.Node.Publish(ctx, req.Channel, pub, popts)
	if err != nil {
		return err
	}
	s.reply(&protocol.Reply{ID: id, Publish: &protocol.PublishResult{}})
	return nil
}

func (s *Session) presenceAllowed(ch string) error {
	opts, err := s.channelOptions(ch)
	if err != nil {
		return err
	}
	if !opts.Presence {
		return protocol.ErrNotAvailable
	}
	if !s.allowed(ch, opts.AllowPresenceForClient, opts.AllowPresenceForSubscriber,
		opts.AllowPresenceForAnonymous) {
		return protocol.ErrPermissionDenied
	}
	return nil
}

func (s *Session) handlePresence(id uint32, req *protocol.PresenceRequest) error {
	if err := s.presenceAllowed(req.Channel); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	p, err := s.m.cfg.Node.PresenceManager().Presence(ctx, req.Channel)
	if err != nil {
		return err
	}
	s.reply(&protocol.Reply{ID: id, Presence: &protocol.PresenceResult{Presence: p}})
	return nil
}

func (s *Session) handlePresenceStats(id uint32, req *protocol.PresenceStatsRequest) error {
	if err := s.presenceAllowed(req.Channel); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	st, err := s.m.cfg.Node.PresenceManager().PresenceStats(ctx, req.Channel)
	if err != nil {
		return err
	}
	s.reply(&protocol.Reply{ID: id, PresenceStats: &protocol.PresenceStatsResult{
		NumClients: uint32(st.NumClients), NumUsers: uint32(st.NumUsers),
	}})
	return nil
}

func (s *Session) handleHistory(id uint32, req *protocol.HistoryRequest) error {
	opts, err := s.channelOptions(req.Channel)
	if err != nil {
		return err
	}
	if !opts.HistoryEnabled() {
		return protocol.ErrNotAvailable
	}
	if !s.allowed(req.Channel, opts.AllowHistoryForClient, opts.AllowHistoryForSubscriber,
		opts.AllowHistoryForAnonymous) {
		return protocol.ErrPermissionDenied
	}
	limit := int(req.Limit)
	if max := s.m.cfg.HistoryMaxLimit; max > 0 && (limit < 0 || limit > max) {
		limit = max
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	pubs, sp, err := s.m.cfg.Node.History(ctx, req.Channel, engine.HistoryOptions{
		Since: req.Since, Limit: limit, Reverse: req.Reverse,
		MetaTTL: opts.HistoryMetaTTL,
	})
	if errors.Is(err, engine.ErrUnrecoverablePosition) {
		return protocol.ErrUnrecoverablePosition
	}
	if err != nil {
		return err
	}
	s.reply(&protocol.Reply{ID: id, History: &protocol.HistoryResult{
		Publications: pubs, Epoch: sp.Epoch, Offset: sp.Offset,
	}})
	return nil
}
