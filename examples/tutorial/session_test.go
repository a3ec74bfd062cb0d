package main

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestSessionStoreLifecycle(t *testing.T) {
	s := newSessionStore(time.Hour)
	now := time.Unix(1_700_000_000, 0)
	s.now = func() time.Time { return now }

	id := s.create("alice")
	if len(id) < 26 {
		t.Fatalf("session ID %q: want at least 128 random bits", id)
	}
	if other := s.create("bob"); other == id {
		t.Fatalf("two sessions got the same ID %q", id)
	}
	if u, ok := s.user(id); !ok || u != "alice" {
		t.Fatalf("user(%q) = %q, %v; want alice, true", id, u, ok)
	}
	if _, ok := s.user("nope"); ok {
		t.Fatal("unknown ID found")
	}
	s.destroy(id)
	if _, ok := s.user(id); ok {
		t.Fatal("destroyed session still found")
	}
	s.destroy(id) // twice is fine
}

func TestSessionStoreExpiry(t *testing.T) {
	s := newSessionStore(time.Hour)
	now := time.Unix(1_700_000_000, 0)
	s.now = func() time.Time { return now }
	old := s.create("alice")

	now = now.Add(59 * time.Minute)
	if _, ok := s.user(old); !ok {
		t.Fatal("session expired early")
	}
	now = now.Add(time.Minute)
	if _, ok := s.user(old); ok {
		t.Fatal("session outlived its TTL")
	}

	stale := s.create("bob")
	now = now.Add(2 * time.Hour)
	s.create("carol") // sweeps expired sessions
	s.mu.Lock()
	_, kept := s.sessions[stale]
	n := len(s.sessions)
	s.mu.Unlock()
	if kept || n != 1 {
		t.Fatalf("after sweep: stale kept=%v, %d sessions; want false, 1", kept, n)
	}
}

func TestRequestUserReadsTheCookie(t *testing.T) {
	s := newSessionStore(time.Hour)
	id := s.create("alice")
	r := httptest.NewRequest("GET", "/", nil)
	if _, ok := s.requestUser(r); ok {
		t.Fatal("request without a cookie has a user")
	}
	r.AddCookie(sessionCookieFor(id, time.Hour))
	if u, ok := s.requestUser(r); !ok || u != "alice" {
		t.Fatalf("requestUser = %q, %v; want alice, true", u, ok)
	}
}
