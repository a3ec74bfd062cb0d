package redis_test

import (
	"context"
	"testing"

	"github.com/heraldhq/herald/internal/config"
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
