package session

import (
	"strconv"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/protocol"
)

// metricsEnv is an env whose manager and hub record into fresh metrics.
func metricsEnv(t *testing.T, tune func(*Config)) (*env, *metrics.Metrics) {
	t.Helper()
	m := metrics.New(metrics.Config{})
	e := newEnv(t, openChannels(), func(c *Config) {
		c.Metrics = m
		if tune != nil {
			tune(c)
		}
	})
	e.hub.SetMetrics(m)
	return e, m
}

// TestSessionMetrics follows one client through connect, subscriptions, a
// failed command, a publication and a server disconnect.
func TestSessionMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, m := metricsEnv(t, nil)
		c := e.connected(t, "alice")
		c.subscribe("news")
		if code := c.callErr("subscribe", `{"channel":"nope:x"}`); code == 0 {
			t.Fatal("subscribe to an unknown namespace succeeded")
		}
		e.publish(t, "news", `{"n":1}`)
		if got := series(t, m, "centrifugo_client_connections_inflight",
			"client_name=test", "transport=fake"); got != 1 {
			t.Errorf("connections_inflight = %v while connected, want 1", got)
		}
		e.m.DisconnectUser(Target{User: "alice"}, protocol.DisconnectForceNoReconnect, nil)
		c.wantClosed(protocol.DisconnectForceNoReconnect.Code)

		code := protocol.ErrUnknownChannel.Code
		for _, tc := range []struct {
			name   string
			labels []string
			want   float64
		}{
			{"centrifugo_transport_messages_received",
				[]string{"transport=fake", "frame_type=connect"}, 1},
			{"centrifugo_transport_messages_received",
				[]string{"transport=fake", "frame_type=subscribe"}, 2},
			{"centrifugo_transport_messages_sent",
				[]string{"transport=fake", "frame_type=connect"}, 1},
			{"centrifugo_transport_messages_sent",
				[]string{"transport=fake", "frame_type=subscribe"}, 2},
			{"centrifugo_transport_messages_sent",
				[]string{"transport=fake", "frame_type=push_publication"}, 1},
			{"centrifugo_client_command_duration_seconds", []string{"method=connect"}, 1},
			{"centrifugo_client_command_duration_seconds", []string{"method=subscribe"}, 2},
			{"centrifugo_client_num_reply_errors",
				[]string{"method=subscribe", "code=" + itoa(code)}, 1},
			{"centrifugo_client_connections_accepted",
				[]string{"client_name=test", "transport=fake"}, 1},
			{"centrifugo_client_connections_inflight",
				[]string{"client_name=test", "transport=fake"}, 0},
			{"centrifugo_client_num_server_disconnects",
				[]string{"code=" + itoa(protocol.DisconnectForceNoReconnect.Code)}, 1},
		} {
			if got := series(t, m, tc.name, tc.labels...); got != tc.want {
				t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
			}
		}
	})
}

// TestSlowConsumerIsCounted checks that a client whose queue overflows is
// counted among the server disconnects with the slow code.
func TestSlowConsumerIsCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, m := metricsEnv(t, func(c *Config) { c.QueueMaxSize = 300 })
		c := e.connected(t, "bob")
		c.subscribe("news")
		e.publish(t, "news", `"`+strings.Repeat("x", 1000)+`"`)
		c.wantClosed(protocol.DisconnectSlow.Code)

		slow := "code=" + itoa(protocol.DisconnectSlow.Code)
		if got := series(t, m, "centrifugo_client_num_server_disconnects", slow); got != 1 {
			t.Errorf("num_server_disconnects{%s} = %v, want 1", slow, got)
		}
	})
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// series returns the value of family name's series whose labels include
// want ("k=v" pairs), 0 without one.
func series(t *testing.T, m *metrics.Metrics, name string, want ...string) float64 {
	t.Helper()
	v, _ := m.Value(name, want...)
	return v
}
