package app

import (
	"net/http"
	"net/url"

	"github.com/heraldhq/herald/internal/admin"
	"github.com/heraldhq/herald/internal/api"
)

// mountAdmin serves the admin web UI and its endpoints under
// admin.handler_prefix.
func (a *App) mountAdmin(mux *http.ServeMux) {
	c := &a.cfg.Admin
	// The UI runs server API commands on behalf of a logged-in admin, so
	// its API handler asks for no key of its own.
	cmds := api.NewCommandHandler(api.Config{
		Node:     a.node,
		Sessions: a.sessions,
		Rules:    a.rules,
		Closing:  a.sessions.Closing,
		Logger:   a.logger,
	})
	h := admin.New(admin.Config{
		Password: c.Password,
		Secret:   c.Secret,
		Insecure: c.Insecure,
		WebPath:  c.WebPath,
		API:      cmds,
		Logger:   a.logger,
		Prefix:   c.HandlerPrefix,
	})

	pattern := h.Pattern()
	if taken(mux, pattern) {
		// Registering twice would panic; the likely cause is the API on an
		// empty prefix on the same port.
		a.log.Error("admin web interface not mounted: its path is taken by "+
			"another endpoint; set admin.handler_prefix", "path", pattern)
		return
	}
	mux.Handle(pattern, h)

	if c.WebProxyAddress != "" {
		a.log.Warn("admin option ignored: the UI is served from admin.web_path "+
			"or the built-in files", "key", "admin.web_proxy_address")
	}
	if c.Insecure {
		a.log.Warn("admin web interface is insecure: anyone who reaches it can " +
			"run every server API command")
	}
	ui := "built-in"
	if c.WebPath != "" {
		ui = c.WebPath
	}
	a.log.Info("admin web interface", "path", pattern, "insecure", c.Insecure, "ui", ui)
}

// taken reports whether mux already has a handler registered for exactly
// pattern.
func taken(mux *http.ServeMux, pattern string) bool {
	r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: pattern}}
	_, got := mux.Handler(r)
	return got == pattern
}
