// Package outbound holds the per-connection queue of bytes waiting to be
// written, with byte accounting and the slow-consumer policy.
//
// An idle connection costs no goroutine here. A message that finds the queue
// empty is first offered to the transport without blocking ([TryWriter]),
// on the pushing goroutine: at low load a delivery is one system call and
// nothing else. Only when the transport cannot take it at once is a writer
// goroutine started; it exits as soon as the queue is empty. While it
// writes, later messages accumulate and go out together in the next frame,
// so writes batch by load, not by timers.
package outbound

import (
	"sync"
)

// Writer writes one batch of queued messages as one transport frame.
type Writer interface {
	WriteBatch(items [][]byte) error
}

// TryResult is the outcome of [TryWriter.TryWrite].
type TryResult int

const (
	// TryRefused means nothing was written; the message is still the
	// caller's to queue.
	TryRefused TryResult = iota
	// TryWritten means the whole message went out.
	TryWritten
	// TryPartial means part of the message went out and the writer holds
	// the rest, which it writes before anything else: on [TryWriter.Flush]
	// or on the next WriteBatch.
	TryPartial
)

// TryWriter is a Writer that can also write one message without blocking.
// TryWrite must never wait for the peer: it runs on broadcasting goroutines
// that serve every other subscriber of a channel.
type TryWriter interface {
	Writer
	TryWrite(b []byte) (TryResult, error)
	// Flush writes what a TryPartial left behind, blocking as WriteBatch
	// does.
	Flush() error
}

// Config tunes a Queue.
type Config struct {
	// MaxBytes caps the bytes queued but not yet written; 0 means no cap.
	MaxBytes int
	// OnOverflow is called once, outside the lock, when a push would exceed
	// MaxBytes. The message is dropped; the owner disconnects the client.
	OnOverflow func()
	// OnWriteError is called once when the Writer fails.
	OnWriteError func(err error)
	// OnClose is called by the writer goroutine after a Close marker was
	// reached, with everything queued before it written.
	OnClose func()
}

// Queue is a FIFO of byte slices shared with other connections; it never
// copies or modifies them.
type Queue struct {
	w   Writer
	tw  TryWriter // w, when it can write without blocking
	cfg Config

	// mu guards the fields below.
	mu       sync.Mutex
	items    [][]byte
	spare    [][]byte
	size     int
	writing  bool
	closing  bool
	done     bool
	overflow bool
	flush    bool // a TryPartial left bytes in the writer
}

// New returns an empty queue writing to w. When w is a [TryWriter], a
// message that finds the queue idle is written on the pushing goroutine.
func New(w Writer, cfg Config) *Queue {
	tw, _ := w.(TryWriter)
	return &Queue{w: w, tw: tw, cfg: cfg}
}

// Push appends b and makes sure a writer is running. It reports false when
// the queue is closed or over its cap.
func (q *Queue) Push(b []byte) bool {
	q.mu.Lock()
	if q.closing || q.done {
		q.mu.Unlock()
		return false
	}
	if q.cfg.MaxBytes > 0 && q.size+len(b) > q.cfg.MaxBytes {
		first := !q.overflow
		q.overflow = true
		q.mu.Unlock()
		if first && q.cfg.OnOverflow != nil {
			q.cfg.OnOverflow()
		}
		return false
	}
	if q.writing {
		q.items = append(q.items, b)
		q.size += len(b)
		q.mu.Unlock()
		return true
	}
	// No writer runs, so nothing is queued: b is next on the wire.
	q.writing = true
	if q.tw == nil {
		q.items = append(q.items, b)
		q.size += len(b)
		q.mu.Unlock()
		go q.drain()
		return true
	}
	q.mu.Unlock()

	q.tryWrite(b)
	return true
}

// tryWrite offers b to the transport while this goroutine holds the writer
// role, and hands over to a writer goroutine for whatever is left: the rest
// of b, or messages pushed meanwhile.
func (q *Queue) tryWrite(b []byte) {
	res, err := q.tw.TryWrite(b)
	if err != nil {
		q.fail(err)
		return
	}

	q.mu.Lock()
	if q.done {
		q.writing = false
		q.mu.Unlock()
		return
	}
	switch res {
	case TryWritten:
		if len(q.items) == 0 && !q.closing {
			q.writing = false
			q.mu.Unlock()
			return
		}
	case TryPartial:
		q.flush = true
	default:
		// b goes first: anything pushed meanwhile came after it.
		q.items = append(q.items, nil)
		copy(q.items[1:], q.items)
		q.items[0] = b
		q.size += len(b)
	}
	q.mu.Unlock()
	go q.drain()
}

// fail stops the queue after a write error and reports it once.
func (q *Queue) fail(err error) {
	q.mu.Lock()
	q.done = true
	q.writing = false
	q.items = nil
	q.size = 0
	q.mu.Unlock()
	if q.cfg.OnWriteError != nil {
		q.cfg.OnWriteError(err)
	}
}

// Close stops accepting messages. The writer finishes what is queued and
// then calls OnClose; with nothing queued OnClose runs on a new goroutine.
func (q *Queue) Close() {
	q.mu.Lock()
	if q.closing || q.done {
		q.mu.Unlock()
		return
	}
	q.closing = true
	start := !q.writing
	q.writing = true
	q.mu.Unlock()

	if start {
		go q.drain()
	}
}

// Abort drops everything queued and stops the queue without calling OnClose.
func (q *Queue) Abort() {
	q.mu.Lock()
	q.done = true
	q.items, q.spare = nil, nil
	q.size = 0
	q.mu.Unlock()
}

// Len returns the number of bytes waiting.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.size
}

func (q *Queue) drain() {
	for {
		q.mu.Lock()
		if q.done {
			q.writing = false
			q.mu.Unlock()
			return
		}
		if q.flush {
			q.flush = false
			q.mu.Unlock()
			if err := q.tw.Flush(); err != nil {
				q.fail(err)
				return
			}
			continue
		}
		batch := q.items
		if len(batch) == 0 {
			q.writing = false
			closing := q.closing
			if closing {
				q.done = true
			}
			q.mu.Unlock()
			if closing && q.cfg.OnClose != nil {
				q.cfg.OnClose()
			}
			return
		}
		// Swap in the spare slice so pushes during the write do not
		// allocate once the two slices have grown.
		q.items = q.spare[:0]
		q.spare = nil
		q.size = 0
		q.mu.Unlock()

		err := q.w.WriteBatch(batch)
		clear(batch)

		if err != nil {
			q.fail(err)
			return
		}
		q.mu.Lock()
		if q.spare == nil && cap(batch) <= 1024 {
			q.spare = batch[:0]
		}
		q.mu.Unlock()
	}
}
