package memory

import (
	"time"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/protocol"
)

// entry is one stored publication and the time (clock nanos) it expires.
type entry struct {
	pub      *protocol.Publication
	expireAt int64
}

// stream is one channel's history: its position (epoch and top offset) and
// the publications still kept. It is guarded by its stripe's mutex.
//
// Invariants: the kept publications have contiguous offsets ending at top,
// oldest at ring[head]; their expireAt never decreases from oldest to newest,
// so trimming by TTL only ever removes from the head and history has no
// holes.
type stream struct {
	epoch string
	top   uint64
	ring  []entry
	head  int
	n     int
	// metaExpireAt is when the position itself is forgotten; 0 = never.
	metaExpireAt int64
}

// minRing is the first ring allocation. Rings grow by doubling up to the
// channel's history size, so a quiet channel with a large configured size
// does not pay for it up front.
const minRing = 4

func newStream() *stream {
	return &stream{epoch: engine.NewEpoch()}
}

// position is the stream's current top.
func (s *stream) position() protocol.StreamPosition {
	return protocol.StreamPosition{Offset: s.top, Epoch: s.epoch}
}

// gone is the highest offset no longer kept: everything in (gone, top] is.
func (s *stream) gone() uint64 {
	return s.top - uint64(s.n)
}

// metaExpired reports whether the stream's position should be forgotten.
func (s *stream) metaExpired(now int64) bool {
	return s.metaExpireAt != 0 && now >= s.metaExpireAt
}

// publishedMeta sets the metadata lifetime after a publish (or the read that
// created the stream): ttl past now, or forever when ttl is 0, the memory
// engine's default. A deadline already further out is kept.
func (s *stream) publishedMeta(now int64, ttl time.Duration) {
	if ttl <= 0 {
		s.metaExpireAt = 0
		return
	}
	if d := deadline(now, ttl); s.metaExpireAt == 0 || d > s.metaExpireAt {
		s.metaExpireAt = d
	}
}

// readMeta extends the metadata lifetime to at least ttl past now after a
// read. A stream kept forever stays so: a reader cannot shorten it.
func (s *stream) readMeta(now int64, ttl time.Duration) {
	if ttl <= 0 || s.metaExpireAt == 0 {
		return
	}
	if d := deadline(now, ttl); d > s.metaExpireAt {
		s.metaExpireAt = d
	}
}

// at returns the i-th kept entry, 0 being the oldest.
func (s *stream) at(i int) *entry {
	j := s.head + i
	if j >= len(s.ring) {
		j -= len(s.ring)
	}
	return &s.ring[j]
}

// push stores pub as the newest entry, keeping at most size entries.
func (s *stream) push(pub *protocol.Publication, expireAt int64, size int) {
	s.clampExpiry(expireAt)
	for s.n >= size {
		s.dropOldest()
	}
	if len(s.ring) > size {
		// The channel's history size shrank: give the memory back now.
		s.resize(size)
	} else if s.n == len(s.ring) {
		s.resize(min(max(2*len(s.ring), minRing), size))
	}
	*s.at(s.n) = entry{pub: pub, expireAt: expireAt}
	s.n++
}

// clampExpiry keeps expireAt non-decreasing when the channel's history TTL
// was shortened: older entries must not outlive a newer one, or trimming
// from the head would leave an expired publication in the middle. Normally
// this checks only the newest entry.
func (s *stream) clampExpiry(expireAt int64) {
	for i := s.n - 1; i >= 0; i-- {
		e := s.at(i)
		if e.expireAt <= expireAt {
			return
		}
		e.expireAt = expireAt
	}
}

// resize moves the kept entries into a new ring of capacity c >= s.n.
func (s *stream) resize(c int) {
	ring := make([]entry, c)
	for i := range s.n {
		ring[i] = *s.at(i)
	}
	s.ring, s.head = ring, 0
}

func (s *stream) dropOldest() {
	s.ring[s.head] = entry{} // let the publication be collected
	s.head++
	if s.head == len(s.ring) {
		s.head = 0
	}
	s.n--
}

// trim drops the entries expired at now. An emptied ring is released so that
// idle channels keep only their position.
func (s *stream) trim(now int64) {
	for s.n > 0 && s.ring[s.head].expireAt <= now {
		s.dropOldest()
	}
	if s.n == 0 {
		s.ring, s.head = nil, 0
	}
}

// clear drops every kept publication but keeps the position.
func (s *stream) clear() {
	s.ring, s.head, s.n = nil, 0, 0
}

// recoverable reports whether every publication after since is still kept,
// so a subscriber at since can catch up without a gap.
func (s *stream) recoverable(since protocol.StreamPosition) bool {
	if since.Epoch != s.epoch || since.Offset > s.top {
		// An offset beyond the top in this epoch was never issued; the
		// client cannot be trusted to be in sync with this stream.
		return false
	}
	return since.Offset >= s.gone()
}

// collect copies the kept publications with offsets in (after, top] into a
// new slice: oldest first, or newest first when reverse, at most limit of
// them (limit < 0: no cap). after must be >= s.gone(). With a limit, the
// oldest ones are taken going forward and the newest ones in reverse.
func (s *stream) collect(after uint64, limit int, reverse bool) []*protocol.Publication {
	k := int(s.top - after)
	if limit >= 0 && limit < k {
		k = limit
	}
	if k == 0 {
		return nil
	}
	pubs := make([]*protocol.Publication, k)
	if reverse {
		for i := range k {
			pubs[i] = s.at(s.n - 1 - i).pub
		}
		return pubs
	}
	first := s.n - int(s.top-after)
	for i := range k {
		pubs[i] = s.at(first + i).pub
	}
	return pubs
}

// collectBefore copies the kept publications with offsets below before,
// newest first, at most limit of them (limit < 0: no cap).
func (s *stream) collectBefore(before uint64, limit int) []*protocol.Publication {
	if before <= s.gone()+1 || limit == 0 {
		return nil
	}
	k := min(int(before-1-s.gone()), s.n)
	if limit > 0 && limit < k {
		k = limit
	}
	pubs := make([]*protocol.Publication, k)
	last := int(before - 2 - s.gone())
	if last >= s.n {
		last = s.n - 1
	}
	for i := range k {
		pubs[i] = s.at(last - i).pub
	}
	return pubs
}
