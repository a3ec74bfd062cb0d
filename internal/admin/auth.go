package admin

import (
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// maxAuthBody caps a login request: a password form needs far less, and
// the cap keeps a multipart body from spooling to disk.
const maxAuthBody = 1 << 20

// serveAuth serves POST <prefix>/admin/auth: the form field password in
// exchange for {"token": "..."}.
func (h *Handler) serveAuth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if h.cfg.Insecure {
		// No token is checked in insecure mode; older UIs read this value
		// as "do not send one".
		writeJSON(w, map[string]string{"token": insecureToken})
		return
	}

	password, ok := h.readPassword(w, r)
	if !ok {
		return
	}
	if len(h.password) == 0 || len(h.secret) == 0 {
		h.log.Warn("admin login refused: admin.password and admin.secret must "+
			"both be set", "remote", r.RemoteAddr)
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	if subtle.ConstantTimeCompare(h.password, []byte(password)) != 1 {
		h.refuse(w, r)
		return
	}

	token, err := issueToken(h.secret, h.now())
	if err != nil {
		h.log.Error("admin login failed", "error", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	h.log.Info("admin login", "remote", r.RemoteAddr)
	writeJSON(w, map[string]string{"token": token})
}

// readPassword reads the password field of a multipart or urlencoded form.
// On failure it answers the request and returns false.
func (h *Handler) readPassword(w http.ResponseWriter, r *http.Request) (string, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxAuthBody)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		// The whole cap fits in memory, so nothing goes to temporary files.
		err = r.ParseMultipartForm(maxAuthBody)
	} else {
		err = r.ParseForm()
	}
	if err == nil {
		return r.PostFormValue("password"), true
	}

	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		http.Error(w, "Request Entity Too Large", http.StatusRequestEntityTooLarge)
		return "", false
	}
	h.log.Debug("admin login form unreadable", "remote", r.RemoteAddr, "error", err)
	http.Error(w, "Bad Request", http.StatusBadRequest)
	return "", false
}

// refuse answers a wrong password after failDelay, or sooner if the client
// gives up waiting.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request) {
	// The password itself is never logged: it may be a real one mistyped.
	h.log.Warn("admin login failed: wrong password", "remote", r.RemoteAddr)

	t := time.NewTimer(h.failDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		return
	}
	http.Error(w, "Bad Request", http.StatusBadRequest)
}

// serveAPI serves POST <prefix>/admin/api: one or more server API commands
// of an authenticated session, run by the configured API handler.
func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if !h.cfg.Insecure && !h.authorized(r) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if h.cfg.API == nil {
		http.Error(w, "Service Unavailable: the server API is not available",
			http.StatusServiceUnavailable)
		return
	}

	w.Header().Set("Cache-Control", "no-store")
	h.cfg.API.ServeHTTP(w, r)
}

// authorized checks the session token of an API request, logging why it is
// refused. Tokens are taken from the Authorization header only: a token in
// the URL would end up in access logs and browser history.
func (h *Handler) authorized(r *http.Request) bool {
	t, ok := headerToken(r)
	if !ok {
		h.log.Debug("admin request without a session token", "remote", r.RemoteAddr)
		return false
	}
	if err := verifyToken(h.secret, t, h.now()); err != nil {
		level := slog.LevelDebug
		if errors.Is(err, errNoSecret) {
			level = slog.LevelWarn
		}
		h.log.Log(r.Context(), level, "admin request refused", "remote", r.RemoteAddr,
			"error", err)
		return false
	}
	return true
}

// tokenValid reports whether r carries a good session token, quietly: the
// UI asks this before every login.
func (h *Handler) tokenValid(r *http.Request) bool {
	t, ok := headerToken(r)
	return ok && verifyToken(h.secret, t, h.now()) == nil
}

// headerToken returns the token of an "Authorization: token <t>" header:
// the scheme in any case, exactly two fields.
func headerToken(r *http.Request) (string, bool) {
	f := strings.Fields(r.Header.Get("Authorization"))
	if len(f) != 2 || !strings.EqualFold(f[0], "token") {
		return "", false
	}
	return f[1], true
}
