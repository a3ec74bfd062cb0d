package redis_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/protocol"
	"github.com/heraldhq/herald/internal/redistest"
)

// sentinelMaster is the name the test sentinel monitors its master under.
const sentinelMaster = "herald-test"

// startSentinelDeployment starts a master and a sentinel watching it, and
// returns the master with the config that reaches it through the sentinel.
func startSentinelDeployment(t *testing.T) (*redistest.Server, config.Redis) {
	t.Helper()
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master, sentinelMaster)
	return master, config.Redis{SentinelAddress: []string{sentinel.Addr},
		SentinelMasterName: sentinelMaster}
}

func TestSentinelConformance(t *testing.T) {
	_, cfg := startSentinelDeployment(t)
	runEngineSuites(t, cfg)
}

// TestSentinelReachesMaster checks that what a broker connected through
// the sentinel stores lands on the master the sentinel names.
func TestSentinelReachesMaster(t *testing.T) {
	master, cfg := startSentinelDeployment(t)
	prefix := testPrefix()
	n := startShardNode(t, cfg, prefix)
	n.publish(t, "room", `"x"`)

	c := serverClient(t, master)
	stream := prefix + ".stream.{room}"
	got, err := c.Do(context.Background(), c.B().Xlen().Key(stream).Build()).AsInt64()
	if err != nil || got != 1 {
		t.Errorf("master holds %d entries in %s (err %v), want 1", got, stream, err)
	}
}

// TestSentinelFailover kills the master of a master and replica pair: the
// sentinel promotes the replica, and a node connected through the sentinel
// publishes and delivers again, on the new master, without being restarted.
func TestSentinelFailover(t *testing.T) {
	master := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	replica := redistest.Start(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.Port))
	sentinel := redistest.StartSentinel(t, master, sentinelMaster)
	cfg := config.Redis{SentinelAddress: []string{sentinel.Addr},
		SentinelMasterName: sentinelMaster}
	prefix := testPrefix()
	writer := startShardNode(t, cfg, prefix)
	reader := startShardNode(t, cfg, prefix)
	if err := reader.broker.Subscribe(context.Background(), "room"); err != nil {
		t.Fatal(err)
	}
	writer.publish(t, "room", `1`)
	reader.events.await(t, "publication before the failover", func() bool {
		return len(reader.events.pubs["room"]) == 1
	})
	waitReplicated(t, replica, prefix+".stream.{room}")

	master.Kill(t)
	// Down-after 1 s, then the failover: publishing works again once the
	// clients follow the sentinel to the promoted replica.
	deadline := time.Now().Add(30 * time.Second)
	pub := &protocol.Publication{Data: protocol.Raw(`2`)}
	opts := engine.PublishOptions{HistorySize: 10, HistoryTTL: time.Hour}
	for {
		_, err := writer.broker.Publish(context.Background(), "room", pub, opts)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no publish accepted within 30 s of the master's death: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // retry interval
	}

	role, err := serverClient(t, replica).Do(context.Background(),
		serverClient(t, replica).B().Role().Build()).ToArray()
	if err != nil || len(role) == 0 {
		t.Fatalf("role of the replica: %v", err)
	}
	if r, _ := role[0].ToString(); r != "master" {
		t.Fatalf("replica's role after the failover is %q, want master", r)
	}
	// The history written before the failover was replicated; the new
	// publication follows it.
	_, top, err := writer.broker.History(context.Background(), "room",
		engine.HistoryOptions{})
	if err != nil || top.Offset != 2 {
		t.Fatalf("position after the failover %+v (err %v), want offset 2", top, err)
	}
	// The reader's PUB/SUB connection followed too: a publication made
	// now reaches it.
	reader.events.await(t, "delivery after the failover", func() bool {
		for _, p := range reader.events.pubs["room"] {
			if p == `2` {
				return true
			}
		}
		writer.publish(t, "room", `2`)
		return false
	})
}

// waitReplicated waits until the replica holds key.
func waitReplicated(t *testing.T, replica *redistest.Server, key string) {
	t.Helper()
	c := serverClient(t, replica)
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := c.Do(context.Background(), c.B().Exists().Key(key).Build()).AsInt64()
		if err == nil && n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not replicated: %v", key, err)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}
