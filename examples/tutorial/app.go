package main

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// The tutorial's only account. A real app checks a user database instead.
const (
	demoUser     = "demo-user"
	demoPassword = "demo-pass"
)

// The pages that -page selects for logged-in users.
const (
	pageApp  = "app"  // views/app.html: centrifuge-js 5
	pageSeed = "seed" // views/seed/app.html: the tutorial's page, 2.8.3
)

// vendorFiles maps the served paths of the browser SDKs to their files in
// the app directory, installed there by `npm ci` (package.json).
var vendorFiles = map[string]string{
	"/vendor/centrifuge.js": "node_modules/centrifuge/dist/centrifuge.js",
	"/vendor/centrifuge-2.8.3.min.js": "node_modules/centrifuge-legacy/dist/" +
		"centrifuge.min.js",
}

// appConfig is what the app's handlers need.
type appConfig struct {
	dir      string // holds views/, static/ and node_modules/
	page     string // pageApp or pageSeed
	sessions *sessionStore
}

// pageFile returns the file served at / to a logged-in user.
func (c appConfig) pageFile() string {
	if c.page == pageSeed {
		return filepath.Join(c.dir, "views", "seed", "app.html")
	}
	return filepath.Join(c.dir, "views", "app.html")
}

// checkFiles reports the first file that the app needs and cannot read, with
// a hint on how to get it.
func checkFiles(dir, page string) error {
	c := appConfig{dir: dir, page: page}
	need := []string{filepath.Join(dir, "views", "login.html"), c.pageFile()}
	for _, f := range need {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%w (is -dir the tutorial's directory?)", err)
		}
	}
	for _, f := range vendorFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return fmt.Errorf("%w (run npm ci in %s)", err, dir)
		}
	}
	return nil
}

// newApp returns the app's routes:
//
//	GET  /                    the login form, or the app page when logged in
//	POST /login               log in (form fields username and password)
//	GET  /logout              log out
//	POST /centrifugo/connect  Herald's connect proxy
//	GET  /vendor/...          the browser SDKs from node_modules
//	GET  /...                 files under static/
func newApp(c appConfig) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", c.index)
	mux.HandleFunc("POST /login", c.login)
	mux.HandleFunc("GET /logout", c.logout)
	mux.HandleFunc("POST /centrifugo/connect", c.connect)
	for path, file := range vendorFiles {
		file := filepath.Join(c.dir, file)
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			http.ServeFile(w, r, file)
		})
	}
	mux.Handle("GET /", staticFiles(filepath.Join(c.dir, "static")))
	return mux
}

// index serves the app page to a logged-in user and the login form to
// anyone else. The answer depends on the cookie, so it is never cached.
func (c appConfig) index(w http.ResponseWriter, r *http.Request) {
	file := filepath.Join(c.dir, "views", "login.html")
	if _, ok := c.sessions.requestUser(r); ok {
		file = c.pageFile()
	}
	body, err := os.ReadFile(file)
	if err != nil {
		slog.Error("read page", "err", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Cookie")
	_, _ = w.Write(body)
}

// login checks the form's credentials, starts a session and sends the
// browser back to /.
func (c appConfig) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	user, pass := r.PostFormValue("username"), r.PostFormValue("password")
	if !credentialsOK(user, pass) {
		slog.Info("login refused", "username", user)
		http.Error(w, "Invalid username or password", http.StatusUnauthorized)
		return
	}
	http.SetCookie(w, sessionCookieFor(c.sessions.create(user), c.sessions.ttl))
	slog.Info("login", "user", user)
	http.Redirect(w, r, "/", http.StatusFound)
}

// credentialsOK compares in constant time, as a real check would.
func credentialsOK(user, pass string) bool {
	u := subtle.ConstantTimeCompare([]byte(user), []byte(demoUser))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(demoPassword))
	return u&p == 1
}

// logout ends the session and sends the browser back to /.
func (c appConfig) logout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if user, ok := c.sessions.user(ck.Value); ok {
			slog.Info("logout", "user", user)
		}
		c.sessions.destroy(ck.Value)
	}
	http.SetCookie(w, expiredSessionCookie())
	http.Redirect(w, r, "/", http.StatusFound)
}

// connectResult is the connect proxy's answer that accepts a connection as
// user; Herald then subscribes it to the user's personal channel.
type connectResult struct {
	Result struct {
		User string `json:"user"`
	} `json:"result"`
}

// connectDisconnect is the connect proxy's answer that refuses a connection.
type connectDisconnect struct {
	Disconnect struct {
		Code      int    `json:"code"`
		Reason    string `json:"reason"`
		Reconnect bool   `json:"reconnect"`
	} `json:"disconnect"`
}

// connect is the connect proxy handler. Herald calls it when a client
// connects without a token, forwarding the Cookie header of the client's
// connection request, so the session tells who the client is.
func (c appConfig) connect(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Client    string `json:"client"`
		Transport string `json:"transport"`
	}
	// The body only adds detail to the log; the cookie decides.
	_ = json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req)

	var answer any
	if user, ok := c.sessions.requestUser(r); ok {
		var res connectResult
		res.Result.User = user
		answer = res
		slog.Info("connect proxy accepted", "user", user, "client", req.Client,
			"transport", req.Transport)
	} else {
		var res connectDisconnect
		res.Disconnect.Code = 1000
		res.Disconnect.Reason = "unauthorized"
		answer = res
		slog.Info("connect proxy refused", "client", req.Client,
			"transport", req.Transport)
	}
	body, err := json.Marshal(answer)
	if err != nil {
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// staticFiles serves the files under dir, without directory listings.
func staticFiles(dir string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}
