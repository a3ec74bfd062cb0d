package main

import (
	"errors"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// handshakeTimeout bounds one WebSocket handshake.
const handshakeTimeout = 30 * time.Second

// dialers hold one WebSocket dialer per loopback source address, so that the
// connections to one server port are spread over several (source IP, port)
// spaces instead of exhausting one address's ephemeral ports.
type dialers struct {
	list []*websocket.Dialer
}

// newDialers returns n dialers bound to 127.0.0.1, 127.0.0.2, ... The
// target of target must be a loopback address: the tool drives local
// servers only.
func newDialers(target string, n int) (*dialers, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ip := net.ParseIP(u.Hostname())
	if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, errors.New("the server URL must be on a loopback address")
	}
	// Write buffers come from a pool, so an idle client holds none.
	pool := &sync.Pool{}
	d := &dialers{}
	for i := range n {
		src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(i+1))}
		nd := &net.Dialer{LocalAddr: src, Timeout: handshakeTimeout}
		d.list = append(d.list, &websocket.Dialer{
			NetDialContext:   nd.DialContext,
			HandshakeTimeout: handshakeTimeout,
			ReadBufferSize:   1024,
			WriteBufferSize:  512,
			WriteBufferPool:  pool,
		})
	}
	return d, nil
}

// pick returns the dialer of connection i.
func (d *dialers) pick(i int) *websocket.Dialer {
	return d.list[i%len(d.list)]
}
