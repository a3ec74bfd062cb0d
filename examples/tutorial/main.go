// Command tutorial is the application of Herald's tutorial: a web app with a
// login form and a cookie session, whose users connect to Herald through the
// app's connect proxy handler and receive the server time on their personal
// channel every few seconds.
//
// It serves the pages on -addr (default :3000) and publishes to Herald's
// server API at -herald-url. With -front it also runs the front door, a
// reverse proxy that puts the app and Herald's /connection endpoints on one
// origin so that the browser sends the session cookie to Herald. With
// -start-herald it starts Herald itself as a child process, which is what
// `make tutorial` does:
//
//	bin/herald-tutorial -dir examples/tutorial -front :9000 \
//		-start-herald bin/herald -herald-config examples/tutorial/config.json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// options are the command-line settings of the tutorial binary.
type options struct {
	addr         string        // listen address of the app
	front        string        // listen address of the front door; "" = none
	dir          string        // directory with views/, static/, node_modules/
	page         string        // "app" (centrifuge-js 5) or "seed" (2.8.3)
	heraldURL    string        // Herald's base URL (API and /connection)
	apiKey       string        // Herald's server API key
	interval     time.Duration // time between two publications
	startHerald  string        // Herald binary to start as a child; "" = none
	heraldConfig string        // config file for that child
	logLevel     slog.Level
}

// parseOptions reads the command line; output gets usage and errors.
func parseOptions(args []string, output io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("herald-tutorial", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&o.addr, "addr", ":3000", "listen address of the app")
	fs.StringVar(&o.front, "front", "",
		"listen address of the front door (e.g. :9000); empty: no front door")
	fs.StringVar(&o.dir, "dir", ".",
		"directory holding views/, static/ and node_modules/")
	fs.StringVar(&o.page, "page", pageApp,
		`page for logged-in users: "app" (centrifuge-js 5) or "seed" `+
			"(the tutorial's page with centrifuge-js 2.8.3)")
	fs.StringVar(&o.heraldURL, "herald-url", "http://localhost:8000",
		"Herald's base URL: server API at /api, clients at /connection")
	fs.StringVar(&o.apiKey, "api-key", "my_api_key", "Herald's server API key")
	fs.DurationVar(&o.interval, "interval", 5*time.Second,
		"time between two publications of the server time")
	fs.StringVar(&o.startHerald, "start-herald", "",
		"path of a Herald binary to start as a child process; empty: none")
	fs.StringVar(&o.heraldConfig, "herald-config", "config.json",
		"config file of the Herald started with -start-herald")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo,
		"log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s",
			strings.Join(fs.Args(), " "))
	}
	if o.page != pageApp && o.page != pageSeed {
		return o, fmt.Errorf("-page %q: want %q or %q", o.page, pageApp, pageSeed)
	}
	if o.interval <= 0 {
		return o, fmt.Errorf("-interval %s: must be positive", o.interval)
	}
	if _, err := parseBaseURL(o.heraldURL); err != nil {
		return o, fmt.Errorf("-herald-url: %w", err)
	}
	return o, nil
}

// parseBaseURL parses an http(s) URL without a path beyond "/".
func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL", s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

func main() {
	o, err := parseOptions(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "herald-tutorial:", err)
		os.Exit(2)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr,
		&slog.HandlerOptions{Level: o.logLevel})))
	ctx, stop := signal.NotifyContext(context.Background(),
		os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		slog.Error("tutorial stopped", "err", err)
		stop()
		os.Exit(1)
	}
}

// run serves the app (and the front door and Herald when asked) until ctx
// ends or one of them fails. The banner for the user goes to out.
func run(parent context.Context, o options, out io.Writer) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)

	herald, err := parseBaseURL(o.heraldURL)
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	if err := checkFiles(dir, o.page); err != nil {
		return err
	}

	// Listen first: a busy port fails before anything is started.
	appLn, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	defer appLn.Close()
	var frontLn net.Listener
	if o.front != "" {
		if frontLn, err = net.Listen("tcp", o.front); err != nil {
			return fmt.Errorf("front door: %w", err)
		}
		defer frontLn.Close()
	}

	if o.startHerald != "" {
		h, err := startHerald(o.startHerald, o.heraldConfig)
		if err != nil {
			return err
		}
		defer h.stop()
		go func() { cancel(h.wait()) }()
		if err := waitHealthy(ctx, herald, 15*time.Second); err != nil {
			return err
		}
	}

	sessions := newSessionStore(sessionTTL)
	app := newApp(appConfig{dir: dir, page: o.page, sessions: sessions})
	servers := []*http.Server{newServer(logRequests("app", app))}
	serve(ctx, cancel, servers[0], appLn, "app")
	slog.Info("app listening", "addr", appLn.Addr().String(), "page", o.page)

	if frontLn != nil {
		fd := newFrontDoor(upstreamURL(appLn.Addr()), herald)
		servers = append(servers, newServer(fd))
		serve(ctx, cancel, servers[1], frontLn, "front door")
		slog.Info("front door listening", "addr", frontLn.Addr().String(),
			"herald", herald.String())
		fmt.Fprintf(out, "open http://localhost:%d\n", listenPort(frontLn))
	}

	p := &publisher{
		client:   &http.Client{Timeout: 5 * time.Second},
		url:      herald.String() + "/api",
		apiKey:   o.apiKey,
		channel:  "#" + demoUser,
		interval: o.interval,
	}
	go p.run(ctx)

	<-ctx.Done()
	shutdownCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	for _, s := range servers {
		_ = s.Shutdown(shutdownCtx)
	}
	if parent.Err() == nil {
		return context.Cause(ctx) // a server or Herald failed
	}
	slog.Info("stopped")
	return nil
}

// newServer returns an HTTP server for h with the tutorial's timeouts. It
// sets no write timeout: WebSocket connections pass through the front door.
func newServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
}

// serve runs s on ln in the background; a failure cancels ctx.
func serve(ctx context.Context, cancel context.CancelCauseFunc, s *http.Server,
	ln net.Listener, name string) {
	s.BaseContext = func(net.Listener) context.Context { return ctx }
	go func() {
		if err := s.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			cancel(fmt.Errorf("%s: %w", name, err))
		}
	}()
}

// upstreamURL is the URL at which the front door reaches a local listener:
// a wildcard address becomes localhost.
func upstreamURL(addr net.Addr) *url.URL {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return &url.URL{Scheme: "http", Host: addr.String()}
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return &url.URL{Scheme: "http", Host: net.JoinHostPort(host, port)}
}

// listenPort is the TCP port of ln.
func listenPort(ln net.Listener) int {
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}
