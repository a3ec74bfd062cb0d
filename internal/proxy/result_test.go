package proxy

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/protocol"
)

func ptr[T any](v T) *T { return &v }

func TestConnectResults(t *testing.T) {
	tests := []struct {
		name    string
		answer  string
		want    *ConnectResult
		wantErr error
	}{
		{"no credentials", `{}`, nil, nil},
		{"null result", `{"result":null}`, nil, nil},
		{"anonymous", `{"result":{}}`, &ConnectResult{}, nil},
		{"tutorial user", `{"result":{"user":"demo-user"}}`,
			&ConnectResult{User: "demo-user"}, nil},
		{"full", `{"result":{"user":"56","expire_at":1700000000,
			"info":{"name":"Alex"},"data":[1, 2],"channels":["a","b"],
			"meta":{"plan":"pro"},"caps":[{"channels":["x"]}],"labels":{"a":"b"},
			"unknown":true}}`,
			&ConnectResult{User: "56", ExpireAt: 1700000000,
				Info: []byte(`{"name":"Alex"}`), Data: []byte(`[1, 2]`),
				Channels: []string{"a", "b"}, Meta: []byte(`{"plan":"pro"}`)}, nil},
		{"b64 wins", `{"result":{"info":{"a":1},"b64info":"AAE=","data":1,
			"b64data":"/w=="}}`,
			&ConnectResult{Info: []byte{0, 1}, Data: []byte{0xff}}, nil},
		{"empty b64 falls back", `{"result":{"info":{"a":1},"b64info":""}}`,
			&ConnectResult{Info: []byte(`{"a":1}`)}, nil},
		{"null payloads", `{"result":{"info":null,"data":null,"meta":null}}`,
			&ConnectResult{}, nil},
		{"expire_at as string", `{"result":{"expire_at":"1700000000"}}`,
			&ConnectResult{ExpireAt: 1700000000}, nil},
		{"subs", `{"result":{"user":"u","subs":{
			"news":{"expire_at":5,"info":{"i":1},"b64data":"AQ==",
				"override":{"presence":{"value":true},"join_leave":{"value":false},
				"force_recovery":{},"position":{"value":true},
				"force_push_join_leave":true}},
			"plain":{},
			"v3":{"override":{"recover":{"value":true},"force_recovery":{"value":false}}}
			}}}`,
			&ConnectResult{User: "u", Subs: map[string]SubscribeOptions{
				"news": {ExpireAt: 5, Info: []byte(`{"i":1}`), Data: []byte{1},
					Override: &auth.Override{Presence: ptr(true), JoinLeave: ptr(false),
						ForceRecovery: ptr(false), ForcePositioning: ptr(true),
						ForcePushJoinLeave: ptr(true)}},
				"plain": {},
				"v3":    {Override: &auth.Override{ForceRecovery: ptr(false)}},
			}}, nil},
		{"empty override", `{"result":{"subs":{"a":{"override":{}}}}}`,
			&ConnectResult{Subs: map[string]SubscribeOptions{"a": {}}}, nil},
		{"disconnect tutorial",
			`{"disconnect":{"code":1000,"reason":"unauthorized","reconnect":false}}`,
			nil, &protocol.Disconnect{Code: 1000, Reason: "unauthorized"}},
		{"disconnect reconnect true",
			`{"disconnect":{"code":4500,"reason":"x","reconnect":true}}`,
			nil, &protocol.Disconnect{Code: 4500, Reason: "x", Reconnect: true}},
		{"disconnect derived terminal", `{"disconnect":{"code":4501,"reason":"bye"}}`,
			nil, &protocol.Disconnect{Code: 4501, Reason: "bye"}},
		{"disconnect derived reconnect", `{"disconnect":{"code":4001,"reason":"r"}}`,
			nil, &protocol.Disconnect{Code: 4001, Reason: "r", Reconnect: true}},
		{"disconnect wins over error and result",
			`{"result":{"user":"u"},"error":{"code":1},"disconnect":{"code":4000}}`,
			nil, &protocol.Disconnect{Code: 4000, Reconnect: true}},
		{"error", `{"error":{"code":1001,"message":"denied","temporary":true},
			"result":{"user":"u"}}`,
			nil, &protocol.Error{Code: 1001, Message: "denied", Temporary: true}},
		{"error code below app range passed on", `{"error":{"code":7,"message":"m"}}`,
			nil, &protocol.Error{Code: 7, Message: "m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend(t, http.StatusOK, tt.answer)
			p := newProxy(t, config.Proxy{Endpoint: b.URL})
			got, err := p.Connect(context.Background(), caller(), ConnectRequest{})
			if !reflect.DeepEqual(err, tt.wantErr) {
				t.Fatalf("err %#v, want %#v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestBadBase64 is a backend failure for every event, mapped to 100 (or
// the refresh grace) by the caller.
func TestBadBase64(t *testing.T) {
	answers := map[string]string{
		"connect":      `{"result":{"b64info":"!!"}}`,
		"connect subs": `{"result":{"subs":{"a":{"b64data":"%%"}}}}`,
		"refresh":      `{"result":{"b64info":"A"}}`,
		"subscribe":    `{"result":{"b64data":"A"}}`,
		"publish":      `{"result":{"b64data":"A"}}`,
		"rpc":          `{"result":{"b64data":"A"}}`,
		"sub_refresh":  `{"result":{"b64info":"A"}}`,
	}
	for name, answer := range answers {
		t.Run(name, func(t *testing.T) {
			b := newBackend(t, http.StatusOK, answer)
			p := newProxy(t, config.Proxy{Endpoint: b.URL})
			err := callEvent(p, name)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("err %v, want ErrUnavailable", err)
			}
		})
	}
}

// callEvent makes one call of the named event kind and returns its error.
func callEvent(p *Proxy, name string) error {
	ctx, c := context.Background(), caller()
	var err error
	switch name {
	case "connect", "connect subs":
		_, err = p.Connect(ctx, c, ConnectRequest{})
	case "refresh":
		_, err = p.Refresh(ctx, c)
	case "subscribe":
		_, err = p.Subscribe(ctx, c, SubscribeRequest{Channel: "a"})
	case "publish":
		_, err = p.Publish(ctx, c, PublishRequest{Channel: "a", Data: []byte(`1`)})
	case "rpc":
		_, err = p.RPC(ctx, c, RPCRequest{Method: "m"})
	case "sub_refresh":
		_, err = p.SubRefresh(ctx, c, SubRefreshRequest{Channel: "a"})
	default:
		panic("unknown event " + name)
	}
	return err
}

func TestRefreshResults(t *testing.T) {
	tests := []struct {
		name, answer string
		want         *RefreshResult
	}{
		{"missing result expires", `{}`, &RefreshResult{Expired: true}},
		{"error ignored, expires", `{"error":{"code":1000,"message":"x"}}`,
			&RefreshResult{Expired: true}},
		{"disconnect ignored, expires", `{"disconnect":{"code":4000}}`,
			&RefreshResult{Expired: true}},
		{"malformed error ignored", `{"error":"nope","result":{"expire_at":9}}`,
			&RefreshResult{ExpireAt: 9}},
		{"expired", `{"result":{"expired":true}}`, &RefreshResult{Expired: true}},
		{"extended", `{"result":{"expire_at":1700000060,"info":{"a":1},
			"meta":{"m":2}}}`, &RefreshResult{ExpireAt: 1700000060,
			Info: []byte(`{"a":1}`), Meta: []byte(`{"m":2}`)}},
		{"b64info", `{"result":{"expire_at":1,"b64info":"AQ==","info":{}}}`,
			&RefreshResult{ExpireAt: 1, Info: []byte{1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend(t, http.StatusOK, tt.answer)
			p := newProxy(t, config.Proxy{Endpoint: b.URL})
			got, err := p.Refresh(context.Background(), caller())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSubRefreshResults(t *testing.T) {
	tests := []struct {
		name, answer string
		want         *SubRefreshResult
	}{
		{"missing result expires", `{"result":null}`, &SubRefreshResult{Expired: true}},
		{"error ignored", `{"error":{"code":1}}`, &SubRefreshResult{Expired: true}},
		{"expired", `{"result":{"expired":true,"expire_at":5}}`,
			&SubRefreshResult{Expired: true, ExpireAt: 5}},
		{"extended", `{"result":{"expire_at":7,"info":"x"}}`,
			&SubRefreshResult{ExpireAt: 7, Info: []byte(`"x"`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend(t, http.StatusOK, tt.answer)
			p := newProxy(t, config.Proxy{Endpoint: b.URL})
			got, err := p.SubRefresh(context.Background(), caller(),
				SubRefreshRequest{Channel: "a"})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSubscribeResults(t *testing.T) {
	tests := []struct {
		name, answer string
		want         *SubscribeResult
		wantErr      error
	}{
		{"absent allows", `{}`, &SubscribeResult{}, nil},
		{"empty allows", `{"result":{}}`, &SubscribeResult{}, nil},
		{"full", `{"result":{"expire_at":10,"info":{"i":1},"b64data":"AQ==",
			"override":{"presence":{"value":false},"force_positioning":{"value":true}},
			"allow":["pub"]}}`,
			&SubscribeResult{ExpireAt: 10, Info: []byte(`{"i":1}`), Data: []byte{1},
				Override: &auth.Override{Presence: ptr(false),
					ForcePositioning: ptr(true)}}, nil},
		{"denied", `{"error":{"code":403,"message":"permission denied"}}`, nil,
			&protocol.Error{Code: 403, Message: "permission denied"}},
		{"temporary", `{"error":{"code":1000,"message":"later","temporary":true}}`,
			nil, &protocol.Error{Code: 1000, Message: "later", Temporary: true}},
		{"disconnect", `{"disconnect":{"code":4501,"reason":"banned"}}`, nil,
			&protocol.Disconnect{Code: 4501, Reason: "banned"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend(t, http.StatusOK, tt.answer)
			p := newProxy(t, config.Proxy{Endpoint: b.URL})
			got, err := p.Subscribe(context.Background(), caller(),
				SubscribeRequest{Channel: "a"})
			if !reflect.DeepEqual(err, tt.wantErr) {
				t.Fatalf("err %#v, want %#v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPublishResults(t *testing.T) {
	tests := []struct {
		name, answer string
		want         *PublishResult
		wantErr      error
	}{
		{"absent publishes original", `{}`, &PublishResult{}, nil},
		{"full", `{"result":{"data":{"text":"x"},"skip_history":true,
			"tags":{"k":"v"},"idempotency_key":"ik","delta":true,
			"version":"18446744073709551615","version_epoch":"e"}}`,
			&PublishResult{Data: []byte(`{"text":"x"}`), SkipHistory: true,
				Tags: map[string]string{"k": "v"}, IdempotencyKey: "ik", Delta: true,
				Version: 18446744073709551615, VersionEpoch: "e"}, nil},
		{"b64data", `{"result":{"b64data":"aGk=","version":3}}`,
			&PublishResult{Data: []byte("hi"), Version: 3}, nil},
		{"error", `{"error":{"code":1002,"message":"no"}}`, nil,
			&protocol.Error{Code: 1002, Message: "no"}},
		{"disconnect", `{"disconnect":{"code":4000,"reason":"r"}}`, nil,
			&protocol.Disconnect{Code: 4000, Reason: "r", Reconnect: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend(t, http.StatusOK, tt.answer)
			p := newProxy(t, config.Proxy{Endpoint: b.URL})
			got, err := p.Publish(context.Background(), caller(),
				PublishRequest{Channel: "a", Data: []byte(`{}`)})
			if !reflect.DeepEqual(err, tt.wantErr) {
				t.Fatalf("err %#v, want %#v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRPCResults(t *testing.T) {
	tests := []struct {
		name, answer string
		want         *RPCResult
		wantErr      error
	}{
		{"absent", `{}`, &RPCResult{}, nil},
		{"data", `{"result":{"data":{"price":12.50}}}`,
			&RPCResult{Data: []byte(`{"price":12.50}`)}, nil},
		{"b64data", `{"result":{"b64data":"AAA="}}`, &RPCResult{Data: []byte{0, 0}}, nil},
		{"error", `{"error":{"code":1003,"message":"bad params"}}`, nil,
			&protocol.Error{Code: 1003, Message: "bad params"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend(t, http.StatusOK, tt.answer)
			p := newProxy(t, config.Proxy{Endpoint: b.URL})
			got, err := p.RPC(context.Background(), caller(), RPCRequest{Method: "m"})
			if !reflect.DeepEqual(err, tt.wantErr) {
				t.Fatalf("err %#v, want %#v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestTutorial replays the seed tutorial's exchange: the session cookie of
// the upgrade request reaches the backend, which accepts a logged-in user
// and disconnects an anonymous one with code 1000.
func TestTutorial(t *testing.T) {
	b := newBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("connect.sid"); err == nil && c.Value == "s%3Aabc" {
			_, _ = w.Write([]byte(`{"result":{"user":"demo-user"}}`))
			return
		}
		_, _ = w.Write([]byte(
			`{"disconnect":{"code":1000,"reason":"unauthorized","reconnect":false}}`))
	})
	p := newProxy(t, config.Proxy{Endpoint: b.URL + "/centrifugo/connect",
		HTTPHeaders: []string{"Cookie"}})
	upgrade := http.Header{
		"Cookie":     {"connect.sid=s%3Aabc"},
		"User-Agent": {"Mozilla/5.0"},
		"Origin":     {"http://localhost:9000"},
	}
	c := Caller{Client: "9336a229", Transport: "websocket", Protocol: "json",
		Headers: CaptureHeaders(upgrade, []string{"Cookie"})}

	res, err := p.Connect(context.Background(), c, ConnectRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if res == nil || res.User != "demo-user" {
		t.Fatalf("result %+v, want user demo-user", res)
	}
	got := b.last(t)
	if ct := got.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if got.Header.Get("Origin") != "" {
		t.Error("Origin forwarded without being listed")
	}
	if want := `{"client":"9336a229","transport":"websocket","protocol":"json",` +
		`"encoding":"json"}`; string(got.Body) != want {
		t.Errorf("body %s, want %s", got.Body, want)
	}

	c.Headers = nil
	_, err = p.Connect(context.Background(), c, ConnectRequest{})
	var d *protocol.Disconnect
	if !errors.As(err, &d) {
		t.Fatalf("err %v, want a disconnect", err)
	}
	if *d != (protocol.Disconnect{Code: 1000, Reason: "unauthorized"}) {
		t.Errorf("disconnect %+v, want 1000 unauthorized without reconnect", *d)
	}
}
