// Package outbound holds the per-connection queue of bytes waiting to be
// written, with byte accounting and the slow-consumer policy.
//
// An idle connection costs no goroutine here: a writer goroutine is started
// when the first message arrives and exits as soon as the queue is empty.
// While it writes, later messages accumulate and go out together in the next
// frame, so writes batch by load, not by timers.
package outbound

import (
	"sync"
)

// Writer writes one batch of queued messages as one transport frame.
type Writer interface {
	WriteBatch(items [][]byte) error
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
}

// New returns an empty queue writing to w.
func New(w Writer, cfg Config) *Queue {
	return &Queue{w: w, cfg: cfg}
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
	q.items = append(q.items, b)
	q.size += len(b)
	start := !q.writing
	q.writing = true
	q.mu.Unlock()

	if start {
		go q.drain()
	}
	return true
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

		q.mu.Lock()
		if q.spare == nil && cap(batch) <= 1024 {
			q.spare = batch[:0]
		}
		if err != nil {
			q.done = true
			q.writing = false
			q.items = nil
			q.mu.Unlock()
			if q.cfg.OnWriteError != nil {
				q.cfg.OnWriteError(err)
			}
			return
		}
		q.mu.Unlock()
	}
}
