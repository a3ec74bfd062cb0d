package outbound

import (
	"bytes"
	"errors"
	"sync"
	"testing"
)

// tryWriter is a TryWriter whose next TryWrite outcomes are scripted. It
// keeps one byte stream, in wire order, so tests can check that partial
// writes are completed before anything else.
type tryWriter struct {
	mu      sync.Mutex
	wire    bytes.Buffer
	script  []TryResult
	tail    []byte
	tries   int
	batches int
	inTry   func() // runs inside TryWrite, to push concurrently
}

func (w *tryWriter) TryWrite(b []byte) (TryResult, error) {
	if w.inTry != nil {
		f := w.inTry
		w.inTry = nil
		f()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tries++
	res := TryWritten
	if len(w.script) > 0 {
		res, w.script = w.script[0], w.script[1:]
	}
	switch res {
	case TryWritten:
		w.wire.Write(b)
	case TryPartial:
		w.wire.Write(b[:1])
		w.tail = b[1:]
	}
	return res, nil
}

func (w *tryWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.wire.Write(w.tail)
	w.tail = nil
	return nil
}

func (w *tryWriter) WriteBatch(items [][]byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.tail != nil {
		return errors.New("batch written before the partial message was flushed")
	}
	w.batches++
	for _, it := range items {
		w.wire.Write(it)
	}
	return nil
}

func (w *tryWriter) state() (wire string, tries, batches int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.wire.String(), w.tries, w.batches
}

func TestTryWriteInlineWhenIdle(t *testing.T) {
	w := &tryWriter{}
	q := New(w, Config{})

	q.Push([]byte("a"))
	q.Push([]byte("b"))

	// Both pushes found the queue idle, so both were written on this
	// goroutine, with no writer goroutine and no batch.
	wire, tries, batches := w.state()
	if wire != "ab" || tries != 2 || batches != 0 {
		t.Fatalf("wire %q, %d tries, %d batches; want \"ab\", 2, 0", wire, tries, batches)
	}
}

func TestTryWriteFallsBackInOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  TryResult
	}{
		{"refused", TryRefused},
		{"partial", TryPartial},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &tryWriter{script: []TryResult{tc.res}}
			q := New(w, Config{})
			// A push that lands while the first message is being tried
			// must go out after it.
			w.inTry = func() { q.Push([]byte("-next")) }

			q.Push([]byte("first"))

			waitFor(t, func() bool { wire, _, _ := w.state(); return len(wire) == 10 })
			if wire, _, _ := w.state(); wire != "first-next" {
				t.Errorf("wire %q, want \"first-next\"", wire)
			}
			waitFor(t, func() bool { return q.Len() == 0 })

			// Once the writer has drained the queue, the next push is
			// tried inline again.
			waitFor(t, func() bool {
				q.mu.Lock()
				defer q.mu.Unlock()
				return !q.writing
			})
			_, triesBefore, _ := w.state()
			q.Push([]byte("!"))
			if wire, tries, _ := w.state(); wire != "first-next!" || tries != triesBefore+1 {
				t.Errorf("wire %q after %d tries, want an inline write", wire, tries)
			}
		})
	}
}

func TestTryWriteCloseAfterInlineWrite(t *testing.T) {
	w := &tryWriter{}
	closed := make(chan struct{})
	q := New(w, Config{OnClose: func() { close(closed) }})

	q.Push([]byte("bye"))
	q.Close()
	<-closed
	if wire, _, _ := w.state(); wire != "bye" {
		t.Errorf("wire %q, want \"bye\"", wire)
	}
}

type failingTryWriter struct{ tryWriter }

func (*failingTryWriter) TryWrite([]byte) (TryResult, error) {
	return TryRefused, errors.New("connection reset")
}

func TestTryWriteErrorStops(t *testing.T) {
	got := make(chan error, 1)
	q := New(&failingTryWriter{}, Config{OnWriteError: func(err error) { got <- err }})

	q.Push([]byte("x"))
	if err := <-got; err == nil {
		t.Fatal("OnWriteError got nil")
	}
	if q.Push([]byte("y")) {
		t.Error("push accepted after a write error")
	}
}
