package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Cluster is a Redis Cluster of masters without replicas, started by
// [StartCluster].
type Cluster struct {
	// Nodes are the masters, in the order their slots were assigned.
	Nodes []*Server
}

// StartCluster starts masters cluster-enabled servers (at least three, as
// redis-cli requires), joins them with redis-cli --cluster create and
// waits until every node reports cluster_state:ok and knows every other.
// The nodes stop when the test ends.
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	Require(t)
	requireBinary(t, "redis-cli")
	if masters < 3 {
		t.Fatalf("redistest: a cluster needs at least 3 masters, not %d", masters)
	}

	c := &Cluster{}
	for range masters {
		// A short node timeout lets tests that kill a node see the cluster
		// react within seconds.
		n := Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "2000")
		c.Nodes = append(c.Nodes, n)
	}
	c.create(t)
	for _, n := range c.Nodes {
		ready := func(s *Server) error { return clusterReady(s, masters) }
		if err := n.await(ready); err != nil {
			t.Fatalf("redistest: cluster node %s: %v", n.Addr, err)
		}
	}
	return c
}

// Addrs returns the nodes' addresses, as a cluster client's seeds.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr
	}
	return out
}

// create assigns the slots and joins the nodes.
func (c *Cluster) create(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	cmd := exec.CommandContext(ctx, "redis-cli", args...)
	cmd.SysProcAttr = sysProcAttr()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
}

// clusterReady checks that s serves every slot and knows all n nodes, so
// that a client may start from any of them.
func clusterReady(s *Server, n int) error {
	r, err := call(s.Addr, "CLUSTER", "INFO")
	if err != nil {
		return err
	}
	info, _ := r.(string)
	for _, want := range []string{"cluster_state:ok",
		"cluster_known_nodes:" + strconv.Itoa(n)} {
		if !strings.Contains(info, want+"\r\n") {
			return fmt.Errorf("redistest: CLUSTER INFO lacks %s", want)
		}
	}
	return nil
}
