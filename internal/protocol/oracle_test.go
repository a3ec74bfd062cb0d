package protocol

// Conversions between Herald's model and the reference library's types,
// which the tests use as an oracle only.

import (
	cf "github.com/centrifugal/protocol"
)

func cfReply(r *Reply) *cf.Reply {
	out := &cf.Reply{Id: r.ID, Push: cfPush(r.Push)}
	if e := r.Error; e != nil {
		out.Error = &cf.Error{Code: e.Code, Message: e.Message, Temporary: e.Temporary}
	}
	if c := r.Connect; c != nil {
		out.Connect = &cf.ConnectResult{
			Client: c.Client, Version: c.Version, Expires: c.Expires, Ttl: c.TTL,
			Data: cf.Raw(c.Data), Subs: cfSubs(c.Subs), Ping: c.Ping, Pong: c.Pong,
			Session: c.Session, Node: c.Node, Time: c.Time,
		}
	}
	out.Subscribe = cfSubscribeResult(r.Subscribe)
	if r.Unsubscribe != nil {
		out.Unsubscribe = &cf.UnsubscribeResult{}
	}
	if r.Publish != nil {
		out.Publish = &cf.PublishResult{}
	}
	if p := r.Presence; p != nil {
		out.Presence = &cf.PresenceResult{Presence: map[string]*cf.ClientInfo{}}
		for k, v := range p.Presence {
			if v == nil {
				v = &ClientInfo{}
			}
			out.Presence.Presence[k] = cfInfo(v)
		}
	}
	if s := r.PresenceStats; s != nil {
		out.PresenceStats = &cf.PresenceStatsResult{NumClients: s.NumClients,
			NumUsers: s.NumUsers}
	}
	if h := r.History; h != nil {
		out.History = &cf.HistoryResult{Publications: cfPubs(h.Publications),
			Epoch: h.Epoch, Offset: h.Offset}
		if out.History.Publications == nil {
			// Herald writes [] where the reference writes null; both are
			// allowed, and an empty list makes the JSON bytes comparable.
			out.History.Publications = []*cf.Publication{}
		}
	}
	if r.Ping != nil {
		out.Ping = &cf.PingResult{}
	}
	if r.RPC != nil {
		out.Rpc = &cf.RPCResult{Data: cf.Raw(r.RPC.Data)}
	}
	if f := r.Refresh; f != nil {
		out.Refresh = &cf.RefreshResult{Client: f.Client, Version: f.Version,
			Expires: f.Expires, Ttl: f.TTL}
	}
	if f := r.SubRefresh; f != nil {
		out.SubRefresh = &cf.SubRefreshResult{Expires: f.Expires, Ttl: f.TTL}
	}
	return out
}

func cfPush(p *Push) *cf.Push {
	if p == nil {
		return nil
	}
	out := &cf.Push{Id: p.ID, Channel: p.Channel, Pub: cfPub(p.Pub)}
	if p.Join != nil {
		out.Join = &cf.Join{Info: cfInfo(&p.Join.Info)}
	}
	if p.Leave != nil {
		out.Leave = &cf.Leave{Info: cfInfo(&p.Leave.Info)}
	}
	if u := p.Unsubscribe; u != nil {
		out.Unsubscribe = &cf.Unsubscribe{Code: u.Code, Reason: u.Reason}
	}
	if p.Message != nil {
		out.Message = &cf.Message{Data: cf.Raw(p.Message.Data)}
	}
	if s := p.Subscribe; s != nil {
		out.Subscribe = &cf.Subscribe{Recoverable: s.Recoverable, Epoch: s.Epoch,
			Offset: s.Offset, Positioned: s.Positioned, Data: cf.Raw(s.Data)}
	}
	if c := p.Connect; c != nil {
		out.Connect = &cf.Connect{
			Client: c.Client, Version: c.Version, Data: cf.Raw(c.Data),
			Subs: cfSubs(c.Subs), Expires: c.Expires, Ttl: c.TTL, Ping: c.Ping,
			Pong: c.Pong, Session: c.Session, Node: c.Node, Time: c.Time,
		}
	}
	if d := p.Disconnect; d != nil {
		// Herald does not write Reconnect; see appendDisconnectPB.
		out.Disconnect = &cf.Disconnect{Code: d.Code, Reason: d.Reason}
	}
	if f := p.Refresh; f != nil {
		out.Refresh = &cf.Refresh{Expires: f.Expires, Ttl: f.TTL}
	}
	return out
}

func cfPub(p *Publication) *cf.Publication {
	if p == nil {
		return nil
	}
	out := &cf.Publication{Data: cf.Raw(p.Data), Offset: p.Offset, Tags: p.Tags,
		Delta: p.Delta, Time: p.Time}
	if p.Info != nil {
		out.Info = cfInfo(p.Info)
	}
	return out
}

func cfPubs(pubs []*Publication) []*cf.Publication {
	if pubs == nil {
		return nil
	}
	out := make([]*cf.Publication, len(pubs))
	for i, p := range pubs {
		out[i] = cfPub(p)
	}
	return out
}

func cfInfo(ci *ClientInfo) *cf.ClientInfo {
	return &cf.ClientInfo{User: ci.User, Client: ci.Client,
		ConnInfo: cf.Raw(ci.ConnInfo), ChanInfo: cf.Raw(ci.ChanInfo)}
}

func cfSubs(subs map[string]*SubscribeResult) map[string]*cf.SubscribeResult {
	if subs == nil {
		return nil
	}
	out := make(map[string]*cf.SubscribeResult, len(subs))
	for k, v := range subs {
		if v == nil {
			v = &SubscribeResult{}
		}
		out[k] = cfSubscribeResult(v)
	}
	return out
}

func cfSubscribeResult(r *SubscribeResult) *cf.SubscribeResult {
	if r == nil {
		return nil
	}
	return &cf.SubscribeResult{
		Expires: r.Expires, Ttl: r.TTL, Recoverable: r.Recoverable, Epoch: r.Epoch,
		Publications: cfPubs(r.Publications), Recovered: r.Recovered,
		Offset: r.Offset, Positioned: r.Positioned, Data: cf.Raw(r.Data),
		WasRecovering: r.WasRecovering, Delta: r.Delta, Id: r.ID,
	}
}

// fromCFCommand is what Herald's decoders must produce for c.
func fromCFCommand(c *cf.Command) *Command {
	out := &Command{ID: c.Id}
	if r := c.Connect; r != nil {
		out.Connect = &ConnectRequest{Token: r.Token, Data: rawOf(r.Data),
			Name: r.Name, Version: r.Version, Headers: r.Headers}
		if r.Subs != nil {
			out.Connect.Subs = map[string]*SubscribeRequest{}
			for k, v := range r.Subs {
				if v == nil {
					// Herald never hands the session a nil entry.
					v = &cf.SubscribeRequest{}
				}
				out.Connect.Subs[k] = fromCFSubscribe(v)
			}
		}
	}
	out.Subscribe = fromCFSubscribe(c.Subscribe)
	if r := c.Unsubscribe; r != nil {
		out.Unsubscribe = &UnsubscribeRequest{Channel: r.Channel}
	}
	if r := c.Publish; r != nil {
		out.Publish = &PublishRequest{Channel: r.Channel, Data: rawOf(r.Data)}
	}
	if r := c.Presence; r != nil {
		out.Presence = &PresenceRequest{Channel: r.Channel}
	}
	if r := c.PresenceStats; r != nil {
		out.PresenceStats = &PresenceStatsRequest{Channel: r.Channel}
	}
	if r := c.History; r != nil {
		out.History = &HistoryRequest{Channel: r.Channel, Limit: r.Limit,
			Reverse: r.Reverse}
		if r.Since != nil {
			out.History.Since = &StreamPosition{Offset: r.Since.Offset,
				Epoch: r.Since.Epoch}
		}
	}
	if c.Ping != nil {
		out.Ping = &PingRequest{}
	}
	if r := c.Send; r != nil {
		out.Send = &SendRequest{Data: rawOf(r.Data)}
	}
	if r := c.Rpc; r != nil {
		out.RPC = &RPCRequest{Data: rawOf(r.Data), Method: r.Method}
	}
	if r := c.Refresh; r != nil {
		out.Refresh = &RefreshRequest{Token: r.Token}
	}
	if r := c.SubRefresh; r != nil {
		out.SubRefresh = &SubRefreshRequest{Channel: r.Channel, Token: r.Token}
	}
	return out
}

func fromCFSubscribe(r *cf.SubscribeRequest) *SubscribeRequest {
	if r == nil {
		return nil
	}
	return &SubscribeRequest{
		Channel: r.Channel, Token: r.Token, Recover: r.Recover, Epoch: r.Epoch,
		Offset: r.Offset, Data: rawOf(r.Data), Positioned: r.Positioned,
		Recoverable: r.Recoverable, JoinLeave: r.JoinLeave, Delta: r.Delta,
		Flag: r.Flag, Type: r.Type, HasFilter: r.Tf != nil,
	}
}

// rawOf converts a reference payload; proto3 cannot tell empty bytes from
// absent ones, and Herald decodes both as nil.
func rawOf(b cf.Raw) Raw {
	if len(b) == 0 {
		return nil
	}
	return Raw(b)
}
