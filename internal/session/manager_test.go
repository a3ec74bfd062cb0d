package session

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	cf "github.com/centrifugal/protocol"

	"github.com/heraldhq/herald/internal/channel"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/protocol"
)

// serverChannels has a plain top level and a namespace with recovery.
func serverChannels() channel.Config {
	return channels(channel.Options{AllowSubscribeForClient: true},
		channel.Namespace{Name: "rec", Options: channel.Options{
			HistorySize: 10, HistoryTTL: time.Minute, ForceRecovery: true,
		}})
}

// TestSubscribeUser checks server-side subscriptions added after connect.
func TestSubscribeUser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, serverChannels(), nil)
		a1, a2 := e.connected(t, "alice"), e.connected(t, "alice")
		bob := e.connected(t, "bob")
		ctx := context.Background()

		err := e.m.SubscribeUser(ctx, Target{User: "alice"}, "news",
			SubscribeOptions{Data: []byte(`{"why":"test"}`)})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []*client{a1, a2} {
			ps := c.pushes()
			if len(ps) != 1 || ps[0].Channel != "news" || ps[0].Subscribe == nil ||
				!jsonEqual(t, ps[0].Subscribe.Data, `{"why":"test"}`) {
				t.Fatalf("pushes %v, want a subscribe push", ps)
			}
		}
		bob.expectNothing()

		e.publish(t, "news", `{"n":1}`)
		for _, c := range []*client{a1, a2} {
			if got := pubData(c.pushes(), "news"); len(got) != 1 {
				t.Errorf("publications %q, want one", got)
			}
		}
		bob.expectNothing()

		// Subscribing again is skipped, not an error.
		if err := e.m.SubscribeUser(ctx, Target{User: "alice"}, "news",
			SubscribeOptions{}); err != nil {
			t.Errorf("second SubscribeUser: %v", err)
		}
		a1.expectNothing()

		// One client of the user.
		err = e.m.SubscribeUser(ctx, Target{User: "alice", Client: a2.s.ID()}, "other",
			SubscribeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		a1.expectNothing()
		if ps := a2.pushes(); len(ps) != 1 || ps[0].Channel != "other" {
			t.Errorf("pushes %v, want a subscribe push for other", ps)
		}

		err = e.m.SubscribeUser(ctx, Target{User: "alice"}, "nosuch:x", SubscribeOptions{})
		if !errors.Is(err, protocol.ErrUnknownChannel) {
			t.Errorf("unknown namespace: %v, want 102", err)
		}
	})
}

// TestSubscribeUserRecover checks that a server-side subscription with a
// recovery position sends the missed publications after the subscribe
// push.
func TestSubscribeUserRecover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, serverChannels(), nil)
		e.publish(t, "rec:a", `{"n":1}`)
		_, sp, err := e.node.History(context.Background(), "rec:a",
			engine.HistoryOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e.publish(t, "rec:a", `{"n":2}`)
		e.publish(t, "rec:a", `{"n":3}`)
		c := e.connected(t, "alice")

		err = e.m.SubscribeUser(context.Background(), Target{User: "alice"}, "rec:a",
			SubscribeOptions{RecoverSince: &sp})
		if err != nil {
			t.Fatal(err)
		}
		ps := c.pushes()
		if len(ps) != 3 {
			t.Fatalf("pushes %v, want subscribe and two publications", ps)
		}
		s := ps[0].Subscribe
		if s == nil || !s.Recoverable || !s.Positioned || s.Epoch != sp.Epoch ||
			s.Offset != 3 {
			t.Errorf("subscribe push %v", ps[0])
		}
		if got := pubData(ps[1:], "rec:a"); len(got) != 2 || got[0] != `{"n":2}` ||
			got[1] != `{"n":3}` {
			t.Errorf("recovered %q", got)
		}
	})
}

// TestUnsubscribeUser checks server-side unsubscription.
func TestUnsubscribeUser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, serverChannels(), nil)
		c := e.connected(t, "alice")
		other := e.connected(t, "alice")
		c.subscribe("news")
		other.subscribe("news")

		e.m.UnsubscribeUser(Target{User: "alice", Client: c.s.ID()}, "news")
		ps := c.pushes()
		if len(ps) != 1 || ps[0].Channel != "news" || ps[0].Unsubscribe == nil ||
			ps[0].Unsubscribe.Code != 2000 {
			t.Fatalf("pushes %v, want an unsubscribe push with code 2000", ps)
		}
		other.expectNothing()

		e.publish(t, "news", `{"n":1}`)
		c.expectNothing()
		if got := pubData(other.pushes(), "news"); len(got) != 1 {
			t.Errorf("other connection got %q, want the publication", got)
		}
		// Unsubscribing a channel the client is not in sends nothing.
		e.m.UnsubscribeUser(Target{User: "alice", Client: c.s.ID()}, "news")
		c.expectNothing()
		// The client may subscribe again.
		c.subscribe("news")
	})
}

// TestDisconnectUser checks server-side disconnects.
func TestDisconnectUser(t *testing.T) {
	cases := []struct {
		name   string
		d      *protocol.Disconnect
		keep   bool // spare the second connection
		client bool // target the first connection only
	}{
		{name: "all connections", d: protocol.DisconnectForceNoReconnect},
		{name: "reconnect advice", d: protocol.DisconnectForceReconnect},
		{name: "custom code", d: &protocol.Disconnect{Code: 4501, Reason: "bye"}},
		{name: "whitelist", d: protocol.DisconnectForceNoReconnect, keep: true},
		{name: "one client", d: protocol.DisconnectForceNoReconnect, client: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, serverChannels(), nil)
				a, b := e.connected(t, "alice"), e.connected(t, "alice")
				bob := e.connected(t, "bob")
				target := Target{User: "alice"}
				if tc.client {
					target.Client = a.s.ID()
				}
				var keep []string
				if tc.keep {
					keep = []string{b.s.ID()}
				}
				e.m.DisconnectUser(target, tc.d, keep)
				a.wantClosed(tc.d.Code)
				if tc.keep || tc.client {
					b.wantOpen()
				} else {
					b.wantClosed(tc.d.Code)
				}
				bob.wantOpen()
				if a.s.HandleFrame([]byte(`{"id":9,"rpc":{}}`)) {
					t.Error("HandleFrame on a disconnected session reported true")
				}
			})
		})
	}
}

// TestRefreshUser checks server-side connection refresh.
func TestRefreshUser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, serverChannels(), nil)
		c := e.dial(t)
		c.connect(token(t, "alice", time.Minute, nil))
		other := e.connected(t, "bob")

		expireAt := time.Now().Add(time.Hour).Unix()
		e.m.RefreshUser(Target{User: "alice"}, RefreshOptions{
			ExpireAt: expireAt, Info: []byte(`{"v":2}`),
		})
		ps := c.pushes()
		if len(ps) != 1 || ps[0].Refresh == nil || !ps[0].Refresh.Expires ||
			ps[0].Refresh.Ttl != 3600 {
			t.Fatalf("pushes %v, want a refresh push with ttl 3600", ps)
		}
		other.expectNothing()
		c.s.mu.Lock()
		gotExpire, gotInfo := c.s.expireAt, string(c.s.info)
		c.s.mu.Unlock()
		if gotExpire != expireAt || gotInfo != `{"v":2}` {
			t.Errorf("expireAt %d info %s after refresh", gotExpire, gotInfo)
		}

		e.m.RefreshUser(Target{User: "alice"}, RefreshOptions{Expired: true})
		c.wantClosed(3005)
		other.wantOpen()
	})
}

// TestBinaryPublication checks that data a JSON client cannot receive
// disconnects JSON subscribers with 3506 while Protobuf subscribers get it.
func TestBinaryPublication(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, openChannels(), nil)
		jsonSub := e.connected(t, "1")
		jsonSub.subscribe("bin")
		pbSub := e.dialProtobuf(t)
		pbPub := e.dialProtobuf(t)
		for i, c := range []*client{pbSub, pbPub} {
			ok := c.sendPB(
				&cf.Command{Id: 1, Connect: &cf.ConnectRequest{Token: token(t, "2", 0, nil)}},
				&cf.Command{Id: 2, Subscribe: &cf.SubscribeRequest{Channel: "bin"}})
			if !ok || c.reply(2).Subscribe == nil {
				t.Fatalf("protobuf client %d: subscribe failed", i)
			}
		}

		// JSON data from a Protobuf client reaches everyone.
		pbPub.sendPB(&cf.Command{Id: 3, Publish: &cf.PublishRequest{
			Channel: "bin", Data: []byte(`{"ok":true}`)}})
		if r := pbPub.reply(3); r.Publish == nil {
			t.Fatalf("publish reply %v", r)
		}
		if got := pubData(jsonSub.pushes(), "bin"); len(got) != 1 || got[0] != `{"ok":true}` {
			t.Fatalf("JSON subscriber got %q", got)
		}
		jsonSub.wantOpen()

		binary := []byte{0xff, 0x00, 0x01, '\n', '{'}
		pbPub.sendPB(&cf.Command{Id: 4, Publish: &cf.PublishRequest{
			Channel: "bin", Data: binary}})
		if r := pbPub.reply(4); r.Publish == nil {
			t.Fatalf("publish reply %v", r)
		}
		jsonSub.wantClosed(3506)
		jsonSub.expectNothing()
		got := pubData(pbSub.pushes(), "bin")
		if len(got) != 2 || got[1] != string(binary) {
			t.Errorf("Protobuf subscriber got %q", got)
		}
		pbSub.wantOpen()
		if n := e.hub.NumSubscribers("bin"); n != 2 {
			t.Errorf("%d hub subscribers, want the two Protobuf ones", n)
		}
	})
}

// TestInsufficientState checks what a positioned subscription does when
// the stream jumps: a client-side one is told to resubscribe, a
// server-side one closes the connection with 3010.
func TestInsufficientState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, channels(channel.Options{
			AllowSubscribeForClient: true, ForceRecovery: true,
			HistorySize: 10, HistoryTTL: time.Minute,
		}), func(c *Config) { c.PersonalChannel = true })
		c := e.connected(t, "alice")
		c.subscribe("room")

		// A gap in offsets, as if a publication had been lost.
		gap := func(ch string) {
			_, sp, err := e.node.History(context.Background(), ch, engine.HistoryOptions{})
			if err != nil {
				t.Fatal(err)
			}
			e.node.HandlePublication(ch, &protocol.Publication{
				Data: []byte(`{}`), Offset: sp.Offset + 2,
			}, sp, false)
			synctest.Wait()
		}
		gap("room")
		ps := c.pushes()
		if len(ps) != 1 || ps[0].Unsubscribe == nil || ps[0].Unsubscribe.Code != 2500 {
			t.Fatalf("pushes %v, want an unsubscribe push with code 2500", ps)
		}
		c.wantOpen()
		c.subscribe("room")

		gap("#alice")
		c.wantClosed(3010)
	})
}
