package memory

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/protocol"
)

// TestConcurrentPublish runs many publishers over many channels, with
// readers alongside, and checks that every channel's offsets are gapless and
// delivered in offset order, and that every read is a consistent cut.
func TestConcurrentPublish(t *testing.T) {
	const (
		publishers = 16
		perPub     = 300
		channels   = 40
		readers    = 4
	)
	b, rec := newTestBroker(t, Config{})
	ctx := context.Background()
	opts := withHistory(publishers * perPub) // nothing is trimmed
	chName := func(i int) string { return "ch" + strconv.Itoa(i%channels) }

	var pubs sync.WaitGroup
	for p := range publishers {
		pubs.Go(func() {
			for i := range perPub {
				pub := &protocol.Publication{Data: protocol.Raw(fmt.Sprint(p, i))}
				if _, err := b.Publish(ctx, chName(p+i), pub, opts); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	var reads sync.WaitGroup
	for r := range readers {
		reads.Go(func() { readConsistently(t, b, rec, chName(r), done) })
	}
	pubs.Wait()
	close(done)
	reads.Wait()

	checkDeliveryOrder(t, b, rec.snapshot(), channels)
}

// readConsistently reads ch until done, checking that each page is the whole
// stream 1..top, that everything up to top was already delivered (what lets
// the node merge history with live publications), and that reading since an
// earlier top returns exactly what was published after it.
func readConsistently(t *testing.T, b *Broker, rec *recorder, ch string,
	done <-chan struct{}) {
	var prev protocol.StreamPosition
	for {
		select {
		case <-done:
			return
		default:
		}
		all, pos, err := b.History(context.Background(), ch, engine.HistoryOptions{Limit: -1})
		if err != nil {
			t.Error(err)
			return
		}
		if !isRun(all, 1, pos.Offset) {
			t.Errorf("%s: read %v at top %d, want 1..top", ch, offsets(all), pos.Offset)
			return
		}
		if d := rec.delivered(ch); d < pos.Offset {
			t.Errorf("%s: read top %d before its delivery (delivered %d)", ch, pos.Offset, d)
			return
		}
		if prev.Epoch != "" {
			since, pos2, err := b.History(context.Background(), ch,
				engine.HistoryOptions{Limit: -1, Since: &prev})
			if err != nil || !isRun(since, prev.Offset+1, pos2.Offset) {
				t.Errorf("%s: since %d: %v up to %d, err %v", ch, prev.Offset,
					offsets(since), pos2.Offset, err)
				return
			}
		}
		prev = pos
	}
}

// isRun reports whether pubs have the offsets from..to in order.
func isRun(pubs []*protocol.Publication, from, to uint64) bool {
	if uint64(len(pubs)) != to+1-from { // an empty run has to == from-1
		return false
	}
	for i, p := range pubs {
		if p.Offset != from+uint64(i) {
			return false
		}
	}
	return true
}

// checkDeliveryOrder checks that each channel's deliveries have offsets
// 1, 2, 3... and are the very publications kept in history.
func checkDeliveryOrder(t *testing.T, b *Broker, evs []event, channels int) {
	t.Helper()
	byCh := make(map[string][]*protocol.Publication)
	for _, e := range evs {
		if e.pos.Offset != e.pub.Offset {
			t.Fatalf("%s: delivered position %d for offset %d", e.ch, e.pos.Offset, e.pub.Offset)
		}
		byCh[e.ch] = append(byCh[e.ch], e.pub)
	}
	if len(byCh) != channels {
		t.Fatalf("deliveries on %d channels, want %d", len(byCh), channels)
	}
	for ch, delivered := range byCh {
		if !isRun(delivered, 1, uint64(len(delivered))) {
			t.Errorf("%s: delivered offsets %v, want 1..n in order", ch, offsets(delivered))
			continue
		}
		kept, _ := history(t, b, ch, engine.HistoryOptions{Limit: -1})
		for i := range kept {
			if kept[i] != delivered[i] {
				t.Errorf("%s: history[%d] is not the delivered publication", ch, i)
				break
			}
		}
	}
}

// TestConcurrentTrimmedReads checks that reads racing with publishes into a
// small ring always return a contiguous suffix ending at the top, or report
// an unrecoverable position, never a page with a hole.
func TestConcurrentTrimmedReads(t *testing.T) {
	b, _ := newTestBroker(t, Config{})
	ctx := context.Background()
	opts := withHistory(8)

	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		defer close(done)
		publishN(t, b, "ch", 5000, opts)
	})
	wg.Go(func() {
		var prev protocol.StreamPosition
		for {
			select {
			case <-done:
				return
			default:
			}
			all, pos, err := b.History(ctx, "ch", engine.HistoryOptions{Limit: -1})
			if err != nil || !isRun(all, pos.Offset-uint64(len(all))+1, pos.Offset) ||
				len(all) > 8 {
				t.Errorf("read %v at %d, err %v", offsets(all), pos.Offset, err)
				return
			}
			if prev.Epoch != "" {
				got, pos2, err := b.History(ctx, "ch",
					engine.HistoryOptions{Limit: -1, Since: &prev})
				if err == nil && !isRun(got, prev.Offset+1, pos2.Offset) {
					t.Errorf("since %d: %v up to %d", prev.Offset, offsets(got), pos2.Offset)
					return
				}
			}
			prev = pos
		}
	})
	wg.Wait()
}

func TestConcurrentPresence(t *testing.T) {
	m := newTestPresence(t, Config{})
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 500 {
				ch := "ch" + strconv.Itoa(i%10)
				id := fmt.Sprint(w, "-", i)
				info := &protocol.ClientInfo{User: strconv.Itoa(w), Client: id}
				if err := m.AddPresence(ctx, ch, id, info); err != nil {
					t.Error(err)
					return
				}
				if _, err := m.Presence(ctx, ch); err != nil {
					t.Error(err)
				}
				if (i/10)%2 == 0 { // half of each channel
					_ = m.RemovePresence(ctx, ch, id, info.User)
				}
			}
		})
	}
	wg.Wait()

	total := 0
	for i := range 10 {
		s, err := m.PresenceStats(ctx, "ch"+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		total += s.NumClients
		if s.NumUsers != 8 {
			t.Errorf("ch%d: %d users, want 8", i, s.NumUsers)
		}
	}
	if total != 8*250 {
		t.Errorf("%d clients present, want %d", total, 8*250)
	}
}
