package memory

import (
	"hash/maphash"
	"math"
	"time"
)

// Config tunes the memory engine. The zero value is ready to use.
type Config struct {
	// PresenceTTL expires presence entries not refreshed in time (default
	// 60s).
	PresenceTTL time.Duration
	// CleanupInterval is how often the janitor frees expired entries
	// (default 5s). Reads never return expired data whatever its value; it
	// bounds how long expired data keeps memory.
	CleanupInterval time.Duration
	// Now is for tests; nil means time.Now. Prefer testing/synctest.
	Now func() time.Time
}

// Defaults applied by the constructors.
const (
	defaultPresenceTTL     = 60 * time.Second
	defaultCleanupInterval = 5 * time.Second
	// defaultIdempotentTTL follows Centrifugo's documented 5 minutes.
	defaultIdempotentTTL = 5 * time.Minute
)

func (c Config) withDefaults() Config {
	if c.PresenceTTL <= 0 {
		c.PresenceTTL = defaultPresenceTTL
	}
	if c.CleanupInterval <= 0 {
		c.CleanupInterval = defaultCleanupInterval
	}
	return c
}

// clock reads time as nanoseconds since the engine was created. Deadlines
// are int64 rather than time.Time to halve the size of ring entries; with
// time.Now the difference comes from the monotonic clock, so wall-clock jumps
// neither expire history early nor keep it forever.
type clock struct {
	now  func() time.Time
	base time.Time
}

func newClock(now func() time.Time) clock {
	if now == nil {
		return clock{base: time.Now()}
	}
	return clock{now: now, base: now()}
}

// nanos returns the time elapsed since the clock was created.
func (c clock) nanos() int64 {
	if c.now == nil {
		return int64(time.Since(c.base))
	}
	return int64(c.now().Sub(c.base))
}

// deadline returns now+ttl, saturating instead of wrapping so that a huge
// TTL from a config file means "practically never".
func deadline(now int64, ttl time.Duration) int64 {
	if int64(ttl) > math.MaxInt64-now {
		return math.MaxInt64
	}
	return now + int64(ttl)
}

// numStripes is a power of two so that a mask picks the stripe. 128 keeps
// contention low at typical core counts while the fixed arrays stay small.
const numStripes = 128

// stripeOf maps a channel to its stripe index.
func stripeOf(seed maphash.Seed, ch string) int {
	return int(maphash.String(seed, ch) & (numStripes - 1))
}
