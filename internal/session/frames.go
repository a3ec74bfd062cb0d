package session

import (
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/protocol"
)

// commandFrame returns the kind of a client command, for the metrics. A
// command without a method is a pong when it has no ID.
func commandFrame(cmd *protocol.Command) metrics.Frame {
	switch {
	case cmd.Connect != nil:
		return metrics.FrameConnect
	case cmd.Subscribe != nil:
		return metrics.FrameSubscribe
	case cmd.Unsubscribe != nil:
		return metrics.FrameUnsubscribe
	case cmd.Publish != nil:
		return metrics.FramePublish
	case cmd.Presence != nil:
		return metrics.FramePresence
	case cmd.PresenceStats != nil:
		return metrics.FramePresenceStats
	case cmd.History != nil:
		return metrics.FrameHistory
	case cmd.RPC != nil:
		return metrics.FrameRPC
	case cmd.Refresh != nil:
		return metrics.FrameRefresh
	case cmd.SubRefresh != nil:
		return metrics.FrameSubRefresh
	case cmd.Send != nil:
		return metrics.FrameSend
	case cmd.Ping != nil:
		return metrics.FramePing
	case cmd.ID == 0:
		return metrics.FrameClientPong
	}
	return metrics.FrameUnknown
}

// replyFrame returns the kind of a reply or push, for the metrics.
func replyFrame(r *protocol.Reply) metrics.Frame {
	switch {
	case r.Push != nil:
		return pushFrame(r.Push)
	case r.Connect != nil:
		return metrics.FrameConnect
	case r.Subscribe != nil:
		return metrics.FrameSubscribe
	case r.Unsubscribe != nil:
		return metrics.FrameUnsubscribe
	case r.Publish != nil:
		return metrics.FramePublish
	case r.Presence != nil:
		return metrics.FramePresence
	case r.PresenceStats != nil:
		return metrics.FramePresenceStats
	case r.History != nil:
		return metrics.FrameHistory
	case r.RPC != nil:
		return metrics.FrameRPC
	case r.Refresh != nil:
		return metrics.FrameRefresh
	case r.SubRefresh != nil:
		return metrics.FrameSubRefresh
	case r.Ping != nil:
		return metrics.FramePing
	case r.ID == 0 && r.Error == nil:
		return metrics.FrameServerPing
	}
	return metrics.FrameUnknown
}

// pushFrame returns the kind of a push, for the metrics.
func pushFrame(p *protocol.Push) metrics.Frame {
	switch {
	case p.Pub != nil:
		return metrics.FramePushPublication
	case p.Join != nil:
		return metrics.FramePushJoin
	case p.Leave != nil:
		return metrics.FramePushLeave
	case p.Unsubscribe != nil:
		return metrics.FramePushUnsubscribe
	case p.Message != nil:
		return metrics.FramePushMessage
	case p.Subscribe != nil:
		return metrics.FramePushSubscribe
	case p.Connect != nil:
		return metrics.FramePushConnect
	case p.Disconnect != nil:
		return metrics.FramePushDisconnect
	case p.Refresh != nil:
		return metrics.FramePushRefresh
	}
	return metrics.FrameUnknown
}
