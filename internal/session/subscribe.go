package session

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/channel"
	"github.com/heraldhq/herald/internal/delta"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/hub"
	"github.com/heraldhq/herald/internal/protocol"
)

// flagRejectUnrecovered asks for error 112 instead of recovered:false.
const flagRejectUnrecovered = 2

// errSubscriptionGone answers a subscribe whose subscription was removed
// while it was being set up: the session closed, or the server unsubscribed
// the channel. Like an internal error it is temporary.
var errSubscriptionGone = &protocol.Error{
	Code: protocol.ErrInternal.Code, Message: protocol.ErrInternal.Message, Temporary: true,
}

// subParams describe a subscription to set up, client- or server-side.
type subParams struct {
	channel    string
	req        *protocol.SubscribeRequest
	serverSide bool
	opts       *channel.Options
	chanInfo   []byte
	data       []byte
	override   *auth.Override
	expireAt   int64
	// serverRefresh means the backend extends the subscription, so the
	// client is not asked for a new token when it expires.
	serverRefresh bool
}

// activation finishes a subscription once its reply is ready to be queued.
type activation struct {
	sub   *subscription
	ch    string
	top   uint64
	epoch string
}

func (s *Session) activateAll(acts []activation, enqueueReply func()) {
	if len(acts) == 0 {
		enqueueReply()
	}
	for i, a := range acts {
		if i == 0 {
			a.sub.sub.Activate(a.top, a.epoch, enqueueReply)
		} else {
			a.sub.sub.Activate(a.top, a.epoch, nil)
		}
	}
	for _, a := range acts {
		s.afterJoin(a)
	}
}

// afterJoin announces the new subscriber once its reply is queued, so the
// client sees its own subscribe reply before any join push.
func (s *Session) afterJoin(a activation) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	n := s.m.cfg.Node
	info := s.clientInfo(a.sub)
	if a.sub.presence {
		if err := n.PresenceManager().AddPresence(ctx, a.ch, s.id, info); err != nil {
			s.log.Warn("presence add failed", "channel", a.ch, "error", err)
		}
	}
	if a.sub.joinLeave {
		if err := n.PublishJoin(ctx, a.ch, info); err != nil {
			s.log.Warn("join publish failed", "channel", a.ch, "error", err)
		}
	}
}

// serverSideSubscribe subscribes a new connection to its personal channel
// and to the channels its credentials name.
func (s *Session) serverSideSubscribe(ctx context.Context, creds *credentials,
	recover map[string]*protocol.SubscribeRequest) (*protocol.ConnectResult, []activation, error) {
	cfg := &s.m.cfg
	var params []subParams
	if cfg.PersonalChannel && creds.user != "" {
		ch := cfg.Rules.PersonalChannel(cfg.PersonalChannelNamespace, creds.user)
		params = append(params, subParams{channel: ch})
	}
	if len(creds.subs) > 0 {
		for ch, o := range creds.subs {
			params = append(params, subParams{channel: ch, chanInfo: o.Info,
				data: o.Data, override: o.Override})
		}
	} else {
		for _, ch := range creds.channels {
			params = append(params, subParams{channel: ch})
		}
	}
	if lim := cfg.ChannelLimit; lim > 0 && len(params) > lim {
		return nil, nil, protocol.DisconnectChannelLimit
	}

	res := &protocol.ConnectResult{}
	var acts []activation
	for _, p := range params {
		if _, dup := res.Subs[p.channel]; dup {
			continue
		}
		p.serverSide = true
		p.req = recover[p.channel]
		if p.req == nil {
			p.req = &protocol.SubscribeRequest{}
		}
		opts, ok := cfg.Rules.Options(p.channel)
		if !ok {
			s.discardActivations(acts)
			return nil, nil, protocol.ErrUnknownChannel
		}
		p.opts = opts
		sr, act, err := s.subscribeChannel(ctx, p)
		if err != nil {
			s.discardActivations(acts)
			return nil, nil, err
		}
		if res.Subs == nil {
			res.Subs = make(map[string]*protocol.SubscribeResult)
		}
		res.Subs[p.channel] = sr
		acts = append(acts, act)
	}
	return res, acts, nil
}

// discardActivations undoes subscriptions of a connect that failed halfway.
func (s *Session) discardActivations(acts []activation) {
	for _, a := range acts {
		s.mu.Lock()
		delete(s.subs, a.ch)
		s.mu.Unlock()
		a.sub.sub.Activate(a.top, a.epoch, nil)
		ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
		s.m.cfg.Node.RemoveSub(ctx, a.sub.sub)
		cancel()
	}
}

func (s *Session) handleSubscribe(id uint32, req *protocol.SubscribeRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	p, err := s.authorizeSubscribe(ctx, req)
	if err != nil {
		return err
	}
	res, act, err := s.subscribeChannel(ctx, p)
	if err != nil {
		return err
	}
	s.activateAll([]activation{act}, func() {
		s.reply(&protocol.Reply{ID: id, Subscribe: res})
	})
	return nil
}

// authorizeSubscribe validates a client-side subscribe request and decides
// whether the client may subscribe.
func (s *Session) authorizeSubscribe(ctx context.Context, req *protocol.SubscribeRequest) (
	subParams, error) {
	cfg := &s.m.cfg
	ch := req.Channel
	if ch == "" {
		return subParams{}, protocol.DisconnectBadRequest
	}
	if err := cfg.Rules.Validate(ch); err != nil {
		return subParams{}, protocol.ErrBadRequest
	}
	if req.HasFilter {
		return subParams{}, protocol.ErrBadRequest
	}
	if req.Type != 0 {
		return subParams{}, protocol.ErrNotAvailable
	}
	// A delta type the protocol does not define is a broken client; one
	// the channel does not allow is merely not negotiated.
	if req.Delta != "" && req.Delta != delta.Fossil {
		return subParams{}, protocol.DisconnectBadRequest
	}
	opts, ok := cfg.Rules.Options(ch)
	if !ok {
		return subParams{}, protocol.ErrUnknownChannel
	}
	if !cfg.Rules.CheckRegex(ch, opts) {
		return subParams{}, protocol.ErrUnknownChannel
	}
	p := subParams{channel: ch, req: req, opts: opts, data: nil}

	user := s.User()
	switch {
	case req.Token != "":
		if err := s.applySubscribeToken(ctx, &p, user); err != nil {
			return subParams{}, err
		}
	case cfg.Rules.IsPrivate(ch):
		return subParams{}, protocol.ErrPermissionDenied
	case opts.AllowUserLimitedChannels && cfg.Rules.IsUserLimited(ch):
		if !cfg.Rules.UserAllowed(ch, user) {
			return subParams{}, protocol.ErrPermissionDenied
		}
	case opts.SubscribeProxyEnabled:
		if err := s.proxySubscribe(ctx, &p); err != nil {
			return subParams{}, err
		}
	case cfg.Insecure:
	case opts.AllowSubscribeForClient && (user != "" || opts.AllowSubscribeForAnonymous):
	default:
		return subParams{}, protocol.ErrPermissionDenied
	}
	return p, nil
}

func (s *Session) applySubscribeToken(ctx context.Context, p *subParams, user string) error {
	v := s.m.cfg.Verifier
	if v == nil {
		return protocol.ErrPermissionDenied
	}
	tok, err := v.VerifySubscribeToken(ctx, p.req.Token)
	switch {
	case errors.Is(err, auth.ErrTokenExpired):
		return protocol.ErrTokenExpired
	case err != nil:
		return protocol.ErrPermissionDenied
	}
	if tok.Channel != p.channel || tok.UserID != user ||
		(tok.Client != "" && tok.Client != s.id) {
		return protocol.ErrPermissionDenied
	}
	if tok.ExpireAt > 0 && tok.ExpireAt <= time.Now().Unix() {
		return protocol.ErrExpired
	}
	p.chanInfo, p.data, p.override, p.expireAt = tok.Info, tok.Data, tok.Override, tok.ExpireAt
	return nil
}

// features are a subscription's effective options.
type features struct {
	presence, joinLeave, pushJoinLeave, positioned, recoverable, delta bool
}

func effective(p *subParams) features {
	o := p.opts
	f := features{presence: o.Presence, joinLeave: o.JoinLeave}
	f.delta = p.req.Delta != "" && slices.Contains(o.AllowedDeltaTypes, p.req.Delta)
	f.pushJoinLeave = o.JoinLeave && (o.ForcePushJoinLeave || p.req.JoinLeave)
	history := o.HistoryEnabled()
	f.positioned = history && (o.ForcePositioning || (o.AllowPositioning && p.req.Positioned))
	f.recoverable = history && (o.ForceRecovery || (o.AllowRecovery && p.req.Recoverable))
	if ov := p.override; ov != nil {
		setIf(&f.presence, ov.Presence)
		setIf(&f.joinLeave, ov.JoinLeave)
		if ov.ForcePushJoinLeave != nil {
			f.pushJoinLeave = f.joinLeave && *ov.ForcePushJoinLeave
		}
		if ov.ForcePositioning != nil {
			f.positioned = history && *ov.ForcePositioning
		}
		if ov.ForceRecovery != nil {
			f.recoverable = history && *ov.ForceRecovery
		}
	}
	if f.recoverable {
		f.positioned = true
	}
	return f
}

func setIf(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

// subscribeChannel joins the hub in the buffering state, reads the stream
// position (and missed publications when recovering) and returns the reply
// with the activation that releases the live stream after it.
func (s *Session) subscribeChannel(ctx context.Context, p subParams) (
	*protocol.SubscribeResult, activation, error) {
	f := effective(&p)
	sub := &subscription{
		sub: hub.NewSub(hub.SubConfig{
			Channel: p.channel, Conn: s, Variant: s.variant,
			JoinLeave: f.pushJoinLeave, Positioned: f.positioned, Delta: f.delta,
			Transport: s.tm.Slot(),
		}),
		opts: p.opts, serverSide: p.serverSide, presence: f.presence,
		joinLeave: f.joinLeave, chanInfo: p.chanInfo, expireAt: p.expireAt,
	}

	s.mu.Lock()
	if state(s.state.Load()) == stateClosed {
		// The teardown has emptied s.subs already: nothing would ever
		// remove this subscription from the node.
		s.mu.Unlock()
		return nil, activation{}, errSubscriptionGone
	}
	if _, ok := s.subs[p.channel]; ok {
		s.mu.Unlock()
		return nil, activation{}, protocol.ErrAlreadySubscribed
	}
	if lim := s.m.cfg.ChannelLimit; lim > 0 && len(s.subs) >= lim {
		s.mu.Unlock()
		if p.serverSide {
			return nil, activation{}, protocol.DisconnectChannelLimit
		}
		return nil, activation{}, protocol.ErrLimitExceeded
	}
	s.subs[p.channel] = sub
	s.mu.Unlock()

	res, top, err := s.setupSubscription(ctx, p, f, sub)
	if err == nil {
		// A teardown or a server-side unsubscribe may have taken sub out
		// of s.subs meanwhile, and removed it from the node before it was
		// added there.
		s.mu.Lock()
		if s.subs[p.channel] != sub {
			err = errSubscriptionGone
		}
		s.mu.Unlock()
	}
	if err != nil {
		s.mu.Lock()
		if s.subs[p.channel] == sub {
			delete(s.subs, p.channel)
		}
		s.mu.Unlock()
		sub.sub.Activate(0, "", nil)
		s.m.cfg.Node.RemoveSub(ctx, sub.sub)
		return nil, activation{}, err
	}
	return res, activation{sub: sub, ch: p.channel, top: top.Offset, epoch: top.Epoch}, nil
}

func (s *Session) setupSubscription(ctx context.Context, p subParams, f features,
	sub *subscription) (*protocol.SubscribeResult, protocol.StreamPosition, error) {
	n := s.m.cfg.Node
	if err := n.AddSub(ctx, sub.sub); err != nil {
		return nil, protocol.StreamPosition{}, err
	}
	res := &protocol.SubscribeResult{Data: p.data, Delta: f.delta}
	if p.expireAt > 0 && !p.serverRefresh {
		res.Expires, res.TTL = true, ttlUntil(p.expireAt)
	}
	if !f.positioned {
		return res, protocol.StreamPosition{}, nil
	}

	res.Positioned, res.Recoverable = true, f.recoverable
	var top protocol.StreamPosition
	if f.recoverable && p.req.Recover {
		pubs, sp, err := s.recoverStream(ctx, p)
		if err != nil {
			return nil, top, err
		}
		res.WasRecovering = true
		res.Recovered = pubs != nil
		res.Publications = pubs
		if f.delta && len(pubs) > 0 {
			res.Publications = delta.Chain(pubs, !s.codec.Binary())
			// The last recovered payload is the base of the first live
			// delta. Without recovered publications the client may hold
			// no base, so the first live one goes in full.
			sub.sub.MarkDeltaBase()
		}
		top = sp
		if !res.Recovered && p.req.Flag&flagRejectUnrecovered != 0 {
			return nil, top, protocol.ErrUnrecoverablePosition
		}
	} else {
		_, sp, err := n.History(ctx, p.channel, engine.HistoryOptions{
			MetaTTL: p.opts.HistoryMetaTTL,
		})
		if err != nil {
			return nil, top, err
		}
		top = sp
	}
	res.Epoch, res.Offset = top.Epoch, top.Offset
	return res, top, nil
}

// recoverStream returns the publications after the client's position, or a
// nil slice when they cannot all be recovered.
func (s *Session) recoverStream(ctx context.Context, p subParams) (
	[]*protocol.Publication, protocol.StreamPosition, error) {
	n := s.m.cfg.Node
	limit := -1
	if lim := s.m.cfg.RecoveryMaxLimit; lim > 0 {
		limit = lim + 1
	}
	since := &protocol.StreamPosition{Offset: p.req.Offset, Epoch: p.req.Epoch}
	pubs, sp, err := n.History(ctx, p.channel, engine.HistoryOptions{
		Since: since, Limit: limit, MetaTTL: p.opts.HistoryMetaTTL,
	})
	unrecoverable := errors.Is(err, engine.ErrUnrecoverablePosition) ||
		(err == nil && limit > 0 && len(pubs) >= limit)
	if unrecoverable {
		_, sp, err = n.History(ctx, p.channel, engine.HistoryOptions{
			MetaTTL: p.opts.HistoryMetaTTL,
		})
		return nil, sp, err
	}
	if err != nil {
		return nil, sp, err
	}
	if pubs == nil {
		pubs = []*protocol.Publication{}
	}
	return pubs, sp, nil
}

func (s *Session) handleUnsubscribe(id uint32, req *protocol.UnsubscribeRequest) error {
	if req.Channel == "" {
		return protocol.DisconnectBadRequest
	}
	s.mu.Lock()
	sub := s.subs[req.Channel]
	s.mu.Unlock()
	if sub != nil {
		s.unsubscribe(req.Channel, sub)
	}
	s.reply(&protocol.Reply{ID: id, Unsubscribe: &protocol.UnsubscribeResult{}})
	return nil
}

// unsubscribe removes sub from the session and the node.
func (s *Session) unsubscribe(ch string, sub *subscription) {
	s.mu.Lock()
	if s.subs[ch] != sub {
		s.mu.Unlock()
		return
	}
	delete(s.subs, ch)
	s.mu.Unlock()
	s.leaveChannel(ch, sub)
}

func (s *Session) handleSubRefresh(id uint32, req *protocol.SubRefreshRequest) error {
	if req.Channel == "" || req.Token == "" {
		return protocol.DisconnectBadRequest
	}
	v := s.m.cfg.Verifier
	if v == nil {
		return protocol.ErrNotAvailable
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	s.mu.Lock()
	sub := s.subs[req.Channel]
	s.mu.Unlock()
	if sub == nil {
		return protocol.ErrPermissionDenied
	}
	tok, err := v.VerifySubscribeToken(ctx, req.Token)
	switch {
	case errors.Is(err, auth.ErrTokenExpired):
		return protocol.ErrTokenExpired
	case err != nil:
		return protocol.DisconnectInvalidToken
	}
	if tok.Channel != req.Channel || tok.UserID != s.User() {
		return protocol.DisconnectInvalidToken
	}
	s.mu.Lock()
	sub.expireAt = tok.ExpireAt
	s.mu.Unlock()

	res := &protocol.SubRefreshResult{}
	if tok.ExpireAt > 0 {
		res.Expires, res.TTL = true, ttlUntil(tok.ExpireAt)
	}
	s.reply(&protocol.Reply{ID: id, SubRefresh: res})
	return nil
}
