package node

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/hub"
	"github.com/heraldhq/herald/internal/protocol"
)

func TestControlRoundTrip(t *testing.T) {
	yes := true
	cmds := []UserCommand{
		{Kind: CommandSubscribe, User: "u", Client: "c", Session: "s", Channel: "ns:ch",
			Info: []byte(`{"a":1}`), Data: []byte{0, 1, 2}, ExpireAt: 42,
			Override:     &auth.Override{Presence: &yes},
			RecoverSince: &protocol.StreamPosition{Offset: 7, Epoch: "e"}},
		{Kind: CommandUnsubscribe, User: "u", Channel: "ch"},
		{Kind: CommandDisconnect, User: "u", Keep: []string{"k1", "k2"},
			Disconnect: &protocol.Disconnect{Code: 4000, Reason: "bye", Reconnect: true}},
		// Empty info replaces the connection info, absent info does not:
		// the two must survive the trip apart.
		{Kind: CommandRefresh, User: "u", Info: []byte{}, ExpireAt: 9},
		{Kind: CommandRefresh, User: "u", Expired: true},
	}
	for _, cmd := range cmds {
		c, err := decodeControl(encodeCommand("n1", cmd))
		if err != nil {
			t.Fatalf("decode %+v: %v", cmd, err)
		}
		if c.kind != kindCommand || c.From != "n1" || !reflect.DeepEqual(*c.Command, cmd) {
			t.Errorf("round trip of %+v gave %+v from %q", cmd, *c.Command, c.From)
		}
	}

	info := Info{ID: "n2", Name: "b", Version: "v", NumClients: 1, NumUsers: 2,
		NumSubs: 3, NumChannels: 4, Uptime: 5}
	c, err := decodeControl(encodeAnnounce(info))
	if err != nil || c.kind != kindAnnounce || c.From != "n2" || *c.Node != info {
		t.Errorf("announcement round trip: %+v, %v", c, err)
	}
	c, err = decodeControl(encodeLeave("n3"))
	if err != nil || c.kind != kindLeave || c.From != "n3" {
		t.Errorf("leave round trip: %+v, %v", c, err)
	}

	req := surveyRequest{ID: "7", Op: opChannels, Params: []byte(`{"pattern":"a*"}`)}
	c, err = decodeControl(encodeSurvey("n4", req))
	if err != nil || c.kind != kindSurvey || c.From != "n4" ||
		!reflect.DeepEqual(*c.Survey, req) {
		t.Errorf("survey round trip: %+v, %v", c, err)
	}
	rep := surveyReply{ID: "7", To: "n4", Result: []byte(`{"channels":{"a":2}}`)}
	c, err = decodeControl(encodeSurveyReply("n5", rep))
	if err != nil || c.kind != kindSurveyReply || c.From != "n5" ||
		!reflect.DeepEqual(*c.Reply, rep) {
		t.Errorf("survey reply round trip: %+v, %v", c, err)
	}
	rep = surveyReply{ID: "8", To: "n4", Error: "unknown survey op"}
	c, err = decodeControl(encodeSurveyReply("n5", rep))
	if err != nil || !reflect.DeepEqual(*c.Reply, rep) {
		t.Errorf("survey error reply round trip: %+v, %v", c, err)
	}
}

func TestControlMalformed(t *testing.T) {
	valid := encodeAnnounce(Info{ID: "n"})
	tests := map[string][]byte{
		"empty":        nil,
		"short":        {controlVersion},
		"not json":     append([]byte{controlVersion, kindAnnounce}, "{"...),
		"no sender":    append([]byte{controlVersion, kindLeave}, "{}"...),
		"no node":      append([]byte{controlVersion, kindAnnounce}, `{"from":"n"}`...),
		"no command":   append([]byte{controlVersion, kindCommand}, `{"from":"n"}`...),
		"unknown kind": append([]byte{controlVersion, 99}, valid[2:]...),
		"other node": append([]byte{controlVersion, kindAnnounce},
			`{"from":"n","node":{"id":"m"}}`...),
		"no survey": append([]byte{controlVersion, kindSurvey}, `{"from":"n"}`...),
		"survey without id": append([]byte{controlVersion, kindSurvey},
			`{"from":"n","survey":{"op":"channels"}}`...),
		"survey without op": append([]byte{controlVersion, kindSurvey},
			`{"from":"n","survey":{"id":"1"}}`...),
		"no reply": append([]byte{controlVersion, kindSurveyReply}, `{"from":"n"}`...),
		"reply to nobody": append([]byte{controlVersion, kindSurveyReply},
			`{"from":"n","reply":{"id":"1"}}`...),
		"reply without id": append([]byte{controlVersion, kindSurveyReply},
			`{"from":"n","reply":{"to":"m"}}`...),
	}
	for name, data := range tests {
		if _, err := decodeControl(data); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
	later := append([]byte{controlVersion + 1}, valid[1:]...)
	if _, err := decodeControl(later); !errors.Is(err, errControlVersion) {
		t.Errorf("later version: %v, want errControlVersion", err)
	}
	newer := append([]byte{controlVersion, 99}, valid[2:]...)
	if _, err := decodeControl(newer); !errors.Is(err, errControlKind) {
		t.Errorf("later kind: %v, want errControlKind", err)
	}
}

func TestRegistryExpiry(t *testing.T) {
	r := newRegistry(9 * time.Second)
	t0 := time.Unix(1000, 0)
	if !r.update(Info{ID: "b", Name: "beta", Uptime: 10}, t0) {
		t.Error("first announcement of b not reported as new")
	}
	if !r.update(Info{ID: "a", Name: "alpha"}, t0.Add(5*time.Second)) {
		t.Error("first announcement of a not reported as new")
	}
	if r.update(Info{ID: "b", Name: "beta", Uptime: 10}, t0) {
		t.Error("repeated announcement of b reported as new")
	}

	got := r.live(t0.Add(8 * time.Second))
	if len(got) != 2 || got[0].ID != "a" || got[1].ID != "b" {
		t.Fatalf("live at 8s: %+v, want a then b", got)
	}
	if got[1].Uptime != 18 {
		t.Errorf("uptime of b %d, want 10 announced + 8 since", got[1].Uptime)
	}

	// b missed three announcements; a is still within its TTL.
	got = r.live(t0.Add(9 * time.Second))
	if len(got) != 1 || got[0].ID != "a" {
		t.Fatalf("live at 9s: %+v, want only a", got)
	}
	if !r.update(Info{ID: "b", Name: "beta"}, t0.Add(10*time.Second)) {
		t.Error("b coming back not reported as new")
	}
	r.remove("a")
	if got = r.live(t0.Add(10 * time.Second)); len(got) != 1 || got[0].ID != "b" {
		t.Fatalf("after removing a: %+v, want only b", got)
	}
}

// controlBroker records control messages and delivers nothing.
type controlBroker struct {
	engine.Broker

	mu   sync.Mutex
	sent [][]byte
}

func (b *controlBroker) Run(context.Context, engine.EventHandler) error { return nil }

func (b *controlBroker) PublishControl(_ context.Context, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sent = append(b.sent, data)
	return nil
}

func (b *controlBroker) take() []control {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []control
	for _, d := range b.sent {
		c, err := decodeControl(d)
		if err != nil {
			panic(err)
		}
		out = append(out, c)
	}
	b.sent = nil
	return out
}

// fakeLocal counts nothing and records the commands it is given.
type fakeLocal struct {
	mu   sync.Mutex
	cmds []UserCommand
}

func (l *fakeLocal) NumClients() int       { return 3 }
func (l *fakeLocal) NumUsers() int         { return 2 }
func (l *fakeLocal) NumSubscriptions() int { return 1 }

func (l *fakeLocal) ApplyUserCommand(_ context.Context, c UserCommand) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cmds = append(l.cmds, c)
	return nil
}

func (l *fakeLocal) applied() []UserCommand {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]UserCommand(nil), l.cmds...)
}

func TestNodeCluster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &controlBroker{}
		local := &fakeLocal{}
		n := New(Config{Name: "me", Version: "v1", Broker: b,
			Hub: hub.New(nil), Logger: discardLogger()})
		n.SetLocal(local)
		if err := n.Run(t.Context()); err != nil {
			t.Fatal(err)
		}

		// The first announcement goes out at once, the next a tick later.
		synctest.Wait()
		sent := b.take()
		want := Info{ID: n.ID(), Name: "me", Version: "v1", NumClients: 3,
			NumUsers: 2, NumSubs: 1}
		if len(sent) != 1 || sent[0].kind != kindAnnounce || *sent[0].Node != want {
			t.Fatalf("first messages %+v, want an announcement of %+v", sent, want)
		}
		time.Sleep(DefaultAnnounceInterval)
		synctest.Wait()
		if sent = b.take(); len(sent) != 1 || sent[0].Node.Uptime != 3 {
			t.Fatalf("messages after one interval: %+v", sent)
		}

		// A newcomer is answered at once, and listed until it lapses.
		n.HandleControl(encodeAnnounce(Info{ID: "other", Name: "you"}))
		synctest.Wait()
		if sent = b.take(); len(sent) != 1 || sent[0].kind != kindAnnounce {
			t.Fatalf("answer to a newcomer: %+v", sent)
		}
		if p := n.Peers(); len(p) != 1 || p[0].ID != "other" {
			t.Fatalf("peers %+v, want other", p)
		}
		time.Sleep(announceMisses * DefaultAnnounceInterval)
		if p := n.Peers(); len(p) != 0 {
			t.Fatalf("peers after three missed announcements: %+v", p)
		}
		n.HandleControl(encodeAnnounce(Info{ID: "other", Name: "you"}))
		n.HandleControl(encodeLeave("other"))
		if p := n.Peers(); len(p) != 0 {
			t.Fatalf("peers after leave: %+v", p)
		}

		// Commands of others are applied in order; our own echo is not.
		// Our own announcement does not list us.
		n.HandleControl(encodeCommand(n.ID(), UserCommand{Kind: CommandRefresh}))
		n.HandleControl(encodeAnnounce(n.info()))
		n.HandleControl(encodeCommand("other", UserCommand{Kind: CommandSubscribe,
			User: "u", Channel: "c"}))
		n.HandleControl(encodeCommand("other", UserCommand{Kind: CommandDisconnect,
			User: "u"}))
		synctest.Wait()
		got := local.applied()
		if len(got) != 2 || got[0].Kind != CommandSubscribe ||
			got[1].Kind != CommandDisconnect {
			t.Fatalf("applied %+v, want subscribe then disconnect", got)
		}
		if p := n.Peers(); len(p) != 0 {
			t.Fatalf("peers list this node: %+v", p)
		}

		n.Stop(context.Background())
		if sent = b.take(); len(sent) == 0 || sent[len(sent)-1].kind != kindLeave {
			t.Fatalf("messages on stop: %+v, want a leave last", sent)
		}
	})
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
