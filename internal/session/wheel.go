package session

import (
	"sync"
	"time"
)

// wheel spreads sessions over one slot per second of a period. The manager
// visits one slot per tick, so each session is visited once per period by a
// single node-wide goroutine instead of owning a runtime timer.
type wheel struct {
	slots []wheelSlot
}

type wheelSlot struct {
	// mu guards set.
	mu  sync.Mutex
	set map[*Session]struct{}
}

func newWheel(period time.Duration) *wheel {
	n := max(int(period/time.Second), 1)
	w := &wheel{slots: make([]wheelSlot, n)}
	for i := range w.slots {
		w.slots[i].set = make(map[*Session]struct{})
	}
	return w
}

func (w *wheel) size() int { return len(w.slots) }

func (w *wheel) slot(tick int) int {
	n := len(w.slots)
	return ((tick % n) + n) % n
}

func (w *wheel) add(i int, s *Session) {
	sl := &w.slots[i]
	sl.mu.Lock()
	sl.set[s] = struct{}{}
	sl.mu.Unlock()
}

func (w *wheel) remove(i int, s *Session) {
	sl := &w.slots[i]
	sl.mu.Lock()
	delete(sl.set, s)
	sl.mu.Unlock()
}

func (w *wheel) members(i int) []*Session {
	sl := &w.slots[i]
	sl.mu.Lock()
	defer sl.mu.Unlock()
	out := make([]*Session, 0, len(sl.set))
	for s := range sl.set {
		out = append(out, s)
	}
	return out
}
