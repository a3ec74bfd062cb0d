package main

import (
	"crypto/rand"
	"net/http"
	"sync"
	"time"
)

// sessionCookie is the name of the cookie that carries the session ID. The
// browser sends it to Herald on the WebSocket upgrade through the front
// door, and Herald forwards it to the connect proxy handler.
const sessionCookie = "tutorial_sid"

// sessionTTL is how long a session lives: one day, as the cookie.
const sessionTTL = 24 * time.Hour

// session is one logged-in browser.
type session struct {
	user    string
	expires time.Time
}

// sessionStore keeps sessions in memory, keyed by random IDs. It is safe for
// concurrent use.
type sessionStore struct {
	ttl time.Duration
	now func() time.Time // the clock; tests replace it

	mu       sync.Mutex
	sessions map[string]session
}

// newSessionStore returns an empty store whose sessions live for ttl.
func newSessionStore(ttl time.Duration) *sessionStore {
	return &sessionStore{ttl: ttl, now: time.Now, sessions: map[string]session{}}
}

// create starts a session for user and returns its ID: 128 random bits from
// crypto/rand, base32-encoded. Expired sessions are dropped on the way.
func (s *sessionStore) create(user string) string {
	id := rand.Text()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, v := range s.sessions {
		if !now.Before(v.expires) {
			delete(s.sessions, k)
		}
	}
	s.sessions[id] = session{user: user, expires: now.Add(s.ttl)}
	return id
}

// user returns the user of session id, if it exists and has not expired.
func (s *sessionStore) user(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.sessions[id]
	if !ok {
		return "", false
	}
	if !s.now().Before(v.expires) {
		delete(s.sessions, id)
		return "", false
	}
	return v.user, true
}

// destroy ends session id; an unknown ID is ignored.
func (s *sessionStore) destroy(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, id)
}

// requestUser returns the logged-in user of r, from its session cookie.
func (s *sessionStore) requestUser(r *http.Request) (string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", false
	}
	return s.user(c.Value)
}

// sessionCookieFor returns the cookie that carries session id: HttpOnly,
// whole site, one day.
func sessionCookieFor(id string, ttl time.Duration) *http.Cookie {
	return &http.Cookie{
		Name:     sessionCookie,
		Value:    id,
		Path:     "/",
		MaxAge:   int(ttl / time.Second),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

// expiredSessionCookie returns a cookie that makes the browser drop the
// session cookie.
func expiredSessionCookie() *http.Cookie {
	return &http.Cookie{
		Name:     sessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}
