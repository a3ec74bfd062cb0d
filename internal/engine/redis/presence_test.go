package redis

import (
	"context"
	"crypto/rand"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/protocol"
)

// presenceTestShards connects to the local Redis; it is closed when the test
// ends.
func presenceTestShards(t *testing.T) *Shards {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := Connect(ctx, config.Redis{Address: []string{"127.0.0.1:6379"},
		ConnectTimeout: time.Second})
	if err != nil {
		t.Fatalf("connect to the local Redis: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// presenceTestPrefix is a key prefix no other test uses, so tests share the
// Redis without flushing it.
func presenceTestPrefix() string {
	return "herald-test-" + rand.Text()
}

// newPresenceForTest returns a manager on its own shards and prefix.
func newPresenceForTest(t *testing.T, ttl time.Duration) *PresenceManager {
	t.Helper()
	m := NewPresenceManager(presenceTestShards(t),
		PresenceConfig{Prefix: presenceTestPrefix(), TTL: ttl})
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

func presenceAdd(t *testing.T, m *PresenceManager, ch, client, user string) {
	t.Helper()
	info := &protocol.ClientInfo{User: user, Client: client}
	if err := m.AddPresence(context.Background(), ch, client, info); err != nil {
		t.Fatalf("AddPresence(%q, %q): %v", ch, client, err)
	}
}

func presenceIDs(t *testing.T, m *PresenceManager, ch string) []string {
	t.Helper()
	got, err := m.Presence(context.Background(), ch)
	if err != nil {
		t.Fatalf("Presence(%q): %v", ch, err)
	}
	return slices.Sorted(maps.Keys(got))
}

func presenceStatsOf(t *testing.T, m *PresenceManager, ch string) engine.PresenceStats {
	t.Helper()
	s, err := m.PresenceStats(context.Background(), ch)
	if err != nil {
		t.Fatalf("PresenceStats(%q): %v", ch, err)
	}
	return s
}

func TestPresenceAddRefreshRemove(t *testing.T) {
	m := newPresenceForTest(t, time.Minute)
	ctx := context.Background()

	info := &protocol.ClientInfo{User: "u1", Client: "c1",
		ConnInfo: protocol.Raw(`{"a":1}`), ChanInfo: protocol.Raw("\x00\xff")}
	if err := m.AddPresence(ctx, "ch", "c1", info); err != nil {
		t.Fatal(err)
	}
	got, err := m.Presence(ctx, "ch")
	if err != nil {
		t.Fatal(err)
	}
	c := got["c1"]
	if len(got) != 1 || c == nil || c.User != "u1" || c.Client != "c1" ||
		string(c.ConnInfo) != `{"a":1}` || string(c.ChanInfo) != "\x00\xff" {
		t.Fatalf("presence %+v, want c1 with its info intact", got)
	}

	// A refresh replaces the info and does not duplicate the client.
	info2 := &protocol.ClientInfo{User: "u1", Client: "c1", ConnInfo: protocol.Raw(`2`)}
	if err := m.AddPresence(ctx, "ch", "c1", info2); err != nil {
		t.Fatal(err)
	}
	got, _ = m.Presence(ctx, "ch")
	if len(got) != 1 || string(got["c1"].ConnInfo) != "2" || got["c1"].ChanInfo != nil {
		t.Errorf("after refresh %+v, want the new info only", got["c1"])
	}

	presenceAdd(t, m, "ch", "c2", "u2")
	if err := m.RemovePresence(ctx, "ch", "c1", "u1"); err != nil {
		t.Fatal(err)
	}
	if err := m.RemovePresence(ctx, "ch", "unknown", "u"); err != nil {
		t.Fatal(err)
	}
	if ids := presenceIDs(t, m, "ch"); !slices.Equal(ids, []string{"c2"}) {
		t.Errorf("after remove %v, want [c2]", ids)
	}
	want := engine.PresenceStats{NumClients: 1, NumUsers: 1}
	if s := presenceStatsOf(t, m, "ch"); s != want {
		t.Errorf("stats %+v, want %+v", s, want)
	}
}

func TestPresenceNilInfoNamesClient(t *testing.T) {
	m := newPresenceForTest(t, time.Minute)
	if err := m.AddPresence(context.Background(), "ch", "c", nil); err != nil {
		t.Fatal(err)
	}
	got, _ := m.Presence(context.Background(), "ch")
	if got["c"] == nil || got["c"].Client != "c" {
		t.Errorf("got %+v, want an info naming the client", got)
	}
}

func TestPresenceStatsDistinctUsers(t *testing.T) {
	m := newPresenceForTest(t, time.Minute)
	presenceAdd(t, m, "ch", "c1", "u1")
	presenceAdd(t, m, "ch", "c2", "u1")
	presenceAdd(t, m, "ch", "c3", "u1")
	presenceAdd(t, m, "ch", "c4", "u2")
	presenceAdd(t, m, "ch", "a1", "")
	presenceAdd(t, m, "ch", "a2", "")
	presenceAdd(t, m, "other", "c5", "u3")

	want := engine.PresenceStats{NumClients: 6, NumUsers: 3}
	if s := presenceStatsOf(t, m, "ch"); s != want {
		t.Errorf("stats %+v, want %+v (anonymous users count once)", s, want)
	}

	// Removing one of u1's clients keeps u1 counted.
	if err := m.RemovePresence(context.Background(), "ch", "c1", "u1"); err != nil {
		t.Fatal(err)
	}
	want = engine.PresenceStats{NumClients: 5, NumUsers: 3}
	if s := presenceStatsOf(t, m, "ch"); s != want {
		t.Errorf("after removing c1: stats %+v, want %+v", s, want)
	}
}

func TestPresenceExpiry(t *testing.T) {
	const ttl = 500 * time.Millisecond
	m := newPresenceForTest(t, ttl)
	presenceAdd(t, m, "ch", "stale", "u1")
	presenceAdd(t, m, "ch", "fresh", "u2")

	// Keep "fresh" refreshed until "stale" is gone; nothing else refreshes
	// it, so it must go within its TTL plus slack.
	deadline := time.Now().Add(10 * ttl)
	for {
		presenceAdd(t, m, "ch", "fresh", "u2")
		ids := presenceIDs(t, m, "ch")
		if slices.Equal(ids, []string{"fresh"}) {
			break
		}
		if !slices.Equal(ids, []string{"fresh", "stale"}) {
			t.Fatalf("presence %v, want fresh and maybe stale", ids)
		}
		if time.Now().After(deadline) {
			t.Fatalf("stale entry still present after %v", 10*ttl)
		}
		time.Sleep(20 * time.Millisecond)
	}
	one := engine.PresenceStats{NumClients: 1, NumUsers: 1}
	if s := presenceStatsOf(t, m, "ch"); s != one {
		t.Errorf("stats %+v, want %+v", s, one)
	}

	// Without refreshes the channel empties, and its keys leave Redis.
	presencePoll(t, 10*ttl, "fresh entry to expire", func() bool {
		return presenceStatsOf(t, m, "ch") == engine.PresenceStats{}
	})
	c := m.shards.For("ch")
	presencePoll(t, 10*ttl, "keys to expire", func() bool {
		n, err := c.Do(context.Background(), c.B().Exists().Key(m.keys("ch")...).Build()).
			AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
}

func TestPresenceKeysExpireUnread(t *testing.T) {
	const ttl = 300 * time.Millisecond
	m := newPresenceForTest(t, ttl)
	presenceAdd(t, m, "ch", "c1", "u1")

	// Nobody reads the channel again: Redis alone must drop its keys.
	c := m.shards.For("ch")
	ctx := context.Background()
	pttl, err := c.Do(ctx, c.B().Pttl().Key(m.keys("ch")[0]).Build()).AsInt64()
	if err != nil || pttl <= 0 || pttl > ttl.Milliseconds() {
		t.Fatalf("pttl %d (%v), want within (0, %d]", pttl, err, ttl.Milliseconds())
	}
	presencePoll(t, 20*ttl, "keys to expire", func() bool {
		n, err := c.Do(ctx, c.B().Exists().Key(m.keys("ch")...).Build()).AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
}

func TestPresenceTwoNodes(t *testing.T) {
	prefix := presenceTestPrefix()
	cfg := PresenceConfig{Prefix: prefix, TTL: time.Minute}
	a := NewPresenceManager(presenceTestShards(t), cfg)
	b := NewPresenceManager(presenceTestShards(t), cfg)
	ctx := context.Background()

	presenceAdd(t, a, "ch", "ca", "u1")
	presenceAdd(t, b, "ch", "cb", "u1")
	for name, m := range map[string]*PresenceManager{"a": a, "b": b} {
		if ids := presenceIDs(t, m, "ch"); !slices.Equal(ids, []string{"ca", "cb"}) {
			t.Errorf("node %s sees %v, want [ca cb]", name, ids)
		}
		want := engine.PresenceStats{NumClients: 2, NumUsers: 1}
		if s := presenceStatsOf(t, m, "ch"); s != want {
			t.Errorf("node %s stats %+v, want %+v", name, s, want)
		}
	}

	if err := b.RemovePresence(ctx, "ch", "ca", "u1"); err != nil {
		t.Fatal(err)
	}
	if ids := presenceIDs(t, a, "ch"); !slices.Equal(ids, []string{"cb"}) {
		t.Errorf("after b removed a's client, a sees %v, want [cb]", ids)
	}

	// Another prefix is another installation sharing the Redis.
	other := newPresenceForTest(t, time.Minute)
	if ids := presenceIDs(t, other, "ch"); len(ids) != 0 {
		t.Errorf("another prefix sees %v, want nothing", ids)
	}
}

func TestPresenceClosed(t *testing.T) {
	m := NewPresenceManager(presenceTestShards(t), PresenceConfig{})
	if m.prefix != defaultPresencePrefix || m.ttl != defaultPresenceTTL {
		t.Errorf("defaults: prefix %q ttl %v", m.prefix, m.ttl)
	}
	ctx := context.Background()
	for range 2 {
		if err := m.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.AddPresence(ctx, "ch", "c", nil); err == nil {
		t.Error("AddPresence after Close succeeded")
	}
	if _, err := m.Presence(ctx, "ch"); err == nil {
		t.Error("Presence after Close succeeded")
	}
}

// presencePoll calls cond until it holds, failing the test after limit.
func presencePoll(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
