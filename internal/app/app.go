// Package app wires Herald together: config -> engines -> node -> sessions
// -> HTTP listeners, and tears it down in reverse order on shutdown.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/api"
	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/channel"
	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/engine/memory"
	"github.com/heraldhq/herald/internal/engine/redis"
	"github.com/heraldhq/herald/internal/hub"
	"github.com/heraldhq/herald/internal/node"
	"github.com/heraldhq/herald/internal/session"
	"github.com/heraldhq/herald/internal/transport"
	"github.com/heraldhq/herald/internal/transport/websocket"
)

// App is a configured Herald server.
type App struct {
	cfg     *config.Config
	version string
	log     *slog.Logger
	logger  *slog.Logger // the root logger, for components
	rules   *channel.Rules

	broker   engine.Broker
	presence engine.PresenceManager
	// shards are the Redis connections of the redis engine, nil otherwise;
	// they outlive the broker and presence manager that use them.
	shards   *redis.Shards
	node     *node.Node
	sessions *session.Manager
	proxies  *proxySet

	servers []*http.Server
	// Addrs holds the bound address of each listener, external first.
	addrs []net.Addr
}

// New builds an App from a validated config.
func New(cfg *config.Config, version string, logger *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, version: version, log: logger.With("component", "app"),
		logger: logger}

	rules, err := channel.NewRules(cfg.Channel)
	if err != nil {
		return nil, fmt.Errorf("app: channel rules: %w", err)
	}
	a.rules = rules
	verifier, err := NewVerifier(cfg, logger)
	if err != nil {
		return nil, err
	}
	if err := a.newEngines(); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		// Nothing has started yet: only the connections need closing.
		if !ok && a.shards != nil {
			a.shards.Close()
		}
	}()

	h := hub.New(session.Encoders())
	a.node = node.New(node.Config{
		Name:     nodeName(cfg),
		Version:  version,
		Broker:   a.broker,
		Presence: a.presence,
		Hub:      h,
		Logger:   logger,
	})
	ps, proxies, err := newProxies(cfg, logger)
	if err != nil {
		return nil, err
	}
	a.proxies = ps
	scfg := sessionConfig(cfg, a.node, rules, verifier, logger)
	scfg.Proxies = proxies
	a.sessions = session.NewManager(scfg)
	a.node.SetLocal(a.sessions)
	ok = true
	return a, nil
}

func (a *App) newEngines() error {
	switch t := a.cfg.Engine.Type; t {
	case "", "memory":
		a.broker = memory.NewBroker(memory.Config{})
		a.presence = memory.NewPresenceManager(memory.Config{})
		return nil
	case "redis":
		return a.newRedisEngine()
	default:
		return fmt.Errorf("app: engine %q is not available in this build", t)
	}
}

// newRedisEngine connects to the engine.redis shards and builds the broker
// and presence manager on them. The connection is checked here, so that a
// node with an unreachable Redis fails at start rather than on first use.
func (a *App) newRedisEngine() error {
	rc := a.cfg.Engine.Redis
	// Connect dials each shard (bounded by the connect timeout) and pings
	// it (bounded by ctx): allow both for every shard.
	n := max(len(rc.Address), 1)
	timeout := time.Duration(n) * (rc.ConnectTimeout + rc.IOTimeout)
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	shards, err := redis.Connect(ctx, rc.Redis)
	if err != nil {
		return fmt.Errorf("app: redis engine: %w", err)
	}
	a.shards = shards
	a.broker = redis.NewBroker(shards, redis.BrokerConfig{
		Prefix: rc.Prefix,
		Logger: a.logger,
	})
	a.presence = redis.NewPresenceManager(shards, redis.PresenceConfig{
		Prefix: rc.Prefix,
		TTL:    rc.PresenceTTL,
	})
	a.log.Info("redis engine", "shards", len(shards.All()), "prefix", rc.Prefix)
	return nil
}

// NewVerifier builds the connection token verifier from config; it returns
// nil when no key is configured.
func NewVerifier(cfg *config.Config, logger *slog.Logger) (*auth.Verifier, error) {
	t := cfg.Client.Token
	if t.HMACSecretKey == "" && t.RSAPublicKey == "" && t.ECDSAPublicKey == "" &&
		t.JWKSPublicEndpoint == "" {
		return nil, nil
	}
	v, err := auth.NewVerifier(auth.Config{
		HMACSecretKey:      t.HMACSecretKey,
		RSAPublicKey:       t.RSAPublicKey,
		ECDSAPublicKey:     t.ECDSAPublicKey,
		JWKSPublicEndpoint: t.JWKSPublicEndpoint,
		Audience:           t.Audience,
		Issuer:             t.Issuer,
		AudienceRegex:      t.AudienceRegex,
		IssuerRegex:        t.IssuerRegex,
		UserIDClaim:        t.UserIDClaim,
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("app: client.token: %w", err)
	}
	return v, nil
}

func nodeName(cfg *config.Config) string {
	if cfg.Node.Name != "" {
		return cfg.Node.Name
	}
	host, _ := os.Hostname()
	return host + "_" + strconv.Itoa(cfg.HTTPServer.Port)
}

func sessionConfig(cfg *config.Config, n *node.Node, rules *channel.Rules,
	v *auth.Verifier, logger *slog.Logger) session.Config {
	c := &cfg.Client
	return session.Config{
		Node:                     n,
		Rules:                    rules,
		Verifier:                 v,
		Logger:                   logger,
		Insecure:                 c.Insecure,
		AllowAnonymous:           c.AllowAnonymousConnectWithoutToken,
		DisallowAnonymousTokens:  c.DisallowAnonymousConnectionTokens,
		PingInterval:             c.PingInterval,
		PongTimeout:              c.PongTimeout,
		StaleCloseDelay:          c.StaleCloseDelay,
		ExpiredCloseDelay:        c.ExpiredCloseDelay,
		ExpiredSubCloseDelay:     c.ExpiredSubCloseDelay,
		PresenceInterval:         c.PresenceUpdateInterval,
		ChannelLimit:             c.ChannelLimit,
		UserConnectionLimit:      c.UserConnectionLimit,
		ConnectionLimit:          c.ConnectionLimit,
		QueueMaxSize:             c.QueueMaxSize,
		HistoryMaxLimit:          c.HistoryMaxPublicationLimit,
		RecoveryMaxLimit:         c.RecoveryMaxPublicationLimit,
		IncludeServerTime:        c.ConnectIncludeServerTime,
		PersonalChannel:          c.SubscribeToUserPersonalChannel.Enabled,
		PersonalChannelNamespace: c.SubscribeToUserPersonalChannel.PersonalChannelNamespace,
		PersonalSingleConnection: c.SubscribeToUserPersonalChannel.SingleConnection,
	}
}

// Run starts the engines and listeners and serves until ctx is done, then
// drains within the configured shutdown timeout.
func (a *App) Run(ctx context.Context) error {
	if err := a.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()

	timeout := a.cfg.Shutdown.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return a.Shutdown(sctx)
}

// Start starts the engines, the session timers and the HTTP listeners.
func (a *App) Start(ctx context.Context) error {
	if err := a.node.Run(ctx); err != nil {
		return fmt.Errorf("app: start engine: %w", err)
	}
	go a.sessions.Run(context.WithoutCancel(ctx))

	ext, internal := a.muxes()
	if err := a.listen(a.cfg.HTTPServer.ExternalAddr(), ext); err != nil {
		return err
	}
	if internal != nil {
		if err := a.listen(a.cfg.HTTPServer.InternalAddr(), internal); err != nil {
			return err
		}
	}
	return nil
}

// Addrs returns the addresses the listeners bound, external first.
func (a *App) Addrs() []net.Addr { return a.addrs }

// muxes builds the external handler and, when internal endpoints have a
// listener of their own, the internal one. Either internal key alone is
// enough for that: an unset internal_port is the external port, an unset
// internal_address the external address.
func (a *App) muxes() (ext, internal *http.ServeMux) {
	ext = http.NewServeMux()
	cfg := a.cfg
	if !cfg.WebSocket.Disabled {
		ext.Handle(prefix(cfg.WebSocket.HandlerPrefix, "/connection/websocket"),
			websocket.NewHandler(websocket.Config{
				Sessions:         a.sessions,
				Origins:          transport.NewOriginChecker(cfg.Client.AllowedOrigins),
				Logger:           a.logger,
				MessageSizeLimit: cfg.WebSocket.MessageSizeLimit,
				WriteTimeout:     cfg.WebSocket.WriteTimeout,
				ProxyHeaders:     a.proxies.headers,
			}))
	}

	internal = ext
	separate := cfg.HTTPServer.SeparateInternal()
	if separate {
		internal = http.NewServeMux()
	}
	internal.HandleFunc(prefix(cfg.Health.HandlerPrefix, "/health"), a.serveHealth)
	if cfg.Debug.Enabled {
		a.mountDebug(internal)
	}
	if !cfg.HTTPAPI.Disabled {
		if cfg.HTTPAPI.External {
			a.mountAPI(ext)
		} else {
			a.mountAPI(internal)
		}
	}
	if !separate {
		internal = nil
	}
	return ext, internal
}

// mountAPI serves the server API under http_api.handler_prefix.
func (a *App) mountAPI(mux *http.ServeMux) {
	c := &a.cfg.HTTPAPI
	p := prefix(c.HandlerPrefix, "/api")
	h := api.NewHandler(api.Config{
		Node:               a.node,
		Sessions:           a.sessions,
		Rules:              a.rules,
		Key:                c.Key,
		Insecure:           c.Insecure,
		ErrorModeTransport: c.ErrorMode == "transport",
		Closing:            a.sessions.Closing,
		Logger:             a.logger,
	}, p)
	for _, pattern := range api.Patterns(p) {
		mux.Handle(pattern, h)
	}
}

func prefix(configured, def string) string {
	if configured == "" {
		return def
	}
	return configured
}

func (a *App) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if a.sessions.Closing() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{}`))
		return
	}
	_, _ = w.Write([]byte(`{}`))
}

func (a *App) listen(addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("app: listen: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
	a.servers = append(a.servers, srv)
	a.addrs = append(a.addrs, ln.Addr())
	a.log.Info("listening", "addr", ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server stopped", "error", err)
		}
	}()
	return nil
}

// Shutdown stops accepting connections, tells every client to reconnect,
// waits for sessions to end, then closes the engines.
func (a *App) Shutdown(ctx context.Context) error {
	a.log.Info("shutting down", "clients", a.sessions.NumClients())

	var wg sync.WaitGroup
	for _, srv := range a.servers {
		wg.Go(func() { _ = srv.Shutdown(ctx) })
	}
	err := a.sessions.Shutdown(ctx)
	wg.Wait()

	if delay := a.cfg.Shutdown.TerminationDelay; delay > 0 {
		time.Sleep(delay)
	}
	a.proxies.close()
	// The others drop this node now rather than when its announcements
	// lapse; the broker must still be open for that.
	a.node.Stop(ctx)
	err = errors.Join(err, a.broker.Close(ctx), a.presence.Close(ctx))
	if a.shards != nil {
		a.shards.Close()
	}
	return err
}
