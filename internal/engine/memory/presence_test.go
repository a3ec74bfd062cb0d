package memory

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/protocol"
)

// newTestPresence returns a PresenceManager closed when the test ends.
func newTestPresence(t testing.TB, c Config) *PresenceManager {
	t.Helper()
	m := NewPresenceManager(c)
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

func TestPresence(t *testing.T) {
	type op struct {
		add        bool
		ch, client string
		user       string
	}
	tests := []struct {
		name    string
		ops     []op
		want    []string // client IDs present in "ch"
		clients int
		users   int
	}{
		{"empty", nil, nil, 0, 0},
		{"one", []op{{true, "ch", "c1", "u1"}}, []string{"c1"}, 1, 1},
		{"same user twice", []op{
			{true, "ch", "c1", "u1"}, {true, "ch", "c2", "u1"},
		}, []string{"c1", "c2"}, 2, 1},
		{"anonymous users count once", []op{
			{true, "ch", "c1", ""}, {true, "ch", "c2", ""}, {true, "ch", "c3", "u"},
		}, []string{"c1", "c2", "c3"}, 3, 2},
		{"refresh does not duplicate", []op{
			{true, "ch", "c1", "u1"}, {true, "ch", "c1", "u1"},
		}, []string{"c1"}, 1, 1},
		{"remove", []op{
			{true, "ch", "c1", "u1"}, {true, "ch", "c2", "u2"}, {false, "ch", "c1", "u1"},
		}, []string{"c2"}, 1, 1},
		{"remove unknown", []op{{false, "ch", "c1", "u1"}}, nil, 0, 0},
		{"other channel", []op{
			{true, "other", "c1", "u1"}, {true, "ch", "c2", "u2"},
		}, []string{"c2"}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestPresence(t, Config{})
			ctx := context.Background()
			for _, o := range tt.ops {
				var err error
				if o.add {
					info := &protocol.ClientInfo{User: o.user, Client: o.client}
					err = m.AddPresence(ctx, o.ch, o.client, info)
				} else {
					err = m.RemovePresence(ctx, o.ch, o.client, o.user)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			got, err := m.Presence(ctx, "ch")
			if err != nil {
				t.Fatal(err)
			}
			if ids := slices.Sorted(maps.Keys(got)); !slices.Equal(ids, tt.want) {
				t.Errorf("presence %v, want %v", ids, tt.want)
			}
			stats, err := m.PresenceStats(ctx, "ch")
			if err != nil {
				t.Fatal(err)
			}
			want := engine.PresenceStats{NumClients: tt.clients, NumUsers: tt.users}
			if stats != want {
				t.Errorf("stats %+v, want %+v", stats, want)
			}
		})
	}
}

func TestPresenceReturnsCopies(t *testing.T) {
	m := newTestPresence(t, Config{})
	ctx := context.Background()
	info := &protocol.ClientInfo{User: "u", Client: "c", ConnInfo: protocol.Raw(`{}`)}
	if err := m.AddPresence(ctx, "ch", "c", info); err != nil {
		t.Fatal(err)
	}
	first, _ := m.Presence(ctx, "ch")
	if c := first["c"]; c == info || c.User != "u" || string(c.ConnInfo) != "{}" {
		t.Fatalf("got %+v, want an equal copy", first["c"])
	}
	first["c"].User = "changed"
	delete(first, "c")
	second, _ := m.Presence(ctx, "ch")
	if second["c"] == nil || second["c"].User != "u" {
		t.Errorf("caller changes leaked into the manager: %+v", second)
	}
}

func TestPresenceNilInfo(t *testing.T) {
	m := newTestPresence(t, Config{})
	if err := m.AddPresence(context.Background(), "ch", "c", nil); err != nil {
		t.Fatal(err)
	}
	got, _ := m.Presence(context.Background(), "ch")
	if got["c"] == nil || got["c"].Client != "c" {
		t.Errorf("got %+v, want an info naming the client", got)
	}
}

func TestPresenceExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestPresence(t, Config{PresenceTTL: 10 * time.Second,
			CleanupInterval: time.Second})
		ctx := context.Background()
		add := func(client, user string) {
			info := &protocol.ClientInfo{User: user, Client: client}
			if err := m.AddPresence(ctx, "ch", client, info); err != nil {
				t.Fatal(err)
			}
		}
		add("stale", "u1")
		add("fresh", "u2")
		time.Sleep(8 * time.Second)
		add("fresh", "u2") // refreshed: lives until 18s
		time.Sleep(2 * time.Second)

		got, _ := m.Presence(ctx, "ch")
		if ids := slices.Sorted(maps.Keys(got)); !slices.Equal(ids, []string{"fresh"}) {
			t.Errorf("at 10s: %v, want [fresh]", ids)
		}
		one := engine.PresenceStats{NumClients: 1, NumUsers: 1}
		if s, _ := m.PresenceStats(ctx, "ch"); s != one {
			t.Errorf("at 10s: stats %+v, want 1 client 1 user", s)
		}

		time.Sleep(8 * time.Second)
		synctest.Wait()
		if s, _ := m.PresenceStats(ctx, "ch"); s != (engine.PresenceStats{}) {
			t.Errorf("at 18s: stats %+v, want none", s)
		}
		if n := m.channelCount(); n != 0 {
			t.Errorf("janitor left %d channels, want 0", n)
		}
	})
}

func TestPresenceLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewPresenceManager(Config{})
		ctx := context.Background()
		for range 2 {
			if err := m.Close(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.AddPresence(ctx, "ch", "c", nil); !errors.Is(err, ErrClosed) {
			t.Errorf("add after Close: %v, want ErrClosed", err)
		}
		if _, err := m.Presence(ctx, "ch"); !errors.Is(err, ErrClosed) {
			t.Errorf("presence after Close: %v, want ErrClosed", err)
		}
	})
}

// channelCount counts the channels held across all stripes.
func (m *PresenceManager) channelCount() int {
	n := 0
	for i := range m.stripes {
		st := &m.stripes[i]
		st.mu.Lock()
		n += len(st.chans)
		st.mu.Unlock()
	}
	return n
}
