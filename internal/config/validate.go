package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/heraldhq/herald/internal/channel"
)

var logLevels = []string{"none", "trace", "debug", "info", "warn", "error", "fatal"}

// Validate checks the configuration as a whole (config.md §4.2, §4.4 and
// proxy.md §6). [Load] calls it; call it again after changing a Config.
func (c *Config) Validate() error {
	for _, check := range []func() error{
		c.validateServer, c.validateEngines, c.validateClient, c.validateChannels,
		c.validateProxies,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// Warnings lists settings that are valid but weaken the server, for the
// operator to see once at startup. [Load] returns them with its own
// warnings.
func (c *Config) Warnings() []string {
	var out []string
	// config.md §1.11: the lone "*" pattern lets every origin in, so any
	// web page can open connections with its visitors' cookies.
	if slices.Contains(c.Client.AllowedOrigins, "*") {
		out = append(out, `config: client.allowed_origins contains "*": `+
			"browser connections from every origin are allowed")
	}
	return out
}

func invalid(key, format string, args ...any) error {
	return &keyError{key: key, msg: fmt.Sprintf(format, args...)}
}

func (c *Config) validateServer() error {
	h := &c.HTTPServer
	if h.Port < 1 || h.Port > 65535 {
		return invalid("http_server.port", "expected 1-65535, got %d", h.Port)
	}
	if h.InternalPort < 0 || h.InternalPort > 65535 {
		return invalid("http_server.internal_port", "expected 0-65535, got %d",
			h.InternalPort)
	}
	if !slices.Contains(logLevels, strings.ToLower(c.Log.Level)) {
		return invalid("log.level", "expected one of %s, got %q",
			strings.Join(logLevels, ", "), c.Log.Level)
	}
	switch strings.ToLower(c.Log.Format) {
	case "", "text", "json":
	default:
		return invalid("log.format", `expected "text" or "json", got %q`, c.Log.Format)
	}
	if c.Shutdown.Timeout < 0 || c.Shutdown.TerminationDelay < 0 {
		return invalid("shutdown", "durations must not be negative")
	}
	return nil
}

func (c *Config) validateEngines() error {
	switch c.Engine.Type {
	case "memory", "redis":
	case "tarantool":
		return invalid("engine.type", "the tarantool engine is not supported by Herald")
	default:
		return invalid("engine.type", `expected "memory" or "redis", got %q`, c.Engine.Type)
	}
	if c.Broker.Enabled {
		switch c.Broker.Type {
		case "memory", "redis", "nats":
		default:
			return invalid("broker.type", `expected "memory", "redis" or "nats", got %q`,
				c.Broker.Type)
		}
	}
	if c.PresenceManager.Enabled {
		switch c.PresenceManager.Type {
		case "memory", "redis":
		default:
			return invalid("presence_manager.type", `expected "memory" or "redis", got %q`,
				c.PresenceManager.Type)
		}
	}
	return c.validateRedis()
}

// validateRedis checks the three Redis sections, used or not, so that a
// mistake does not wait until a section is switched on.
func (c *Config) validateRedis() error {
	for _, s := range []struct {
		key string
		r   *Redis
	}{
		{"engine.redis", &c.Engine.Redis.Redis},
		{"broker.redis", &c.Broker.Redis.Redis},
		{"presence_manager.redis", &c.PresenceManager.Redis.Redis},
	} {
		// Each key is <prefix>.<kind>.{<channel>}: Redis Cluster hashes the
		// text between the first '{' and the next '}', so a brace in the
		// prefix would hash the prefix instead of the channel.
		if strings.ContainsAny(s.r.Prefix, "{}") {
			return invalid(s.key+".prefix", "must not contain '{' or '}', got %q",
				s.r.Prefix)
		}
		if n := s.r.ShardedPubSubPartitions; n < 0 {
			return invalid(s.key+".sharded_pub_sub_partitions",
				"must not be negative, got %d", n)
		}
	}
	return nil
}

func (c *Config) validateClient() error {
	cl := &c.Client
	if cl.PingInterval <= 0 {
		return invalid("client.ping_interval", "must be positive, got %s", cl.PingInterval)
	}
	if cl.PongTimeout < 0 || cl.PongTimeout >= cl.PingInterval {
		return invalid("client.pong_timeout", "must be shorter than client.ping_interval "+
			"(%s), got %s", cl.PingInterval, cl.PongTimeout)
	}
	for _, f := range []struct {
		key string
		v   int64
	}{
		{"channel_limit", int64(cl.ChannelLimit)},
		{"queue_max_size", int64(cl.QueueMaxSize)},
		{"user_connection_limit", int64(cl.UserConnectionLimit)},
		{"connection_limit", int64(cl.ConnectionLimit)},
		{"connection_rate_limit", int64(cl.ConnectionRateLimit)},
		{"command_rate_limit", int64(cl.CommandRateLimit)},
		{"history_max_publication_limit", int64(cl.HistoryMaxPublicationLimit)},
		{"recovery_max_publication_limit", int64(cl.RecoveryMaxPublicationLimit)},
		{"expired_close_delay", int64(cl.ExpiredCloseDelay)},
		{"expired_sub_close_delay", int64(cl.ExpiredSubCloseDelay)},
		{"stale_close_delay", int64(cl.StaleCloseDelay)},
		{"presence_update_interval", int64(cl.PresenceUpdateInterval)},
	} {
		if f.v < 0 {
			return invalid("client."+f.key, "must not be negative, got %d", f.v)
		}
	}
	return nil
}

// validateChannels checks namespaces and channel options, and the personal
// channel settings that depend on them.
func (c *Config) validateChannels() error {
	if _, err := channel.NewRules(c.Channel); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	pc := &c.Client.SubscribeToUserPersonalChannel
	if !pc.Enabled {
		return nil
	}
	const key = "client.subscribe_to_user_personal_channel"
	opts := &c.Channel.WithoutNamespace
	if pc.PersonalChannelNamespace != "" {
		i := slices.IndexFunc(c.Channel.Namespaces, func(ns channel.Namespace) bool {
			return ns.Name == pc.PersonalChannelNamespace
		})
		if i < 0 {
			return invalid(key+".personal_channel_namespace",
				"namespace %q for the personal channel is not in channel.namespaces",
				pc.PersonalChannelNamespace)
		}
		opts = &c.Channel.Namespaces[i].Options
	}
	if pc.SingleConnection && !opts.Presence {
		where := "channel.without_namespace"
		if pc.PersonalChannelNamespace != "" {
			where = "namespace " + pc.PersonalChannelNamespace
		}
		return invalid(key+".single_connection",
			"needs presence enabled in %s, the personal channel's options", where)
	}
	return nil
}

// validateProxies checks every proxy and every reference to one.
func (c *Config) validateProxies() error {
	p := &c.Proxy
	names := []string{}
	for i, np := range p.Named {
		key := fmt.Sprintf("proxies[%d]", i)
		switch {
		case np.Name == channel.DefaultProxyName:
			return invalid(key+".name", "%q is reserved for the default proxies", np.Name)
		case !channel.ValidName(np.Name):
			return invalid(key+".name", "invalid proxy name %q (must match "+
				"^[-a-zA-Z0-9_.]{2,}$)", np.Name)
		case slices.Contains(names, np.Name):
			return invalid(key+".name", "duplicate proxy name %q", np.Name)
		}
		if err := checkProxy(key, &np.Proxy); err != nil {
			return err
		}
		names = append(names, np.Name)
	}
	if p.Connect.Enabled {
		if err := checkProxy("client.proxy.connect", &p.Connect.Proxy); err != nil {
			return err
		}
	}
	if p.Refresh.Enabled {
		if err := checkProxy("client.proxy.refresh", &p.Refresh.Proxy); err != nil {
			return err
		}
	}
	if err := c.checkChannelProxies("channel.without_namespace",
		&c.Channel.WithoutNamespace, names); err != nil {
		return err
	}
	for _, ns := range c.Channel.Namespaces {
		err := c.checkChannelProxies("channel.namespaces["+ns.Name+"]", &ns.Options, names)
		if err != nil {
			return err
		}
	}
	return c.validateRPC(names)
}

func checkProxy(key string, p *Proxy) error {
	if p.Endpoint == "" {
		return invalid(key+".endpoint", "required")
	}
	if p.Timeout <= 0 {
		return invalid(key+".timeout", "must be positive, got %s", p.Timeout)
	}
	return nil
}

// checkChannelProxies checks the proxies one set of channel options refers
// to: a named proxy must exist, an enabled default proxy needs an endpoint.
func (c *Config) checkChannelProxies(where string, o *channel.Options, names []string) error {
	for _, ref := range []struct {
		kind, option string
		enabled      bool
		name         string
	}{
		{KindSubscribe, "subscribe_proxy", o.SubscribeProxyEnabled, o.SubscribeProxyName},
		{KindPublish, "publish_proxy", o.PublishProxyEnabled, o.PublishProxyName},
		{KindSubRefresh, "sub_refresh_proxy", o.SubRefreshProxyEnabled, o.SubRefreshProxyName},
		{KindSubscribeStream, "subscribe_stream_proxy", o.SubscribeStreamProxyEnabled,
			o.SubscribeStreamProxyName},
	} {
		if err := c.checkRef(where+"."+ref.option+"_name", ref.kind, ref.enabled,
			ref.name, names, "channel.proxy."+ref.kind); err != nil {
			return err
		}
	}
	return nil
}

// checkRef checks one reference to a proxy by name.
func (c *Config) checkRef(key, kind string, enabled bool, name string, names []string,
	defaultKey string) error {
	if name != "" && name != channel.DefaultProxyName {
		if !slices.Contains(names, name) {
			return invalid(key, "proxy %q is not in proxies", name)
		}
		return nil
	}
	if !enabled {
		return nil
	}
	p, _ := c.Proxy.Lookup(kind, name)
	return checkProxy(defaultKey, p)
}

func (c *Config) validateRPC(proxyNames []string) error {
	r := &c.RPC
	err := c.checkRef("rpc.without_namespace.proxy_name", KindRPC,
		r.WithoutNamespace.ProxyEnabled, r.WithoutNamespace.ProxyName, proxyNames, "rpc.proxy")
	if err != nil {
		return err
	}
	var seen []string
	for i, ns := range r.Namespaces {
		key := fmt.Sprintf("rpc.namespaces[%d]", i)
		if !channel.ValidName(ns.Name) {
			return invalid(key+".name", "invalid rpc namespace name %q", ns.Name)
		}
		if slices.Contains(seen, ns.Name) {
			return invalid(key+".name", "duplicate rpc namespace name %q", ns.Name)
		}
		seen = append(seen, ns.Name)
		if err := c.checkRef(key+".proxy_name", KindRPC, ns.ProxyEnabled, ns.ProxyName,
			proxyNames, "rpc.proxy"); err != nil {
			return err
		}
	}
	return nil
}
