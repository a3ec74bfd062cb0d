package memory

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/protocol"
)

// Publications are recycled from a fixed pool so that allocations reported
// are the broker's own. The broker rewrites Offset on reuse, which is
// harmless here since nothing reads the history while publishing.
const benchPool = 1024

func benchPubs() []*protocol.Publication {
	pubs := make([]*protocol.Publication, benchPool)
	for i := range pubs {
		pubs[i] = &protocol.Publication{Data: protocol.Raw(`{"input":"hello"}`)}
	}
	return pubs
}

func newBenchBroker(b *testing.B) *Broker {
	br := NewBroker(Config{})
	if err := br.Run(context.Background(), nopHandler{}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = br.Close(context.Background()) })
	return br
}

var benchHistory = engine.PublishOptions{HistorySize: 100, HistoryTTL: time.Minute}

func benchPublish(b *testing.B, opts engine.PublishOptions) {
	br := newBenchBroker(b)
	pubs := benchPubs()
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := br.Publish(ctx, "bench", pubs[i%benchPool], opts); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkPublishWithHistory(b *testing.B) { benchPublish(b, benchHistory) }

func BenchmarkPublishNoHistory(b *testing.B) { benchPublish(b, engine.PublishOptions{}) }

// benchPublishParallel publishes from GOMAXPROCS goroutines, either all into
// one channel (one stripe lock, worst case) or each into its own channels.
func benchPublishParallel(b *testing.B, opts engine.PublishOptions) {
	for _, shared := range []bool{true, false} {
		name := "ChannelPerGoroutine"
		if shared {
			name = "OneChannel"
		}
		b.Run(name, func(b *testing.B) {
			br := newBenchBroker(b)
			ctx := context.Background()
			var next atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				pubs := benchPubs()
				ch := "bench"
				if !shared {
					ch = "bench" + strconv.FormatInt(next.Add(1), 10)
				}
				i := 0
				for pb.Next() {
					if _, err := br.Publish(ctx, ch, pubs[i%benchPool], opts); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
	}
}

func BenchmarkPublishWithHistoryParallel(b *testing.B) {
	benchPublishParallel(b, benchHistory)
}

func BenchmarkPublishNoHistoryParallel(b *testing.B) {
	benchPublishParallel(b, engine.PublishOptions{})
}

// setupRecover fills a channel's history and returns a position 10
// publications behind the top, as a reconnecting subscriber would send.
func setupRecover(b *testing.B) (*Broker, protocol.StreamPosition) {
	br := newBenchBroker(b)
	ctx := context.Background()
	var res engine.PublishResult
	for range 1000 {
		var err error
		res, err = br.Publish(ctx, "bench", &protocol.Publication{}, benchHistory)
		if err != nil {
			b.Fatal(err)
		}
	}
	since := res.Position
	since.Offset -= 10
	return br, since
}

func BenchmarkHistoryRecover(b *testing.B) {
	br, since := setupRecover(b)
	ctx := context.Background()
	opts := engine.HistoryOptions{Since: &since, Limit: -1}
	b.ReportAllocs()
	for b.Loop() {
		pubs, _, err := br.History(ctx, "bench", opts)
		if err != nil || len(pubs) != 10 {
			b.Fatalf("got %d publications, err %v", len(pubs), err)
		}
	}
}

func BenchmarkHistoryRecoverParallel(b *testing.B) {
	br, since := setupRecover(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		opts := engine.HistoryOptions{Since: &since, Limit: -1}
		for pb.Next() {
			pubs, _, err := br.History(ctx, "bench", opts)
			if err != nil || len(pubs) != 10 {
				b.Fatalf("got %d publications, err %v", len(pubs), err)
			}
		}
	})
}
