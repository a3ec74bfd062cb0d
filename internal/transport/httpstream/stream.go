package httpstream

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/protocol"
)

// errClosed is returned by writes after the stream ended.
var errClosed = errors.New("httpstream: stream closed")

// Framing of the stream.
var (
	newline     = []byte{'\n'}
	eventStart  = []byte("data: ")
	eventEnd    = []byte("\n\n")
	sseLead     = []byte("\r\n")
	pushWrapper = []byte(`{"push":`)
)

// stream is the session.Transport of one streaming response.
type stream struct {
	ep      endpoint
	binary  bool
	codec   protocol.Codec
	timeout time.Duration
	// done is closed by Close, which tells the handler to end the response.
	done chan struct{}

	// mu guards w, rc, closed and err: the queue's writer, the session's
	// close and the handler's return all reach for the response.
	mu     sync.Mutex
	w      http.ResponseWriter
	rc     *http.ResponseController
	closed bool
	// err is the first write error of the batch being written.
	err error
}

func newStream(w http.ResponseWriter, ep endpoint, binary bool,
	timeout time.Duration) *stream {
	t := &stream{
		ep: ep, binary: binary, codec: protocol.JSON, timeout: timeout,
		done: make(chan struct{}),
		w:    w, rc: http.NewResponseController(w),
	}
	if binary {
		t.codec = protocol.Protobuf
	}
	return t
}

// Name implements session.Transport.
func (t *stream) Name() string { return t.ep.name }

// start writes the status and headers, and the SSE preamble, before any
// session can write.
func (t *stream) start(r *http.Request) error {
	h := t.w.Header()
	h.Set("Cache-Control", "private, no-cache, no-store, must-revalidate, max-age=0")
	h.Set("Pragma", "no-cache")
	h.Set("Expire", "0")
	// Tells nginx not to buffer the stream.
	h.Set("X-Accel-Buffering", "no")
	if r.ProtoMajor == 1 {
		h.Set("Connection", "keep-alive")
	}
	if t.ep.sse {
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
	}

	// The request has been read whole. A read deadline of the server would
	// now only end the stream: the server reads on to notice the client
	// leave, and cancels the request when that read times out.
	_ = t.rc.SetReadDeadline(time.Time{})

	t.mu.Lock()
	defer t.mu.Unlock()
	t.w.WriteHeader(http.StatusOK)
	if t.ep.sse {
		// A blank line, which event stream parsers skip, flushed so that
		// the body starts before the first reply is ready.
		return t.writeLocked([][]byte{sseLead}, false)
	}
	return t.writeLocked(nil, false)
}

// WriteBatch implements session.Transport: the replies are framed one by
// one and flushed together.
func (t *stream) WriteBatch(items [][]byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return errClosed
	}
	return t.writeLocked(items, true)
}

// Close implements session.Transport: a Disconnect push tells the client
// why, since the end of the response alone tells it nothing, then the
// handler ends the response.
func (t *stream) Close(d *protocol.Disconnect) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.closed = true
	if d != nil {
		push := &protocol.Reply{Push: &protocol.Push{Disconnect: d}}
		// The response ends either way; a client that cannot take the
		// push any more is gone.
		_ = t.writeLocked([][]byte{t.codec.AppendReply(nil, push)}, true)
	}
	close(t.done)
}

// end stops every later write; the handler calls it before returning, after
// which the response is no longer ours to touch.
func (t *stream) end() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	// The deadline would outlive the response on a kept-alive connection
	// and fail the next request served on it.
	_ = t.rc.SetWriteDeadline(time.Time{})
}

// writeLocked writes items, framed when frame is set, and flushes, all
// within one write timeout.
func (t *stream) writeLocked(items [][]byte, frame bool) error {
	// Not every ResponseWriter supports deadlines; without one the stream
	// still works, only a stuck client is noticed later.
	_ = t.rc.SetWriteDeadline(time.Now().Add(t.timeout))

	t.err = nil
	for _, it := range items {
		if frame {
			t.putItemLocked(it)
		} else {
			t.putLocked(it)
		}
	}
	if t.err != nil {
		return fmt.Errorf("httpstream: write: %w", t.err)
	}
	if err := t.rc.Flush(); err != nil {
		return fmt.Errorf("httpstream: flush: %w", err)
	}
	return nil
}

// putItemLocked writes one encoded Reply in the stream's framing.
func (t *stream) putItemLocked(it []byte) {
	if t.ep.uni {
		it = barePush(it)
	}
	switch {
	case t.ep.sse:
		t.putEventLocked(it)
	case t.binary:
		// Protobuf replies carry their varint length prefix already.
		t.putLocked(it)
	default:
		t.putLocked(it)
		t.putLocked(newline)
	}
}

// putEventLocked writes it as one server-sent event. A line break inside
// it, which JSON allows as whitespace, would end the data line early, so
// each line gets a data field of its own; the client joins them with '\n'.
func (t *stream) putEventLocked(it []byte) {
	for {
		i := bytes.IndexAny(it, "\r\n")
		if i < 0 {
			break
		}
		t.putLocked(eventStart)
		t.putLocked(it[:i])
		t.putLocked(newline)
		it = it[i+1:]
	}
	t.putLocked(eventStart)
	t.putLocked(it)
	t.putLocked(eventEnd)
}

func (t *stream) putLocked(b []byte) {
	if t.err == nil {
		_, t.err = t.w.Write(b)
	}
}

// barePush cuts the {"push":…} wrapper off a JSON push reply, so that a
// unidirectional client reads the push itself, without re-encoding it. A
// push reply has no id, error or result, so the wrapper is all that
// surrounds the push. Anything else, such as the {} ping, stays as it is.
func barePush(it []byte) []byte {
	if len(it) > len(pushWrapper) && bytes.HasPrefix(it, pushWrapper) &&
		it[len(it)-1] == '}' {
		return it[len(pushWrapper) : len(it)-1]
	}
	return it
}
