package websocket

import (
	"net"
	"time"

	"github.com/gobwas/ws"

	"github.com/heraldhq/herald/internal/outbound"
)

// TryWrite implements outbound.TryWriter: it writes b as one frame with a
// single non-blocking system call. It never waits, neither for the socket
// nor for a frame write in progress, because it runs on the goroutine that
// broadcasts a publication to every subscriber of a channel.
func (c *conn) TryWrite(b []byte) (outbound.TryResult, error) {
	if c.raw == nil || len(b) == 0 || !c.wmu.TryLock() {
		return outbound.TryRefused, nil
	}
	defer c.wmu.Unlock()
	if c.closing.Load() {
		return outbound.TryRefused, net.ErrClosed
	}
	if c.tail != nil {
		return outbound.TryRefused, nil
	}

	op := ws.OpText
	if c.binary {
		op = ws.OpBinary
	}
	v := getVectors()
	defer putVectors(v)
	hb := putHeader(v.hdr[:0], ws.Header{Fin: true, OpCode: op, Length: int64(len(b))})
	n, err := v.tryWritev(c.raw, hb, b)
	if err != nil {
		return outbound.TryRefused, err
	}

	switch {
	case n == len(hb)+len(b):
		return outbound.TryWritten, nil
	case n == 0:
		return outbound.TryRefused, nil
	case n < len(hb):
		// The header lives in pooled scratch space: keep a copy.
		c.tail = net.Buffers{append([]byte(nil), hb[n:]...), b}
	default:
		c.tail = net.Buffers{b[n-len(hb):]}
	}
	return outbound.TryPartial, nil
}

// Flush implements outbound.TryWriter: it writes what a partial TryWrite
// left behind.
func (c *conn) Flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closing.Load() {
		return net.ErrClosed
	}
	return c.flushTailLocked()
}

// flushTailLocked writes the rest of a partly written frame, which must
// precede any other frame on the wire.
func (c *conn) flushTailLocked() error {
	if c.tail == nil {
		return nil
	}
	err := c.blockingWriteLocked(&c.tail)
	c.tail = nil
	return err
}

// blockingWriteLocked writes bufs within the write timeout. The deadline is
// cleared afterwards: an expired deadline would fail every later
// non-blocking write on the socket.
func (c *conn) blockingWriteLocked(bufs *net.Buffers) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
	_, err := bufs.WriteTo(c.nc)
	if c.raw != nil {
		_ = c.nc.SetWriteDeadline(time.Time{})
	}
	return err
}
