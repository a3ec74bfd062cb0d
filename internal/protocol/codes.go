package protocol

import "fmt"

// Reply errors defined by the protocol. Codes 0-399 belong to the server;
// applications use 400-1999.
var (
	ErrInternal              = &Error{Code: 100, Message: "internal server error", Temporary: true}
	ErrUnauthorized          = &Error{Code: 101, Message: "unauthorized"}
	ErrUnknownChannel        = &Error{Code: 102, Message: "unknown channel"}
	ErrPermissionDenied      = &Error{Code: 103, Message: "permission denied"}
	ErrMethodNotFound        = &Error{Code: 104, Message: "method not found"}
	ErrAlreadySubscribed     = &Error{Code: 105, Message: "already subscribed"}
	ErrLimitExceeded         = &Error{Code: 106, Message: "limit exceeded"}
	ErrBadRequest            = &Error{Code: 107, Message: "bad request"}
	ErrNotAvailable          = &Error{Code: 108, Message: "not available"}
	ErrTokenExpired          = &Error{Code: 109, Message: "token expired"}
	ErrExpired               = &Error{Code: 110, Message: "expired"}
	ErrTooManyRequests       = &Error{Code: 111, Message: "too many requests", Temporary: true}
	ErrUnrecoverablePosition = &Error{Code: 112, Message: "unrecoverable position"}
)

// Error implements the error interface so that a protocol error can travel
// through ordinary Go error returns until it is written to the client.
func (e *Error) Error() string {
	return fmt.Sprintf("%d: %s", e.Code, e.Message)
}

// DisconnectCode is a WebSocket close code carrying the protocol's advice.
type DisconnectCode uint32

// Disconnects defined by protocol v2. A close code in 3000-3499 or 4000-4499
// tells the client to reconnect; 3500-3999 and 4500-4999 are terminal.
var (
	DisconnectConnectionClosed   = &Disconnect{Code: 3000, Reason: "connection closed", Reconnect: true}
	DisconnectShutdown           = &Disconnect{Code: 3001, Reason: "shutdown", Reconnect: true}
	DisconnectServerError        = &Disconnect{Code: 3004, Reason: "internal server error", Reconnect: true}
	DisconnectExpired            = &Disconnect{Code: 3005, Reason: "connection expired", Reconnect: true}
	DisconnectSubExpired         = &Disconnect{Code: 3006, Reason: "subscription expired", Reconnect: true}
	DisconnectSlow               = &Disconnect{Code: 3008, Reason: "slow", Reconnect: true}
	DisconnectWriteError         = &Disconnect{Code: 3009, Reason: "write error", Reconnect: true}
	DisconnectInsufficientState  = &Disconnect{Code: 3010, Reason: "insufficient state", Reconnect: true}
	DisconnectForceReconnect     = &Disconnect{Code: 3011, Reason: "force reconnect", Reconnect: true}
	DisconnectNoPong             = &Disconnect{Code: 3012, Reason: "no pong", Reconnect: true}
	DisconnectTooManyRequests    = &Disconnect{Code: 3013, Reason: "too many requests", Reconnect: true}
	DisconnectStateInvalidated   = &Disconnect{Code: 3014, Reason: "state invalidated", Reconnect: true}
	DisconnectInvalidToken       = &Disconnect{Code: 3500, Reason: "invalid token"}
	DisconnectBadRequest         = &Disconnect{Code: 3501, Reason: "bad request"}
	DisconnectStale              = &Disconnect{Code: 3502, Reason: "stale"}
	DisconnectForceNoReconnect   = &Disconnect{Code: 3503, Reason: "force disconnect"}
	DisconnectConnectionLimit    = &Disconnect{Code: 3504, Reason: "connection limit"}
	DisconnectChannelLimit       = &Disconnect{Code: 3505, Reason: "channel limit"}
	DisconnectInappropriateProto = &Disconnect{Code: 3506, Reason: "inappropriate protocol"}
	DisconnectPermissionDenied   = &Disconnect{Code: 3507, Reason: "permission denied"}
	DisconnectNotAvailable       = &Disconnect{Code: 3508, Reason: "not available"}
	DisconnectTooManyErrors      = &Disconnect{Code: 3509, Reason: "too many errors"}
)

// Error implements the error interface so that a disconnect decision can be
// returned from deep in a command handler up to the connection loop.
func (d *Disconnect) Error() string {
	return fmt.Sprintf("disconnect %d: %s", d.Code, d.Reason)
}

// ShouldReconnect derives the reconnect advice from the code ranges of
// protocol v2.
func ShouldReconnect(code uint32) bool {
	switch {
	case code >= 3500 && code < 4000, code >= 4500 && code < 5000:
		return false
	default:
		return true
	}
}

// CloseV2 returns the disconnect that closes a protocol v2 connection for d.
//
// A backend may end a connection with a code below 3000 and reconnect
// false: the seed tutorial's connect proxy answers 1000 "unauthorized". A v2
// SDK takes every close code below 3000 for a closed transport and
// reconnects (centrifuge-js 5 in its transport onClose, centrifuge-go in
// extractDisconnectWebsocket), so such a client would ask the connect proxy
// again and again. CloseV2 therefore closes with 3503 "force disconnect",
// the terminal code for "disconnected by the server, do not reconnect",
// keeping the backend's reason. An empty reason becomes "force disconnect":
// centrifuge-js applies the terminal code ranges only to a close frame with
// a reason. Every other disconnect is returned as it is, since its code
// already says what the SDKs should do.
func CloseV2(d *Disconnect) *Disconnect {
	if d == nil || d.Reconnect || d.Code >= 3000 {
		return d
	}
	c := *d
	c.Code = DisconnectForceNoReconnect.Code
	if c.Reason == "" {
		c.Reason = DisconnectForceNoReconnect.Reason
	}
	return &c
}

// Unsubscribe codes sent in Unsubscribe pushes. Codes below 2500 are terminal
// for the subscription; 2500 and above make the client resubscribe.
const (
	UnsubscribeCodeServer            uint32 = 2000
	UnsubscribeCodeInsufficientState uint32 = 2500
	UnsubscribeCodeExpired           uint32 = 2501
	UnsubscribeCodeStateInvalidated  uint32 = 2502
)
