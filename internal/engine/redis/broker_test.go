package redis

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/protocol"
)

const testRedis = "127.0.0.1:6379"

// recorder is an EventHandler that keeps what it receives.
type recorder struct {
	mu      sync.Mutex
	pubs    map[string][]*protocol.Publication
	pos     map[string][]protocol.StreamPosition
	deltas  int
	joins   []*protocol.ClientInfo
	leaves  []*protocol.ClientInfo
	control [][]byte
	gaps    []string
}

func newRecorder() *recorder {
	return &recorder{pubs: map[string][]*protocol.Publication{},
		pos: map[string][]protocol.StreamPosition{}}
}

func (r *recorder) HandlePublication(ch string, pub *protocol.Publication,
	sp protocol.StreamPosition, delta bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pubs[ch] = append(r.pubs[ch], pub)
	r.pos[ch] = append(r.pos[ch], sp)
	if delta {
		r.deltas++
	}
}

func (r *recorder) HandleJoin(_ string, info *protocol.ClientInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.joins = append(r.joins, info)
}

func (r *recorder) HandleLeave(_ string, info *protocol.ClientInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.leaves = append(r.leaves, info)
}

func (r *recorder) HandleControl(data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.control = append(r.control, data)
}

func (r *recorder) HandleDeliveryGap(channels []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gaps = append(r.gaps, channels...)
}

func (r *recorder) gapped(ch string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.gaps, ch)
}

func (r *recorder) count(ch string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pubs[ch])
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
}

// brokerTestShards connects to addr; closed when the test ends.
func brokerTestShards(t *testing.T, addr string) *Shards {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := Connect(ctx, config.Redis{Address: []string{addr}, ConnectTimeout: time.Second})
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	t.Cleanup(s.Close)
	return s
}

// cleanPrefix deletes every key under prefix when the test ends.
func cleanPrefix(t *testing.T, s *Shards, prefix string) {
	t.Cleanup(func() {
		ctx := context.Background()
		c := s.All()[0]
		var cursor uint64
		for {
			e, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match(prefix+"*").
				Count(1000).Build()).AsScanEntry()
			if err != nil {
				t.Errorf("scan: %v", err)
				return
			}
			if len(e.Elements) > 0 {
				_ = c.Do(ctx, c.B().Del().Key(e.Elements...).Build()).Error()
			}
			if cursor = e.Cursor; cursor == 0 {
				return
			}
		}
	})
}

// testNode is one running broker ("node") with its handler.
type testNode struct {
	b *Broker
	r *recorder
	s *Shards
}

// newNodes starts n brokers sharing one fresh prefix.
func newNodes(t *testing.T, n int) []testNode {
	t.Helper()
	prefix := "herald-test-" + rand.Text()
	var nodes []testNode
	for range n {
		s := brokerTestShards(t, testRedis)
		nodes = append(nodes, startNode(t, s, prefix))
	}
	cleanPrefix(t, nodes[0].s, prefix)
	return nodes
}

func startNode(t *testing.T, s *Shards, prefix string) testNode {
	t.Helper()
	b := NewBroker(s, BrokerConfig{Prefix: prefix})
	r := newRecorder()
	if err := b.Run(t.Context(), r); err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return testNode{b: b, r: r, s: s}
}

var histOpts = engine.PublishOptions{HistorySize: 10, HistoryTTL: time.Minute}

func publish(t *testing.T, b *Broker, ch, data string,
	opts engine.PublishOptions) engine.PublishResult {
	t.Helper()
	pub := &protocol.Publication{Data: protocol.Raw(data)}
	res, err := b.Publish(t.Context(), ch, pub, opts)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return res
}

func history(t *testing.T, b *Broker, ch string, opts engine.HistoryOptions) (
	[]*protocol.Publication, protocol.StreamPosition, error) {
	t.Helper()
	return b.History(t.Context(), ch, opts)
}

func offsets(pubs []*protocol.Publication) []uint64 {
	var out []uint64
	for _, p := range pubs {
		out = append(out, p.Offset)
	}
	return out
}

func TestPublishOffsetsAndEpoch(t *testing.T) {
	n := newNodes(t, 1)[0]
	_, pos, err := history(t, n.b, "c", engine.HistoryOptions{})
	if err != nil || pos.Offset != 0 || pos.Epoch == "" {
		t.Fatalf("empty history position %+v, %v", pos, err)
	}
	for i := 1; i <= 3; i++ {
		res := publish(t, n.b, "c", "x", histOpts)
		if res.Position.Offset != uint64(i) || res.Position.Epoch != pos.Epoch {
			t.Fatalf("publish %d: %+v, want epoch %s", i, res.Position, pos.Epoch)
		}
	}
	res := publish(t, n.b, "plain", "x", engine.PublishOptions{})
	if res.Position != (protocol.StreamPosition{}) {
		t.Errorf("publish without history: %+v", res.Position)
	}
	pubs, _, err := history(t, n.b, "plain", engine.HistoryOptions{Limit: -1})
	if err != nil || len(pubs) != 0 {
		t.Errorf("history of a channel without history: %v, %v", pubs, err)
	}
}

func TestHistoryPaging(t *testing.T) {
	n := newNodes(t, 1)[0]
	for i := 1; i <= 15; i++ {
		pub := &protocol.Publication{Data: protocol.Raw("d" + strconv.Itoa(i)),
			Tags: map[string]string{"i": strconv.Itoa(i)}, Time: int64(i),
			Info: &protocol.ClientInfo{User: "u", Client: "c", ChanInfo: protocol.Raw("{}")}}
		if _, err := n.b.Publish(t.Context(), "c", pub, histOpts); err != nil {
			t.Fatal(err)
		}
	}
	all, pos, err := history(t, n.b, "c", engine.HistoryOptions{Limit: -1})
	got := fmt.Sprint(offsets(all))
	if err != nil || pos.Offset != 15 || got != "[6 7 8 9 10 11 12 13 14 15]" {
		t.Fatalf("all: %v %+v %v", offsets(all), pos, err)
	}
	if p := all[9]; string(p.Data) != "d15" || p.Tags["i"] != "15" || p.Time != 15 ||
		p.Info == nil || p.Info.User != "u" || string(p.Info.ChanInfo) != "{}" {
		t.Errorf("decoded publication: %+v", p)
	}

	at := func(off uint64) *protocol.StreamPosition {
		return &protocol.StreamPosition{Offset: off, Epoch: pos.Epoch}
	}
	tests := []struct {
		name string
		opts engine.HistoryOptions
		want string
		err  error
	}{
		{"limit", engine.HistoryOptions{Limit: 3}, "[6 7 8]", nil},
		{"reverse", engine.HistoryOptions{Limit: 3, Reverse: true}, "[15 14 13]", nil},
		{"limit 0", engine.HistoryOptions{}, "[]", nil},
		{"since", engine.HistoryOptions{Limit: -1, Since: at(12)}, "[13 14 15]", nil},
		{"since limit", engine.HistoryOptions{Limit: 2, Since: at(5)}, "[6 7]", nil},
		{"since top", engine.HistoryOptions{Limit: -1, Since: at(15)}, "[]", nil},
		{"since reverse", engine.HistoryOptions{Limit: 2, Reverse: true,
			Since: at(10)}, "[9 8]", nil},
		{"trimmed", engine.HistoryOptions{Limit: -1, Since: at(4)}, "[]",
			engine.ErrUnrecoverablePosition},
		{"trimmed limit 0", engine.HistoryOptions{Since: at(4)}, "[]",
			engine.ErrUnrecoverablePosition},
		{"epoch", engine.HistoryOptions{Limit: -1,
			Since: &protocol.StreamPosition{Offset: 12, Epoch: "other"}}, "[]",
			engine.ErrUnrecoverablePosition},
		{"future", engine.HistoryOptions{Limit: -1, Since: at(16)}, "[]",
			engine.ErrUnrecoverablePosition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pubs, got, err := history(t, n.b, "c", tt.opts)
			if !errors.Is(err, tt.err) || got != pos || fmt.Sprint(offsets(pubs)) != tt.want {
				t.Errorf("got %v %+v %v, want %s %v", offsets(pubs), got, err, tt.want, tt.err)
			}
		})
	}
}

func TestHistoryTTLAndMetaTTL(t *testing.T) {
	n := newNodes(t, 1)[0]
	opts := engine.PublishOptions{HistorySize: 10, HistoryTTL: 100 * time.Millisecond,
		HistoryMetaTTL: time.Minute}
	first := publish(t, n.b, "c", "a", opts)
	publish(t, n.b, "c", "b", opts)
	eventually(t, 5*time.Second, "history to expire", func() bool {
		pubs, _, err := history(t, n.b, "c", engine.HistoryOptions{Limit: -1})
		return err == nil && len(pubs) == 0
	})
	_, pos, err := history(t, n.b, "c", engine.HistoryOptions{
		Limit: -1, Since: &first.Position})
	if !errors.Is(err, engine.ErrUnrecoverablePosition) || pos.Offset != 2 ||
		pos.Epoch != first.Position.Epoch {
		t.Errorf("since an expired offset: %+v %v", pos, err)
	}
	if res := publish(t, n.b, "c", "c", opts); res.Position.Offset != 3 {
		t.Errorf("offset after expiry: %+v", res.Position)
	}

	short := engine.PublishOptions{HistorySize: 10, HistoryTTL: 50 * time.Millisecond,
		HistoryMetaTTL: 100 * time.Millisecond}
	gen1 := publish(t, n.b, "m", "a", short)
	eventually(t, 5*time.Second, "meta to expire", func() bool {
		c := n.s.All()[0]
		key := n.b.keys("m", "")[1]
		n, err := c.Do(t.Context(), c.B().Exists().Key(key).Build()).AsInt64()
		return err == nil && n == 0
	})
	gen2 := publish(t, n.b, "m", "b", short)
	if gen2.Position.Offset != 1 || gen2.Position.Epoch == gen1.Position.Epoch {
		t.Errorf("after meta expiry %+v, before %+v", gen2.Position, gen1.Position)
	}
}

func TestIdempotency(t *testing.T) {
	nodes := newNodes(t, 1)
	n := nodes[0]
	if err := n.b.Subscribe(t.Context(), "c"); err != nil {
		t.Fatal(err)
	}
	opts := histOpts
	opts.IdempotencyKey = "k"
	opts.IdempotentResultTTL = time.Minute
	a := publish(t, n.b, "c", "x", opts)
	b := publish(t, n.b, "c", "x", opts)
	if a.Suppressed || !b.Suppressed || a.Position != b.Position {
		t.Errorf("first %+v, repeat %+v", a, b)
	}
	plain := engine.PublishOptions{IdempotencyKey: "k2"}
	if r := publish(t, n.b, "c", "y", plain); r.Suppressed {
		t.Errorf("first publish without history suppressed")
	}
	if r := publish(t, n.b, "c", "y", plain); !r.Suppressed {
		t.Errorf("repeat without history not suppressed")
	}
	publish(t, n.b, "c", "end", engine.PublishOptions{})
	eventually(t, 5*time.Second, "3 deliveries", func() bool { return n.r.count("c") == 3 })
	pubs, _, _ := history(t, n.b, "c", engine.HistoryOptions{Limit: -1})
	if len(pubs) != 1 {
		t.Errorf("history holds %d publications, want 1", len(pubs))
	}
}

func TestRemoveHistoryKeepsPosition(t *testing.T) {
	n := newNodes(t, 1)[0]
	publish(t, n.b, "c", "a", histOpts)
	last := publish(t, n.b, "c", "b", histOpts)
	if err := n.b.RemoveHistory(t.Context(), "c"); err != nil {
		t.Fatal(err)
	}
	pubs, pos, err := history(t, n.b, "c", engine.HistoryOptions{Limit: -1})
	if err != nil || len(pubs) != 0 || pos != last.Position {
		t.Errorf("after remove: %v %+v %v, want %+v", pubs, pos, err, last.Position)
	}
	_, _, err = history(t, n.b, "c", engine.HistoryOptions{Since: &last.Position})
	if err != nil {
		t.Errorf("top position unrecoverable after remove: %v", err)
	}
	if res := publish(t, n.b, "c", "c", histOpts); res.Position.Offset != 3 ||
		res.Position.Epoch != last.Position.Epoch {
		t.Errorf("publish after remove: %+v", res.Position)
	}
}

func TestTwoNodesOrdered(t *testing.T) {
	nodes := newNodes(t, 2)
	a, b := nodes[0], nodes[1]
	for _, ch := range []string{"x", "y"} {
		if err := b.b.Subscribe(t.Context(), ch); err != nil {
			t.Fatal(err)
		}
	}
	const total = 1000
	var wg sync.WaitGroup
	for _, ch := range []string{"x", "y"} {
		wg.Go(func() {
			for i := range total {
				opts := histOpts
				if ch == "y" {
					opts = engine.PublishOptions{Delta: true}
				}
				pub := &protocol.Publication{Data: protocol.Raw(strconv.Itoa(i))}
				if _, err := a.b.Publish(context.Background(), ch, pub, opts); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	eventually(t, 10*time.Second, "all deliveries", func() bool {
		return b.r.count("x") == total && b.r.count("y") == total
	})

	b.r.mu.Lock()
	defer b.r.mu.Unlock()
	for _, ch := range []string{"x", "y"} {
		for i, p := range b.r.pubs[ch] {
			if string(p.Data) != strconv.Itoa(i) {
				t.Fatalf("%s: delivery %d is %q", ch, i, p.Data)
			}
			if ch == "x" && (p.Offset != uint64(i+1) || b.r.pos[ch][i].Offset != p.Offset ||
				b.r.pos[ch][i].Epoch == "") {
				t.Fatalf("x: delivery %d at %+v", i, b.r.pos[ch][i])
			}
		}
	}
	if b.r.deltas != total {
		t.Errorf("%d deltas, want %d", b.r.deltas, total)
	}
	if a.r.count("x") != 0 {
		t.Errorf("unsubscribed node received %d", a.r.count("x"))
	}
}

func TestJoinLeaveControlAcrossNodes(t *testing.T) {
	nodes := newNodes(t, 2)
	a, b := nodes[0], nodes[1]
	if err := b.b.Subscribe(t.Context(), "c"); err != nil {
		t.Fatal(err)
	}
	info := &protocol.ClientInfo{User: "u1", Client: "c1", ConnInfo: protocol.Raw(`{"a":1}`)}
	if err := a.b.PublishJoin(t.Context(), "c", info); err != nil {
		t.Fatal(err)
	}
	if err := a.b.PublishLeave(t.Context(), "c", info); err != nil {
		t.Fatal(err)
	}
	if err := a.b.PublishControl(t.Context(), []byte("ctl")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "events", func() bool {
		b.r.mu.Lock()
		defer b.r.mu.Unlock()
		return len(b.r.joins) == 1 && len(b.r.leaves) == 1 && len(b.r.control) == 1
	})
	eventually(t, 5*time.Second, "control on the sender", func() bool {
		a.r.mu.Lock()
		defer a.r.mu.Unlock()
		return len(a.r.control) == 1
	})
	b.r.mu.Lock()
	defer b.r.mu.Unlock()
	j := b.r.joins[0]
	if j.User != "u1" || j.Client != "c1" || string(j.ConnInfo) != `{"a":1}` {
		t.Errorf("join %+v", j)
	}
	if string(b.r.control[0]) != "ctl" {
		t.Errorf("control %q", b.r.control[0])
	}
}

func TestUnsubscribeStopsDelivery(t *testing.T) {
	nodes := newNodes(t, 2)
	a, b := nodes[0], nodes[1]
	if err := b.b.Subscribe(t.Context(), "c"); err != nil {
		t.Fatal(err)
	}
	publish(t, a.b, "c", "1", engine.PublishOptions{})
	eventually(t, 5*time.Second, "first delivery", func() bool { return b.r.count("c") == 1 })
	if err := b.b.Unsubscribe(t.Context(), "c"); err != nil {
		t.Fatal(err)
	}
	publish(t, a.b, "c", "2", engine.PublishOptions{})
	// A publication to a subscribed channel of the same connection is a
	// barrier: once it arrived, the one before it would have too.
	if err := b.b.Subscribe(t.Context(), "barrier"); err != nil {
		t.Fatal(err)
	}
	publish(t, a.b, "barrier", "b", engine.PublishOptions{})
	eventually(t, 5*time.Second, "barrier", func() bool { return b.r.count("barrier") == 1 })
	if got := b.r.count("c"); got != 1 {
		t.Errorf("%d deliveries after unsubscribe, want 1", got)
	}
}

// proxy forwards TCP to Redis and can cut every connection.
type proxy struct {
	addr  string
	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func startProxy(t *testing.T) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String()}
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r, err := net.Dial("tcp", testRedis)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, r)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(r, c); r.Close() }()
			go func() { _, _ = io.Copy(c, r); c.Close() }()
		}
	}()
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) up(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("relisten: %v", err)
	}
	p.serve(ln)
}

func TestRedisDownAndBack(t *testing.T) {
	p := startProxy(t)
	prefix := "herald-test-" + rand.Text()
	direct := startNode(t, brokerTestShards(t, testRedis), prefix)
	cleanPrefix(t, direct.s, prefix)
	viaProxy := startNode(t, brokerTestShards(t, p.addr), prefix)
	if err := viaProxy.b.Subscribe(t.Context(), "c"); err != nil {
		t.Fatal(err)
	}

	p.down()
	start := time.Now()
	_, err := viaProxy.b.Publish(context.Background(), "c",
		&protocol.Publication{Data: protocol.Raw("x")}, histOpts)
	if err == nil || time.Since(start) > opTimeout+time.Second {
		t.Errorf("publish with Redis down: %v after %v", err, time.Since(start))
	}

	p.up(t)
	// Once resubscribed, publications from the other node arrive again,
	// and the node hears that it may have missed some meanwhile.
	eventually(t, 10*time.Second, "resubscription", func() bool {
		publish(t, direct.b, "c", "y", engine.PublishOptions{})
		return viaProxy.r.count("c") > 0
	})
	if !viaProxy.r.gapped("c") {
		t.Error("no delivery gap reported for c after the reconnect")
	}
	if direct.r.gapped("c") {
		t.Error("a delivery gap reported on a node that never lost Redis")
	}
}

func TestConcurrentSubscribes(t *testing.T) {
	nodes := newNodes(t, 2)
	a, b := nodes[0], nodes[1]
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := b.b.Subscribe(t.Context(), "c"+strconv.Itoa(i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range n {
		publish(t, a.b, "c"+strconv.Itoa(i), "x", engine.PublishOptions{})
	}
	eventually(t, 5*time.Second, "a delivery per channel", func() bool {
		b.r.mu.Lock()
		defer b.r.mu.Unlock()
		return len(b.r.pubs) == n
	})
}

func TestNotRunning(t *testing.T) {
	b := NewBroker(brokerTestShards(t, testRedis), BrokerConfig{})
	if b.prefix != "herald" {
		t.Errorf("default prefix %q", b.prefix)
	}
	if _, err := b.Publish(t.Context(), "c", &protocol.Publication{},
		engine.PublishOptions{}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("publish before run: %v", err)
	}
	if err := b.Subscribe(t.Context(), "c"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("subscribe before run: %v", err)
	}
}
