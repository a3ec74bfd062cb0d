package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// newFrontDoor returns the reverse proxy that puts the app and Herald on one
// origin, as the tutorial's nginx server block does: paths under
// /connection go to Herald, WebSocket upgrades included, and everything
// else goes to the app. The browser then sends the app's session cookie on
// its connection to Herald, which forwards it to the connect proxy.
func newFrontDoor(app, herald *url.URL) http.Handler {
	toApp := &httputil.ReverseProxy{
		Rewrite:      rewriteTo(app),
		ErrorHandler: proxyError("app"),
	}
	toHerald := &httputil.ReverseProxy{
		Rewrite: rewriteTo(herald),
		// Streaming transports must not wait for a buffer to fill.
		FlushInterval: -1,
		ErrorHandler:  proxyError("herald"),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isConnectionPath(r.URL.Path) {
			toHerald.ServeHTTP(w, r)
			return
		}
		toApp.ServeHTTP(w, r)
	})
}

// isConnectionPath reports whether path belongs to Herald: the nginx block's
// "location /connection" prefix.
func isConnectionPath(path string) bool {
	return strings.HasPrefix(path, "/connection")
}

// rewriteTo returns a Rewrite function that sends a request to target and
// sets the headers of the nginx block: the client's Host, X-Real-IP, and
// X-Forwarded-For with the client's address appended (plus
// X-Forwarded-Host and X-Forwarded-Proto). httputil.ReverseProxy removes
// hop-by-hop headers but keeps Upgrade and Connection for upgrades.
func rewriteTo(target *url.URL) func(*httputil.ProxyRequest) {
	return func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host
		// $proxy_add_x_forwarded_for: the incoming list plus the client.
		pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
		pr.SetXForwarded()
		if ip, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
			pr.Out.Header.Set("X-Real-IP", ip)
		}
	}
}

// proxyError answers 502 when an upstream cannot be reached. A client that
// went away is not worth a warning.
func proxyError(upstream string) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		if errors.Is(err, context.Canceled) {
			slog.Debug("front door: client gone", "upstream", upstream,
				"path", r.URL.Path)
			return
		}
		slog.Warn("front door: upstream failed", "upstream", upstream,
			"path", r.URL.Path, "err", err)
		w.WriteHeader(http.StatusBadGateway)
	}
}
