package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPublishSendsTheTutorialsRequest(t *testing.T) {
	var gotAuth, gotBody, gotPath string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		gotAuth, gotPath = r.Header.Get("Authorization"), r.URL.Path
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		io.WriteString(w, `{"result":{}}`)
	}))
	defer srv.Close()
	p := &publisher{client: srv.Client(), url: srv.URL + "/api", apiKey: "my_api_key",
		channel: "#demo-user", interval: time.Second}

	if err := p.publish(context.Background(), time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	want := `{"method":"publish","params":{"channel":"#demo-user",` +
		`"data":{"time":1700000000}}}`
	if gotPath != "/api" || gotAuth != "apikey my_api_key" || gotBody != want {
		t.Fatalf("sent %s with %q: %s\nwant /api with %q: %s",
			gotPath, gotAuth, gotBody, "apikey my_api_key", want)
	}
}

func TestPublishReportsErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		status int
		body   string
		want   string
	}{
		"api error": {200,
			`{"error":{"code":102,"message":"unknown channel"}}`, "102"},
		"bad key":     {401, "unauthorized", "401"},
		"not json":    {200, "<html>", "reply"},
		"server down": {500, "", "500"},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
				_ *http.Request) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			p := &publisher{client: srv.Client(), url: srv.URL, channel: "#u"}
			err := p.publish(context.Background(), time.Now())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("publish: %v; want an error naming %q", err, tc.want)
			}
		})
	}
}

func TestRunPublishesEveryInterval(t *testing.T) {
	got := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
		_ *http.Request) {
		io.WriteString(w, `{"result":{}}`)
		got <- struct{}{}
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	p := &publisher{client: srv.Client(), url: srv.URL, channel: "#u",
		interval: 10 * time.Millisecond}
	go func() { p.run(ctx); close(done) }()
	for i := 0; i < 3; i++ {
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatalf("publication %d did not come", i+1)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}
