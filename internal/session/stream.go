package session

import (
	"crypto/rand"
	"errors"

	"github.com/heraldhq/herald/internal/protocol"
)

// mode is how a session talks to its client besides the codec.
type mode uint8

const (
	// modeBidi is a transport that carries commands both ways itself.
	modeBidi mode = iota
	// modeEmulated is a stream to the client (HTTP-streaming, SSE) with
	// the client's commands arriving as separate requests that name the
	// session's key.
	modeEmulated
	// modeUni is a stream to the client that carries no commands after
	// the connect request: the connect result is a Connect push, a
	// failed connect a disconnect, and pings expect no pong.
	modeUni
)

// SetEmulated makes the session one whose client sends its commands after
// the first frame through the emulation endpoint: the connect result then
// carries the session's key and this node's ID, which the client names in
// those requests. Call it before the first frame.
func (s *Session) SetEmulated() {
	s.mode = modeEmulated
	s.key = newKey()
}

// SetUnidirectional makes the session one that receives a connect request
// and then only pushes. Call it before the first frame, which the
// transport builds as a connect command around the client's request.
func (s *Session) SetUnidirectional() {
	s.mode = modeUni
	s.key = newKey()
}

// Key returns the session key of an emulated or unidirectional session,
// "" for others.
func (s *Session) Key() string { return s.key }

// EmulatedSession returns the connected emulated session with key, or nil.
func (m *Manager) EmulatedSession(key string) *Session {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.keys[key]
}

// newKey returns an unguessable session key: whoever knows it may send
// commands as the connection, so it must not be derived from the client
// ID, which other clients see.
func newKey() string { return rand.Text() }

// connectPush turns a connect result into the first push of a
// unidirectional stream.
func connectPush(r *protocol.ConnectResult) *protocol.Push {
	return &protocol.Push{Connect: &protocol.Connect{
		Client: r.Client, Version: r.Version, Data: r.Data, Subs: r.Subs,
		Expires: r.Expires, TTL: r.TTL, Ping: r.Ping, Session: r.Session,
		Node: r.Node, Time: r.Time,
	}}
}

// uniDisconnect maps a connect error of a unidirectional client, which has
// no reply to read it from, to the disconnect it gets instead.
func uniDisconnect(err error) *protocol.Disconnect {
	var d *protocol.Disconnect
	if errors.As(err, &d) {
		return d
	}
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		return protocol.DisconnectServerError
	}
	switch pe.Code {
	case protocol.ErrTokenExpired.Code, protocol.ErrExpired.Code:
		return protocol.DisconnectExpired
	case protocol.ErrTooManyRequests.Code:
		return protocol.DisconnectTooManyRequests
	case protocol.ErrPermissionDenied.Code:
		return protocol.DisconnectPermissionDenied
	}
	return protocol.DisconnectServerError
}
