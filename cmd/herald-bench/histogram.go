package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// The histogram keeps microsecond values in log-linear buckets: values below
// 128 exactly, larger ones with 64 buckets per power of two, so a percentile
// is exact within 1/64 (1.6%).
const (
	subBits    = 6
	subBuckets = 1 << subBits
	numBuckets = 32 * subBuckets
	// histShards spreads concurrent recorders over separate counters.
	histShards = 16
)

// histogram records durations from many goroutines without locks.
type histogram struct {
	shards [histShards][numBuckets]atomic.Int64
	next   atomic.Uint32
	count  atomic.Int64
	max    atomic.Int64
}

func newHistogram() *histogram { return &histogram{} }

func bucketOf(us uint64) int {
	if us < 2*subBuckets {
		return int(us)
	}
	shift := bits.Len64(us) - subBits - 1
	return shift*subBuckets + int(us>>uint(shift))
}

// lowerBound returns the smallest microsecond value of bucket b.
func lowerBound(b int) uint64 {
	if b < 2*subBuckets {
		return uint64(b)
	}
	shift := b/subBuckets - 1
	return uint64(b-shift*subBuckets) << uint(shift)
}

func (h *histogram) record(d time.Duration) {
	us := max(int64(d/time.Microsecond), 0)
	b := min(bucketOf(uint64(us)), numBuckets-1)
	shard := h.next.Add(1) % histShards
	h.shards[shard][b].Add(1)
	h.count.Add(1)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			break
		}
	}
}

// percentile returns the value below which a fraction q of records fall.
func (h *histogram) percentile(q float64) time.Duration {
	total := h.count.Load()
	if total == 0 {
		return 0
	}
	rank := int64(q * float64(total))
	var seen int64
	for b := range numBuckets {
		for s := range histShards {
			seen += h.shards[s][b].Load()
		}
		if seen > rank {
			return time.Duration(lowerBound(b)) * time.Microsecond
		}
	}
	return h.maxValue()
}

func (h *histogram) maxValue() time.Duration {
	return time.Duration(h.max.Load()) * time.Microsecond
}
