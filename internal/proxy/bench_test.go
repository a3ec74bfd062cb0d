package proxy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/heraldhq/herald/internal/config"
)

// BenchmarkConnect measures one connect call over a keep-alive connection
// to a local backend, the tutorial's shape: a forwarded cookie and a
// result with a user.
func BenchmarkConnect(b *testing.B) {
	answer := []byte(`{"result":{"user":"demo-user","expire_at":1700000000,` +
		`"info":{"name":"Demo"}}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
		_ *http.Request) {
		_, _ = w.Write(answer)
	}))
	b.Cleanup(srv.Close)
	p := newProxy(b, config.Proxy{Endpoint: srv.URL, HTTPHeaders: []string{"Cookie"}})
	c := Caller{Client: "9336a229-6ad6-4a2b-8d49-64b3e7b1f6a1", Transport: "websocket",
		Protocol: "json", Headers: http.Header{"Cookie": {"connect.sid=s%3Aabcdef"}}}
	r := ConnectRequest{Name: "js", Version: "5.0.0", Data: []byte(`{"a":1}`)}
	ctx := context.Background()

	b.ReportAllocs()
	for b.Loop() {
		res, err := p.Connect(ctx, c, r)
		if err != nil || res.User != "demo-user" {
			b.Fatalf("res %+v, err %v", res, err)
		}
	}
}

// BenchmarkEncodeConnect isolates the request encoder.
func BenchmarkEncodeConnect(b *testing.B) {
	p := &Proxy{}
	c := Caller{Client: "9336a229-6ad6-4a2b-8d49-64b3e7b1f6a1", Transport: "websocket",
		Protocol: "json"}
	r := ConnectRequest{Name: "js", Version: "5.0.0", Data: []byte(`{"a":1}`),
		Channels: []string{"news"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.encodeConnect(&c, &r); err != nil {
			b.Fatal(err)
		}
	}
}
