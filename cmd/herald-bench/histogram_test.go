package main

import (
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	prev := -1
	for _, us := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 1 << 20, 1 << 30} {
		b := bucketOf(us)
		if b < prev {
			t.Errorf("bucketOf(%d) = %d, below %d", us, b, prev)
		}
		prev = b
		lo := lowerBound(b)
		if lo > us || float64(us-lo) > float64(us)/subBuckets {
			t.Errorf("lowerBound(bucketOf(%d)) = %d", us, lo)
		}
	}
}

func TestHistogramPercentile(t *testing.T) {
	h := newHistogram()
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Millisecond)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}}
	for _, tt := range tests {
		got := h.percentile(tt.q)
		if d := got - tt.want; d < -tt.want/50 || d > tt.want/50 {
			t.Errorf("p%v = %v, want about %v", tt.q*100, got, tt.want)
		}
	}
	if h.maxValue() != time.Second {
		t.Errorf("max = %v, want 1s", h.maxValue())
	}
}
