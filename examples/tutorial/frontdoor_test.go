package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// echoUpstream answers with the request line and the headers the front
// door sent, so a test can see where a request went and how.
func echoUpstream(t *testing.T, name string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		fmt.Fprintf(w, "%s %s %s\nHost=%s\nX-Real-IP=%s\nX-Forwarded-For=%s\n",
			name, r.Method, r.URL.RequestURI(), r.Host,
			r.Header.Get("X-Real-IP"), r.Header.Get("X-Forwarded-For"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// mustURL parses s or fails the test.
func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestFrontDoorRoutesLikeTheNginxBlock(t *testing.T) {
	app, herald := echoUpstream(t, "app"), echoUpstream(t, "herald")
	fd := httptest.NewServer(newFrontDoor(mustURL(t, app.URL), mustURL(t, herald.URL)))
	t.Cleanup(fd.Close)

	for path, want := range map[string]string{
		"/":                             "app GET /",
		"/login":                        "app GET /login",
		"/vendor/centrifuge.js":         "app GET /vendor/centrifuge.js",
		"/connection/websocket":         "herald GET /connection/websocket",
		"/connection/http_stream?x=1":   "herald GET /connection/http_stream?x=1",
		"/connection":                   "herald GET /connection",
		"/app/connection/websocket":     "app GET /app/connection/websocket",
		"/centrifugo/connect?from=test": "app GET /centrifugo/connect?from=test",
	} {
		req, _ := http.NewRequest("GET", fd.URL+path, nil)
		req.Host = "localhost:9000"
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		lines := strings.Split(string(body), "\n")
		if lines[0] != want {
			t.Errorf("GET %s went to %q; want %q", path, lines[0], want)
			continue
		}
		if lines[1] != "Host=localhost:9000" {
			t.Errorf("GET %s: %s; want the client's Host", path, lines[1])
		}
		if lines[2] != "X-Real-IP=127.0.0.1" {
			t.Errorf("GET %s: %s; want the client's address", path, lines[2])
		}
		if lines[3] != "X-Forwarded-For=203.0.113.7, 127.0.0.1" {
			t.Errorf("GET %s: %s; want the client's address appended", path, lines[3])
		}
	}
}

func TestFrontDoorPassesWebSocketUpgrades(t *testing.T) {
	// A minimal upgrade handler: answer 101, then echo lines back.
	herald := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" ||
			!strings.EqualFold(r.Header.Get("Connection"), "upgrade") {
			http.Error(w, "not an upgrade", http.StatusBadRequest)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprint(rw, "HTTP/1.1 101 Switching Protocols\r\n"+
			"Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		rw.Flush()
		for {
			line, err := rw.ReadString('\n')
			if err != nil {
				return
			}
			fmt.Fprint(rw, "echo "+line)
			rw.Flush()
		}
	}))
	t.Cleanup(herald.Close)
	app := echoUpstream(t, "app")
	fd := httptest.NewServer(newFrontDoor(mustURL(t, app.URL), mustURL(t, herald.URL)))
	t.Cleanup(fd.Close)

	conn, err := net.Dial("tcp", fd.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(conn, "GET /connection/websocket HTTP/1.1\r\nHost: localhost:9000\r\n"+
		"Upgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"+
		"Sec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade through the front door: %s", resp.Status)
	}
	fmt.Fprint(conn, "ping\n")
	if line, err := br.ReadString('\n'); err != nil || line != "echo ping\n" {
		t.Fatalf("after the upgrade read %q, %v; want the echo", line, err)
	}
}

func TestFrontDoorAnswers502WhenAnUpstreamIsDown(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	fd := httptest.NewServer(newFrontDoor(mustURL(t, down.URL), mustURL(t, down.URL)))
	t.Cleanup(fd.Close)
	resp, err := http.Get(fd.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("upstream down: %s; want 502", resp.Status)
	}
}
