//go:build !linux

package websocket

import (
	"net"
	"syscall"
)

// rawConn returns nil: non-blocking frame writes are implemented for Linux
// only, and elsewhere every write goes through the queue's writer.
func rawConn(net.Conn) syscall.RawConn { return nil }

// rawWriter is empty where non-blocking writes are not implemented.
type rawWriter struct{}

func (v *vectors) tryWritev(syscall.RawConn, []byte, []byte) (int, error) {
	return 0, nil
}
