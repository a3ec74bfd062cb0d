package websocket

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/heraldhq/herald/internal/outbound"
	"github.com/heraldhq/herald/internal/protocol"
	"github.com/heraldhq/herald/internal/proxy"
	"github.com/heraldhq/herald/internal/session"
	"github.com/heraldhq/herald/internal/transport"
)

// Defaults of the unidirectional transport's liveness check, those of
// client.ping_interval and client.pong_timeout.
const (
	defaultUniPingInterval = 25 * time.Second
	defaultUniPongTimeout  = 8 * time.Second
)

// UniConfig tunes the unidirectional WebSocket transport.
type UniConfig struct {
	Sessions *session.Manager
	Origins  *transport.OriginChecker
	Logger   *slog.Logger
	// MessageSizeLimit caps one inbound message: the connect request, or
	// anything the client sends after it. Larger ones close the connection
	// with 1009.
	MessageSizeLimit int
	// WriteTimeout bounds one frame write.
	WriteTimeout time.Duration
	// ProxyHeaders names the upgrade request headers kept for proxies to
	// forward to the application backend, such as Cookie.
	ProxyHeaders []string
	// PingInterval and PongTimeout size the read deadline that drops a
	// dead connection: a client that sends no frame, not even the pong of
	// a ping frame, for their sum is gone. They must be the session
	// manager's (client.ping_interval and client.pong_timeout), whose
	// pings trigger the ping frames; zero selects 25 s and 8 s.
	PingInterval time.Duration
	PongTimeout  time.Duration
	// DisableClosingHandshake ends a connection without a close frame.
	DisableClosingHandshake bool
	// DisableDisconnectPush leaves out the disconnect push that precedes
	// the close frame.
	DisableDisconnectPush bool
	// JoinPushMessages lets pushes written together share one message,
	// newline-separated.
	JoinPushMessages bool
}

// UniHandler upgrades HTTP requests to unidirectional WebSocket
// connections: the client sends a connect request, in the cf_connect query
// parameter or as its first message, and then only receives pushes.
type UniHandler struct {
	cfg UniConfig
	// conn holds the settings the frame reading and writing code shared
	// with the bidirectional transport reads.
	conn Config
	// alive is the read deadline of a connection, refreshed by every
	// frame the client sends.
	alive time.Duration
	log   *slog.Logger
}

// NewUniHandler returns a unidirectional WebSocket handler.
func NewUniHandler(cfg UniConfig) *UniHandler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MessageSizeLimit <= 0 {
		cfg.MessageSizeLimit = 65536
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = time.Second
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = defaultUniPingInterval
	}
	if cfg.PongTimeout <= 0 {
		cfg.PongTimeout = defaultUniPongTimeout
	}
	return &UniHandler{
		cfg: cfg,
		conn: Config{
			MessageSizeLimit: cfg.MessageSizeLimit,
			WriteTimeout:     cfg.WriteTimeout,
		},
		alive: cfg.PingInterval + cfg.PongTimeout,
		log:   cfg.Logger.With("component", "uni_websocket"),
	}
}

// ServeHTTP implements http.Handler.
func (h *UniHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !admit(w, r, h.cfg.Origins, h.cfg.Sessions, h.log) {
		return
	}

	var connect []byte
	if q := r.URL.Query().Get("cf_connect"); q != "" {
		frame, err := connectFrame([]byte(q))
		if err != nil {
			h.log.Info("connect request refused", "error", err, "remote", r.RemoteAddr)
			http.Error(w, "Bad Request", http.StatusBadRequest)
			return
		}
		connect = frame
	}

	// No Protocol callback: a uni client speaks JSON and negotiates no
	// subprotocol.
	up := ws.HTTPUpgrader{Timeout: 5 * time.Second}
	netConn, rw, _, err := up.Upgrade(r, w)
	if err != nil {
		h.log.Debug("websocket upgrade failed", "error", err, "remote", r.RemoteAddr)
		return
	}

	u := &uniConn{c: newConn(netConn, rw.Reader, false, &h.conn), h: h}
	headers := proxy.CaptureHeaders(r.Header, h.cfg.ProxyHeaders)
	s := h.cfg.Sessions.New(u, false, headers)
	s.SetUnidirectional()
	s.ForceVersion(protocol.Version2)
	u.c.sess = s
	u.refreshDeadline()
	if connect != nil {
		// Handled on this goroutine: the deep stack a connect needs is
		// freed when ServeHTTP returns, as on the helper goroutine of
		// conn.handleFrame. A failed connect has queued the disconnect,
		// and the reader then waits for the client's close.
		s.HandleFrame(connect)
	}
	// As for the bidirectional transport, the reader runs on a goroutine
	// of its own so that net/http drops what it holds for the request.
	go u.readLoop(connect == nil)
}

var errConnectNotObject = errors.New("websocket: connect request is not an object")

// connectFrame wraps a client's ConnectRequest JSON into the connect command
// the session expects. It checks the request with the session's own decoder,
// so that a request accepted here is not refused later as a bad frame.
func connectFrame(req []byte) ([]byte, error) {
	// The session's decoder reads one command per line, and a request may
	// be pretty-printed: compacting removes the newlines between tokens
	// (JSON strings cannot hold raw ones).
	var compact bytes.Buffer
	if err := json.Compact(&compact, req); err != nil {
		return nil, fmt.Errorf("decode connect request: %w", err)
	}

	const open = `{"id":1,"connect":`
	frame := make([]byte, 0, len(open)+compact.Len()+1)
	frame = append(frame, open...)
	frame = append(append(frame, compact.Bytes()...), '}')
	err := protocol.JSON.DecodeFrame(frame, func(cmd *protocol.Command) error {
		if cmd.Connect == nil {
			return errConnectNotObject
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("decode connect request: %w", err)
	}
	return frame, nil
}

// uniConn is one unidirectional WebSocket connection. It reads and writes
// frames with the bidirectional transport's conn, which keeps no buffer
// while the connection is idle, and changes what goes on the wire: bare
// pushes instead of replies, and ping frames along with the {} keepalives.
type uniConn struct {
	c *conn
	h *UniHandler
}

// Name implements session.Transport.
func (u *uniConn) Name() string { return "uni_websocket" }

func (u *uniConn) readLoop(awaitConnect bool) {
	defer func() {
		u.c.sess.TransportClosed()
		_ = u.c.nc.Close()
	}()
	if awaitConnect && !u.readConnect() {
		return
	}
	u.discard()
}

// readConnect reads the first message, the client's connect request, and
// hands it to the session. It reports false when the connection is done.
func (u *uniConn) readConnect() bool {
	for {
		msg, err := u.c.readMessage()
		if err != nil {
			return false
		}
		u.refreshDeadline()
		if msg == nil {
			continue
		}

		frame, err := connectFrame(msg)
		putBuffer(msg)
		if err != nil {
			u.h.log.Info("connect request refused", "error", err,
				"remote", u.c.nc.RemoteAddr().String())
			bad := protocol.DisconnectBadRequest
			u.c.closeWith(ws.StatusCode(bad.Code), bad.Reason)
			u.c.discardUntilClose()
			return false
		}

		// A failed connect has queued the disconnect; either way the
		// client now only gets pushes, and what it sends is discarded.
		u.c.handleFrame(frame)
		return true
	}
}

// discard reads and drops everything the client sends after its connect
// request, answering control frames, until the connection ends. Payloads
// go to io.Discard, which needs no buffer of this connection's.
func (u *uniConn) discard() {
	var size int64 // bytes of the message being discarded so far
	for {
		h, err := ws.ReadHeaderBuffer(u.c.r, u.c.hdr[:])
		if err != nil {
			return
		}
		if !h.Masked {
			u.c.closeWith(ws.StatusProtocolError, "client frames must be masked")
			return
		}
		u.refreshDeadline()

		if h.OpCode.IsControl() {
			if err := u.c.handleControl(h); err != nil {
				return
			}
			continue
		}
		size += h.Length
		if size > int64(u.h.cfg.MessageSizeLimit) {
			u.c.closeWith(ws.StatusMessageTooBig, "message size limit exceeded")
			u.c.discardUntilClose()
			return
		}
		if _, err := io.CopyN(io.Discard, u.c.r, h.Length); err != nil {
			return
		}
		if h.Fin {
			size = 0
		}
	}
}

// refreshDeadline pushes the read deadline one ping interval plus the pong
// timeout away: the session pings every interval, and the client's pong to
// the ping frame that goes with each ping is a frame too.
func (u *uniConn) refreshDeadline() {
	c := u.c
	if c.closing.Load() {
		return
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(u.h.alive))
	if c.closing.Load() {
		// A close began in between and may have set its shorter wait for
		// the client's close frame before this deadline; that wait wins.
		_ = c.nc.SetReadDeadline(time.Now().Add(closeWait))
	}
}

// Encoded pieces of the uni framing.
var (
	// pushPrefix opens an encoded push reply; its Push follows, up to the
	// reply's closing brace.
	pushPrefix = []byte(`{"push":`)
	// pingJSON is the session's encoded ping, an empty reply.
	pingJSON = []byte(`{}`)
	// pingFrame is a server ping frame without payload.
	pingFrame = frameHeader(ws.OpPing, 0)
)

// barePush returns the Push an encoded push reply carries, as a slice of
// it: the JSON encoder writes a push reply as {"push":<Push>} and nothing
// else. Other replies, such as the ping, are returned unchanged.
func barePush(reply []byte) []byte {
	if len(reply) > len(pushPrefix) && bytes.HasPrefix(reply, pushPrefix) &&
		reply[len(reply)-1] == '}' {
		return reply[len(pushPrefix) : len(reply)-1]
	}
	return reply
}

// WriteBatch implements session.Transport: every push goes out bare, one
// per text message or newline-joined in one with JoinPushMessages, and a
// ping frame follows a {} keepalive.
func (u *uniConn) WriteBatch(items [][]byte) error {
	v := uniVectorPool.Get().(*uniVectors)
	defer v.put()
	if u.h.cfg.JoinPushMessages {
		v.joined(items)
	} else {
		v.framed(items)
	}

	return u.c.writeFrames(v.all, &v.out)
}

// TryWrite implements outbound.TryWriter for one bare push. A keepalive is
// refused, so that the queue's writer sends it with its ping frame.
func (u *uniConn) TryWrite(b []byte) (outbound.TryResult, error) {
	if bytes.Equal(b, pingJSON) {
		return outbound.TryRefused, nil
	}
	return u.c.TryWrite(barePush(b))
}

// Flush implements outbound.TryWriter.
func (u *uniConn) Flush() error { return u.c.Flush() }

// Close implements session.Transport: the disconnect push, then a close
// frame with the disconnect's code and reason, each unless disabled. Code
// 3000 means "no advice" and drops TCP directly, as on the bidirectional
// transport.
func (u *uniConn) Close(d *protocol.Disconnect) {
	c := u.c
	if d == nil || d.Code == protocol.DisconnectConnectionClosed.Code {
		c.closing.Store(true)
		_ = c.nc.Close()
		return
	}
	if !c.closing.CompareAndSwap(false, true) {
		return
	}

	cfg := &u.h.cfg
	var bufs net.Buffers
	if !cfg.DisableDisconnectPush {
		p := protocol.JSON.AppendPush(nil, &protocol.Push{Disconnect: d})
		bufs = append(bufs, frameHeader(ws.OpText, len(p)), p)
	}
	if !cfg.DisableClosingHandshake {
		body := closeBody(ws.StatusCode(d.Code), d.Reason)
		bufs = append(bufs, frameHeader(ws.OpClose, len(body)), body)
	}
	c.wmu.Lock()
	if err := c.flushTailLocked(); err == nil && len(bufs) > 0 {
		_ = c.blockingWriteLocked(&bufs)
	}
	c.wmu.Unlock()

	if cfg.DisableClosingHandshake {
		// No close frame went out, so there is no answer to wait for.
		_ = c.nc.Close()
		return
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(closeWait))
}

// frameHeader encodes the header of a whole server frame of n bytes.
func frameHeader(op ws.OpCode, n int) []byte {
	return putHeader(nil, ws.Header{Fin: true, OpCode: op, Length: int64(n)})
}

// closeBody encodes a close frame payload. RFC 6455 §5.5 caps a control
// frame's payload at 125 bytes, two of which hold the code.
func closeBody(code ws.StatusCode, reason string) []byte {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	return ws.NewCloseFrameBody(code, reason)
}

// uniVectors is the scratch space of one batch write: the frame headers
// and the list of buffers handed to writev. Pooled, like vectors.
type uniVectors struct {
	// hdrs holds the batch's frame headers back to back. Its capacity is
	// reserved before the first header goes in, so that appending never
	// moves the headers already referenced by all.
	hdrs []byte
	all  net.Buffers
	out  net.Buffers
}

var uniVectorPool = sync.Pool{New: func() any { return new(uniVectors) }}

// put drops the references to the written bytes, which belong to the queue,
// and pools v.
func (v *uniVectors) put() {
	if cap(v.all) > maxPooledVectors {
		return
	}
	clear(v.all)
	v.all, v.out, v.hdrs = v.all[:0], nil, v.hdrs[:0]
	uniVectorPool.Put(v)
}

// header appends the header of a text frame of n bytes.
func (v *uniVectors) header(n int) {
	start := len(v.hdrs)
	v.hdrs = putHeader(v.hdrs, ws.Header{Fin: true, OpCode: ws.OpText, Length: int64(n)})
	v.all = append(v.all, v.hdrs[start:len(v.hdrs):len(v.hdrs)])
}

// framed lays out items as one text message each.
func (v *uniVectors) framed(items [][]byte) {
	v.hdrs = slices.Grow(v.hdrs[:0], len(items)*ws.MaxHeaderSize)
	ping := false
	for _, it := range items {
		p := barePush(it)
		v.header(len(p))
		v.all = append(v.all, p)
		ping = ping || bytes.Equal(it, pingJSON)
	}
	if ping {
		v.all = append(v.all, pingFrame)
	}
}

// joined lays out items as one newline-separated text message.
func (v *uniVectors) joined(items [][]byte) {
	v.hdrs = slices.Grow(v.hdrs[:0], ws.MaxHeaderSize)
	size := len(items) - 1
	ping := false
	for _, it := range items {
		size += len(barePush(it))
		ping = ping || bytes.Equal(it, pingJSON)
	}
	v.header(size)
	for i, it := range items {
		if i > 0 {
			v.all = append(v.all, newline)
		}
		v.all = append(v.all, barePush(it))
	}
	if ping {
		v.all = append(v.all, pingFrame)
	}
}
