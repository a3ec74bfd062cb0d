package session

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/channel"
	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/protocol"
	"github.com/heraldhq/herald/internal/proxy"
)

// refreshGrace extends a connection or subscription whose backend refresh
// failed, so that a backend outage does not disconnect everybody at once.
const refreshGrace = 60 * time.Second

// Proxies are the application backend endpoints sessions call. A nil proxy
// or lookup means that kind of call is not configured.
type Proxies struct {
	Connect *proxy.Proxy
	Refresh *proxy.Proxy
	// Channel returns the proxy that channel options name for an event
	// kind (config.KindSubscribe, KindPublish, KindSubRefresh).
	Channel func(kind, name string) *proxy.Proxy
	// RPC returns the proxy serving an RPC method.
	RPC func(method string) *proxy.Proxy
}

func (p *Proxies) channel(kind, name string) *proxy.Proxy {
	if p.Channel == nil {
		return nil
	}
	return p.Channel(kind, name)
}

// caller describes the session to the backend.
func (s *Session) caller() proxy.Caller {
	s.mu.Lock()
	defer s.mu.Unlock()
	protocolName := "json"
	if s.codec.Binary() {
		protocolName = "protobuf"
	}
	return proxy.Caller{
		Client:          s.id,
		Transport:       s.t.Name(),
		Protocol:        protocolName,
		User:            s.user,
		Meta:            s.meta,
		Headers:         s.headers,
		EmulatedHeaders: s.emulated,
	}
}

// proxyError maps a proxy call's error to what the client receives: the
// backend's own error or disconnect as sent, or an internal error when the
// backend could not be reached (temporary, so SDKs retry).
func proxyError(err error) error {
	var d *protocol.Disconnect
	var pe *protocol.Error
	switch {
	case errors.As(err, &d), errors.As(err, &pe):
		return err
	default:
		return protocol.ErrInternal
	}
}

// bound returns ctx, cancelled as well when the connection closes, so that
// a backend call made for a client that is gone stops at once instead of
// holding the client's reader until its timeout.
func (s *Session) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// errDropped is what a proxy call returns when the connection closed while
// the backend answered: proxy.md §2 drops such a result silently. It is a
// disconnect so that it travels up without a reply; disconnecting a
// closed session does nothing.
var errDropped error = protocol.DisconnectConnectionClosed

// closed reports whether the connection is gone.
func (s *Session) closed() bool {
	return state(s.state.Load()) == stateClosed
}

func (s *Session) proxyConnect(ctx context.Context, req *protocol.ConnectRequest) (
	*credentials, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()

	cfg := &s.m.cfg
	res, err := cfg.Proxies.Connect.Connect(ctx, s.caller(), proxy.ConnectRequest{
		Name: req.Name, Version: req.Version, Data: req.Data,
		// The client names the server-side channels it wants (to recover
		// them after a reconnect) as the keys of its connect subs.
		Channels: slices.Sorted(maps.Keys(req.Subs)),
	})
	if s.closed() {
		return nil, errDropped
	}
	if err != nil {
		return nil, proxyError(err)
	}
	if res == nil {
		// The backend did not recognise the client.
		if cfg.Insecure || cfg.AllowAnonymous {
			return &credentials{}, nil
		}
		return nil, protocol.DisconnectBadRequest
	}
	creds := &credentials{
		user: res.User, expireAt: res.ExpireAt, info: res.Info,
		channels: res.Channels, data: res.Data, meta: res.Meta,
	}
	if len(res.Subs) > 0 {
		creds.subs = make(map[string]auth.SubscribeOptions, len(res.Subs))
		for ch, o := range res.Subs {
			creds.subs[ch] = auth.SubscribeOptions{Info: o.Info, Data: o.Data,
				Override: o.Override}
		}
	}
	return creds, nil
}

// inBackground runs a backend refresh off the timing wheel's goroutine,
// unless the one that busy marks is still in flight.
func (s *Session) inBackground(busy *atomic.Bool, fn func()) {
	if !busy.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer busy.Store(false)
		fn()
	}()
}

// proxyRefresh asks the backend to extend an expiring connection.
func (s *Session) proxyRefresh() {
	ctx, cancel := context.WithTimeout(s.ctx, commandTimeout)
	defer cancel()

	res, err := s.m.cfg.Proxies.Refresh.Refresh(ctx, s.caller())
	if s.closed() {
		return
	}
	if err != nil {
		s.mu.Lock()
		s.expireAt = time.Now().Add(refreshGrace).Unix()
		s.mu.Unlock()
		return
	}
	if res.Expired {
		s.Disconnect(protocol.DisconnectExpired)
		return
	}
	s.mu.Lock()
	s.expireAt = res.ExpireAt
	if res.Info != nil {
		s.info = res.Info
	}
	if res.Meta != nil {
		s.meta = res.Meta
	}
	s.mu.Unlock()
}

// subRefreshProxy returns the backend that refreshes sub, if any.
func (s *Session) subRefreshProxy(sub *subscription) *proxy.Proxy {
	if !sub.opts.SubRefreshProxyEnabled {
		return nil
	}
	return s.m.cfg.Proxies.channel(config.KindSubRefresh, sub.opts.SubRefreshProxyName)
}

// proxySubRefresh asks the backend to extend expiring subscriptions.
func (s *Session) proxySubRefresh(channels []string) {
	for _, ch := range channels {
		s.mu.Lock()
		sub := s.subs[ch]
		s.mu.Unlock()
		if sub == nil {
			continue
		}
		px := s.subRefreshProxy(sub)
		ctx, cancel := context.WithTimeout(s.ctx, commandTimeout)
		res, err := px.SubRefresh(ctx, s.caller(), proxy.SubRefreshRequest{Channel: ch})
		cancel()
		switch {
		case s.closed():
			return
		case err != nil:
			s.mu.Lock()
			sub.expireAt = time.Now().Add(refreshGrace).Unix()
			s.mu.Unlock()
		case res.Expired:
			if !s.expireSubscription(ch) {
				return
			}
		default:
			s.mu.Lock()
			sub.expireAt = res.ExpireAt
			if res.Info != nil {
				sub.chanInfo = res.Info
			}
			s.mu.Unlock()
		}
	}
}

// proxySubscribe lets the backend decide a client-side subscribe.
func (s *Session) proxySubscribe(ctx context.Context, p *subParams) error {
	px := s.m.cfg.Proxies.channel(config.KindSubscribe, p.opts.SubscribeProxyName)
	if px == nil {
		return protocol.ErrNotAvailable
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()

	res, err := px.Subscribe(ctx, s.caller(), proxy.SubscribeRequest{
		Channel: p.channel, Token: p.req.Token, Data: p.req.Data,
	})
	if s.closed() {
		return errDropped
	}
	if err != nil {
		return proxyError(err)
	}
	p.chanInfo, p.data, p.override, p.expireAt = res.Info, res.Data, res.Override, res.ExpireAt
	p.serverRefresh = res.ExpireAt > 0 && s.subRefreshProxyFor(p) != nil
	return nil
}

func (s *Session) subRefreshProxyFor(p *subParams) *proxy.Proxy {
	if !p.opts.SubRefreshProxyEnabled {
		return nil
	}
	return s.m.cfg.Proxies.channel(config.KindSubRefresh, p.opts.SubRefreshProxyName)
}

// proxyPublish lets the backend decide and shape a client publication.
func (s *Session) proxyPublish(ctx context.Context, ch string, chOpts *channel.Options,
	opts *engine.PublishOptions, pub *protocol.Publication) error {
	px := s.m.cfg.Proxies.channel(config.KindPublish, chOpts.PublishProxyName)
	if px == nil {
		return protocol.ErrNotAvailable
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()

	res, err := px.Publish(ctx, s.caller(), proxy.PublishRequest{Channel: ch, Data: pub.Data})
	if s.closed() {
		return errDropped
	}
	if err != nil {
		return proxyError(err)
	}
	if res.Data != nil {
		pub.Data = res.Data
	}
	if res.SkipHistory {
		opts.HistorySize, opts.HistoryTTL = 0, 0
	}
	if len(res.Tags) > 0 {
		pub.Tags = res.Tags
	}
	opts.IdempotencyKey = res.IdempotencyKey
	opts.Delta = opts.Delta || res.Delta
	return nil
}

// handleRPC sends a client RPC to the backend that serves its method.
func (s *Session) handleRPC(id uint32, req *protocol.RPCRequest) error {
	lookup := s.m.cfg.Proxies.RPC
	if lookup == nil {
		return protocol.ErrNotAvailable
	}
	px := lookup(req.Method)
	if px == nil {
		return protocol.ErrNotAvailable
	}
	ctx, cancel := context.WithTimeout(s.ctx, commandTimeout)
	defer cancel()

	res, err := px.RPC(ctx, s.caller(), proxy.RPCRequest{Method: req.Method, Data: req.Data})
	if s.closed() {
		return errDropped
	}
	if err != nil {
		return proxyError(err)
	}
	s.reply(&protocol.Reply{ID: id, RPC: &protocol.RPCResult{Data: res.Data}})
	return nil
}

// RPCNamespace splits "ns:method" at boundary; methods without one belong
// to no namespace.
func RPCNamespace(method, boundary string) string {
	if boundary == "" {
		boundary = ":"
	}
	ns, _, found := strings.Cut(method, boundary)
	if !found {
		return ""
	}
	return ns
}
