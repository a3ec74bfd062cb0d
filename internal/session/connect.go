package session

import (
	"context"
	"errors"
	"time"

	"golang.org/x/time/rate"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/protocol"
)

const commandTimeout = 5 * time.Second

// handleCommand runs one command, counted by kind and timed when it gets a
// reply. A returned *protocol.Disconnect closes the connection; errStop
// stops processing the rest of the frame.
func (s *Session) handleCommand(cmd *protocol.Command) error {
	f := commandFrame(cmd)
	s.tm.Received(f)
	m := s.m.cfg.Metrics
	if m == nil || cmd.ID == 0 {
		return s.runCommand(f, cmd)
	}

	start := time.Now()
	err := s.runCommand(f, cmd)
	m.Command(f, time.Since(start))
	return err
}

// runCommand runs one command of kind f.
func (s *Session) runCommand(f metrics.Frame, cmd *protocol.Command) error {
	if state(s.state.Load()) != stateConnected {
		if cmd.Connect == nil || cmd.ID == 0 {
			return protocol.DisconnectBadRequest
		}
		return s.handleConnect(cmd.ID, cmd.Connect)
	}
	if cmd.ID == 0 {
		return s.handleAsync(cmd)
	}
	if s.commands != nil && !s.commands.Allow() {
		// Refusals are allowed a second's worth before the connection goes.
		if s.refused++; s.refused > s.m.cfg.CommandRateLimit {
			return protocol.DisconnectTooManyRequests
		}
		return s.replyError(f, cmd.ID, protocol.ErrTooManyRequests)
	}
	s.refused = 0

	var err error
	switch {
	case cmd.Connect != nil:
		return protocol.DisconnectBadRequest
	case cmd.Subscribe != nil:
		err = s.handleSubscribe(cmd.ID, cmd.Subscribe)
	case cmd.Unsubscribe != nil:
		err = s.handleUnsubscribe(cmd.ID, cmd.Unsubscribe)
	case cmd.Publish != nil:
		err = s.handlePublish(cmd.ID, cmd.Publish)
	case cmd.Presence != nil:
		err = s.handlePresence(cmd.ID, cmd.Presence)
	case cmd.PresenceStats != nil:
		err = s.handlePresenceStats(cmd.ID, cmd.PresenceStats)
	case cmd.History != nil:
		err = s.handleHistory(cmd.ID, cmd.History)
	case cmd.RPC != nil:
		err = s.handleRPC(cmd.ID, cmd.RPC)
	case cmd.Ping != nil && s.legacy.Load():
		// Protocol v1 clients ping the server and expect an empty reply.
		s.reply(&protocol.Reply{ID: cmd.ID, Ping: &protocol.PingResult{}})
	case cmd.Send != nil:
		return protocol.DisconnectBadRequest
	case cmd.Refresh != nil:
		err = s.handleRefresh(cmd.ID, cmd.Refresh)
	case cmd.SubRefresh != nil:
		err = s.handleSubRefresh(cmd.ID, cmd.SubRefresh)
	default:
		return protocol.DisconnectBadRequest
	}
	return s.replyError(f, cmd.ID, err)
}

// replyError turns the error of a command of kind f into a reply error, or
// passes a disconnect through.
func (s *Session) replyError(f metrics.Frame, id uint32, err error) error {
	if err == nil {
		return nil
	}
	var d *protocol.Disconnect
	if errors.As(err, &d) {
		return d
	}
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		s.log.Error("command failed", "error", err)
		pe = protocol.ErrInternal
	}
	s.m.cfg.Metrics.ReplyError(f, pe.Code)
	s.replyAs(f, &protocol.Reply{ID: id, Error: pe})
	return nil
}

// handleAsync handles commands without an ID: pongs and send.
func (s *Session) handleAsync(cmd *protocol.Command) error {
	if cmd.Send != nil {
		// Herald has no message handler without an RPC proxy.
		return protocol.DisconnectNotAvailable
	}
	empty := cmd.Connect == nil && cmd.Subscribe == nil && cmd.Unsubscribe == nil &&
		cmd.Publish == nil && cmd.Presence == nil && cmd.PresenceStats == nil &&
		cmd.History == nil && cmd.Ping == nil && cmd.RPC == nil &&
		cmd.Refresh == nil && cmd.SubRefresh == nil
	if !empty {
		return protocol.DisconnectBadRequest
	}
	if s.pingAt.Swap(0) == 0 {
		return protocol.DisconnectBadRequest
	}
	return nil
}

// credentials is who a connection is, however it authenticated.
type credentials struct {
	user     string
	expireAt int64
	info     []byte
	channels []string
	subs     map[string]auth.SubscribeOptions
	// data goes back to the client in the connect reply; meta stays on
	// the server and travels to the backend with later proxy calls.
	data []byte
	meta []byte
}

func (s *Session) authenticate(ctx context.Context, req *protocol.ConnectRequest) (
	*credentials, error) {
	cfg := &s.m.cfg
	if req.Token != "" && cfg.Verifier != nil {
		tok, err := cfg.Verifier.VerifyConnectToken(ctx, req.Token)
		switch {
		case errors.Is(err, auth.ErrTokenExpired):
			return nil, protocol.ErrTokenExpired
		case err != nil:
			if cfg.Insecure {
				return &credentials{}, nil
			}
			s.log.Info("invalid connection token", "error", err)
			return nil, protocol.DisconnectInvalidToken
		}
		if tok.UserID == "" && cfg.DisallowAnonymousTokens {
			return nil, protocol.DisconnectPermissionDenied
		}
		return &credentials{
			user:     tok.UserID,
			expireAt: tok.ExpireAt,
			info:     tok.Info,
			channels: tok.Channels,
			subs:     tok.Subs,
			meta:     tok.Meta,
		}, nil
	}
	if req.Token == "" && cfg.Proxies.Connect != nil {
		return s.proxyConnect(ctx, req)
	}
	if req.Token != "" && !cfg.Insecure {
		s.log.Info("connection token without a configured key")
		return nil, protocol.DisconnectInvalidToken
	}
	if cfg.Insecure || cfg.AllowAnonymous {
		return &credentials{}, nil
	}
	return nil, protocol.DisconnectInvalidToken
}

func (s *Session) handleConnect(id uint32, req *protocol.ConnectRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	if l := s.m.connects; l != nil && !l.Allow() {
		return protocol.DisconnectTooManyRequests
	}
	s.mu.Lock()
	s.emulated = req.Headers
	s.mu.Unlock()
	s.name = req.Name
	creds, err := s.authenticate(ctx, req)
	if err == nil && creds.expireAt > 0 && creds.expireAt <= time.Now().Unix() {
		err = protocol.ErrExpired
	}
	if err != nil {
		return s.failConnect(id, err)
	}

	s.mu.Lock()
	s.user, s.info, s.expireAt = creds.user, creds.info, creds.expireAt
	s.meta = creds.meta
	s.mu.Unlock()
	if d := s.m.register(s); d != nil {
		return d
	}
	s.m.removePending(s)
	if n := s.m.cfg.CommandRateLimit; n > 0 {
		s.commands = rate.NewLimiter(rate.Limit(n), n)
	}
	s.state.Store(int32(stateConnected))
	if s.m.cfg.PersonalSingleConnection && creds.user != "" {
		s.kickOtherSessions()
	}

	res, activations, err := s.serverSideSubscribe(ctx, creds, req.Subs)
	if err != nil {
		// The connect fails after all. Undo the registration so that the
		// connection is as unusable as after any other failed connect, and
		// the stale check closes it if the client does not.
		s.m.unregister(s)
		s.m.addPending(s)
		return s.failConnect(id, err)
	}
	s.fillConnectResult(res, creds)
	s.activateAll(activations, func() { s.reply(&protocol.Reply{ID: id, Connect: res}) })
	return nil
}

// failConnect answers a rejected connect. Reply errors leave the connection
// open but unusable, as the SDKs expect; disconnects close it.
func (s *Session) failConnect(id uint32, err error) error {
	var d *protocol.Disconnect
	if errors.As(err, &d) {
		return d
	}
	if s.mode == modeUni {
		return uniDisconnect(err)
	}
	s.state.Store(int32(stateFailed))
	if rerr := s.replyError(metrics.FrameConnect, id, err); rerr != nil {
		return rerr
	}
	return errStop
}

func (s *Session) fillConnectResult(res *protocol.ConnectResult, creds *credentials) {
	cfg := &s.m.cfg
	res.Client = s.id
	res.Version = cfg.Node.Version()
	res.Data = creds.data
	// With a refresh proxy the server extends the connection itself, so
	// the client is not asked to bring a new token.
	if creds.expireAt > 0 && cfg.Proxies.Refresh == nil {
		res.Expires = true
		res.TTL = ttlUntil(creds.expireAt)
	}
	// In frame ping mode the transport pings, and clients must not run a
	// ping timer of their own (client-protocol.md §8).
	if cfg.PingInterval > 0 && !s.framePing {
		res.Ping = uint32(cfg.PingInterval / time.Second)
		res.Pong = cfg.PongTimeout > 0 && s.mode != modeUni
	}
	if s.mode != modeBidi {
		res.Session, res.Node = s.key, cfg.Node.ID()
	}
	if cfg.IncludeServerTime {
		res.Time = time.Now().UnixMilli()
	}
}

func ttlUntil(expireAt int64) uint32 {
	return uint32(max(expireAt-time.Now().Unix(), 0))
}

// kickOtherSessions keeps one connection per user when configured.
func (s *Session) kickOtherSessions() {
	for _, other := range s.m.UserSessions(s.user) {
		if other != s {
			other.Disconnect(protocol.DisconnectConnectionLimit)
		}
	}
}

func (s *Session) handleRefresh(id uint32, req *protocol.RefreshRequest) error {
	v := s.m.cfg.Verifier
	if v == nil {
		return protocol.ErrNotAvailable
	}
	if req.Token == "" {
		return protocol.DisconnectBadRequest
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	tok, err := v.VerifyConnectToken(ctx, req.Token)
	switch {
	case errors.Is(err, auth.ErrTokenExpired):
		return protocol.ErrTokenExpired
	case err != nil:
		return protocol.DisconnectInvalidToken
	}
	s.mu.Lock()
	if tok.UserID != s.user {
		s.mu.Unlock()
		return protocol.DisconnectInvalidToken
	}
	if tok.ExpireAt > 0 && tok.ExpireAt <= time.Now().Unix() {
		s.mu.Unlock()
		return protocol.ErrExpired
	}
	s.expireAt = tok.ExpireAt
	if len(tok.Info) > 0 {
		s.info = tok.Info
	}
	s.mu.Unlock()

	res := &protocol.RefreshResult{Client: s.id, Version: s.m.cfg.Node.Version()}
	if tok.ExpireAt > 0 {
		res.Expires, res.TTL = true, ttlUntil(tok.ExpireAt)
	}
	s.reply(&protocol.Reply{ID: id, Refresh: res})
	return nil
}
