package hub

import (
	"strconv"
	"testing"

	"github.com/heraldhq/herald/internal/protocol"
)

// TestLargeChannelDeliveredInParallel broadcasts to a channel large enough
// to be split between goroutines and checks that every subscriber, of
// either variant, gets every publication once and in order, and that
// subscribers of one variant share one encoding.
func TestLargeChannelDeliveredInParallel(t *testing.T) {
	h := newTestHub()
	h.workers = 3 // more parts than cores on a small machine, and uneven
	n := parallelMin + 7
	conns := make([]*recConn, n)
	for i := range conns {
		conns[i] = &recConn{}
		addActive(t, h, SubConfig{Channel: "big", Conn: conns[i], Variant: uint8(i % 2),
			Positioned: true})
	}

	const pubs = 5
	for i := 1; i <= pubs; i++ {
		pub := &protocol.Publication{Offset: uint64(i),
			Data: []byte(`{"n":` + strconv.Itoa(i) + `}`)}
		h.BroadcastPublication("big", pub, protocol.StreamPosition{Offset: uint64(i)}, false)
	}

	for i, c := range conns {
		if len(c.got) != pubs || len(c.lost) != 0 {
			t.Fatalf("subscriber %d: %d messages, lost %v; want %d, none lost",
				i, len(c.got), c.lost, pubs)
		}
		for k := 1; k < pubs; k++ {
			if string(c.got[k]) == string(c.got[k-1]) {
				t.Fatalf("subscriber %d got publication %d twice", i, k)
			}
		}
	}
	if &conns[0].got[0][0] != &conns[n-1-(n-1)%2].got[0][0] {
		t.Error("JSON subscribers in different parts got different encodings")
	}
	want := `{"push":{"channel":"big","pub":{"data":{"n":5},"offset":5}}}`
	if got := string(conns[0].got[pubs-1]); got != want {
		t.Errorf("last JSON push = %s, want %s", got, want)
	}
}
