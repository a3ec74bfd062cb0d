package api

import (
	"context"
	"errors"
	"time"

	"github.com/heraldhq/herald/internal/channel"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/protocol"
)

// Methods that read or maintain channel state, and info.

// checkChannelName rejects a missing or malformed channel name with 107.
func (h *Handler) checkChannelName(method, ch string) *protocol.Error {
	if ch == "" {
		return h.reject(method, errBadRequest, "channel required")
	}
	if err := h.cfg.Rules.Validate(ch); err != nil {
		return h.reject(method, errBadRequest, err.Error())
	}
	return nil
}

// channelOptions validates ch and returns its namespace's options (102 for
// an unknown namespace).
func (h *Handler) channelOptions(method, ch string) (*channel.Options, *protocol.Error) {
	if e := h.checkChannelName(method, ch); e != nil {
		return nil, e
	}
	opts, ok := h.cfg.Rules.Options(ch)
	if !ok {
		return nil, h.reject(method, errUnknownChan, "unknown namespace")
	}
	return opts, nil
}

// presenceOptions is channelOptions for presence methods: 108 when the
// namespace keeps no presence.
func (h *Handler) presenceOptions(method, ch string) *protocol.Error {
	opts, e := h.channelOptions(method, ch)
	if e != nil {
		return e
	}
	if !opts.Presence {
		return h.reject(method, errNotAvailable, "presence is off for the namespace")
	}
	return nil
}

// historyOptions is channelOptions for history methods: 108 when the
// namespace keeps no history.
func (h *Handler) historyOptions(method, ch string) (*channel.Options, *protocol.Error) {
	opts, e := h.channelOptions(method, ch)
	if e != nil {
		return nil, e
	}
	if !opts.HistoryEnabled() {
		return nil, h.reject(method, errNotAvailable, "history is off for the namespace")
	}
	return opts, nil
}

func (h *Handler) presence(ctx context.Context, r *channelRequest) (result,
	*protocol.Error) {
	if e := h.presenceOptions("presence", r.channel); e != nil {
		return nil, e
	}
	p, err := h.cfg.Node.PresenceManager().Presence(ctx, r.channel)
	if err != nil {
		return nil, h.fail("presence", err, "channel", r.channel)
	}
	return presenceResult(p), nil
}

func (h *Handler) presenceStats(ctx context.Context, r *channelRequest) (result,
	*protocol.Error) {
	if e := h.presenceOptions("presence_stats", r.channel); e != nil {
		return nil, e
	}
	st, err := h.cfg.Node.PresenceManager().PresenceStats(ctx, r.channel)
	if err != nil {
		return nil, h.fail("presence_stats", err, "channel", r.channel)
	}
	return presenceStatsResult(st), nil
}

// history reads a channel's stream: limit 0 returns only the position, a
// negative limit everything kept; since that is not in the stream any more
// is 112.
func (h *Handler) history(ctx context.Context, r *historyRequest) (result,
	*protocol.Error) {
	opts, e := h.historyOptions("history", r.channel)
	if e != nil {
		return nil, e
	}
	pubs, sp, err := h.cfg.Node.History(ctx, r.channel, engine.HistoryOptions{
		Since:   r.since,
		Limit:   int(r.limit),
		Reverse: r.reverse,
		MetaTTL: opts.HistoryMetaTTL,
	})
	if errors.Is(err, engine.ErrUnrecoverablePosition) {
		return nil, h.reject("history", errUnrecoverable, "since is not in the stream")
	}
	if err != nil {
		return nil, h.fail("history", err, "channel", r.channel)
	}
	return historyResult{pubs: pubs, pos: sp}, nil
}

// historyRemove drops a channel's publications; its position is kept.
func (h *Handler) historyRemove(ctx context.Context, r *channelRequest) (result,
	*protocol.Error) {
	if _, e := h.historyOptions("history_remove", r.channel); e != nil {
		return nil, e
	}
	if err := h.cfg.Node.Broker().RemoveHistory(ctx, r.channel); err != nil {
		return nil, h.fail("history_remove", err, "channel", r.channel)
	}
	return emptyResult{}, nil
}

// channels lists the channels with subscribers on any node, optionally
// filtered by a glob pattern. A malformed pattern is answered with 100, as
// the reference server does, but logged as the client's mistake.
func (h *Handler) channels(ctx context.Context, r *channelsRequest) (result,
	*protocol.Error) {
	if r.pattern != "" {
		if _, err := channel.CompilePattern(r.pattern); err != nil {
			return nil, h.reject("channels", errInternal, err.Error())
		}
	}

	counts, err := h.cfg.Node.Channels(ctx, r.pattern)
	if err != nil {
		return nil, h.fail("channels", err, "pattern", r.pattern)
	}
	return channelsResult(counts), nil
}

// info describes the live nodes of the cluster: this one first, counted
// now, then the others as they last announced themselves, by name.
func (h *Handler) info(context.Context, *infoRequest) (result, *protocol.Error) {
	n := h.cfg.Node
	now := h.now()
	process, snap := n.Figures(now)
	out := infoResult{{
		uid:         n.ID(),
		name:        n.Name(),
		version:     n.Version(),
		numClients:  h.cfg.Sessions.NumClients(),
		numUsers:    h.cfg.Sessions.NumUsers(),
		numChannels: n.NumChannels(),
		numSubs:     h.cfg.Sessions.NumSubscriptions(),
		uptime:      int64(now.Sub(n.Started()) / time.Second),
		process:     process,
		metrics:     snap,
	}}
	for _, p := range n.Peers() {
		out = append(out, nodeInfo{uid: p.ID, name: p.Name, version: p.Version,
			numClients: p.NumClients, numUsers: p.NumUsers,
			numChannels: p.NumChannels, numSubs: p.NumSubs, uptime: p.Uptime,
			process: p.Process, metrics: p.Metrics})
	}
	return out, nil
}
