package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// newTestApp serves an app directory with marker pages and SDK files.
func newTestApp(t *testing.T, page string) (*httptest.Server, *sessionStore) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"views/login.html":    "LOGIN PAGE",
		"views/app.html":      "APP PAGE",
		"views/seed/app.html": "SEED PAGE",
		"static/app.js":       "// app",
		"static/seed/app.js":  "// seed",
	}
	for _, f := range vendorFiles {
		files[f] = "// sdk " + f
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := checkFiles(dir, page); err != nil {
		t.Fatal(err)
	}
	sessions := newSessionStore(sessionTTL)
	app := newApp(appConfig{dir: dir, page: page, sessions: sessions})
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	return srv, sessions
}

// noRedirects is a client that returns redirects instead of following them.
func noRedirects() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// get fetches url with cookies and returns the status and body.
func get(t *testing.T, c *http.Client, url string,
	cookies ...*http.Cookie) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// login posts the login form and returns the response, unfollowed.
func login(t *testing.T, srv *httptest.Server, user, pass string) *http.Response {
	t.Helper()
	resp, err := noRedirects().PostForm(srv.URL+"/login",
		url.Values{"username": {user}, "password": {pass}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// sessionFrom returns the session cookie that resp sets.
func sessionFrom(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			return ck
		}
	}
	t.Fatalf("no %s cookie in %v", sessionCookie, resp.Header["Set-Cookie"])
	return nil
}

// postConnect calls the connect proxy as Herald does and returns the body.
func postConnect(t *testing.T, srv *httptest.Server, cookies ...*http.Cookie) string {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+"/centrifugo/connect", strings.NewReader(
		`{"client":"c1","transport":"websocket","protocol":"json","encoding":"json"}`))
	req.Header.Set("Content-Type", "application/json")
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("connect proxy: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// refused is the connect proxy's answer without a session, as in the tutorial.
const refused = `{"disconnect":{"code":1000,"reason":"unauthorized","reconnect":false}}`

func TestLoginSessionLogout(t *testing.T) {
	srv, _ := newTestApp(t, pageApp)
	c := noRedirects()

	if code, body := get(t, c, srv.URL+"/"); code != 200 || body != "LOGIN PAGE" {
		t.Fatalf("GET / logged out: %d %q", code, body)
	}
	if got := postConnect(t, srv); got != refused {
		t.Fatalf("connect proxy logged out: %s", got)
	}

	resp := login(t, srv, demoUser, demoPassword)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %s to %q; want 302 to /",
			resp.Status, resp.Header.Get("Location"))
	}
	ck := sessionFrom(t, resp)
	if !ck.HttpOnly || ck.MaxAge != 86400 || ck.Path != "/" {
		t.Fatalf("session cookie %+v: want HttpOnly, MaxAge 86400, Path /", ck)
	}
	if code, body := get(t, c, srv.URL+"/", ck); code != 200 || body != "APP PAGE" {
		t.Fatalf("GET / logged in: %d %q", code, body)
	}
	accepted := `{"result":{"user":"demo-user"}}`
	if got, want := postConnect(t, srv, ck), accepted; got != want {
		t.Fatalf("connect proxy logged in: %s; want %s", got, want)
	}

	req, _ := http.NewRequest("GET", srv.URL+"/logout", nil)
	req.AddCookie(ck)
	out, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	if out.StatusCode != http.StatusFound || out.Header.Get("Location") != "/" {
		t.Fatalf("logout: %s to %q", out.Status, out.Header.Get("Location"))
	}
	if cleared := sessionFrom(t, out); cleared.MaxAge >= 0 {
		t.Fatalf("logout cookie %+v: want it deleted", cleared)
	}
	// The old cookie is worthless now, even if a client keeps sending it.
	if code, body := get(t, c, srv.URL+"/", ck); code != 200 || body != "LOGIN PAGE" {
		t.Fatalf("GET / after logout: %d %q", code, body)
	}
	if got := postConnect(t, srv, ck); got != refused {
		t.Fatalf("connect proxy after logout: %s", got)
	}
}

func TestLoginRefusesBadCredentials(t *testing.T) {
	srv, sessions := newTestApp(t, pageApp)
	for _, tc := range [][2]string{
		{demoUser, "wrong"}, {"someone", demoPassword}, {"", ""},
	} {
		resp := login(t, srv, tc[0], tc[1])
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("login %q/%q: %s; want 401", tc[0], tc[1], resp.Status)
		}
		if len(resp.Cookies()) != 0 {
			t.Errorf("login %q/%q set cookies %v", tc[0], tc[1], resp.Cookies())
		}
	}
	if n := len(sessions.sessions); n != 0 {
		t.Fatalf("%d sessions after failed logins", n)
	}
}

func TestSeedPage(t *testing.T) {
	srv, sessions := newTestApp(t, pageSeed)
	ck := sessionCookieFor(sessions.create(demoUser), time.Hour)
	if code, body := get(t, http.DefaultClient, srv.URL+"/", ck); code != 200 ||
		body != "SEED PAGE" {
		t.Fatalf("GET / with -page seed: %d %q", code, body)
	}
}

func TestIndexIsNotCached(t *testing.T) {
	srv, _ := newTestApp(t, pageApp)
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Fatalf("Cache-Control %q; want no-store: the page depends on the cookie", got)
	}
}

func TestStaticAndVendorFiles(t *testing.T) {
	srv, _ := newTestApp(t, pageApp)
	c := http.DefaultClient
	want := map[string]string{"/app.js": "// app", "/seed/app.js": "// seed"}
	for path, file := range vendorFiles {
		want[path] = "// sdk " + file
	}
	for path, want := range want {
		if code, body := get(t, c, srv.URL+path); code != 200 || body != want {
			t.Errorf("GET %s: %d %q; want 200 %q", path, code, body, want)
		}
	}
	for _, path := range []string{"/seed/", "/nope.js", "/../app_test.go"} {
		if code, _ := get(t, c, srv.URL+path); code != 404 {
			t.Errorf("GET %s: %d; want 404", path, code)
		}
	}
	resp, err := http.Get(srv.URL + "/centrifugo/connect")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// Only POST reaches the handler; GET looks for a static file.
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /centrifugo/connect: %s; want 404", resp.Status)
	}
}

func TestCheckFilesNamesWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	err := checkFiles(dir, pageApp)
	if err == nil || !strings.Contains(err.Error(), "login.html") {
		t.Fatalf("checkFiles on an empty dir: %v", err)
	}
}
