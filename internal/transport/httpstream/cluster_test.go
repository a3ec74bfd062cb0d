package httpstream

import (
	"context"
	"crypto/rand"
	"net/http"
	"os"
	"testing"
	"time"

	cf "github.com/centrifugal/protocol"

	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/engine/redis"
)

// redisBroker returns a broker on the local Redis under prefix. Its nodes
// only use PUB/SUB channels, which leave no keys behind.
func redisBroker(t *testing.T, prefix string) engine.Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	shards, err := redis.Connect(ctx, config.Redis{
		Address: []string{"127.0.0.1:6379"}, ConnectTimeout: time.Second})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("connect to the local Redis: %v", err)
		}
		t.Skipf("no local Redis: %v", err)
	}
	t.Cleanup(shards.Close)
	return redis.NewBroker(shards,
		redis.BrokerConfig{Prefix: prefix, Logger: discardLogger})
}

// TestEmulationAcrossNodes checks that an emulation request reaching a node
// other than the one holding the stream is handed to that node.
func TestEmulationAcrossNodes(t *testing.T) {
	prefix := "herald-httpstream-test-" + rand.Text()
	opts := func() serverOptions {
		return serverOptions{broker: redisBroker(t, prefix),
			announce: 100 * time.Millisecond}
	}
	holder, other := newServer(t, opts()), newServer(t, opts())
	waitFor(t, "the nodes to know each other", func() bool {
		return other.node.Knows(holder.node.ID()) && holder.node.Knows(other.node.ID())
	})

	for _, kind := range []string{viaStream, viaProtobuf} {
		t.Run(kind, func(t *testing.T) {
			c := holder.connect(t, kind)
			// The client's commands go to the other node, as a load balancer
			// may send them.
			c.srv = other
			c.subscribe("news", 2)

			holder.publish(t, "news", `{"n":1}`)
			p := c.nextReply().GetPush()
			if p.GetChannel() != "news" || string(p.GetPub().GetData()) != `{"n":1}` {
				t.Fatalf("push %v, want the publication in news", p)
			}

			st := other.emulate(t, c.binary, "gone", c.session, pbCommand(t,
				&cf.Command{Id: 3}))
			if st != http.StatusNotFound {
				t.Errorf("unknown node: status %d, want 404", st)
			}
		})
	}
}
