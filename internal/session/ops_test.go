package session

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldhq/herald/internal/channel"
)

// permission names one of the allow_*_for_* flags of an operation.
type permission int

const (
	forClient permission = 1 << iota
	forSubscriber
	forAnonymous
)

// opChannels builds a namespace "ns" where everyone may subscribe and the
// operation op ("publish", "presence" or "history") has the permissions p.
// The feature itself is on unless disabled.
func opChannels(op string, p permission, disabled bool) channel.Config {
	o := channel.Options{
		AllowSubscribeForClient: true, AllowSubscribeForAnonymous: true,
	}
	client, sub, anon := p&forClient != 0, p&forSubscriber != 0, p&forAnonymous != 0
	switch op {
	case "publish":
		o.AllowPublishForClient, o.AllowPublishForSubscriber = client, sub
		o.AllowPublishForAnonymous = anon
	case "presence", "presence_stats":
		o.Presence = !disabled
		o.AllowPresenceForClient, o.AllowPresenceForSubscriber = client, sub
		o.AllowPresenceForAnonymous = anon
	case "history":
		if !disabled {
			o.HistorySize, o.HistoryTTL = 10, time.Minute
		}
		o.AllowHistoryForClient, o.AllowHistoryForSubscriber = client, sub
		o.AllowHistoryForAnonymous = anon
	}
	return channels(channel.Options{}, channel.Namespace{Name: "ns", Options: o})
}

// TestOperationPermissions is the permission matrix shared by publish,
// presence, presence_stats and history.
func TestOperationPermissions(t *testing.T) {
	cases := []struct {
		perm       permission
		anonymous  bool
		subscribed bool
		disabled   bool
		insecure   bool
		code       uint32
	}{
		{perm: 0, code: 103},
		{perm: 0, subscribed: true, code: 103},
		{perm: forClient, code: 0},
		{perm: forClient, anonymous: true, code: 103},
		{perm: forClient | forAnonymous, anonymous: true, code: 0},
		{perm: forSubscriber, code: 103},
		{perm: forSubscriber, subscribed: true, code: 0},
		{perm: forSubscriber, subscribed: true, anonymous: true, code: 103},
		{perm: forSubscriber | forAnonymous, subscribed: true, anonymous: true},
		{perm: forSubscriber | forAnonymous, anonymous: true, code: 103},
		// The anonymous flag alone opens nothing.
		{perm: forAnonymous, anonymous: true, code: 103},
		{perm: forAnonymous, code: 103},
		{perm: 0, anonymous: true, insecure: true, code: 0},
		{perm: forClient, disabled: true, code: 108},
		{perm: 0, disabled: true, insecure: true, code: 108},
	}
	ops := []struct {
		method, body string
	}{
		{"publish", `{"channel":"ns:a","data":{"x":1}}`},
		{"presence", `{"channel":"ns:a"}`},
		{"presence_stats", `{"channel":"ns:a"}`},
		{"history", `{"channel":"ns:a","limit":10}`},
	}
	for _, op := range ops {
		for _, tc := range cases {
			if op.method == "publish" && tc.disabled {
				continue
			}
			name := fmt.Sprintf("%s/perm=%03b/anon=%v/sub=%v/disabled=%v/insecure=%v",
				op.method, tc.perm, tc.anonymous, tc.subscribed, tc.disabled, tc.insecure)
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					chans := opChannels(op.method, tc.perm, tc.disabled)
					e := newEnv(t, chans, func(c *Config) {
						c.AllowAnonymous, c.Insecure = true, tc.insecure
					})
					user := "42"
					if tc.anonymous {
						user = ""
					}
					c := e.connected(t, user)
					if tc.subscribed {
						c.subscribe("ns:a")
					}
					r := c.call(op.method, op.body)
					if code := r.GetError().GetCode(); code != tc.code {
						t.Fatalf("error %d, want %d", code, tc.code)
					}
					ok := r.Publish != nil || r.Presence != nil ||
						r.PresenceStats != nil || r.History != nil
					if ok != (tc.code == 0) {
						t.Errorf("reply %v", r)
					}
					c.wantOpen()
				})
			})
		}
	}
}

// TestOperationChannelErrors checks the channel checks every operation
// makes before its permissions.
func TestOperationChannelErrors(t *testing.T) {
	cases := []struct {
		name    string
		channel string
		code    uint32
	}{
		{"unknown namespace", "nosuch:a", 102},
		{"too long", "ns:" + strings.Repeat("a", 300), 107},
		{"not ASCII", "ns:\u00e9", 107},
	}
	for _, method := range []string{"publish", "presence", "presence_stats", "history"} {
		for _, tc := range cases {
			t.Run(method+"/"+tc.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					e := newEnv(t, opChannels(method, forClient, false), nil)
					c := e.connected(t, "42")
					body := fmt.Sprintf(`{"channel":%q,"data":{}}`, tc.channel)
					if code := c.callErr(method, body); code != tc.code {
						t.Errorf("error %d, want %d", code, tc.code)
					}
				})
			})
		}
	}
}

// TestPublish checks what a publication carries and who receives it.
func TestPublish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		chans := opChannels("publish", forSubscriber, false)
		e := newEnv(t, chans, nil)
		tok := token(t, "42", 0, map[string]any{"info": map[string]any{"name": "Ann"}})
		pub := e.dial(t)
		pub.connect(tok)
		pub.subscribe("ns:a")
		sub := e.connected(t, "43")
		sub.subscribe("ns:a")

		if code := pub.callErr("publish", `{"channel":"ns:a"}`); code != 107 {
			t.Errorf("publish without data: %d, want 107", code)
		}
		if code := pub.callErr("publish", `{"channel":"ns:a","data":{"x":1}}`); code != 0 {
			t.Fatalf("publish: %d", code)
		}
		for _, c := range []*client{pub, sub} {
			ps := c.pushes()
			if len(ps) != 1 || ps[0].Pub == nil || ps[0].Channel != "ns:a" {
				t.Fatalf("pushes %v, want one publication", ps)
			}
			p := ps[0].Pub
			if !jsonEqual(t, p.Data, `{"x":1}`) || p.Info == nil ||
				p.Info.User != "42" || p.Info.Client != pub.s.ID() ||
				!jsonEqual(t, p.Info.ConnInfo, `{"name":"Ann"}`) {
				t.Errorf("publication %v", p)
			}
		}
	})
}

// TestPresence checks presence and presence_stats results.
func TestPresence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, opChannels("presence", forSubscriber, false), nil)
		a := e.connected(t, "1")
		a.subscribe("ns:a")
		b := e.connected(t, "2")
		b.subscribe("ns:a")
		b2 := e.connected(t, "2")
		b2.subscribe("ns:a")

		p := a.call("presence", `{"channel":"ns:a"}`).GetPresence().GetPresence()
		want := map[string]string{a.s.ID(): "1", b.s.ID(): "2", b2.s.ID(): "2"}
		if len(p) != len(want) {
			t.Fatalf("presence %v, want %v", p, want)
		}
		for id, user := range want {
			if info := p[id]; info == nil || info.User != user || info.Client != id {
				t.Errorf("presence of %s: %v, want user %s", id, info, user)
			}
		}
		st := a.call("presence_stats", `{"channel":"ns:a"}`).GetPresenceStats()
		if st.GetNumClients() != 3 || st.GetNumUsers() != 2 {
			t.Errorf("presence stats %v, want 3 clients 2 users", st)
		}

		b2.call("unsubscribe", `{"channel":"ns:a"}`)
		st = a.call("presence_stats", `{"channel":"ns:a"}`).GetPresenceStats()
		if st.GetNumClients() != 2 || st.GetNumUsers() != 2 {
			t.Errorf("presence stats after unsubscribe %v, want 2 clients", st)
		}
	})
}

// TestHistory checks limit, since and reverse of history requests.
func TestHistory(t *testing.T) {
	cases := []struct {
		name     string
		body     string // fields after channel; EPOCH is replaced
		maxLimit int
		want     []uint64
		code     uint32
	}{
		{name: "position only", body: ``},
		{name: "limit", body: `,"limit":2`, want: []uint64{1, 2}},
		{name: "all", body: `,"limit":-1`, want: []uint64{1, 2, 3, 4, 5}},
		{name: "reverse", body: `,"limit":2,"reverse":true`, want: []uint64{5, 4}},
		{name: "since", body: `,"limit":-1,"since":{"offset":3,"epoch":"EPOCH"}`,
			want: []uint64{4, 5}},
		{name: "since with limit", body: `,"limit":1,"since":{"offset":2,"epoch":"EPOCH"}`,
			want: []uint64{3}},
		{name: "since reverse",
			body: `,"limit":-1,"reverse":true,"since":{"offset":3,"epoch":"EPOCH"}`,
			want: []uint64{2, 1}},
		{name: "since the top", body: `,"limit":5,"since":{"offset":5,"epoch":"EPOCH"}`},
		{name: "since another epoch", body: `,"limit":5,"since":{"offset":3,"epoch":"x"}`,
			code: 112},
		{name: "since a future offset", body: `,"limit":5,"since":{"offset":9,` +
			`"epoch":"EPOCH"}`, code: 112},
		{name: "capped limit", body: `,"limit":100`, maxLimit: 3, want: []uint64{1, 2, 3}},
		{name: "capped unlimited", body: `,"limit":-1`, maxLimit: 2, want: []uint64{1, 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, opChannels("history", forClient, false), func(c *Config) {
					c.HistoryMaxLimit = tc.maxLimit
				})
				for i := 1; i <= 5; i++ {
					e.publish(t, "ns:a", fmt.Sprintf(`{"n":%d}`, i))
				}
				c := e.connected(t, "42")
				top := c.call("history", `{"channel":"ns:a"}`).GetHistory()
				if top.GetOffset() != 5 || top.GetEpoch() == "" ||
					len(top.Publications) != 0 {
					t.Fatalf("position %v, want offset 5 and no publications", top)
				}
				body := strings.ReplaceAll(tc.body, "EPOCH", top.Epoch)
				r := c.call("history", `{"channel":"ns:a"`+body+`}`)
				if code := r.GetError().GetCode(); code != tc.code {
					t.Fatalf("history error %d, want %d", code, tc.code)
				}
				if tc.code != 0 {
					return
				}
				h := r.History
				if h.Offset != 5 || h.Epoch != top.Epoch {
					t.Errorf("offset %d epoch %q, want 5 %q", h.Offset, h.Epoch, top.Epoch)
				}
				var got []uint64
				for _, p := range h.Publications {
					got = append(got, p.Offset)
					if want := fmt.Sprintf(`{"n":%d}`, p.Offset); string(p.Data) != want {
						t.Errorf("offset %d data %s, want %s", p.Offset, p.Data, want)
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("offsets %v, want %v", got, tc.want)
				}
			})
		})
	}
}
