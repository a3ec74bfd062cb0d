// Package app wires Herald together: config -> engines -> node -> sessions
// -> HTTP listeners, and tears it down in reverse order on shutdown.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/internal/api"
	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/channel"
	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/engine/memory"
	"github.com/heraldhq/herald/internal/engine/nats"
	"github.com/heraldhq/herald/internal/engine/redis"
	"github.com/heraldhq/herald/internal/hub"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/node"
	"github.com/heraldhq/herald/internal/session"
	"github.com/heraldhq/herald/internal/transport"
	"github.com/heraldhq/herald/internal/transport/httpstream"
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
	// redis holds the Redis connections of the broker and presence manager;
	// they outlive the broker and presence manager that use them.
	redis    redisConns
	node     *node.Node
	sessions *session.Manager
	proxies  *proxySet
	metrics  *metrics.Metrics

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
	ok := false
	defer func() {
		// Nothing has started yet: only the connections need closing.
		if !ok {
			a.redis.close()
		}
	}()
	if err := a.newEngines(); err != nil {
		return nil, err
	}

	a.metrics = metrics.New(metrics.Config{Version: version, Logger: logger,
		AggregateInterval: cfg.Node.InfoMetricsAggregateInterval})
	h := hub.New(session.Encoders())
	h.SetMetrics(a.metrics)
	ncfg := node.Config{
		Name:     nodeName(cfg),
		Version:  version,
		Broker:   a.broker,
		Presence: a.presence,
		Hub:      h,
		Logger:   logger,
		Metrics:  a.metrics,
	}
	if _, inMemory := a.broker.(*memory.Broker); !inMemory {
		// Only a broker between nodes can lose a publication on its way
		// to this one.
		ncfg.PositionCheckDelay = cfg.Client.ChannelPositionCheckDelay
	}
	a.node = node.New(ncfg)
	ps, proxies, err := newProxies(cfg, logger)
	if err != nil {
		return nil, err
	}
	a.proxies = ps
	for _, px := range ps.all {
		px.SetMetrics(a.metrics)
	}
	scfg := sessionConfig(cfg, a.node, rules, verifier, logger)
	scfg.Proxies = proxies
	scfg.Metrics = a.metrics
	a.sessions = session.NewManager(scfg)
	a.node.SetLocal(a.sessions)
	a.metrics.SetSource(a.node)
	ok = true
	return a, nil
}

// newEngines builds the broker and the presence manager. Each comes from
// its own section (broker, presence_manager) when that is enabled and from
// the engine otherwise, so that PUB/SUB and history may live in one place
// and presence in another.
func (a *App) newEngines() error {
	b, err := a.newBroker()
	if err != nil {
		return err
	}
	p, err := a.newPresence()
	if err != nil {
		return err
	}
	a.broker, a.presence = b, p
	return nil
}

// unavailable is the error for an engine type this build cannot run.
func unavailable(section, kind string) error {
	return fmt.Errorf("app: %s %q is not available in this build", section, kind)
}

func (a *App) newBroker() (engine.Broker, error) {
	e := &a.cfg.Engine
	section, kind, rc := "engine", e.Type, e.Redis.Redis
	lists := e.Redis.HistoryUseLists
	if b := &a.cfg.Broker; b.Enabled {
		section, kind, rc = "broker", b.Type, b.Redis.Redis
		lists = b.Redis.HistoryUseLists
	}

	switch kind {
	case "", "memory":
		return memory.NewBroker(memory.Config{}), nil
	case "redis":
	case "nats":
		return a.newNATSBroker()
	default:
		return nil, unavailable(section, kind)
	}

	key := section + ".redis"
	if lists {
		a.log.Warn("redis option ignored: history is always kept in Redis streams",
			"key", key+".history_use_lists")
	}
	a.log.Info("redis broker", "section", key, "prefix", rc.Prefix)
	return a.redisBroker(key, rc)
}

func (a *App) redisBroker(key string, rc config.Redis) (*redis.Broker, error) {
	shards, err := a.redis.get(key, rc, a.log)
	if err != nil {
		return nil, err
	}
	return redis.NewBroker(shards, redis.BrokerConfig{
		Prefix:     rc.Prefix,
		Logger:     a.logger,
		Partitions: rc.ShardedPubSubPartitions,
	}), nil
}

// newNATSBroker builds the NATS broker. NATS carries messages only, so
// history lives beside it: in the engine's Redis when the engine is Redis,
// shared by every node, otherwise in this node's memory, which serves a
// single node only.
func (a *App) newNATSBroker() (engine.Broker, error) {
	nc := a.cfg.Broker.NATS
	tlsCfg, err := config.ClientTLS(nc.TLS)
	if err != nil {
		return nil, fmt.Errorf("app: broker.nats.tls: %w", err)
	}
	var opts []natsgo.Option
	if tlsCfg != nil {
		opts = append(opts, natsgo.Secure(tlsCfg))
	}

	var store engine.HistoryStore = memory.NewBroker(memory.Config{})
	where := "memory"
	if a.cfg.Engine.Type == "redis" {
		rb, err := a.redisBroker("engine.redis", a.cfg.Engine.Redis.Redis)
		if err != nil {
			return nil, err
		}
		store, where = rb, "redis"
	}
	a.log.Info("nats broker", "url", nc.URL, "prefix", nc.Prefix, "history", where)
	if where == "memory" {
		a.log.Info("history and presence are this node's own with the memory " +
			"engine: channels with history need engine redis on several nodes")
	}
	return nats.New(nats.Config{
		URL:          nc.URL,
		Prefix:       nc.Prefix,
		DialTimeout:  nc.DialTimeout,
		WriteTimeout: nc.WriteTimeout,
		Name:         "herald " + nodeName(a.cfg),
		History:      store,
		Logger:       a.logger,
		Options:      opts,
	}), nil
}

func (a *App) newPresence() (engine.PresenceManager, error) {
	e := &a.cfg.Engine
	section, kind := "engine", e.Type
	// The engine's presence settings, in the shape of the standalone
	// section's, so that both take the same path below.
	pc := config.RedisPresenceManager{
		Redis:                e.Redis.Redis,
		PresenceTTL:          e.Redis.PresenceTTL,
		PresenceHashFieldTTL: e.Redis.PresenceHashFieldTTL,
		PresenceUserMapping:  e.Redis.PresenceUserMapping,
	}
	if p := &a.cfg.PresenceManager; p.Enabled {
		section, kind, pc = "presence_manager", p.Type, p.Redis
	}

	switch kind {
	case "", "memory":
		return memory.NewPresenceManager(memory.Config{}), nil
	case "redis":
	default:
		return nil, unavailable(section, kind)
	}

	key := section + ".redis"
	shards, err := a.redis.get(key, pc.Redis, a.log)
	if err != nil {
		return nil, err
	}
	a.warnPresence(key, &pc)
	a.log.Info("redis presence manager", "section", key, "prefix", pc.Prefix,
		"ttl", pc.PresenceTTL)
	// Sessions refresh their entries once per ping interval (or presence
	// update interval without pings): a TTL at or below it lets live
	// clients drop out of presence between refreshes.
	refresh := a.cfg.Client.PingInterval
	if refresh <= 0 {
		refresh = a.cfg.Client.PresenceUpdateInterval
	}
	if ttl := pc.PresenceTTL; ttl > 0 && ttl <= refresh {
		a.log.Warn("presence_ttl is not longer than the presence refresh period: "+
			"present clients will flicker out of presence", "key", key+".presence_ttl",
			"ttl", ttl, "refresh", refresh)
	}
	return redis.NewPresenceManager(shards, redis.PresenceConfig{
		Prefix: pc.Prefix,
		TTL:    pc.PresenceTTL,
	}), nil
}

// warnPresence reports the presence options that Herald's Redis presence
// has no use for: it always expires entries through a sorted set of
// deadlines, and always keeps the user of each entry for the stats.
func (a *App) warnPresence(key string, pc *config.RedisPresenceManager) {
	if pc.PresenceHashFieldTTL {
		a.log.Warn("redis option ignored: presence entries expire through "+
			"a sorted set of deadlines", "key", key+".presence_hash_field_ttl")
	}
	if pc.PresenceUserMapping {
		a.log.Warn("redis option ignored: presence always keeps a user map "+
			"for its stats", "key", key+".presence_user_mapping")
	}
}

// redisConns holds one connection set per distinct Redis connection
// setting, so that sections naming the same deployment share connections
// and sections naming different ones get their own.
type redisConns struct {
	cfgs   []config.Redis
	shards []*redis.Shards
}

// get returns the connections for rc, connecting on first use. The
// connection is checked here, so that a node with an unreachable Redis
// fails at start rather than on first use. key names the section in errors.
func (rs *redisConns) get(key string, rc config.Redis, log *slog.Logger) (
	*redis.Shards, error) {
	for i, c := range rs.cfgs {
		if sameConnection(c, rc) {
			return rs.shards[i], nil
		}
	}

	// Connect dials each shard (bounded by the connect timeout) and pings
	// it (bounded by ctx): allow both for every shard.
	n := max(len(rc.Address), 1)
	timeout := time.Duration(n) * (rc.ConnectTimeout + rc.IOTimeout)
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	shards, err := redis.Connect(ctx, rc)
	if err != nil {
		return nil, fmt.Errorf("app: %s: %w", key, err)
	}

	rs.cfgs = append(rs.cfgs, rc)
	rs.shards = append(rs.shards, shards)
	log.Info("redis connected", "section", key, "shards", len(shards.All()),
		"cluster", shards.Cluster())
	return shards, nil
}

// close closes every connection set.
func (rs *redisConns) close() {
	for _, s := range rs.shards {
		s.Close()
	}
	rs.cfgs, rs.shards = nil, nil
}

// sameConnection reports whether a and b reach Redis the same way: every
// setting is equal but the key prefix and the partition count, which the
// broker and presence manager apply on their own. An empty list equals an
// absent one.
func sameConnection(a, b config.Redis) bool {
	norm := func(r config.Redis) config.Redis {
		r.Prefix, r.ShardedPubSubPartitions = "", 0
		for _, l := range []*[]string{&r.Address, &r.ClusterAddress, &r.SentinelAddress} {
			if len(*l) == 0 {
				*l = nil
			}
		}
		return r
	}
	return reflect.DeepEqual(norm(a), norm(b))
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
		ConnectionRateLimit:      c.ConnectionRateLimit,
		CommandRateLimit:         c.CommandRateLimit,
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

	hs := &a.cfg.HTTPServer
	tlsCfg, err := config.ServerTLS(hs.TLS)
	if err != nil {
		return fmt.Errorf("app: http_server.tls: %w", err)
	}
	ext, internal := a.muxes()
	if err := a.listen(hs.ExternalAddr(), ext, tlsCfg); err != nil {
		return err
	}
	if internal != nil {
		// tls_external keeps the internal endpoints in plain HTTP, for a
		// private network.
		internalTLS := tlsCfg
		if hs.TLSExternal {
			internalTLS = nil
		}
		if err := a.listen(hs.InternalAddr(), internal, internalTLS); err != nil {
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

	a.mountStreams(ext)

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
	if cfg.Prometheus.Enabled {
		a.mountMetrics(internal)
	}
	if cfg.Admin.Enabled {
		if cfg.Admin.External {
			a.mountAdmin(ext)
		} else {
			a.mountAdmin(internal)
		}
	}
	if !separate {
		internal = nil
	}
	return ext, internal
}

// mountStreams serves the transports other than bidirectional WebSocket
// that the config enables, and the emulation endpoint when HTTP-streaming
// or SSE needs it.
func (a *App) mountStreams(ext *http.ServeMux) {
	cfg := a.cfg
	origins := transport.NewOriginChecker(cfg.Client.AllowedOrigins)
	stream := func(c config.Stream) httpstream.Config {
		return httpstream.Config{
			Sessions:           a.sessions,
			Node:               a.node,
			Origins:            origins,
			Logger:             a.logger,
			MaxRequestBodySize: c.MaxRequestBodySize,
			ProxyHeaders:       a.proxies.headers,
		}
	}
	if c := cfg.HTTPStream; c.Enabled {
		ext.Handle(prefix(c.HandlerPrefix, "/connection/http_stream"),
			httpstream.NewStream(stream(c)))
	}
	if c := cfg.SSE; c.Enabled {
		ext.Handle(prefix(c.HandlerPrefix, "/connection/sse"), httpstream.NewSSE(stream(c)))
	}
	if cfg.HTTPStream.Enabled || cfg.SSE.Enabled {
		e := cfg.Emulation
		ext.Handle(prefix(e.HandlerPrefix, "/emulation"), httpstream.NewEmulation(
			stream(config.Stream{MaxRequestBodySize: e.MaxRequestBodySize})))
	}
	if c := cfg.UniSSE; c.Enabled {
		ext.Handle(prefix(c.HandlerPrefix, "/connection/uni_sse"),
			httpstream.NewUniSSE(stream(c)))
	}
	if c := cfg.UniHTTPStream; c.Enabled {
		ext.Handle(prefix(c.HandlerPrefix, "/connection/uni_http_stream"),
			httpstream.NewUniStream(stream(c)))
	}
	if c := cfg.UniWebSocket; c.Enabled {
		ext.Handle(prefix(c.HandlerPrefix, "/connection/uni_websocket"),
			websocket.NewUniHandler(websocket.UniConfig{
				Sessions:                a.sessions,
				Origins:                 origins,
				Logger:                  a.logger,
				MessageSizeLimit:        c.MessageSizeLimit,
				WriteTimeout:            c.WriteTimeout,
				ProxyHeaders:            a.proxies.headers,
				DisableClosingHandshake: c.DisableClosingHandshake,
				DisableDisconnectPush:   c.DisableDisconnectPush,
				JoinPushMessages:        c.JoinPushMessages,
				PingInterval:            cfg.Client.PingInterval,
				PongTimeout:             cfg.Client.PongTimeout,
			}))
	}
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
		Metrics:            a.metrics,
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

// listen serves h on addr in the background, over TLS when tlsCfg is set.
func (a *App) listen(addr string, h http.Handler, tlsCfg *tls.Config) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("app: listen: %w", err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
	a.servers = append(a.servers, srv)
	a.addrs = append(a.addrs, ln.Addr())
	a.log.Info("listening", "addr", ln.Addr().String(), "tls", tlsCfg != nil)
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
	a.redis.close()
	return err
}
