package session

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	cf "github.com/centrifugal/protocol"

	"github.com/heraldhq/herald/internal/channel"
)

// subscribeChannels has a namespace per subscribe permission.
func subscribeChannels() channel.Config {
	return channels(
		channel.Options{AllowSubscribeForClient: true},
		channel.Namespace{Name: "anon", Options: channel.Options{
			AllowSubscribeForClient: true, AllowSubscribeForAnonymous: true,
		}},
		channel.Namespace{Name: "anononly", Options: channel.Options{
			AllowSubscribeForAnonymous: true,
		}},
		channel.Namespace{Name: "closed"},
		channel.Namespace{Name: "users", Options: channel.Options{
			AllowUserLimitedChannels: true,
		}},
		channel.Namespace{Name: "re", Options: channel.Options{
			AllowSubscribeForClient: true, ChannelRegex: `^[a-z]+$`,
		}},
	)
}

// TestSubscribePermissions is the permission matrix of client-side
// subscriptions without a token.
func TestSubscribePermissions(t *testing.T) {
	cases := []struct {
		user     string // "" is anonymous
		channel  string
		insecure bool
		code     uint32
	}{
		{"42", "news", false, 0},
		{"", "news", false, 103},
		{"42", "anon:room", false, 0},
		{"", "anon:room", false, 0},
		// Anonymous access only adds to client access.
		{"", "anononly:room", false, 103},
		{"42", "anononly:room", false, 103},
		{"42", "closed:room", false, 103},
		{"", "closed:room", true, 0},
		{"42", "$news", false, 103},
		{"42", "$anon:room", false, 103},
		{"42", "users:#42", false, 0},
		{"43", "users:dialog#42,43", false, 0},
		{"44", "users:dialog#42,43", false, 103},
		{"42", "users:#", false, 103},
		{"", "users:#", false, 103},
		{"42", "users:room", false, 103},
		// The user boundary means nothing where user-limited channels are off.
		{"42", "closed:#42", false, 103},
		{"42", "news#42", false, 0},
		{"42", "re:abc", false, 0},
		{"42", "re:ABC", false, 102},
		{"42", "nosuch:room", false, 102},
		{"", "nosuch:room", true, 102},
		{"42", strings.Repeat("a", 256), false, 107},
		{"42", "news\u00e9", false, 107},
	}
	for _, tc := range cases {
		user := tc.user
		if user == "" {
			user = "anonymous"
		}
		name := fmt.Sprintf("%s/%.40s", user, tc.channel)
		if tc.insecure {
			name += "/insecure"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, subscribeChannels(), func(c *Config) {
					c.AllowAnonymous = true
					c.Insecure = tc.insecure
				})
				c := e.connected(t, tc.user)
				body := fmt.Sprintf(`{"channel":%q}`, tc.channel)
				r := c.call("subscribe", body)
				if code := r.GetError().GetCode(); code != tc.code {
					t.Fatalf("subscribe error %d, want %d", code, tc.code)
				}
				n := e.hub.NumSubscribers(tc.channel)
				if tc.code == 0 && (r.Subscribe == nil || n != 1) {
					t.Errorf("result %v with %d hub subscribers", r.Subscribe, n)
				}
				if tc.code != 0 && n != 0 {
					t.Errorf("%d hub subscribers after a refused subscribe", n)
				}
				c.wantOpen()
			})
		})
	}
}

// TestSubscribeRequestErrors checks refusals that do not depend on who
// subscribes.
func TestSubscribeRequestErrors(t *testing.T) {
	cases := []struct {
		name  string
		limit int
		first []string // subscribed before
		body  string
		code  uint32
	}{
		{"already subscribed", 0, []string{"news"}, `{"channel":"news"}`, 105},
		{"channel limit", 2, []string{"a", "b"}, `{"channel":"c"}`, 106},
		{"below the channel limit", 3, []string{"a", "b"}, `{"channel":"c"}`, 0},
		{"tags filter", 0, nil,
			`{"channel":"news","tf":{"key":"a","cmp":"eq","val":"b"}}`, 107},
		{"map subscription", 0, nil, `{"channel":"news","type":1}`, 108},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, subscribeChannels(), func(c *Config) {
					c.ChannelLimit = tc.limit
				})
				c := e.connected(t, "42")
				for _, ch := range tc.first {
					c.subscribe(ch)
				}
				if code := c.callErr("subscribe", tc.body); code != tc.code {
					t.Errorf("subscribe error %d, want %d", code, tc.code)
				}
				c.wantOpen()
			})
		})
	}
}

// TestSubscribeToken checks private channels and subscription tokens.
func TestSubscribeToken(t *testing.T) {
	cases := []struct {
		name    string
		channel string
		token   func(t *testing.T, client string) string
		code    uint32
		ttl     uint32
	}{
		{"valid", "$secret", func(t *testing.T, _ string) string {
			return subToken(t, "42", "$secret", time.Hour, nil)
		}, 0, 3600},
		{"valid without expiry", "$secret", func(t *testing.T, _ string) string {
			return subToken(t, "42", "$secret", 0, nil)
		}, 0, 0},
		{"valid in a closed namespace", "closed:x", func(t *testing.T, _ string) string {
			return subToken(t, "42", "closed:x", 0, nil)
		}, 0, 0},
		{"other channel", "$secret", func(t *testing.T, _ string) string {
			return subToken(t, "42", "$other", 0, nil)
		}, 103, 0},
		{"other user", "$secret", func(t *testing.T, _ string) string {
			return subToken(t, "43", "$secret", 0, nil)
		}, 103, 0},
		{"bound to this client", "$secret", func(t *testing.T, client string) string {
			return subToken(t, "42", "$secret", 0, map[string]any{"client": client})
		}, 0, 0},
		{"bound to another client", "$secret", func(t *testing.T, _ string) string {
			return subToken(t, "42", "$secret", 0, map[string]any{"client": "c2"})
		}, 103, 0},
		{"expired", "$secret", func(t *testing.T, _ string) string {
			return subToken(t, "42", "$secret", -time.Second, nil)
		}, 109, 0},
		{"expire_at in the past", "$secret", func(t *testing.T, _ string) string {
			past := time.Now().Add(-time.Second).Unix()
			return subToken(t, "42", "$secret", time.Hour,
				map[string]any{"expire_at": past})
		}, 110, 0},
		{"connection token", "$secret", func(t *testing.T, _ string) string {
			return token(t, "42", 0, nil)
		}, 103, 0},
		{"garbage", "$secret", func(*testing.T, string) string { return "x" }, 103, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, subscribeChannels(), nil)
				c := e.connected(t, "42")
				body := fmt.Sprintf(`{"channel":%q,"token":%q}`, tc.channel,
					tc.token(t, c.s.ID()))
				r := c.call("subscribe", body)
				if code := r.GetError().GetCode(); code != tc.code {
					t.Fatalf("subscribe error %d, want %d", code, tc.code)
				}
				if tc.code != 0 {
					return
				}
				if res := r.Subscribe; res.Expires != (tc.ttl > 0) || res.Ttl != tc.ttl {
					t.Errorf("expires %v ttl %d, want ttl %d", res.Expires, res.Ttl, tc.ttl)
				}
			})
		})
	}
	t.Run("without a key", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t, subscribeChannels(), func(c *Config) {
				c.Verifier, c.AllowAnonymous = nil, true
			})
			c := e.connected(t, "")
			if code := c.callErr("subscribe", `{"channel":"$x","token":"t"}`); code != 103 {
				t.Errorf("subscribe error %d, want 103", code)
			}
		})
	})
}

// TestSubscribeTokenData checks that the data and info of a subscription
// token reach the subscribe result and presence.
func TestSubscribeTokenData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, channels(channel.Options{},
			channel.Namespace{Name: "room", Options: channel.Options{
				Presence: true, AllowPresenceForSubscriber: true,
			}}), nil)
		c := e.connected(t, "42")
		tok := subToken(t, "42", "$room:1", 0, map[string]any{
			"data": map[string]any{"welcome": true},
			"info": map[string]any{"role": "admin"},
		})
		r := c.call("subscribe", `{"channel":"$room:1","token":"`+tok+`"}`)
		if r.Error != nil {
			t.Fatalf("subscribe: %v", r.Error)
		}
		if !jsonEqual(t, r.Subscribe.Data, `{"welcome":true}`) {
			t.Errorf("subscribe data %s", r.Subscribe.Data)
		}
		p := c.call("presence", `{"channel":"$room:1"}`).GetPresence().GetPresence()
		info := p[c.s.ID()]
		if len(p) != 1 || info == nil || info.User != "42" ||
			!jsonEqual(t, info.ChanInfo, `{"role":"admin"}`) {
			t.Errorf("presence %v", p)
		}
	})
}

// recoveryChannels keeps history in "rec" with recovery forced, and lets
// clients ask for positioning or recovery in "opt".
func recoveryChannels() channel.Config {
	history := channel.Options{
		AllowSubscribeForClient: true, AllowHistoryForClient: true,
		HistorySize: 10, HistoryTTL: time.Minute,
	}
	rec, opt := history, history
	rec.ForceRecovery = true
	opt.AllowPositioning, opt.AllowRecovery = true, true
	return channels(channel.Options{AllowSubscribeForClient: true},
		channel.Namespace{Name: "rec", Options: rec},
		channel.Namespace{Name: "opt", Options: opt},
		channel.Namespace{Name: "plain", Options: history},
	)
}

// TestSubscribePositioning checks the stream fields of subscribe results.
func TestSubscribePositioning(t *testing.T) {
	cases := []struct {
		name        string
		channel     string
		ask         string // extra request fields
		positioned  bool
		recoverable bool
	}{
		{"forced recovery", "rec:a", "", true, true},
		{"history only", "plain:a", "", false, false},
		{"positioning asked", "opt:a", `,"positioned":true`, true, false},
		{"recovery asked", "opt:a", `,"recoverable":true`, true, true},
		{"nothing asked", "opt:a", "", false, false},
		{"asked without history", "a", `,"recoverable":true,"positioned":true`,
			false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, recoveryChannels(), nil)
				e.publish(t, tc.channel, `{"n":1}`)
				e.publish(t, tc.channel, `{"n":2}`)
				c := e.connected(t, "42")
				r := c.call("subscribe", `{"channel":"`+tc.channel+`"`+tc.ask+`}`)
				if r.Error != nil {
					t.Fatalf("subscribe: %v", r.Error)
				}
				res := r.Subscribe
				if res.Positioned != tc.positioned || res.Recoverable != tc.recoverable {
					t.Errorf("positioned %v recoverable %v, want %v %v", res.Positioned,
						res.Recoverable, tc.positioned, tc.recoverable)
				}
				if tc.positioned && (res.Offset != 2 || res.Epoch == "") {
					t.Errorf("offset %d epoch %q, want 2 and an epoch", res.Offset, res.Epoch)
				}
				if !tc.positioned && (res.Offset != 0 || res.Epoch != "") {
					t.Errorf("offset %d epoch %q on an unpositioned subscription",
						res.Offset, res.Epoch)
				}
				if res.WasRecovering || res.Recovered || len(res.Publications) != 0 {
					t.Errorf("recovery fields without recover: %v", res)
				}
			})
		})
	}
}

// TestRecovery checks subscribe with recover: exactly the missed
// publications, or recovered false, or error 112 when asked to reject.
func TestRecovery(t *testing.T) {
	cases := []struct {
		name      string
		epoch     func(real string) string
		offset    uint64
		flag      int
		maxLimit  int
		recovered bool
		want      []string
		code      uint32
	}{
		{name: "missed three", offset: 2, recovered: true,
			want: []string{`{"n":3}`, `{"n":4}`, `{"n":5}`}},
		{name: "missed nothing", offset: 5, recovered: true},
		{name: "from the start", offset: 0, recovered: true,
			want: []string{`{"n":1}`, `{"n":2}`, `{"n":3}`, `{"n":4}`, `{"n":5}`}},
		{name: "other epoch", offset: 2, epoch: func(string) string { return "old" }},
		{name: "other epoch, reject", offset: 2, flag: 2, code: 112,
			epoch: func(string) string { return "old" }},
		{name: "future offset", offset: 9},
		{name: "over the recovery limit", offset: 1, maxLimit: 3},
		{name: "at the recovery limit", offset: 2, maxLimit: 3, recovered: true,
			want: []string{`{"n":3}`, `{"n":4}`, `{"n":5}`}},
		{name: "over the limit, reject", offset: 1, maxLimit: 3, flag: 2, code: 112},
		{name: "reject flag, recovered", offset: 4, flag: 3, recovered: true,
			want: []string{`{"n":5}`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, recoveryChannels(), func(c *Config) {
					c.RecoveryMaxLimit = tc.maxLimit
				})
				c := e.connected(t, "42")
				first := c.subscribe("rec:a")
				epoch := first.Epoch
				c.call("unsubscribe", `{"channel":"rec:a"}`)
				for i := 1; i <= 5; i++ {
					e.publish(t, "rec:a", fmt.Sprintf(`{"n":%d}`, i))
				}
				if tc.epoch != nil {
					epoch = tc.epoch(epoch)
				}
				body := fmt.Sprintf(`{"channel":"rec:a","recover":true,"epoch":%q,`+
					`"offset":%d,"flag":%d}`, epoch, tc.offset, tc.flag)
				r := c.call("subscribe", body)
				if code := r.GetError().GetCode(); code != tc.code {
					t.Fatalf("subscribe error %d, want %d", code, tc.code)
				}
				if tc.code != 0 {
					if n := e.hub.NumSubscribers("rec:a"); n != 0 {
						t.Errorf("%d hub subscribers after a refused recovery", n)
					}
					return
				}
				res := r.Subscribe
				if !res.WasRecovering || res.Recovered != tc.recovered {
					t.Errorf("was_recovering %v recovered %v, want true %v",
						res.WasRecovering, res.Recovered, tc.recovered)
				}
				if res.Epoch != first.Epoch || res.Offset != 5 {
					t.Errorf("epoch %q offset %d, want %q 5", res.Epoch, res.Offset,
						first.Epoch)
				}
				var got []string
				for i, p := range res.Publications {
					got = append(got, string(p.Data))
					if want := 5 - uint64(len(tc.want)-1-i); p.Offset != want {
						t.Errorf("publication %d offset %d, want %d", i, p.Offset, want)
					}
				}
				if strings.Join(got, " ") != strings.Join(tc.want, " ") {
					t.Errorf("recovered %q, want %q", got, tc.want)
				}
				// The live stream continues right after the recovered part.
				e.publish(t, "rec:a", `{"n":6}`)
				if got := pubData(c.pushes(), "rec:a"); len(got) != 1 || got[0] != `{"n":6}` {
					t.Errorf("live publications %q, want only n=6", got)
				}
			})
		})
	}
}

// TestPersonalChannel checks the server-side personal channel of a user.
func TestPersonalChannel(t *testing.T) {
	cases := []struct {
		name      string
		namespace string
		user      string
		channel   string // "" for none
	}{
		{"top level", "", "42", "#42"},
		{"namespace", "personal", "42", "personal:#42"},
		{"anonymous", "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				chans := channels(channel.Options{AllowSubscribeForClient: true},
					channel.Namespace{Name: "personal", Options: channel.Options{
						AllowSubscribeForClient: true,
						HistorySize:             5, HistoryTTL: time.Minute,
						ForceRecovery: true,
					}})
				e := newEnv(t, chans, func(c *Config) {
					c.PersonalChannel = true
					c.PersonalChannelNamespace = tc.namespace
					c.AllowAnonymous = true
				})
				c := e.dial(t)
				tok := ""
				if tc.user != "" {
					tok = token(t, tc.user, 0, nil)
				}
				res := c.connect(tok)
				if tc.channel == "" {
					if len(res.Subs) != 0 {
						t.Errorf("subs %v for an anonymous user", res.Subs)
					}
					return
				}
				sub, ok := res.Subs[tc.channel]
				if len(res.Subs) != 1 || !ok {
					t.Fatalf("subs %v, want only %q", res.Subs, tc.channel)
				}
				if tc.namespace != "" && (!sub.Recoverable || sub.Epoch == "") {
					t.Errorf("personal sub %v, want the namespace's recovery", sub)
				}
				e.publish(t, tc.channel, `{"hello":1}`)
				got := pubData(c.pushes(), tc.channel)
				if len(got) != 1 || got[0] != `{"hello":1}` {
					t.Errorf("personal publications %q", got)
				}
				// A server-side channel cannot be subscribed to again.
				body := fmt.Sprintf(`{"channel":%q}`, tc.channel)
				if code := c.callErr("subscribe", body); code != 105 {
					t.Errorf("subscribe to the personal channel: %d, want 105", code)
				}
			})
		})
	}
}

// TestServerSideRecovery checks connect.subs recovery of a server-side
// channel.
func TestServerSideRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		chans := channels(channel.Options{
			HistorySize: 5, HistoryTTL: time.Minute, ForceRecovery: true,
		})
		e := newEnv(t, chans, func(c *Config) { c.PersonalChannel = true })
		c := e.dial(t)
		sub := c.connect(token(t, "42", 0, nil)).Subs["#42"]
		c.s.TransportClosed()
		e.publish(t, "#42", `{"n":1}`)
		e.publish(t, "#42", `{"n":2}`)

		c2 := e.dial(t)
		body := fmt.Sprintf(`{"token":%q,"subs":{"#42":{"recover":true,`+
			`"epoch":%q,"offset":%d}}}`, token(t, "42", 0, nil), sub.Epoch, sub.Offset)
		r := c2.call("connect", body)
		got := r.GetConnect().GetSubs()["#42"]
		if !got.GetRecovered() || !got.GetWasRecovering() || len(got.Publications) != 2 {
			t.Fatalf("recovered sub %v", got)
		}
	})
}

// TestServerSideSubscribeFailure checks a connect whose server-side channel
// cannot be subscribed to: the connect fails and the connection stays
// unusable, like any other failed connect.
func TestServerSideSubscribeFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, openChannels(), func(c *Config) {
			c.PersonalChannel = true
			c.PersonalChannelNamespace = "nosuch"
		})
		c := e.dial(t)
		r := c.call("connect", connectBody(token(t, "42", 0, nil)))
		if code := r.GetError().GetCode(); code != 102 {
			t.Fatalf("connect error %d, want 102", code)
		}
		if !c.send(`{"id":5,"subscribe":{"channel":"news"}}`) {
			t.Error("reader stopped after a failed connect")
		}
		c.expectNothing()
		c.wantOpen()
		if n := e.m.NumClients(); n != 0 {
			t.Errorf("NumClients = %d after a failed connect, want 0", n)
		}
		if n := e.hub.NumSubscribers("news"); n != 0 {
			t.Errorf("%d subscribers of news", n)
		}
	})
}

// TestServerSideChannelLimit checks that too many server-side channels
// fail the connect with 3505.
func TestServerSideChannelLimit(t *testing.T) {
	cases := []struct {
		name  string
		chans []string
		code  uint32
	}{
		{"at the limit", []string{"a", "b"}, 0},
		{"over the limit", []string{"a", "b", "c"}, 3505},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, openChannels(), func(c *Config) { c.ChannelLimit = 2 })
				c := e.dial(t)
				tok := token(t, "42", 0, map[string]any{"channels": tc.chans})
				c.send(`{"id":1,"connect":` + connectBody(tok) + `}`)
				c.wantClosed(tc.code)
				if tc.code != 0 {
					return
				}
				if subs := c.reply(1).GetConnect().GetSubs(); len(subs) != len(tc.chans) {
					t.Errorf("subs %v, want %v", subs, tc.chans)
				}
			})
		})
	}
}

// TestJoinLeave checks that join and leave pushes go only to subscribers
// that asked for them, or to all when forced.
func TestJoinLeave(t *testing.T) {
	cases := []struct {
		name    string
		opts    channel.Options
		ask     bool
		wantFor bool
	}{
		{"asked", channel.Options{JoinLeave: true}, true, true},
		{"not asked", channel.Options{JoinLeave: true}, false, false},
		{"forced", channel.Options{JoinLeave: true, ForcePushJoinLeave: true}, false, true},
		{"asked but disabled", channel.Options{}, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := tc.opts
				opts.AllowSubscribeForClient = true
				e := newEnv(t, channels(opts), nil)
				watcher := e.connected(t, "1")
				body := fmt.Sprintf(`{"channel":"room","join_leave":%v}`, tc.ask)
				if r := watcher.call("subscribe", body); r.Error != nil {
					t.Fatal(r.Error)
				}
				watcher.pushes() // its own join, if any

				other := e.connected(t, "2")
				other.subscribe("room")
				other.call("unsubscribe", `{"channel":"room"}`)

				var joins, leaves []*cf.ClientInfo
				for _, p := range watcher.pushes() {
					switch {
					case p.Join != nil:
						joins = append(joins, p.Join.Info)
					case p.Leave != nil:
						leaves = append(leaves, p.Leave.Info)
					default:
						t.Errorf("unexpected push %v", p)
					}
				}
				if !tc.wantFor {
					if len(joins)+len(leaves) != 0 {
						t.Errorf("joins %v leaves %v, want none", joins, leaves)
					}
					return
				}
				if len(joins) != 1 || len(leaves) != 1 {
					t.Fatalf("joins %v leaves %v, want one of each", joins, leaves)
				}
				for _, info := range []*cf.ClientInfo{joins[0], leaves[0]} {
					if info.User != "2" || info.Client != other.s.ID() {
						t.Errorf("info %v, want user 2 client %s", info, other.s.ID())
					}
				}
			})
		})
	}
}

// TestLeaveOnDisconnect checks that a connection that goes away leaves its
// channels: presence and a leave push.
func TestLeaveOnDisconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, channels(channel.Options{
			AllowSubscribeForClient: true, JoinLeave: true, ForcePushJoinLeave: true,
			Presence: true, AllowPresenceForSubscriber: true,
		}), nil)
		watcher := e.connected(t, "1")
		watcher.subscribe("room")
		other := e.connected(t, "2")
		other.subscribe("room")
		watcher.pushes()

		other.s.TransportClosed()
		var left []string
		for _, p := range watcher.pushes() {
			if p.Leave != nil {
				left = append(left, p.Leave.Info.User)
			}
		}
		if len(left) != 1 || left[0] != "2" {
			t.Errorf("leaves %q, want user 2", left)
		}
		st := watcher.call("presence_stats", `{"channel":"room"}`).GetPresenceStats()
		if st.GetNumClients() != 1 || st.GetNumUsers() != 1 {
			t.Errorf("presence stats %v, want 1 client", st)
		}
		if n := e.hub.NumSubscribers("room"); n != 1 {
			t.Errorf("%d hub subscribers, want 1", n)
		}
	})
}

// TestSubRefresh checks subscription token refresh.
func TestSubRefresh(t *testing.T) {
	cases := []struct {
		name  string
		body  func(t *testing.T) string
		ttl   uint32
		err   uint32
		close uint32
	}{
		{name: "new expiry", ttl: 7200, body: func(t *testing.T) string {
			return subRefreshBody("$s", subToken(t, "42", "$s", 2*time.Hour, nil))
		}},
		{name: "not subscribed", err: 103, body: func(t *testing.T) string {
			return subRefreshBody("$other", subToken(t, "42", "$other", time.Hour, nil))
		}},
		{name: "expired", err: 109, body: func(t *testing.T) string {
			return subRefreshBody("$s", subToken(t, "42", "$s", -time.Second, nil))
		}},
		{name: "other channel", close: 3500, body: func(t *testing.T) string {
			return subRefreshBody("$s", subToken(t, "42", "$other", time.Hour, nil))
		}},
		{name: "other user", close: 3500, body: func(t *testing.T) string {
			return subRefreshBody("$s", subToken(t, "43", "$s", time.Hour, nil))
		}},
		{name: "invalid", close: 3500, body: func(*testing.T) string {
			return subRefreshBody("$s", "x")
		}},
		{name: "no token", close: 3501, body: func(*testing.T) string {
			return `{"channel":"$s"}`
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, openChannels(), nil)
				c := e.connected(t, "42")
				tok := subToken(t, "42", "$s", time.Minute, nil)
				r := c.call("subscribe", `{"channel":"$s","token":"`+tok+`"}`)
				if r.Error != nil {
					t.Fatal(r.Error)
				}
				ok := c.send(`{"id":50,"sub_refresh":` + tc.body(t) + `}`)
				if tc.close != 0 {
					if ok {
						t.Error("HandleFrame reported true")
					}
					c.wantClosed(tc.close)
					return
				}
				r = c.reply(50)
				if code := r.GetError().GetCode(); code != tc.err {
					t.Fatalf("sub_refresh error %d, want %d", code, tc.err)
				}
				if tc.err != 0 {
					return
				}
				if res := r.SubRefresh; !res.Expires || res.Ttl != tc.ttl {
					t.Errorf("sub_refresh result %v, want ttl %d", res, tc.ttl)
				}
			})
		})
	}
}

func subRefreshBody(ch, tok string) string {
	return fmt.Sprintf(`{"channel":%q,"token":%q}`, ch, tok)
}
