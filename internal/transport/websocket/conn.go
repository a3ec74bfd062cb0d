package websocket

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"

	"github.com/heraldhq/herald/internal/protocol"
	"github.com/heraldhq/herald/internal/session"
)

// closeWait is how long the server waits for the client's close frame
// before dropping the TCP connection.
const closeWait = 5 * time.Second

var newline = []byte{'\n'}

// conn is one WebSocket connection. It keeps no read or write buffer while
// idle: frame headers are read into a small array, payloads into a slice
// allocated for that frame only.
type conn struct {
	nc     net.Conn
	raw    syscall.RawConn // nc's socket, for non-blocking writes; may be nil
	r      io.Reader
	binary bool
	cfg    *Config
	sess   *session.Session
	// framePing is set when the client asked for WebSocket ping frames
	// instead of protocol pings (cf_ws_frame_ping_pong=true).
	framePing bool

	hdr [ws.MaxHeaderSize - 2]byte

	// wmu serialises frame writes from the queue writer, control replies
	// and the close frame, and guards tail.
	wmu     sync.Mutex
	tail    net.Buffers // the unwritten rest of a partial TryWrite
	closing atomic.Bool
}

func newConn(nc net.Conn, br *bufio.Reader, binary bool, cfg *Config) *conn {
	c := &conn{nc: nc, raw: rawConn(nc), r: nc, binary: binary, cfg: cfg}
	if br != nil && br.Buffered() > 0 {
		// Bytes the client sent right behind its handshake sit in the
		// HTTP server's reader; drain them before reading the socket.
		c.r = &drainReader{br: br, nc: nc}
	}
	return c
}

// drainReader reads what remains in br, then switches to nc for good.
type drainReader struct {
	br *bufio.Reader
	nc net.Conn
}

func (d *drainReader) Read(p []byte) (int, error) {
	if d.br != nil {
		if d.br.Buffered() > 0 {
			return d.br.Read(p)
		}
		d.br = nil
	}
	return d.nc.Read(p)
}

// Name implements session.Transport.
func (c *conn) Name() string { return "websocket" }

func (c *conn) readLoop() {
	defer func() {
		c.sess.TransportClosed()
		_ = c.nc.Close()
	}()
	for {
		msg, err := c.readMessage()
		if err != nil {
			return
		}
		if msg == nil {
			continue
		}
		ok := c.handleFrame(msg)
		// Decoded commands never point into the frame, so the buffer can go
		// back to the pool as soon as the frame is handled.
		putBuffer(msg)
		if !ok {
			// The session is closing the connection; keep reading until
			// the client answers the close frame or the deadline passes.
			c.discardUntilClose()
			return
		}
	}
}

// handleFrame hands msg to the session on a short-lived goroutine and waits
// for it. Handling a command can go deep (token verification, decoding,
// subscribing); on the reader's own stack that depth would stay allocated
// for the rest of the connection's life, because a reader parked in a read
// uses too much of a grown stack for the runtime to shrink it again. A
// helper's stack is freed when it ends, so an idle connection keeps the
// smallest stack the runtime has (2 KiB instead of 4 KiB or more). The
// reader waits, so commands are still handled one frame at a time.
func (c *conn) handleFrame(msg []byte) bool {
	f := frameCallPool.Get().(*frameCall)
	f.c, f.msg = c, msg
	go f.run()
	<-f.done
	ok := f.ok
	f.c, f.msg = nil, nil
	frameCallPool.Put(f)
	return ok
}

// frameCall is one frame handed to a helper goroutine; pooled with its
// channel so that a frame costs a goroutine and no allocation.
type frameCall struct {
	c    *conn
	msg  []byte
	ok   bool
	done chan struct{}
}

var frameCallPool = sync.Pool{New: func() any {
	return &frameCall{done: make(chan struct{}, 1)}
}}

func (f *frameCall) run() {
	f.ok = f.c.sess.HandleFrame(f.msg)
	f.done <- struct{}{}
}

var errTooLarge = errors.New("websocket: message too large")

// bufPool holds read buffers between frames, so an idle connection holds
// none and a busy one reuses the same few.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// grow extends msg by n bytes, taking its storage from the pool the first
// time.
func grow(msg []byte, n int) []byte {
	if msg == nil {
		msg = (*bufPool.Get().(*[]byte))[:0]
	}
	if cap(msg)-len(msg) < n {
		bigger := make([]byte, len(msg), len(msg)+n)
		copy(bigger, msg)
		putBuffer(msg)
		msg = bigger
	}
	return msg[:len(msg)+n]
}

// putBuffer returns a buffer to the pool; oversized ones are dropped so
// that one large message does not pin memory forever.
func putBuffer(b []byte) {
	if b == nil || cap(b) > 1<<16 {
		return
	}
	b = b[:0]
	bufPool.Put(&b)
}

// readMessage reads one data message, answering control frames on the way.
// It returns nil, nil after a control frame.
func (c *conn) readMessage() ([]byte, error) {
	var msg []byte
	for {
		h, err := ws.ReadHeaderBuffer(c.r, c.hdr[:])
		if err != nil {
			return nil, err
		}
		if !h.Masked {
			c.closeWith(ws.StatusProtocolError, "client frames must be masked")
			return nil, errors.New("websocket: unmasked client frame")
		}
		if c.framePing {
			// A pong, or any other frame, shows the client is alive.
			c.sess.Heard()
		}
		if h.OpCode.IsControl() {
			if err := c.handleControl(h); err != nil {
				return nil, err
			}
			if msg == nil {
				return nil, nil
			}
			continue
		}
		if int64(len(msg))+h.Length > int64(c.cfg.MessageSizeLimit) {
			c.closeWith(ws.StatusMessageTooBig, "message size limit exceeded")
			return nil, errTooLarge
		}
		start := len(msg)
		msg = grow(msg, int(h.Length))
		if _, err := io.ReadFull(c.r, msg[start:]); err != nil {
			putBuffer(msg)
			return nil, err
		}
		ws.Cipher(msg[start:], h.Mask, 0)
		if h.Fin {
			if msg == nil {
				msg = []byte{}
			}
			return msg, nil
		}
	}
}

func (c *conn) handleControl(h ws.Header) error {
	if h.Length > 125 {
		c.closeWith(ws.StatusProtocolError, "control frame too large")
		return errors.New("websocket: control frame too large")
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(c.r, p); err != nil {
		return err
	}
	ws.Cipher(p, h.Mask, 0)
	switch h.OpCode {
	case ws.OpPing:
		c.wmu.Lock()
		err := c.writeFrameLocked(ws.OpPong, p)
		c.wmu.Unlock()
		return err
	case ws.OpClose:
		code, _ := ws.ParseCloseFrameData(p)
		// Echo the client's code. Without one (or with a code that may not
		// be sent, RFC 6455 §7.4.1) the answer carries no code either.
		var body []byte
		if !code.Empty() && !code.IsProtocolReserved() {
			body = ws.NewCloseFrameBody(code, "")
		}
		if c.closing.CompareAndSwap(false, true) {
			c.wmu.Lock()
			_ = c.writeFrameLocked(ws.OpClose, body)
			c.wmu.Unlock()
		}
		return io.EOF
	}
	return nil
}

// discardUntilClose waits for the client's close frame after the server
// sent its own, bounded by the read deadline set in Close.
func (c *conn) discardUntilClose() {
	for {
		h, err := ws.ReadHeaderBuffer(c.r, c.hdr[:])
		if err != nil {
			return
		}
		if _, err := io.CopyN(io.Discard, c.r, h.Length); err != nil {
			return
		}
		if h.OpCode == ws.OpClose {
			return
		}
	}
}

// WriteBatch implements session.Transport: queued messages go out as one
// frame, newline-joined for JSON and concatenated for Protobuf.
func (c *conn) WriteBatch(items [][]byte) error {
	op, sep := ws.OpText, newline
	if c.binary {
		op, sep = ws.OpBinary, nil
	}
	var size int64
	for _, it := range items {
		size += int64(len(it))
	}
	size += int64(len(sep) * (len(items) - 1))

	v := getVectors()
	defer putVectors(v)
	hb := putHeader(v.hdr[:0], ws.Header{Fin: true, OpCode: op, Length: size})
	v.all = append(v.all, hb)
	for i, it := range items {
		if i > 0 && sep != nil {
			v.all = append(v.all, sep)
		}
		v.all = append(v.all, it)
	}

	return c.writeFrames(v.all, &v.out)
}

// writeFrames writes all, whole frames, after whatever an earlier partial
// write left; out is scratch space the size of all.
func (c *conn) writeFrames(all net.Buffers, out *net.Buffers) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closing.Load() {
		return net.ErrClosed
	}
	if err := c.flushTailLocked(); err != nil {
		return err
	}
	// WriteTo consumes the slice it is called on, so it gets a copy.
	*out = all
	return c.blockingWriteLocked(out)
}

// vectors is the scratch space of one frame write: the frame header and the
// list of buffers handed to writev. Pooled, so that a write allocates
// nothing and an idle connection holds none.
type vectors struct {
	hdr [ws.MaxHeaderSize]byte
	all net.Buffers
	out net.Buffers
	raw rawWriter
}

// maxPooledVectors bounds the buffer lists kept for reuse.
const maxPooledVectors = 1024

var vectorPool = sync.Pool{New: func() any { return new(vectors) }}

func getVectors() *vectors { return vectorPool.Get().(*vectors) }

// putVectors drops the references to the written bytes, which belong to
// the queue, and pools v.
func putVectors(v *vectors) {
	if cap(v.all) > maxPooledVectors {
		return
	}
	clear(v.all)
	v.all, v.out = v.all[:0], nil
	vectorPool.Put(v)
}

// NativePing sends a WebSocket ping frame, for protocol v1 clients and
// clients in frame ping mode. It skips the ping, and reports false, when a
// write is in progress: the wheel goroutine that calls it must not wait on
// one slow socket. A failed write still counts as a ping sent, so that the
// pong check closes the connection.
func (c *conn) NativePing() bool {
	if c.closing.Load() || !c.wmu.TryLock() {
		return false
	}
	defer c.wmu.Unlock()
	if c.tail != nil {
		// The rest of a frame is waiting for the writer: writing it here
		// could block the wheel on a full socket.
		return false
	}
	_ = c.writeFrameLocked(ws.OpPing, nil)
	return true
}

// putHeader appends the encoding of an unmasked server frame header.
func putHeader(dst []byte, h ws.Header) []byte {
	b0 := byte(h.OpCode)
	if h.Fin {
		b0 |= 0x80
	}
	switch {
	case h.Length < 126:
		return append(dst, b0, byte(h.Length))
	case h.Length <= 0xffff:
		return append(dst, b0, 126, byte(h.Length>>8), byte(h.Length))
	default:
		n := uint64(h.Length)
		return append(dst, b0, 127, byte(n>>56), byte(n>>48), byte(n>>40),
			byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

func (c *conn) writeFrameLocked(op ws.OpCode, p []byte) error {
	if err := c.flushTailLocked(); err != nil {
		return err
	}
	var hdr [ws.MaxHeaderSize]byte
	hb := putHeader(hdr[:0], ws.Header{Fin: true, OpCode: op, Length: int64(len(p))})
	bufs := net.Buffers{hb, p}
	return c.blockingWriteLocked(&bufs)
}

// Close implements session.Transport. A close frame carries the disconnect
// code and reason; code 3000 means "no advice" and drops TCP directly.
func (c *conn) Close(d *protocol.Disconnect) {
	if d == nil || d.Code == protocol.DisconnectConnectionClosed.Code {
		c.closing.Store(true)
		_ = c.nc.Close()
		return
	}
	c.closeWith(ws.StatusCode(d.Code), d.Reason)
}

func (c *conn) closeWith(code ws.StatusCode, reason string) {
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	if len(reason) > 123 {
		reason = reason[:123]
	}
	c.wmu.Lock()
	_ = c.writeFrameLocked(ws.OpClose, ws.NewCloseFrameBody(code, reason))
	c.wmu.Unlock()
	_ = c.nc.SetReadDeadline(time.Now().Add(closeWait))
}
