package websocket

import (
	"errors"
	"net"
	"syscall"
	"unsafe"
)

// rawConn returns the socket of nc for non-blocking writes, or nil when nc
// is not a plain socket (TLS, or a test's in-memory pipe).
func rawConn(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// rawWriter is the state of one non-blocking writev, kept with the pooled
// vectors so that the callback handed to the runtime is built once per
// pooled object, not per write.
type rawWriter struct {
	iov [2]syscall.Iovec
	n   int
	err error
	fn  func(fd uintptr) bool
}

// tryWritev writes a then b to the socket with one writev that does not
// wait: it returns how many bytes the kernel took, 0 when the socket buffer
// is full.
func (v *vectors) tryWritev(raw syscall.RawConn, a, b []byte) (int, error) {
	w := &v.raw
	if w.fn == nil {
		w.fn = w.write
	}
	w.iov[0].Base, w.iov[1].Base = &a[0], &b[0]
	w.iov[0].SetLen(len(a))
	w.iov[1].SetLen(len(b))
	w.n, w.err = 0, nil

	// The callback returns true whatever happened: RawConn.Write would
	// otherwise park this goroutine until the socket is writable.
	if err := raw.Write(w.fn); err != nil {
		w.iov[0].Base, w.iov[1].Base = nil, nil
		return 0, err
	}
	w.iov[0].Base, w.iov[1].Base = nil, nil
	return w.n, w.err
}

func (w *rawWriter) write(fd uintptr) bool {
	for {
		n, _, errno := syscall.Syscall(syscall.SYS_WRITEV, fd,
			uintptr(unsafe.Pointer(&w.iov[0])), uintptr(len(w.iov)))
		switch {
		case errno == 0:
			w.n = int(n)
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EAGAIN:
			w.n = 0
		case errors.Is(errno, syscall.EPIPE), errors.Is(errno, syscall.ECONNRESET):
			w.err = net.ErrClosed
		default:
			w.err = errno
		}
		return true
	}
}
