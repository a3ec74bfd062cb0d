package api

import (
	"context"
	"encoding/base64"
	"errors"

	"github.com/heraldhq/herald/internal/node"
	"github.com/heraldhq/herald/internal/protocol"
	"github.com/heraldhq/herald/internal/session"
)

// Methods that act on the connections of a user. An empty user selects
// anonymous connections, as in the reference server.

func (t target) sessionTarget() session.Target {
	return session.Target{User: t.user, Client: t.client, Session: t.session}
}

// command starts the node command that carries the method to the other
// nodes.
func (t target) command(kind node.CommandKind) node.UserCommand {
	return node.UserCommand{Kind: kind, User: t.user, Client: t.client,
		Session: t.session}
}

// toNodes sends cmd, already applied to this node's connections, to the
// other nodes. It runs after the local action so that, as before, the
// answer follows it; a node that misses the message is not waited for.
func (h *Handler) toNodes(ctx context.Context, method string, cmd node.UserCommand) (
	result, *protocol.Error) {
	if err := h.cfg.Node.Broadcast(ctx, cmd); err != nil {
		return nil, h.fail(method, err, "channel", cmd.Channel)
	}
	return emptyResult{}, nil
}

// subscribe subscribes the user's connections to a channel; each client is
// told with a subscribe push.
func (h *Handler) subscribe(ctx context.Context, r *subscribeRequest) (result,
	*protocol.Error) {
	if e := h.checkChannelName("subscribe", r.channel); e != nil {
		return nil, e
	}
	info, e := h.pickBytes("subscribe", "b64info", r.info, r.b64info)
	if e != nil {
		return nil, e
	}
	data, e := h.pickBytes("subscribe", "b64data", r.data, r.b64data)
	if e != nil {
		return nil, e
	}
	if _, ok := h.cfg.Rules.Options(r.channel); !ok {
		return nil, h.reject("subscribe", errUnknownChan, "unknown namespace")
	}

	err := h.cfg.Sessions.SubscribeUser(ctx, r.sessionTarget(), r.channel,
		session.SubscribeOptions{
			Info:         info,
			Data:         data,
			ExpireAt:     r.expireAt,
			Override:     r.override,
			RecoverSince: r.recoverSince,
		})
	if err != nil {
		return nil, h.sessionError("subscribe", err, r.channel)
	}

	cmd := r.command(node.CommandSubscribe)
	cmd.Channel, cmd.Info, cmd.Data = r.channel, info, data
	cmd.ExpireAt, cmd.Override, cmd.RecoverSince = r.expireAt, r.override, r.recoverSince
	return h.toNodes(ctx, "subscribe", cmd)
}

// sessionError turns an error of a session operation into the API's. The
// codes the API defines pass through. A protocol error or disconnect from a
// connection (a channel limit, say) has no API code and is answered 100,
// but the server did not fail, so it is logged at info; anything else is
// an engine failure.
func (h *Handler) sessionError(method string, err error, ch string) *protocol.Error {
	var pe *protocol.Error
	var pd *protocol.Disconnect
	switch {
	case errors.As(err, &pe):
		switch pe.Code {
		case errUnknownChan.Code, errBadRequest.Code, errNotAvailable.Code,
			errUnrecoverable.Code:
			// The connection's error already says what was wrong.
			return h.reject(method, pe, "")
		}
	case !errors.As(err, &pd):
		return h.fail(method, err, "channel", ch)
	}
	h.log.Info("api command refused by a connection", "method", method,
		"channel", ch, "error", err)
	return errInternal
}

// pickBytes returns the decoded base64 form when given, else the raw JSON.
// field names the base64 parameter in the error.
func (h *Handler) pickBytes(method, field string, raw []byte, b64 string) ([]byte,
	*protocol.Error) {
	if b64 == "" {
		return raw, nil
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, h.reject(method, errBadRequest, field+" is not base64")
	}
	return b, nil
}

// unsubscribe removes the user's connections from a channel. An empty
// channel is passed on, as the reference server does; it matches no
// subscription.
func (h *Handler) unsubscribe(ctx context.Context, r *unsubscribeRequest) (result,
	*protocol.Error) {
	if r.channel != "" {
		if e := h.checkChannelName("unsubscribe", r.channel); e != nil {
			return nil, e
		}
		if _, ok := h.cfg.Rules.Options(r.channel); !ok {
			return nil, h.reject("unsubscribe", errUnknownChan, "unknown namespace")
		}
	}
	h.cfg.Sessions.UnsubscribeUser(r.sessionTarget(), r.channel)

	cmd := r.command(node.CommandUnsubscribe)
	cmd.Channel = r.channel
	return h.toNodes(ctx, "unsubscribe", cmd)
}

// disconnect closes the user's connections, by default with 3503 "force
// disconnect". A custom code must be an application close code
// (3000-4999): others cannot be sent in a WebSocket close frame or would
// mean something else to clients.
func (h *Handler) disconnect(ctx context.Context, r *disconnectRequest) (result,
	*protocol.Error) {
	d := protocol.DisconnectForceNoReconnect
	if c := r.disconnect; c != nil {
		if c.code < 3000 || c.code > 4999 {
			return nil, h.reject("disconnect", errBadRequest,
				"disconnect code must be in 3000-4999")
		}
		reconnect := protocol.ShouldReconnect(c.code)
		if c.reconnect != nil {
			reconnect = *c.reconnect
		}
		d = &protocol.Disconnect{Code: c.code, Reason: c.reason, Reconnect: reconnect}
	}
	h.cfg.Sessions.DisconnectUser(r.sessionTarget(), d, r.whitelist)

	cmd := r.command(node.CommandDisconnect)
	cmd.Disconnect, cmd.Keep = d, r.whitelist
	return h.toNodes(ctx, "disconnect", cmd)
}

// refresh extends, expires or updates the user's connections.
func (h *Handler) refresh(ctx context.Context, r *refreshRequest) (result,
	*protocol.Error) {
	h.cfg.Sessions.RefreshUser(r.sessionTarget(), session.RefreshOptions{
		Expired:  r.expired,
		ExpireAt: r.expireAt,
		Info:     r.info,
	})

	cmd := r.command(node.CommandRefresh)
	cmd.Expired, cmd.ExpireAt, cmd.Info = r.expired, r.expireAt, r.info
	return h.toNodes(ctx, "refresh", cmd)
}
