package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/heraldhq/herald/internal/config"
)

// TestRequestBodies checks the exact body of every event kind: field
// names, order, omission of empty optional fields, raw JSON embedded
// verbatim, and the binary form.
func TestRequestBodies(t *testing.T) {
	const common = `{"client":"c1","transport":"websocket","protocol":"json",` +
		`"encoding":"json"`
	const commonBin = `{"client":"c1","transport":"websocket","protocol":"json",` +
		`"encoding":"binary"`
	withMeta := caller()
	withMeta.Meta = []byte(`{"plan":"pro",  "n":1.50}`)

	tests := []struct {
		name   string
		binary bool
		meta   bool
		c      Caller
		call   func(*Proxy, Caller) error
		want   string
	}{
		{"connect minimal", false, false, caller(), connectWith(ConnectRequest{}),
			common + `}`},
		{"connect full", false, true, withMeta, connectWith(ConnectRequest{
			Name: "js", Version: "5.0.1", Data: []byte(`{"x": [1, 2.0]}`),
			Channels: []string{"a", "b"}}),
			common + `,"data":{"x": [1, 2.0]},"name":"js","version":"5.0.1",` +
				`"channels":["a","b"]}`},
		{"connect binary", true, false, caller(), connectWith(ConnectRequest{
			Data: []byte{0, 1, 2, 0xff}}),
			commonBin + `,"b64data":"AAEC/w=="}`},
		{"refresh", false, false, caller(), refreshCall,
			common + `,"user":"42"}`},
		{"refresh anonymous", false, false, Caller{Client: "c1",
			Transport: "websocket", Protocol: "json"}, refreshCall,
			common + `,"user":""}`},
		{"refresh with meta", false, true, withMeta, refreshCall,
			common + `,"user":"42","meta":{"plan":"pro",  "n":1.50}}`},
		{"refresh meta off", false, false, withMeta, refreshCall,
			common + `,"user":"42"}`},
		{"subscribe", false, true, withMeta, subscribeWith(SubscribeRequest{
			Channel: "news", Token: "tok", Data: []byte(`"hi"`)}),
			common + `,"user":"42","channel":"news","token":"tok",` +
				`"meta":{"plan":"pro",  "n":1.50},"data":"hi"}`},
		{"subscribe minimal", false, false, caller(),
			subscribeWith(SubscribeRequest{Channel: "news"}),
			common + `,"user":"42","channel":"news"}`},
		{"subscribe binary", true, false, caller(), subscribeWith(SubscribeRequest{
			Channel: "news", Data: []byte("hi")}),
			commonBin + `,"user":"42","channel":"news","b64data":"aGk="}`},
		{"publish", false, true, withMeta, publishWith(PublishRequest{
			Channel: "chat", Data: []byte(`{"text":"h\u00e9"}`)}),
			common + `,"user":"42","channel":"chat","data":{"text":"h\u00e9"},` +
				`"meta":{"plan":"pro",  "n":1.50}}`},
		{"publish binary", true, false, caller(), publishWith(PublishRequest{
			Channel: "chat", Data: []byte("x")}),
			commonBin + `,"user":"42","channel":"chat","b64data":"eA=="}`},
		{"rpc", false, false, caller(), rpcWith(RPCRequest{
			Method: "getCurrentPrice", Data: []byte(`{"params":{"object_id":12}}`)}),
			common + `,"user":"42","method":"getCurrentPrice",` +
				`"data":{"params":{"object_id":12}}}`},
		{"rpc unnamed", false, false, caller(), rpcWith(RPCRequest{}),
			common + `,"user":"42"}`},
		{"rpc binary with meta", true, true, withMeta, rpcWith(RPCRequest{
			Method: "m", Data: []byte("ab")}),
			commonBin + `,"user":"42","method":"m","b64data":"YWI=",` +
				`"meta":{"plan":"pro",  "n":1.50}}`},
		{"sub_refresh", false, true, withMeta,
			subRefreshWith(SubRefreshRequest{Channel: "news"}),
			common + `,"user":"42","channel":"news","meta":{"plan":"pro",  "n":1.50}}`},
		{"escaping", false, false, Caller{Client: "c\"1", Transport: "websocket",
			Protocol: "json", User: "a\\b\n\x01\xff\u00e9"}, refreshCall,
			`{"client":"c\"1","transport":"websocket","protocol":"json",` +
				`"encoding":"json","user":"a\\b\n\u0001\ufffd` + "\u00e9" + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend(t, http.StatusOK, `{"result":{}}`)
			p := newProxy(t, config.Proxy{Endpoint: b.URL, BinaryEncoding: tt.binary,
				IncludeConnectionMeta: tt.meta})
			if err := tt.call(p, tt.c); err != nil {
				t.Fatalf("call: %v", err)
			}
			got := b.last(t)
			if string(got.Body) != tt.want {
				t.Errorf("body\n got %s\nwant %s", got.Body, tt.want)
			}
			if !json.Valid(got.Body) {
				t.Errorf("body is not valid JSON: %s", got.Body)
			}
			if got.Method != http.MethodPost {
				t.Errorf("method %s, want POST", got.Method)
			}
		})
	}
}

func connectWith(r ConnectRequest) func(*Proxy, Caller) error {
	return func(p *Proxy, c Caller) error {
		_, err := p.Connect(context.Background(), c, r)
		return err
	}
}

func refreshCall(p *Proxy, c Caller) error {
	_, err := p.Refresh(context.Background(), c)
	return err
}

func subscribeWith(r SubscribeRequest) func(*Proxy, Caller) error {
	return func(p *Proxy, c Caller) error {
		_, err := p.Subscribe(context.Background(), c, r)
		return err
	}
}

func publishWith(r PublishRequest) func(*Proxy, Caller) error {
	return func(p *Proxy, c Caller) error {
		_, err := p.Publish(context.Background(), c, r)
		return err
	}
}

func rpcWith(r RPCRequest) func(*Proxy, Caller) error {
	return func(p *Proxy, c Caller) error {
		_, err := p.RPC(context.Background(), c, r)
		return err
	}
}

func subRefreshWith(r SubRefreshRequest) func(*Proxy, Caller) error {
	return func(p *Proxy, c Caller) error {
		_, err := p.SubRefresh(context.Background(), c, r)
		return err
	}
}

// TestConnectNeverSendsUserOrMeta: connect carries neither, even when the
// caller has them and include_connection_meta is on.
func TestConnectNeverSendsUserOrMeta(t *testing.T) {
	b := newBackend(t, http.StatusOK, `{}`)
	p := newProxy(t, config.Proxy{Endpoint: b.URL, IncludeConnectionMeta: true})
	c := caller()
	c.Meta = []byte(`{"a":1}`)
	if _, err := p.Connect(context.Background(), c, ConnectRequest{}); err != nil {
		t.Fatal(err)
	}
	f := fields(t, b.last(t).Body)
	for _, k := range []string{"user", "meta"} {
		if _, ok := f[k]; ok {
			t.Errorf("connect request has %q", k)
		}
	}
}

// TestDataNotJSON: in JSON mode a binary payload is refused before any
// request is made, with an error the caller maps to 100.
func TestDataNotJSON(t *testing.T) {
	b := newBackend(t, http.StatusOK, `{}`)
	p := newProxy(t, config.Proxy{Endpoint: b.URL})
	ctx := context.Background()
	bad := []byte{0xff, 0x00}
	errs := map[string]error{}
	_, errs["connect"] = p.Connect(ctx, caller(), ConnectRequest{Data: bad})
	_, errs["subscribe"] = p.Subscribe(ctx, caller(),
		SubscribeRequest{Channel: "a", Data: bad})
	_, errs["publish"] = p.Publish(ctx, caller(), PublishRequest{Channel: "a",
		Data: []byte(`{"a":`)})
	_, errs["rpc"] = p.RPC(ctx, caller(), RPCRequest{Data: bad})
	for ev, err := range errs {
		if !errors.Is(err, ErrDataNotJSON) || !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: err %v, want ErrDataNotJSON and ErrUnavailable", ev, err)
		}
	}
	if n := b.count(); n != 0 {
		t.Errorf("backend got %d requests, want 0", n)
	}
}

// TestEndpointKeptAsGiven: path and query reach the backend unchanged.
func TestEndpointKeptAsGiven(t *testing.T) {
	b := newBackend(t, http.StatusOK, `{}`)
	p := newProxy(t, config.Proxy{Endpoint: b.URL + "/centrifugo/connect?key=a%2Fb&x=1"})
	if _, err := p.Connect(context.Background(), caller(), ConnectRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := b.last(t).URL; got != "/centrifugo/connect?key=a%2Fb&x=1" {
		t.Errorf("URL %s", got)
	}
}
