package redis_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/engine/enginetest"
	"github.com/heraldhq/herald/internal/engine/redis"
	"github.com/heraldhq/herald/internal/protocol"
	"github.com/heraldhq/herald/internal/redistest"
)

// connectDeployment connects to the deployment cfg describes; the
// connections close when the test ends.
func connectDeployment(t *testing.T, cfg config.Redis) *redis.Shards {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = time.Second
	}
	s, err := redis.Connect(ctx, cfg)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// serverClient is a client of the one server s, to read what the engine
// stored there.
func serverClient(t *testing.T, s *redistest.Server) rueidis.Client {
	t.Helper()
	return connectDeployment(t, config.Redis{Address: []string{s.Addr}}).All()[0]
}

// testPrefix is a key prefix per broker or manager, so that the subtests
// sharing the test's servers never see each other's keys.
func testPrefix() string {
	return "herald-test-" + rand.Text()
}

// runEngineSuites runs the shared broker and presence suites on the
// deployment cfg describes, each broker and manager on connections and a
// prefix of its own.
func runEngineSuites(t *testing.T, cfg config.Redis) {
	newBroker := func(t *testing.T) engine.Broker {
		return redis.NewBroker(connectDeployment(t, cfg),
			redis.BrokerConfig{Prefix: testPrefix()})
	}
	t.Run("Broker", func(t *testing.T) { enginetest.RunBroker(t, newBroker) })
	t.Run("SubscriptionFilter", func(t *testing.T) {
		enginetest.RunSubscriptionFilter(t, newBroker)
	})
	t.Run("Presence", func(t *testing.T) {
		enginetest.RunPresence(t, func(t *testing.T) engine.PresenceManager {
			return redis.NewPresenceManager(connectDeployment(t, cfg),
				redis.PresenceConfig{Prefix: testPrefix(), TTL: time.Minute})
		})
	})
}

// startShardPair starts two servers and returns them with the config that
// shards channels over them, in that order.
func startShardPair(t *testing.T) ([]*redistest.Server, config.Redis) {
	t.Helper()
	servers := []*redistest.Server{redistest.Start(t), redistest.Start(t)}
	return servers, config.Redis{Address: []string{servers[0].Addr, servers[1].Addr}}
}

func TestShardedConformance(t *testing.T) {
	_, cfg := startShardPair(t)
	runEngineSuites(t, cfg)
}

// nodeEvents is the event handler of one node: what it received, per
// channel in arrival order.
type nodeEvents struct {
	// mu guards the fields below; the broker calls from one goroutine per
	// shard.
	mu      sync.Mutex
	pubs    map[string][]string // the data of each publication
	offsets map[string][]uint64
	joins   map[string][]string // the client IDs
	control []string
}

func newNodeEvents() *nodeEvents {
	return &nodeEvents{pubs: map[string][]string{}, offsets: map[string][]uint64{},
		joins: map[string][]string{}}
}

func (n *nodeEvents) HandlePublication(ch string, pub *protocol.Publication,
	sp protocol.StreamPosition, _ bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.pubs[ch] = append(n.pubs[ch], string(pub.Data))
	n.offsets[ch] = append(n.offsets[ch], sp.Offset)
}

func (n *nodeEvents) HandleJoin(ch string, info *protocol.ClientInfo) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.joins[ch] = append(n.joins[ch], info.Client)
}

func (n *nodeEvents) HandleLeave(string, *protocol.ClientInfo) {}

func (n *nodeEvents) HandleControl(data []byte) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.control = append(n.control, string(data))
}

func (n *nodeEvents) HandleDeliveryGap([]string) {}

// await polls cond, under the lock, until it holds or the deadline passes.
func (n *nodeEvents) await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n.mu.Lock()
		ok := cond()
		n.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
}

// shardNode is one Herald node's engine on a shared deployment.
type shardNode struct {
	shards   *redis.Shards
	broker   *redis.Broker
	presence *redis.PresenceManager
	events   *nodeEvents
}

// startShardNode connects a node to cfg and runs its broker; everything is
// closed when the test ends.
func startShardNode(t *testing.T, cfg config.Redis, prefix string) *shardNode {
	t.Helper()
	n := &shardNode{shards: connectDeployment(t, cfg), events: newNodeEvents()}
	n.broker = redis.NewBroker(n.shards, redis.BrokerConfig{Prefix: prefix})
	if err := n.broker.Run(context.Background(), n.events); err != nil {
		t.Fatalf("run broker: %v", err)
	}
	t.Cleanup(func() { _ = n.broker.Close(context.Background()) })
	n.presence = redis.NewPresenceManager(n.shards,
		redis.PresenceConfig{Prefix: prefix, TTL: time.Minute})
	t.Cleanup(func() { _ = n.presence.Close(context.Background()) })
	return n
}

// owner is the position, in the config's addresses, of the shard the node
// picks for ch.
func (n *shardNode) owner(t *testing.T, ch string) int {
	t.Helper()
	i := slices.Index(n.shards.All(), n.shards.For(ch))
	if i < 0 {
		t.Fatalf("the shard of %s is not among the shards", ch)
	}
	return i
}

func (n *shardNode) publish(t *testing.T, ch, data string) {
	t.Helper()
	pub := &protocol.Publication{Data: protocol.Raw(data)}
	opts := engine.PublishOptions{HistorySize: 10, HistoryTTL: time.Hour}
	if _, err := n.broker.Publish(context.Background(), ch, pub, opts); err != nil {
		t.Fatalf("publish to %s: %v", ch, err)
	}
}

// TestShardedNodes runs two nodes on the same two servers: each delivers
// the other's publications, joins and control messages, and every
// channel's keys and PUB/SUB channel live on the one server both nodes
// pick for it, with channels spread over both servers.
func TestShardedNodes(t *testing.T) {
	servers, cfg := startShardPair(t)
	prefix := testPrefix()
	a, b := startShardNode(t, cfg, prefix), startShardNode(t, cfg, prefix)
	ctx := context.Background()

	const n = 64
	channels := make([]string, n)
	for i := range channels {
		channels[i] = fmt.Sprintf("room:%d", i)
	}
	for _, ch := range channels {
		for _, node := range []*shardNode{a, b} {
			if err := node.broker.Subscribe(ctx, ch); err != nil {
				t.Fatalf("subscribe to %s: %v", ch, err)
			}
		}
	}

	for _, ch := range channels {
		a.publish(t, ch, `"a"`)
		b.publish(t, ch, `"b"`)
		if err := b.presence.AddPresence(ctx, ch, "client-b",
			&protocol.ClientInfo{User: "u", Client: "client-b"}); err != nil {
			t.Fatalf("add presence in %s: %v", ch, err)
		}
		if err := b.broker.PublishJoin(ctx, ch,
			&protocol.ClientInfo{Client: "client-b"}); err != nil {
			t.Fatalf("join in %s: %v", ch, err)
		}
	}
	for _, node := range []*shardNode{a, b} {
		checkDeliveries(t, node.events, channels)
	}
	checkPresence(t, a, channels)
	checkControl(t, a, b)

	direct := []rueidis.Client{serverClient(t, servers[0]), serverClient(t, servers[1])}
	checkKeyPlacement(t, a, b, direct, cfg.Address, prefix, channels)
	checkSubscriptions(t, a, direct, cfg.Address, prefix, channels)
}

// checkDeliveries waits until events holds, in every channel, both nodes'
// publications in publishing order and the join.
func checkDeliveries(t *testing.T, events *nodeEvents, channels []string) {
	t.Helper()
	for _, ch := range channels {
		events.await(t, "publications and join in "+ch, func() bool {
			return len(events.pubs[ch]) >= 2 && len(events.joins[ch]) >= 1
		})
		events.mu.Lock()
		pubs, offsets := events.pubs[ch], events.offsets[ch]
		events.mu.Unlock()
		if !slices.Equal(pubs, []string{`"a"`, `"b"`}) ||
			!slices.Equal(offsets, []uint64{1, 2}) {
			t.Errorf("%s: delivered %v at offsets %v, want [\"a\" \"b\"] at [1 2]",
				ch, pubs, offsets)
		}
	}
}

// checkPresence checks that a sees the client b added in every channel.
func checkPresence(t *testing.T, a *shardNode, channels []string) {
	t.Helper()
	for _, ch := range channels {
		st, err := a.presence.PresenceStats(context.Background(), ch)
		if err != nil {
			t.Fatalf("presence stats of %s: %v", ch, err)
		}
		if st.NumClients != 1 || st.NumUsers != 1 {
			t.Errorf("%s: presence stats %+v, want 1 client of 1 user", ch, st)
		}
	}
}

// checkControl checks that a control message from either node reaches
// both.
func checkControl(t *testing.T, a, b *shardNode) {
	t.Helper()
	for i, from := range []*shardNode{a, b} {
		msg := fmt.Sprintf("hello from node %d", i)
		err := from.broker.PublishControl(context.Background(), []byte(msg))
		if err != nil {
			t.Fatalf("publish control: %v", err)
		}
		for _, to := range []*shardNode{a, b} {
			to.events.await(t, "control message", func() bool {
				return slices.Contains(to.events.control, msg)
			})
		}
	}
}

// checkKeyPlacement reads every server's keys and checks that each
// channel's keys are on the server both nodes pick for it, and that both
// servers hold some channels.
// direct holds a client of each server, in the order of addrs.
func checkKeyPlacement(t *testing.T, a, b *shardNode, direct []rueidis.Client,
	addrs []string, prefix string, channels []string) {
	t.Helper()
	held := make([]int, len(direct))
	for _, ch := range channels {
		want := a.owner(t, ch)
		if other := b.owner(t, ch); other != want {
			t.Fatalf("%s: nodes pick shards %d and %d", ch, want, other)
		}
		held[want]++

		// The stream and meta keys are the broker's documented layout.
		c := direct[want]
		stream, meta := prefix+".stream.{"+ch+"}", prefix+".meta.{"+ch+"}"
		cmd := c.B().Exists().Key(stream, meta).Build()
		got, err := c.Do(context.Background(), cmd).AsInt64()
		if err != nil || got != 2 {
			t.Errorf("%s: %d of its stream and meta keys on %s (err %v), want 2",
				ch, got, addrs[want], err)
		}
	}
	for i, n := range held {
		if n == 0 {
			t.Errorf("server %s holds none of %d channels", addrs[i], len(channels))
		}
	}

	// Whatever else the engine stores for a channel carries its hash tag,
	// so no key on a server may name a channel owned by the other.
	keys := map[string]int{}
	for i, c := range direct {
		for _, key := range scanKeys(t, c, prefix) {
			ch, ok := hashTag(key)
			if !ok {
				continue
			}
			keys[ch]++
			if owner := a.owner(t, ch); owner != i {
				t.Errorf("key %s on %s, but %s belongs to %s", key, addrs[i], ch,
					addrs[owner])
			}
		}
	}
	for _, ch := range channels {
		// Stream, meta and at least one presence key.
		if keys[ch] < 3 {
			t.Errorf("%s: %d keys found, want its history and presence keys",
				ch, keys[ch])
		}
	}
}

// checkSubscriptions checks that each channel's PUB/SUB channel has both
// nodes subscribed on its owner and nobody on the other server. direct is
// as for checkKeyPlacement.
func checkSubscriptions(t *testing.T, a *shardNode, direct []rueidis.Client,
	addrs []string, prefix string, channels []string) {
	t.Helper()
	for _, ch := range channels {
		owner := a.owner(t, ch)
		for i, c := range direct {
			want := int64(0)
			if i == owner {
				want = 2
			}
			if got := numSub(t, c, prefix+".ch."+ch); got != want {
				t.Errorf("%s: %d subscribers on %s, want %d", ch, got, addrs[i], want)
			}
		}
	}
}

// scanKeys lists the keys of c that start with prefix.
func scanKeys(t *testing.T, c rueidis.Client, prefix string) []string {
	t.Helper()
	var keys []string
	var cursor uint64
	for {
		cmd := c.B().Scan().Cursor(cursor).Match(prefix + "*").Count(1000).Build()
		e, err := c.Do(context.Background(), cmd).AsScanEntry()
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		keys = append(keys, e.Elements...)
		if cursor = e.Cursor; cursor == 0 {
			return keys
		}
	}
}

// hashTag returns the part of key between its first '{' and the next '}'.
func hashTag(key string) (string, bool) {
	_, rest, ok := strings.Cut(key, "{")
	if !ok {
		return "", false
	}
	tag, _, ok := strings.Cut(rest, "}")
	return tag, ok
}

// numSub counts the subscribers of a PUB/SUB channel on c's server.
func numSub(t *testing.T, c rueidis.Client, channel string) int64 {
	t.Helper()
	cmd := c.B().PubsubNumsub().Channel(channel).Build()
	res, err := c.Do(context.Background(), cmd).ToArray()
	if err != nil || len(res) != 2 {
		t.Fatalf("PUBSUB NUMSUB %s: %v %v", channel, res, err)
	}
	n, err := res[1].AsInt64()
	if err != nil {
		t.Fatalf("PUBSUB NUMSUB %s: %v", channel, err)
	}
	return n
}
