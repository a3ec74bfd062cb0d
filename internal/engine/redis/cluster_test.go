package redis

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/engine/enginetest"
	"github.com/heraldhq/herald/internal/redistest"
)

// clusterShards connects to the cluster c; closed when the test ends.
func clusterShards(t *testing.T, c *redistest.Cluster) *Shards {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Connect(ctx, config.Redis{ClusterAddress: c.Addrs(),
		ConnectTimeout: time.Second})
	if err != nil {
		t.Fatalf("connect to the cluster: %v", err)
	}
	if !s.Cluster() {
		t.Fatal("cluster_address did not give a cluster client")
	}
	t.Cleanup(s.Close)
	return s
}

// TestClusterConformance runs the shared engine suites on a Redis Cluster
// of three masters.
func TestClusterConformance(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	prefix := func() string { return "herald-cluster-" + rand.Text() }

	t.Run("broker", func(t *testing.T) {
		enginetest.RunBroker(t, func(t *testing.T) engine.Broker {
			return NewBroker(clusterShards(t, c), BrokerConfig{Prefix: prefix()})
		})
	})
	t.Run("subscription filter", func(t *testing.T) {
		enginetest.RunSubscriptionFilter(t, func(t *testing.T) engine.Broker {
			return NewBroker(clusterShards(t, c), BrokerConfig{Prefix: prefix()})
		})
	})
	t.Run("presence", func(t *testing.T) {
		enginetest.RunPresence(t, func(t *testing.T) engine.PresenceManager {
			return NewPresenceManager(clusterShards(t, c),
				PresenceConfig{Prefix: prefix(), TTL: time.Minute})
		})
	})
}

// TestClusterShardedPubSub checks, on a Redis Cluster, that two nodes
// deliver each other's publications over sharded PUB/SUB, that channels'
// keys spread over the masters with each channel's keys in one slot, and
// that each node holds one sharded subscription per channel it serves.
func TestClusterShardedPubSub(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	prefix := "herald-cluster-" + rand.Text()
	a := startNode(t, clusterShards(t, c), prefix)
	b := startNode(t, clusterShards(t, c), prefix)
	if a.b.partitions != DefaultPartitions {
		t.Fatalf("%d partitions, want %d", a.b.partitions, DefaultPartitions)
	}

	const channels = 64
	for i := range channels {
		ch := fmt.Sprintf("room:%d", i)
		if err := b.b.Subscribe(t.Context(), ch); err != nil {
			t.Fatalf("subscribe %s: %v", ch, err)
		}
	}
	for i := range channels {
		ch := fmt.Sprintf("room:%d", i)
		publish(t, a.b, ch, `{"n":1}`, histOpts)
		publish(t, a.b, ch, `{"n":2}`, engine.PublishOptions{})
	}
	for i := range channels {
		ch := fmt.Sprintf("room:%d", i)
		eventually(t, 5*time.Second, "delivery of "+ch, func() bool {
			return b.r.count(ch) == 2
		})
	}

	// Every channel's stream and meta live in its partition's slot, on
	// the master that owns it; more than one master holds some.
	holders := map[string]bool{}
	for i := range channels {
		ch := fmt.Sprintf("room:%d", i)
		keys := a.b.keys(ch, "")
		slot := keySlot(t, c, keys[0])
		if keySlot(t, c, keys[1]) != slot || keySlot(t, c, a.b.pubsubChannel(ch)) != slot {
			t.Fatalf("%s: keys and PUB/SUB channel in different slots", ch)
		}
		owner := ownerOf(t, c, keys[0])
		holders[owner] = true
	}
	if len(holders) < 2 {
		t.Errorf("channels' keys on %d master(s), want them spread", len(holders))
	}

	// Node b's subscriptions are sharded ones, spread over the masters.
	var shardChannels int
	for _, n := range c.Nodes {
		list := redisCall(t, n.Addr, "PUBSUB", "SHARDCHANNELS", prefix+"*")
		shardChannels += len(list)
	}
	// The control channel is sharded too; both nodes subscribe to it.
	if shardChannels != channels+1 {
		t.Errorf("%d sharded PUB/SUB channels on the masters, want %d", shardChannels,
			channels+1)
	}

	// Node control messages reach both nodes.
	if err := a.b.PublishControl(t.Context(), []byte("hello")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "control message", func() bool {
		b.r.mu.Lock()
		defer b.r.mu.Unlock()
		return len(b.r.control) > 0 && string(b.r.control[0]) == "hello"
	})
}

// keySlot asks the cluster for the hash slot of key.
func keySlot(t *testing.T, c *redistest.Cluster, key string) string {
	t.Helper()
	return redisCall(t, c.Nodes[0].Addr, "CLUSTER", "KEYSLOT", key)[0]
}

// ownerOf returns the address of the master that holds key.
func ownerOf(t *testing.T, c *redistest.Cluster, key string) string {
	t.Helper()
	slot := keySlot(t, c, key)
	for _, n := range c.Nodes {
		if redisCall(t, n.Addr, "CLUSTER", "COUNTKEYSINSLOT", slot)[0] != "0" {
			if got := redisCall(t, n.Addr, "EXISTS", key); got[0] != "1" {
				t.Fatalf("%s: not on the master of its slot %s", key, slot)
			}
			return n.Addr
		}
	}
	t.Fatalf("no master holds %s", key)
	return ""
}

// redisCall runs one command on the single server at addr (no cluster
// redirection) and returns its reply as strings.
func redisCall(t *testing.T, addr string, args ...string) []string {
	t.Helper()
	cl, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr},
		ForceSingleClient: true, DisableCache: true})
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	defer cl.Close()
	res := cl.Do(t.Context(), cl.B().Arbitrary(args...).Build())
	if n, err := res.AsInt64(); err == nil {
		return []string{fmt.Sprint(n)}
	}
	list, err := res.AsStrSlice()
	if err != nil {
		t.Fatalf("%s on %s: %v", strings.Join(args, " "), addr, err)
	}
	return list
}
