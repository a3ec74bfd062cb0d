package admin

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Config holds what the admin interface needs.
type Config struct {
	// Password logs in to the UI; Secret signs the session tokens that a
	// login hands out. Logins fail while either is empty, unless Insecure.
	Password string
	Secret   string
	// Insecure turns authentication off: every request is let in. Anyone
	// who reaches the endpoint can then run every server API command.
	Insecure bool
	// WebPath, when set, is a directory whose files are served as the UI
	// instead of the embedded one.
	WebPath string
	// API runs the commands of POST <prefix>/admin/api: a handler of the
	// server API's legacy {"method", "params"} body that asks for no key,
	// such as the one of api.NewCommandHandler.
	API http.Handler
	// Logger receives the interface's logs, under component=admin; nil
	// means slog.Default().
	Logger *slog.Logger
	// Prefix is the URL path under which everything is served
	// (admin.handler_prefix); "" serves the UI at /.
	Prefix string
}

// Handler serves the admin UI and its endpoints. It is safe for concurrent
// use.
type Handler struct {
	cfg      Config
	log      *slog.Logger
	secret   []byte
	password []byte
	prefix   string
	static   *static

	// now is the clock of tokens, and failDelay how long a wrong password
	// waits for its answer; tests set both.
	now       func() time.Time
	failDelay time.Duration
}

// failDelay slows password guessing down: each wrong password costs its
// sender about a second.
const failDelay = time.Second

// New returns the admin handler for cfg. Mount it under [Handler.Pattern].
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("component", "admin")
	h := &Handler{
		cfg:       cfg,
		log:       log,
		secret:    []byte(cfg.Secret),
		password:  []byte(cfg.Password),
		prefix:    normalizePrefix(cfg.Prefix),
		now:       time.Now,
		failDelay: failDelay,
	}
	h.static = newStatic(cfg.WebPath, log)
	return h
}

// normalizePrefix trims trailing slashes and makes the prefix absolute.
func normalizePrefix(p string) string {
	p = strings.TrimRight(p, "/")
	if p != "" && p[0] != '/' {
		p = "/" + p
	}
	return p
}

// Pattern returns the http.ServeMux pattern to register the handler under:
// the subtree of the prefix. The mux then redirects the bare prefix to it,
// so that the UI's relative URLs resolve below the prefix.
func (h *Handler) Pattern() string {
	return h.prefix + "/"
}

// ServeHTTP implements [http.Handler].
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, h.prefix)
	if !ok || !strings.HasPrefix(path, "/") {
		http.NotFound(w, r)
		return
	}

	switch path {
	case "/admin/auth":
		h.serveAuth(w, r)
	case "/admin/api":
		h.serveAPI(w, r)
	case "/admin/settings":
		h.serveSettings(w, r, false)
	case "/admin/init":
		h.serveSettings(w, r, true)
	default:
		h.serveStatic(w, r, path)
	}
}

// serveSettings tells the UI, before it shows anything, whether it needs a
// login (settings) and, for init, whether the token it holds is good.
func (h *Handler) serveSettings(w http.ResponseWriter, r *http.Request, withAuth bool) {
	if !allowGet(w, r) {
		return
	}

	v := map[string]any{"insecure": h.cfg.Insecure, "edition": "oss"}
	if withAuth {
		v["authenticated"] = h.cfg.Insecure || h.tokenValid(r)
	}
	writeJSON(w, v)
}

// allowGet answers 405 to anything but GET and HEAD.
func allowGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	w.WriteHeader(http.StatusMethodNotAllowed)
	return false
}

// writeJSON answers v as JSON that no cache keeps: these answers depend on
// who asks.
func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}
