package metrics

// Frame is the kind of a protocol frame: the frame_type label of the
// transport counters, and for client commands the method label of the
// command metrics.
type Frame uint8

// Frame kinds. The pushes and replies a server sends, the commands a client
// sends. Their label values are those Centrifugo uses.
const (
	FrameUnknown Frame = iota
	FrameServerPing
	FrameClientPong
	FramePushConnect
	FramePushSubscribe
	FramePushPublication
	FramePushJoin
	FramePushLeave
	FramePushUnsubscribe
	FramePushMessage
	FramePushRefresh
	FramePushDisconnect
	// FrameConnect and the kinds after it are client commands, and the
	// replies to them.
	FrameConnect
	FrameSubscribe
	FramePublish
	FrameUnsubscribe
	FrameRPC
	FramePresence
	FramePresenceStats
	FrameHistory
	FrameRefresh
	FrameSubRefresh
	FrameSend
	// FramePing is the ping command of protocol v1 clients, which v2
	// replaced with server pings.
	FramePing
	numFrames
)

var frameNames = [numFrames]string{
	FrameUnknown:         "unknown",
	FrameServerPing:      "server_ping",
	FrameClientPong:      "client_pong",
	FramePushConnect:     "push_connect",
	FramePushSubscribe:   "push_subscribe",
	FramePushPublication: "push_publication",
	FramePushJoin:        "push_join",
	FramePushLeave:       "push_leave",
	FramePushUnsubscribe: "push_unsubscribe",
	FramePushMessage:     "push_message",
	FramePushRefresh:     "push_refresh",
	FramePushDisconnect:  "push_disconnect",
	FrameConnect:         "connect",
	FrameSubscribe:       "subscribe",
	FramePublish:         "publish",
	FrameUnsubscribe:     "unsubscribe",
	FrameRPC:             "rpc",
	FramePresence:        "presence",
	FramePresenceStats:   "presence_stats",
	FrameHistory:         "history",
	FrameRefresh:         "refresh",
	FrameSubRefresh:      "sub_refresh",
	FrameSend:            "send",
	FramePing:            "ping",
}

// String returns the frame's label value.
func (f Frame) String() string {
	if f >= numFrames {
		return frameNames[FrameUnknown]
	}
	return frameNames[f]
}

// isCommand reports whether f is a client command, timed by the command
// duration summary.
func (f Frame) isCommand() bool { return f >= FrameConnect && f < numFrames }

// Message is the kind of a message a node exchanges with the broker.
type Message uint8

// Message kinds, the type label of the node message counters.
const (
	MessagePublication Message = iota
	MessageJoin
	MessageLeave
	MessageControl
	numMessages
)

var messageNames = [numMessages]string{
	MessagePublication: "publication",
	MessageJoin:        "join",
	MessageLeave:       "leave",
	MessageControl:     "control",
}

// Outcome is how a backend call ended, the outcome label of the proxy
// call counter.
type Outcome uint8

// Outcomes of a backend call.
const (
	// OutcomeOK is an answer with a result, or with nothing to say.
	OutcomeOK Outcome = iota
	// OutcomeRejected is the backend's own error or disconnect, or a
	// status that a status transform turned into one.
	OutcomeRejected
	// OutcomeUnavailable is no usable answer: a network error, a timeout,
	// an unexpected status or an unreadable body.
	OutcomeUnavailable
	numOutcomes
)

var outcomeNames = [numOutcomes]string{
	OutcomeOK:          "ok",
	OutcomeRejected:    "rejected",
	OutcomeUnavailable: "unavailable",
}
