package redis_test

import (
	"testing"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/engine/enginetest"
	"github.com/heraldhq/herald/internal/engine/redis"
)

// newConformanceBroker returns a broker on its own connection and prefix.
func newConformanceBroker(t *testing.T) engine.Broker {
	return redis.NewBroker(conformanceShards(t),
		redis.BrokerConfig{Prefix: conformancePrefix()})
}

func TestBrokerConformance(t *testing.T) {
	enginetest.RunBroker(t, newConformanceBroker)
}

// Unlike the memory broker, this one delivers only subscribed channels.
func TestBrokerSubscriptionFilter(t *testing.T) {
	enginetest.RunSubscriptionFilter(t, newConformanceBroker)
}
