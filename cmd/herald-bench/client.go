package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// client is one benchmark connection. After the handshake only its reader
// goroutine writes to the socket (pong replies), so writes need no lock.
type client struct {
	ws *websocket.Conn
	f  *fleet
	// buf is reused for every frame the client reads.
	buf []byte

	deliveries atomic.Int64
}

// fleet is the set of connections of one scenario and what they measured.
type fleet struct {
	opts    *Options
	dialers *dialers
	lat     *histogram

	// mu guards clients.
	mu      sync.Mutex
	clients []*client

	readers    sync.WaitGroup
	closing    atomic.Bool
	dropped    atomic.Int64
	connErrors atomic.Int64
	firstErr   atomic.Pointer[error]
	// lastDelivery is the UnixNano time of the latest delivery.
	lastDelivery atomic.Int64
}

func newFleet(o *Options) (*fleet, error) {
	d, err := newDialers(o.URL, o.SrcAddrs)
	if err != nil {
		return nil, err
	}
	return &fleet{opts: o, dialers: d, lat: newHistogram()}, nil
}

// connect opens connection i subscribed to channel and starts its reader.
func (f *fleet) connect(ctx context.Context, i int, channel string) error {
	err := f.dial(ctx, i, channel)
	if err != nil {
		f.connErrors.Add(1)
		f.firstErr.CompareAndSwap(nil, &err)
	}
	return err
}

func (f *fleet) dial(ctx context.Context, i int, channel string) error {
	claim := channel
	if f.opts.Subscribe == "client" {
		claim = ""
	}
	tok, err := connectToken(f.opts.Secret, i, claim)
	if err != nil {
		return err
	}
	ws, resp, err := f.dialers.pick(i).DialContext(ctx, f.opts.URL, nil)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	_ = resp.Body.Close()
	c := &client{ws: ws, f: f}
	if err := c.handshake(tok, channel); err != nil {
		_ = ws.Close()
		return err
	}

	f.mu.Lock()
	f.clients = append(f.clients, c)
	f.mu.Unlock()
	f.readers.Go(c.readLoop)
	return nil
}

// replyTimeout bounds the wait for the connect and subscribe replies.
const replyTimeout = 60 * time.Second

// handshake sends connect (and subscribe in client mode) and waits for the
// replies. Pushes that arrive in the same frames are handled as live ones.
func (c *client) handshake(token, channel string) error {
	_ = c.ws.SetReadDeadline(time.Now().Add(replyTimeout))
	defer func() { _ = c.ws.SetReadDeadline(time.Time{}) }()

	cmd := `{"id":1,"connect":{"token":` + strconv.Quote(token) + `}}`
	if err := c.command(1, cmd); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if c.f.opts.Subscribe != "client" {
		return nil
	}
	cmd = `{"id":2,"subscribe":{"channel":` + strconv.Quote(channel) + `}}`
	if err := c.command(2, cmd); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	return nil
}

// reply is the part of a command reply the tool checks.
type reply struct {
	ID    uint32 `json:"id"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// command writes cmd and reads frames until the reply with id arrives.
func (c *client) command(id uint32, cmd string) error {
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(cmd)); err != nil {
		return err
	}
	// A reply normally comes in the first frame; a few pushes may come
	// first on a busy channel.
	for range 1000 {
		frame, err := c.read()
		if err != nil {
			return err
		}
		for line := range bytes.Lines(frame) {
			line = bytes.TrimSpace(line)
			if !bytes.HasPrefix(line, []byte(`{"id":`)) {
				c.handle(line)
				continue
			}
			var r reply
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			if r.Error != nil {
				return fmt.Errorf("error %d: %s", r.Error.Code, r.Error.Message)
			}
			if r.ID == id {
				return nil
			}
		}
	}
	return errors.New("no reply")
}

// read returns the next message, valid until the next read.
func (c *client) read() ([]byte, error) {
	_, r, err := c.ws.NextReader()
	if err != nil {
		return nil, err
	}
	c.buf = c.buf[:0]
	for {
		if len(c.buf) == cap(c.buf) {
			c.buf = append(make([]byte, 0, max(512, 2*cap(c.buf))), c.buf...)
		}
		n, err := r.Read(c.buf[len(c.buf):cap(c.buf)])
		c.buf = c.buf[:len(c.buf)+n]
		if errors.Is(err, io.EOF) {
			return c.buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (c *client) readLoop() {
	defer func() {
		if !c.f.closing.Load() {
			c.f.dropped.Add(1)
		}
		_ = c.ws.Close()
	}()
	for {
		frame, err := c.read()
		if err != nil {
			return
		}
		for line := range bytes.Lines(frame) {
			if !c.handle(bytes.TrimSpace(line)) {
				return
			}
		}
	}
}

var (
	pingMsg   = []byte(`{}`)
	stampKey  = []byte(`"bt":`)
	pubKey    = []byte(`"pub":`)
	discoKey  = []byte(`"disconnect":`)
	pongReply = []byte(`{}`)
)

// handle processes one server message without decoding it fully: the
// client must stay cheap, as it shares the CPU with the server. It reports
// false when the server asked the client to go away.
func (c *client) handle(msg []byte) bool {
	switch {
	case bytes.Equal(msg, pingMsg):
		return c.ws.WriteMessage(websocket.TextMessage, pongReply) == nil
	case bytes.Contains(msg, pubKey):
		now := time.Now().UnixNano()
		c.deliveries.Add(1)
		c.f.lastDelivery.Store(now)
		if sent, ok := stamp(msg); ok {
			c.f.lat.record(time.Duration(now - sent))
		}
	case bytes.Contains(msg, discoKey):
		return false
	}
	return true
}

// stamp extracts the send time the publisher put in the payload.
func stamp(msg []byte) (int64, bool) {
	i := bytes.Index(msg, stampKey)
	if i < 0 {
		return 0, false
	}
	rest := msg[i+len(stampKey):]
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	v, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	return v, err == nil
}

// deliveries sums the publications every client received.
func (f *fleet) deliveries() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n int64
	for _, c := range f.clients {
		n += c.deliveries.Load()
	}
	return n
}

// size returns the number of connected clients.
func (f *fleet) size() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.clients)
}

// closeTimeout bounds the wait for reader goroutines after closing.
const closeTimeout = 30 * time.Second

// close drops every connection and waits for the readers to stop.
func (f *fleet) close() {
	f.closing.Store(true)
	f.mu.Lock()
	for _, c := range f.clients {
		_ = c.ws.Close()
	}
	f.mu.Unlock()
	done := make(chan struct{})
	go func() { f.readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(closeTimeout):
	}
}

// err returns the first connection error, if any.
func (f *fleet) err() error {
	if p := f.firstErr.Load(); p != nil {
		return *p
	}
	return nil
}
