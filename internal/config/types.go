package config

import (
	"net"
	"strconv"
	"time"

	"github.com/heraldhq/herald/internal/channel"
)

// Config is Herald's whole configuration. Its tree mirrors the nested
// (v6) configuration file: the json tag of each field is the key of that
// section or option, and Go names are the CamelCase of those keys.
type Config struct {
	HTTPServer      HTTPServer      `json:"http_server"`
	Log             Log             `json:"log"`
	Engine          Engine          `json:"engine"`
	Broker          Broker          `json:"broker"`
	PresenceManager PresenceManager `json:"presence_manager"`
	Client          Client          `json:"client"`
	Channel         channel.Config  `json:"channel"`
	RPC             RPC             `json:"rpc"`
	// Proxy gathers every backend proxy: client.proxy.connect and .refresh,
	// channel.proxy.*, rpc.proxy and the named proxies of "proxies".
	Proxy         Proxies       `json:"-"`
	HTTPAPI       HTTPAPI       `json:"http_api"`
	WebSocket     WebSocket     `json:"websocket"`
	SSE           SSE           `json:"sse"`
	HTTPStream    HTTPStream    `json:"http_stream"`
	UniWebSocket  UniWebSocket  `json:"uni_websocket"`
	UniSSE        UniSSE        `json:"uni_sse"`
	UniHTTPStream UniHTTPStream `json:"uni_http_stream"`
	Emulation     Emulation     `json:"emulation"`
	Admin         Admin         `json:"admin"`
	Prometheus    Prometheus    `json:"prometheus"`
	Health        Health        `json:"health"`
	Debug         Debug         `json:"debug"`
	Node          Node          `json:"node"`
	Shutdown      Shutdown      `json:"shutdown"`
	// PIDFile, when set, is where the server writes its process ID.
	PIDFile string `json:"pid_file"`
}

// HTTPServer configures the listeners.
type HTTPServer struct {
	// Address and Port are where external endpoints (client transports)
	// listen; an empty address means all interfaces.
	Address string `json:"address"`
	Port    int    `json:"port"`
	// InternalAddress and InternalPort are where internal endpoints (API,
	// admin, metrics, health, debug) listen. Zero values mean "the same as
	// the external ones": then one listener serves everything.
	InternalAddress string `json:"internal_address"`
	InternalPort    int    `json:"internal_port"`
	// TLS applies to both listeners unless TLSExternal limits it to the
	// external one.
	TLS         TLS  `json:"tls"`
	TLSExternal bool `json:"tls_external"`
}

// ExternalAddr returns the host:port of the external listener.
func (h *HTTPServer) ExternalAddr() string {
	return net.JoinHostPort(h.Address, strconv.Itoa(h.Port))
}

// InternalAddr returns the host:port of the internal listener, falling back
// to the external address and port.
func (h *HTTPServer) InternalAddr() string {
	addr, port := h.InternalAddress, h.InternalPort
	if addr == "" {
		addr = h.Address
	}
	if port == 0 {
		port = h.Port
	}
	return net.JoinHostPort(addr, strconv.Itoa(port))
}

// SeparateInternal reports whether internal endpoints need a listener of
// their own.
func (h *HTTPServer) SeparateInternal() bool {
	return h.InternalAddr() != h.ExternalAddr()
}

// TLS holds certificates. PEM fields accept the PEM text itself, its base64
// encoding, or a file path.
type TLS struct {
	Enabled            bool   `json:"enabled"`
	CertPEM            string `json:"cert_pem"`
	KeyPEM             string `json:"key_pem"`
	ServerCAPEM        string `json:"server_ca_pem"`
	ClientCAPEM        string `json:"client_ca_pem"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify"`
	ServerName         string `json:"server_name"`
}

// Log configures logging.
type Log struct {
	// Level is one of none, trace, debug, info, warn, error, fatal.
	Level string `json:"level"`
	// File, when set, receives logs instead of standard error.
	File string `json:"file"`
	// Format is "text" (default) or "json"; a Herald addition.
	Format string `json:"format"`
}

// Redis is a Redis connection; each address is one shard.
type Redis struct {
	Address            []string      `json:"address"`
	ConnectTimeout     time.Duration `json:"connect_timeout"`
	IOTimeout          time.Duration `json:"io_timeout"`
	DB                 int           `json:"db"`
	User               string        `json:"user"`
	Password           string        `json:"password"`
	ClientName         string        `json:"client_name"`
	ForceResp2         bool          `json:"force_resp2"`
	ClusterAddress     []string      `json:"cluster_address"`
	TLS                TLS           `json:"tls"`
	SentinelAddress    []string      `json:"sentinel_address"`
	SentinelUser       string        `json:"sentinel_user"`
	SentinelPassword   string        `json:"sentinel_password"`
	SentinelMasterName string        `json:"sentinel_master_name"`
	SentinelClientName string        `json:"sentinel_client_name"`
	SentinelTLS        TLS           `json:"sentinel_tls"`
	// Prefix starts every Redis key and PUB/SUB channel name. It may not
	// contain '{' or '}': the channel part of each key is a hash tag.
	Prefix string `json:"prefix"`
	// ShardedPubSubPartitions is, in Redis Cluster mode, the number of
	// sharded PUB/SUB partitions channels are spread over; each partition is
	// one hash slot and one PUB/SUB connection per node. 0 lets Herald pick
	// (16 in cluster mode).
	ShardedPubSubPartitions int `json:"sharded_pub_sub_partitions"`
}

// RedisEngine is Redis used as both broker and presence manager.
type RedisEngine struct {
	Redis
	HistoryUseLists      bool          `json:"history_use_lists"`
	PresenceTTL          time.Duration `json:"presence_ttl"`
	PresenceHashFieldTTL bool          `json:"presence_hash_field_ttl"`
	PresenceUserMapping  bool          `json:"presence_user_mapping"`
}

// Engine selects the combined broker and presence manager.
type Engine struct {
	// Type is "memory" or "redis".
	Type  string      `json:"type"`
	Redis RedisEngine `json:"redis"`
}

// RedisBroker is Redis used as broker only.
type RedisBroker struct {
	Redis
	HistoryUseLists bool `json:"history_use_lists"`
}

// NATSBroker is the NATS PUB/SUB broker (no history).
type NATSBroker struct {
	URL            string        `json:"url"`
	Prefix         string        `json:"prefix"`
	DialTimeout    time.Duration `json:"dial_timeout"`
	WriteTimeout   time.Duration `json:"write_timeout"`
	TLS            TLS           `json:"tls"`
	AllowWildcards bool          `json:"allow_wildcards"`
}

// Broker, when enabled, replaces the engine's PUB/SUB and history.
type Broker struct {
	Enabled bool `json:"enabled"`
	// Type is "memory", "redis" or "nats".
	Type  string      `json:"type"`
	Redis RedisBroker `json:"redis"`
	NATS  NATSBroker  `json:"nats"`
}

// RedisPresenceManager is Redis used as presence manager only.
type RedisPresenceManager struct {
	Redis
	PresenceTTL          time.Duration `json:"presence_ttl"`
	PresenceHashFieldTTL bool          `json:"presence_hash_field_ttl"`
	PresenceUserMapping  bool          `json:"presence_user_mapping"`
}

// PresenceManager, when enabled, replaces the engine's presence.
type PresenceManager struct {
	Enabled bool `json:"enabled"`
	// Type is "memory" or "redis".
	Type  string               `json:"type"`
	Redis RedisPresenceManager `json:"redis"`
}

// Token configures verification of connection JWTs (and of subscription
// JWTs unless [SubscriptionToken] is enabled).
type Token struct {
	HMACSecretKey                       string `json:"hmac_secret_key"`
	HMACPreviousSecretKey               string `json:"hmac_previous_secret_key"`
	HMACPreviousSecretKeyValidUntil     int64  `json:"hmac_previous_secret_key_valid_until"`
	RSAPublicKey                        string `json:"rsa_public_key"`
	ECDSAPublicKey                      string `json:"ecdsa_public_key"`
	JWKSPublicEndpoint                  string `json:"jwks_public_endpoint"`
	Audience                            string `json:"audience"`
	AudienceRegex                       string `json:"audience_regex"`
	Issuer                              string `json:"issuer"`
	IssuerRegex                         string `json:"issuer_regex"`
	UserIDClaim                         string `json:"user_id_claim"`
	InsecureSkipJWKSEndpointSafetyCheck bool   `json:"insecure_skip_jwks_endpoint_safety_check"`
}

// SubscriptionToken, when enabled, verifies subscription JWTs with keys of
// their own.
type SubscriptionToken struct {
	Enabled bool `json:"enabled"`
	Token
}

// PersonalChannel configures the automatic subscription of each user to
// its personal channel.
type PersonalChannel struct {
	Enabled                  bool   `json:"enabled"`
	PersonalChannelNamespace string `json:"personal_channel_namespace"`
	// SingleConnection keeps one connection per user; the personal
	// namespace must have presence.
	SingleConnection bool `json:"single_connection"`
}

// Client configures real-time connections.
type Client struct {
	// AllowedOrigins are the Origin patterns browser transports accept.
	AllowedOrigins    []string          `json:"allowed_origins"`
	Token             Token             `json:"token"`
	SubscriptionToken SubscriptionToken `json:"subscription_token"`
	// Insecure accepts every connection as anonymous with every
	// permission; for development only.
	Insecure                          bool `json:"insecure"`
	AllowAnonymousConnectWithoutToken bool `json:"allow_anonymous_connect_without_token"`
	DisallowAnonymousConnectionTokens bool `json:"disallow_anonymous_connection_tokens"`
	InsecureSkipTokenSignatureVerify  bool `json:"insecure_skip_token_signature_verify"`

	PingInterval              time.Duration `json:"ping_interval"`
	PongTimeout               time.Duration `json:"pong_timeout"`
	ExpiredCloseDelay         time.Duration `json:"expired_close_delay"`
	ExpiredSubCloseDelay      time.Duration `json:"expired_sub_close_delay"`
	StaleCloseDelay           time.Duration `json:"stale_close_delay"`
	PresenceUpdateInterval    time.Duration `json:"presence_update_interval"`
	ChannelPositionCheckDelay time.Duration `json:"channel_position_check_delay"`
	ChannelPositionMaxTimeLag time.Duration `json:"channel_position_max_time_lag"`

	ChannelLimit        int `json:"channel_limit"`
	QueueMaxSize        int `json:"queue_max_size"`
	Concurrency         int `json:"concurrency"`
	ConnectionLimit     int `json:"connection_limit"`
	UserConnectionLimit int `json:"user_connection_limit"`
	ConnectionRateLimit int `json:"connection_rate_limit"`
	// CommandRateLimit caps the commands per second of one connection
	// (0: no cap), a Herald addition.
	CommandRateLimit            int `json:"command_rate_limit"`
	HistoryMaxPublicationLimit  int `json:"history_max_publication_limit"`
	RecoveryMaxPublicationLimit int `json:"recovery_max_publication_limit"`

	ConnectIncludeServerTime       bool            `json:"connect_include_server_time"`
	UserIDHTTPHeader               string          `json:"user_id_http_header"`
	SubscribeToUserPersonalChannel PersonalChannel `json:"subscribe_to_user_personal_channel"`
}

// RPCOptions are the options of one RPC namespace.
type RPCOptions struct {
	ProxyEnabled bool   `json:"proxy_enabled"`
	ProxyName    string `json:"proxy_name"`
}

// RPCNamespace is a named group of RPC methods ("ns:method").
type RPCNamespace struct {
	Name string `json:"name"`
	RPCOptions
}

// RPCPing answers a client RPC with the given method name itself.
type RPCPing struct {
	Enabled bool   `json:"enabled"`
	Method  string `json:"method"`
}

// RPC configures client RPC calls.
type RPC struct {
	NamespaceBoundary string         `json:"namespace_boundary"`
	WithoutNamespace  RPCOptions     `json:"without_namespace"`
	Namespaces        []RPCNamespace `json:"namespaces"`
	Ping              RPCPing        `json:"ping"`
}

// HTTPAPI configures the server HTTP API.
type HTTPAPI struct {
	Disabled      bool   `json:"disabled"`
	HandlerPrefix string `json:"handler_prefix"`
	// Key is required in requests unless Insecure.
	Key       string `json:"key"`
	Insecure  bool   `json:"insecure"`
	External  bool   `json:"external"`
	ErrorMode string `json:"error_mode"`
}

// WebSocket configures the bidirectional WebSocket transport.
type WebSocket struct {
	Disabled                     bool          `json:"disabled"`
	HandlerPrefix                string        `json:"handler_prefix"`
	Compression                  bool          `json:"compression"`
	CompressionMinSize           int           `json:"compression_min_size"`
	CompressionLevel             int           `json:"compression_level"`
	ReadBufferSize               int           `json:"read_buffer_size"`
	WriteBufferSize              int           `json:"write_buffer_size"`
	UseWriteBufferPool           bool          `json:"use_write_buffer_pool"`
	WriteTimeout                 time.Duration `json:"write_timeout"`
	MessageSizeLimit             int           `json:"message_size_limit"`
	DecompressedMessageSizeLimit int           `json:"decompressed_message_size_limit"`
}

// UniWebSocket configures the unidirectional WebSocket transport.
type UniWebSocket struct {
	Enabled                      bool          `json:"enabled"`
	HandlerPrefix                string        `json:"handler_prefix"`
	Compression                  bool          `json:"compression"`
	CompressionMinSize           int           `json:"compression_min_size"`
	CompressionLevel             int           `json:"compression_level"`
	ReadBufferSize               int           `json:"read_buffer_size"`
	WriteBufferSize              int           `json:"write_buffer_size"`
	UseWriteBufferPool           bool          `json:"use_write_buffer_pool"`
	WriteTimeout                 time.Duration `json:"write_timeout"`
	MessageSizeLimit             int           `json:"message_size_limit"`
	DecompressedMessageSizeLimit int           `json:"decompressed_message_size_limit"`
	DisableClosingHandshake      bool          `json:"disable_closing_handshake"`
	DisableDisconnectPush        bool          `json:"disable_disconnect_push"`
	JoinPushMessages             bool          `json:"join_push_messages"`
}

// Stream configures an HTTP transport that reads a request body: SSE and
// HTTP streaming, bidirectional (through emulation) or unidirectional.
type Stream struct {
	Enabled            bool   `json:"enabled"`
	HandlerPrefix      string `json:"handler_prefix"`
	MaxRequestBodySize int    `json:"max_request_body_size"`
}

// SSE configures bidirectional Server-Sent Events (with emulation).
type SSE = Stream

// HTTPStream configures bidirectional HTTP streaming (with emulation).
type HTTPStream = Stream

// UniSSE configures unidirectional Server-Sent Events.
type UniSSE = Stream

// UniHTTPStream configures unidirectional HTTP streaming.
type UniHTTPStream = Stream

// Emulation configures the endpoint that carries client-to-server messages
// of the bidirectional SSE and HTTP-streaming transports.
type Emulation struct {
	HandlerPrefix      string `json:"handler_prefix"`
	MaxRequestBodySize int    `json:"max_request_body_size"`
}

// Admin configures the admin web UI and its endpoints.
type Admin struct {
	Enabled       bool   `json:"enabled"`
	HandlerPrefix string `json:"handler_prefix"`
	// Password logs in to the UI; Secret signs admin session tokens. Both
	// are needed unless Insecure.
	Password        string `json:"password"`
	Secret          string `json:"secret"`
	Insecure        bool   `json:"insecure"`
	WebPath         string `json:"web_path"`
	WebProxyAddress string `json:"web_proxy_address"`
	External        bool   `json:"external"`
}

// Prometheus configures the metrics endpoint.
type Prometheus struct {
	Enabled                        bool   `json:"enabled"`
	HandlerPrefix                  string `json:"handler_prefix"`
	InstrumentHTTPHandlers         bool   `json:"instrument_http_handlers"`
	RecoveredPublicationsHistogram bool   `json:"recovered_publications_histogram"`
	NativeHistograms               bool   `json:"native_histograms"`
}

// Health configures the health check endpoint.
type Health struct {
	Enabled       bool   `json:"enabled"`
	HandlerPrefix string `json:"handler_prefix"`
}

// Debug configures the pprof endpoints.
type Debug struct {
	Enabled       bool   `json:"enabled"`
	HandlerPrefix string `json:"handler_prefix"`
}

// Node describes this server in a cluster.
type Node struct {
	// Name defaults to "<hostname>_<port>".
	Name                         string        `json:"name"`
	InfoMetricsAggregateInterval time.Duration `json:"info_metrics_aggregate_interval"`
}

// Shutdown configures graceful shutdown.
type Shutdown struct {
	Timeout time.Duration `json:"timeout"`
	// TerminationDelay is a pause before exit (v3 shutdown_termination_delay);
	// a Herald addition to the nested keys.
	TerminationDelay time.Duration `json:"termination_delay"`
}
