package memory_test

import (
	"testing"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/engine/enginetest"
	"github.com/heraldhq/herald/internal/engine/memory"
)

func TestBrokerConformance(t *testing.T) {
	enginetest.RunBroker(t, func(*testing.T) engine.Broker {
		return memory.NewBroker(memory.Config{})
	})
}

func TestPresenceConformance(t *testing.T) {
	enginetest.RunPresence(t, func(*testing.T) engine.PresenceManager {
		return memory.NewPresenceManager(memory.Config{})
	})
}
