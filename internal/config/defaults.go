package config

import (
	"time"

	"github.com/heraldhq/herald/internal/channel"
)

// Default values shared by several sections.
const (
	defaultProxyTimeout = time.Second
	defaultBodySize     = 65536
	defaultRedisAddress = "redis://127.0.0.1:6379"
	defaultPrefix       = "centrifugo"
)

// Default returns the configuration used when no file, environment variable
// or flag says otherwise: port 8000 on all interfaces, the memory engine,
// log level info, closed channel permissions.
func Default() *Config {
	c := &Config{
		HTTPServer: HTTPServer{Port: 8000},
		Log:        Log{Level: "info", Format: "text"},
		Engine: Engine{Type: "memory", Redis: RedisEngine{
			Redis: defaultRedis(), PresenceTTL: 60 * time.Second,
		}},
		Broker: Broker{
			Type:  "memory",
			Redis: RedisBroker{Redis: defaultRedis()},
			NATS: NATSBroker{
				URL: "nats://localhost:4222", Prefix: defaultPrefix,
				DialTimeout: time.Second, WriteTimeout: time.Second,
			},
		},
		PresenceManager: PresenceManager{Type: "memory", Redis: RedisPresenceManager{
			Redis: defaultRedis(), PresenceTTL: 60 * time.Second,
		}},
		Client:  defaultClient(),
		Channel: channel.DefaultConfig(),
		RPC: RPC{
			NamespaceBoundary: ":",
			WithoutNamespace:  RPCOptions{ProxyName: channel.DefaultProxyName},
			Ping:              RPCPing{Method: "ping"},
		},
		Proxy: Proxies{
			Connect:         ClientProxy{Proxy: defaultProxy()},
			Refresh:         ClientProxy{Proxy: defaultProxy()},
			Subscribe:       defaultProxy(),
			Publish:         defaultProxy(),
			SubRefresh:      defaultProxy(),
			SubscribeStream: defaultProxy(),
			RPC:             defaultProxy(),
		},
		HTTPAPI: HTTPAPI{HandlerPrefix: "/api"},
		WebSocket: WebSocket{
			HandlerPrefix: "/connection/websocket", CompressionLevel: 1,
			WriteTimeout: time.Second, MessageSizeLimit: 65536,
		},
		SSE:        stream("/connection/sse"),
		HTTPStream: stream("/connection/http_stream"),
		UniWebSocket: UniWebSocket{
			HandlerPrefix: "/connection/uni_websocket", CompressionLevel: 1,
			WriteTimeout: time.Second, MessageSizeLimit: 65536,
		},
		UniSSE:        stream("/connection/uni_sse"),
		UniHTTPStream: stream("/connection/uni_http_stream"),
		Emulation:     Emulation{HandlerPrefix: "/emulation", MaxRequestBodySize: defaultBodySize},
		Prometheus:    Prometheus{HandlerPrefix: "/metrics"},
		Health:        Health{HandlerPrefix: "/health"},
		Debug:         Debug{HandlerPrefix: "/debug/pprof"},
		Node:          Node{InfoMetricsAggregateInterval: 60 * time.Second},
		Shutdown:      Shutdown{Timeout: 30 * time.Second},
	}
	setDefaultProxyNames(&c.Channel.WithoutNamespace)
	return c
}

func defaultClient() Client {
	return Client{
		PingInterval:                25 * time.Second,
		PongTimeout:                 8 * time.Second,
		ExpiredCloseDelay:           25 * time.Second,
		ExpiredSubCloseDelay:        25 * time.Second,
		StaleCloseDelay:             10 * time.Second,
		PresenceUpdateInterval:      27 * time.Second,
		ChannelPositionCheckDelay:   40 * time.Second,
		ChannelLimit:                128,
		QueueMaxSize:                1 << 20,
		HistoryMaxPublicationLimit:  300,
		RecoveryMaxPublicationLimit: 300,
	}
}

func stream(prefix string) Stream {
	return Stream{HandlerPrefix: prefix, MaxRequestBodySize: defaultBodySize}
}

func defaultRedis() Redis {
	return Redis{
		Address:        []string{defaultRedisAddress},
		ConnectTimeout: time.Second,
		IOTimeout:      4 * time.Second,
		Prefix:         defaultPrefix,
	}
}

func defaultProxy() Proxy {
	return Proxy{Timeout: defaultProxyTimeout}
}

// setDefaultProxyNames spells the default proxy as "default", as the nested
// file format does, wherever a name is empty.
func setDefaultProxyNames(o *channel.Options) {
	for _, p := range []*string{&o.SubscribeProxyName, &o.PublishProxyName,
		&o.SubRefreshProxyName, &o.SubscribeStreamProxyName} {
		if *p == "" {
			*p = channel.DefaultProxyName
		}
	}
}
