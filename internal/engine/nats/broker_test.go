package nats

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/engine/enginetest"
	"github.com/heraldhq/herald/internal/engine/memory"
	"github.com/heraldhq/herald/internal/engine/redis"
	"github.com/heraldhq/herald/internal/natstest"
	"github.com/heraldhq/herald/internal/protocol"
)

func testPrefix() string { return "herald-nats-test-" + rand.Text()[:12] }

// redisStore is a Redis broker used as history store only, on the local
// Redis under a prefix of its own.
func redisStore(t *testing.T) engine.HistoryStore {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := redis.Connect(ctx, config.Redis{Address: []string{"127.0.0.1:6379"},
		ConnectTimeout: time.Second})
	if err != nil {
		t.Fatalf("connect to the local Redis: %v", err)
	}
	t.Cleanup(s.Close)
	return redis.NewBroker(s, redis.BrokerConfig{Prefix: testPrefix()})
}

func TestConformanceMemoryHistory(t *testing.T) {
	srv := natstest.Start(t)
	factory := func(t *testing.T) engine.Broker {
		return New(Config{URL: srv.URL, Prefix: testPrefix(),
			History: memory.NewBroker(memory.Config{})})
	}
	t.Run("broker", func(t *testing.T) { enginetest.RunBroker(t, factory) })
	t.Run("subscription filter", func(t *testing.T) {
		enginetest.RunSubscriptionFilter(t, factory)
	})
}

func TestConformanceRedisHistory(t *testing.T) {
	srv := natstest.Start(t)
	factory := func(t *testing.T) engine.Broker {
		return New(Config{URL: srv.URL, Prefix: testPrefix(), History: redisStore(t)})
	}
	t.Run("broker", func(t *testing.T) { enginetest.RunBroker(t, factory) })
	t.Run("subscription filter", func(t *testing.T) {
		enginetest.RunSubscriptionFilter(t, factory)
	})
}

// events records what a node receives.
type events struct {
	mu   sync.Mutex
	pubs map[string][]uint64
	data map[string][]string
	gaps []string
	ctrl [][]byte
	join []string
}

func newEvents() *events {
	return &events{pubs: map[string][]uint64{}, data: map[string][]string{}}
}

func (e *events) HandlePublication(ch string, pub *protocol.Publication,
	sp protocol.StreamPosition, _ bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pubs[ch] = append(e.pubs[ch], sp.Offset)
	e.data[ch] = append(e.data[ch], string(pub.Data))
}

func (e *events) HandleJoin(ch string, info *protocol.ClientInfo) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.join = append(e.join, ch+"/"+info.Client)
}

func (e *events) HandleLeave(string, *protocol.ClientInfo) {}

func (e *events) HandleControl(data []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ctrl = append(e.ctrl, data)
}

func (e *events) HandleDeliveryGap(chs []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.gaps = append(e.gaps, chs...)
}

func (e *events) await(t *testing.T, what string, cond func(e *events) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.mu.Lock()
		ok := cond(e)
		e.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
}

func startNode(t *testing.T, url, prefix string, store engine.HistoryStore) (*Broker, *events) {
	t.Helper()
	b := New(Config{URL: url, Prefix: prefix, History: store})
	ev := newEvents()
	if err := b.Run(context.Background(), ev); err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b, ev
}

var histOpts = engine.PublishOptions{HistorySize: 100, HistoryTTL: time.Hour}

func publish(t *testing.T, b *Broker, ch, data string) engine.PublishResult {
	t.Helper()
	res, err := b.Publish(context.Background(), ch,
		&protocol.Publication{Data: protocol.Raw(data)}, histOpts)
	if err != nil {
		t.Fatalf("publish to %q: %v", ch, err)
	}
	return res
}

// TestTwoNodesAndChannelNames runs two nodes with history in Redis: each
// delivers the other's publications in order with their offsets, for
// channel names that are not valid subject tokens as they are, and joins
// and control messages cross too.
func TestTwoNodesAndChannelNames(t *testing.T) {
	srv := natstest.Start(t)
	prefix := testPrefix()
	store := redisStore(t)
	a, _ := startNode(t, srv.URL, prefix, store)
	b, evB := startNode(t, srv.URL, prefix, store)

	names := []string{"room:1", "a.b", "a.*", ">", "with space", "~x", "", "é"}
	for _, ch := range names {
		if err := b.Subscribe(context.Background(), ch); err != nil {
			t.Fatalf("subscribe %q: %v", ch, err)
		}
	}
	for _, ch := range names {
		publish(t, a, ch, `"one"`)
		publish(t, b, ch, `"two"`)
	}
	for _, ch := range names {
		evB.await(t, "publications of "+ch, func(e *events) bool {
			return len(e.pubs[ch]) == 2
		})
	}
	evB.mu.Lock()
	for _, ch := range names {
		if !slices.Equal(evB.pubs[ch], []uint64{1, 2}) ||
			!slices.Equal(evB.data[ch], []string{`"one"`, `"two"`}) {
			t.Errorf("%q: offsets %v data %v", ch, evB.pubs[ch], evB.data[ch])
		}
	}
	evB.mu.Unlock()

	if err := a.PublishJoin(context.Background(), "a.b",
		&protocol.ClientInfo{Client: "c1"}); err != nil {
		t.Fatal(err)
	}
	if err := a.PublishControl(context.Background(), []byte("hi")); err != nil {
		t.Fatal(err)
	}
	evB.await(t, "join and control", func(e *events) bool {
		return slices.Equal(e.join, []string{"a.b/c1"}) && len(e.ctrl) == 1
	})

	// Unsubscribed channels are not delivered any more.
	if err := b.Unsubscribe(context.Background(), "room:1"); err != nil {
		t.Fatal(err)
	}
	publish(t, a, "room:1", `"three"`)
	publish(t, a, "a.b", `"marker"`)
	evB.await(t, "the marker", func(e *events) bool { return len(e.pubs["a.b"]) == 3 })
	evB.mu.Lock()
	if n := len(evB.pubs["room:1"]); n != 2 {
		t.Errorf("room:1 after unsubscribe: %d publications", n)
	}
	evB.mu.Unlock()
}

// TestRestart restarts NATS under a subscribed node: publishing fails at
// once while it is down, the subscription comes back, the node hears of
// the gap, and what was stored meanwhile is in history.
func TestRestart(t *testing.T) {
	srv := natstest.Start(t)
	prefix := testPrefix()
	store := memory.NewBroker(memory.Config{})
	b, ev := startNode(t, srv.URL, prefix, store)
	if err := b.Subscribe(context.Background(), "news"); err != nil {
		t.Fatal(err)
	}
	publish(t, b, "news", `1`)
	ev.await(t, "first publication", func(e *events) bool { return len(e.pubs["news"]) == 1 })

	srv.Stop(t)
	start := time.Now()
	_, err := b.Publish(context.Background(), "news",
		&protocol.Publication{Data: protocol.Raw(`2`)}, histOpts)
	for err == nil && time.Since(start) < 5*time.Second {
		// The client may not have noticed the loss yet.
		time.Sleep(20 * time.Millisecond) // retry interval
		_, err = b.Publish(context.Background(), "news",
			&protocol.Publication{Data: protocol.Raw(`2`)}, histOpts)
	}
	if !errors.Is(err, ErrDisconnected) {
		t.Fatalf("publish with NATS down: %v, want ErrDisconnected", err)
	}

	srv.Restart(t)
	ev.await(t, "the delivery gap", func(e *events) bool {
		return slices.Contains(e.gaps, "news")
	})
	var res engine.PublishResult
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err = b.Publish(context.Background(), "news",
			&protocol.Publication{Data: protocol.Raw(`3`)}, histOpts)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // retry interval
	}
	if err != nil {
		t.Fatalf("publish after the restart: %v", err)
	}
	ev.await(t, "delivery after the restart", func(e *events) bool {
		return slices.Contains(e.pubs["news"], res.Position.Offset)
	})
}
