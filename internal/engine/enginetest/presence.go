package enginetest

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/protocol"
)

// RunPresence runs the presence conformance subtests. newPM must return a
// new manager whose TTL is far longer than a subtest (expiry is left to the
// engines' own tests); the suite closes it when the subtest ends.
func RunPresence(t *testing.T, newPM func(t *testing.T) engine.PresenceManager) {
	t.Run("AddRemoveStats", func(t *testing.T) { testPresenceOps(t, newPM) })
	t.Run("InfoRoundTrip", func(t *testing.T) { testPresenceInfo(t, newPM) })
	t.Run("NilInfo", func(t *testing.T) { testPresenceNilInfo(t, newPM) })
	t.Run("ReturnsCallersMap", func(t *testing.T) { testPresenceCopies(t, newPM) })
	t.Run("Close", func(t *testing.T) { testPresenceClose(t, newPM) })
}

// startPresence makes a manager closed when the test ends.
func startPresence(t *testing.T,
	newPM func(*testing.T) engine.PresenceManager) engine.PresenceManager {
	t.Helper()
	m := newPM(t)
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

func testPresenceOps(t *testing.T, newPM func(*testing.T) engine.PresenceManager) {
	type op struct {
		add          bool
		other        bool // in another channel
		client, user string
	}
	tests := []struct {
		name    string
		ops     []op
		want    []string // client IDs present in the channel
		clients int
		users   int
	}{
		{"empty", nil, nil, 0, 0},
		{"one", []op{{true, false, "c1", "u1"}}, []string{"c1"}, 1, 1},
		{"same user twice", []op{
			{true, false, "c1", "u1"}, {true, false, "c2", "u1"},
		}, []string{"c1", "c2"}, 2, 1},
		{"anonymous users count once", []op{
			{true, false, "c1", ""}, {true, false, "c2", ""}, {true, false, "c3", "u"},
		}, []string{"c1", "c2", "c3"}, 3, 2},
		{"refresh does not duplicate", []op{
			{true, false, "c1", "u1"}, {true, false, "c1", "u1"},
		}, []string{"c1"}, 1, 1},
		{"remove", []op{
			{true, false, "c1", "u1"}, {true, false, "c2", "u2"},
			{false, false, "c1", "u1"},
		}, []string{"c2"}, 1, 1},
		{"remove one of a user's clients", []op{
			{true, false, "c1", "u1"}, {true, false, "c2", "u1"},
			{false, false, "c1", "u1"},
		}, []string{"c2"}, 1, 1},
		{"remove unknown", []op{{false, false, "c1", "u1"}}, nil, 0, 0},
		{"other channel", []op{
			{true, true, "c1", "u1"}, {true, false, "c2", "u2"},
		}, []string{"c2"}, 1, 1},
	}
	m := startPresence(t, newPM)
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, other := channel("ch"), channel("other")
			for _, o := range tt.ops {
				c := ch
				if o.other {
					c = other
				}
				var err error
				if o.add {
					info := &protocol.ClientInfo{User: o.user, Client: o.client}
					err = m.AddPresence(ctx, c, o.client, info)
				} else {
					err = m.RemovePresence(ctx, c, o.client, o.user)
				}
				if err != nil {
					t.Fatal(err)
				}
			}

			got, err := m.Presence(ctx, ch)
			if err != nil {
				t.Fatal(err)
			}
			if ids := slices.Sorted(maps.Keys(got)); !slices.Equal(ids, tt.want) {
				t.Errorf("presence %v, want %v", ids, tt.want)
			}
			stats, err := m.PresenceStats(ctx, ch)
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

func testPresenceInfo(t *testing.T, newPM func(*testing.T) engine.PresenceManager) {
	m := startPresence(t, newPM)
	ctx := context.Background()
	ch := channel("ch")
	info := &protocol.ClientInfo{User: "u", Client: "c",
		ConnInfo: protocol.Raw(`{"name":"x"}`), ChanInfo: protocol.Raw(`[1]`)}
	if err := m.AddPresence(ctx, ch, "c", info); err != nil {
		t.Fatal(err)
	}
	got, err := m.Presence(ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	if !sameInfo(got["c"], info) {
		t.Errorf("got %+v, want %+v", got["c"], info)
	}

	// A refresh replaces the info.
	changed := &protocol.ClientInfo{User: "u", Client: "c", ConnInfo: protocol.Raw(`2`)}
	if err := m.AddPresence(ctx, ch, "c", changed); err != nil {
		t.Fatal(err)
	}
	got, _ = m.Presence(ctx, ch)
	if !sameInfo(got["c"], changed) {
		t.Errorf("after refresh %+v, want %+v", got["c"], changed)
	}
}

func testPresenceNilInfo(t *testing.T, newPM func(*testing.T) engine.PresenceManager) {
	m := startPresence(t, newPM)
	ch := channel("ch")
	if err := m.AddPresence(context.Background(), ch, "c", nil); err != nil {
		t.Fatal(err)
	}
	got, _ := m.Presence(context.Background(), ch)
	if got["c"] == nil || got["c"].Client != "c" {
		t.Errorf("got %+v, want an info naming the client", got)
	}
}

func testPresenceCopies(t *testing.T, newPM func(*testing.T) engine.PresenceManager) {
	m := startPresence(t, newPM)
	ctx := context.Background()
	ch := channel("ch")
	info := &protocol.ClientInfo{User: "u", Client: "c"}
	if err := m.AddPresence(ctx, ch, "c", info); err != nil {
		t.Fatal(err)
	}
	first, _ := m.Presence(ctx, ch)
	first["c"].User = "changed"
	delete(first, "c")
	second, _ := m.Presence(ctx, ch)
	if second["c"] == nil || second["c"].User != "u" {
		t.Errorf("caller changes leaked into the manager: %+v", second)
	}
}

func testPresenceClose(t *testing.T, newPM func(*testing.T) engine.PresenceManager) {
	m := newPM(t)
	ctx := context.Background()
	for range 2 {
		if err := m.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	if err := m.AddPresence(ctx, channel("ch"), "c", nil); err == nil {
		t.Error("AddPresence after Close succeeded")
	}
	if _, err := m.Presence(ctx, channel("ch")); err == nil {
		t.Error("Presence after Close succeeded")
	}
}
