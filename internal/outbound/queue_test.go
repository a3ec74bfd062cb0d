package outbound

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// gateWriter records batches; while gated, writes block until released.
type gateWriter struct {
	mu      sync.Mutex
	batches [][]string
	gate    chan struct{}
	err     error
}

func (w *gateWriter) WriteBatch(items [][]byte) error {
	if w.gate != nil {
		<-w.gate
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var b []string
	for _, it := range items {
		b = append(b, string(it))
	}
	w.batches = append(w.batches, b)
	return w.err
}

func (w *gateWriter) snapshot() [][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([][]string(nil), w.batches...)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met before deadline")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestQueueBatchesWhileWriting(t *testing.T) {
	w := &gateWriter{gate: make(chan struct{})}
	q := New(w, Config{})

	q.Push([]byte("a"))
	q.Push([]byte("b"))
	q.Push([]byte("c"))
	close(w.gate)

	waitFor(t, func() bool { return q.Len() == 0 && len(w.snapshot()) > 0 })
	var all []string
	for _, b := range w.snapshot() {
		all = append(all, b...)
	}
	if len(all) != 3 || all[0] != "a" || all[1] != "b" || all[2] != "c" {
		t.Fatalf("written %v, want a b c in order", all)
	}
	if n := len(w.snapshot()); n > 2 {
		t.Errorf("%d batches, want at most 2: the write that blocked and the rest", n)
	}
}

func TestQueueOverflowCallsOnceAndDrops(t *testing.T) {
	w := &gateWriter{gate: make(chan struct{})}
	var calls int
	var mu sync.Mutex
	q := New(w, Config{MaxBytes: 4, OnOverflow: func() {
		mu.Lock()
		calls++
		mu.Unlock()
	}})

	if !q.Push([]byte("12")) || !q.Push([]byte("34")) {
		t.Fatal("pushes within the cap were refused")
	}
	// The first item may already be taken by the writer, so fill the cap
	// again before checking the overflow.
	q.Push([]byte("56"))
	q.Push([]byte("78"))
	if q.Push([]byte("9")) {
		t.Error("push over the cap accepted")
	}
	q.Push([]byte("9"))
	close(w.gate)

	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Errorf("OnOverflow called %d times, want 1", calls)
	}
}

func TestQueueCloseFlushesThenCallsOnClose(t *testing.T) {
	w := &gateWriter{}
	closed := make(chan struct{})
	q := New(w, Config{OnClose: func() { close(closed) }})

	q.Push([]byte("last words"))
	q.Close()
	<-closed

	if q.Push([]byte("late")) {
		t.Error("push after Close accepted")
	}
	b := w.snapshot()
	if len(b) != 1 || b[0][0] != "last words" {
		t.Errorf("written %v, want the message queued before Close", b)
	}
}

func TestQueueWriteErrorStops(t *testing.T) {
	w := &gateWriter{err: errors.New("broken pipe")}
	got := make(chan error, 1)
	q := New(w, Config{OnWriteError: func(err error) { got <- err }})

	q.Push([]byte("x"))
	if err := <-got; err == nil {
		t.Fatal("OnWriteError got nil")
	}
	waitFor(t, func() bool { return !q.Push([]byte("y")) })
}

func BenchmarkQueuePush(b *testing.B) {
	q := New(&gateWriter{}, Config{})
	msg := []byte(`{"push":{"channel":"news","pub":{"data":{}}}}`)
	b.ReportAllocs()
	for b.Loop() {
		q.Push(msg)
	}
}
