package config

import "flag"

// flagDef is one command-line option and its aliases. key is a flat key
// (translated like a file's) or a nested path.
type flagDef struct {
	names []string
	key   string
	bool  bool
	def   string
	usage string
}

// flagDefs are the options of config.md §3.3 under both their v3 and their
// v6 names. The config file flag (-c, --config) belongs to the command.
var flagDefs = []flagDef{
	{[]string{"p", "port"}, "port", false, "8000", "port to bind the HTTP server to"},
	{[]string{"http_server.port"}, "http_server.port", false, "8000",
		"port to bind the HTTP server to"},
	{[]string{"a", "address"}, "address", false, "", "interface address to listen on"},
	{[]string{"http_server.address"}, "http_server.address", false, "",
		"interface address to listen on"},
	{[]string{"internal_port"}, "internal_port", false, "", "port for internal endpoints"},
	{[]string{"http_server.internal_port"}, "http_server.internal_port", false, "",
		"port for internal endpoints"},
	{[]string{"internal_address"}, "internal_address", false, "",
		"interface address for internal endpoints"},
	{[]string{"http_server.internal_address"}, "http_server.internal_address", false, "",
		"interface address for internal endpoints"},
	{[]string{"e", "engine"}, "engine", false, "memory", "engine: memory or redis"},
	{[]string{"engine.type"}, "engine.type", false, "memory", "engine: memory or redis"},
	{[]string{"broker"}, "broker", false, "", "broker to use with the engine: nats"},
	{[]string{"broker.enabled"}, "broker.enabled", true, "", "use a separate broker"},
	{[]string{"broker.type"}, "broker.type", false, "memory",
		"broker: memory, redis or nats"},
	{[]string{"presence_manager.enabled"}, "presence_manager.enabled", true, "",
		"use a separate presence manager"},
	{[]string{"presence_manager.type"}, "presence_manager.type", false, "memory",
		"presence manager: memory or redis"},
	{[]string{"log_level"}, "log_level", false, "info",
		"log level: none, trace, debug, info, warn, error or fatal"},
	{[]string{"log.level"}, "log.level", false, "info",
		"log level: none, trace, debug, info, warn, error or fatal"},
	{[]string{"log_file"}, "log_file", false, "", "log file (default standard error)"},
	{[]string{"log.file"}, "log.file", false, "", "log file (default standard error)"},
	{[]string{"log.format"}, "log.format", false, "text", "log format: text or json"},
	{[]string{"pid_file"}, "pid_file", false, "", "file to write the process ID to"},
	{[]string{"n", "name"}, "name", false, "", "node name (default <hostname>_<port>)"},
	{[]string{"debug"}, "debug", true, "", "enable debug endpoints"},
	{[]string{"debug.enabled"}, "debug.enabled", true, "", "enable debug endpoints"},
	{[]string{"admin"}, "admin", true, "", "enable the admin web interface"},
	{[]string{"admin.enabled"}, "admin.enabled", true, "", "enable the admin web interface"},
	{[]string{"admin_external"}, "admin_external", true, "",
		"serve the admin web interface on the external port"},
	{[]string{"admin.external"}, "admin.external", true, "",
		"serve the admin web interface on the external port"},
	{[]string{"admin_insecure"}, "admin_insecure", true, "", "no auth for the admin"},
	{[]string{"admin.insecure"}, "admin.insecure", true, "", "no auth for the admin"},
	{[]string{"prometheus"}, "prometheus", true, "", "enable the Prometheus endpoint"},
	{[]string{"prometheus.enabled"}, "prometheus.enabled", true, "",
		"enable the Prometheus endpoint"},
	{[]string{"health"}, "health", true, "", "enable the health check endpoint"},
	{[]string{"health.enabled"}, "health.enabled", true, "",
		"enable the health check endpoint"},
	{[]string{"client_insecure"}, "client_insecure", true, "",
		"insecure client mode: no authentication, every permission"},
	{[]string{"client.insecure"}, "client.insecure", true, "",
		"insecure client mode: no authentication, every permission"},
	{[]string{"api_insecure"}, "api_insecure", true, "", "no API key check"},
	{[]string{"http_api.insecure"}, "http_api.insecure", true, "", "no API key check"},
	{[]string{"http_api.external"}, "http_api.external", true, "",
		"serve the API on the external port"},
	{[]string{"uni_websocket"}, "uni_websocket", true, "",
		"enable the unidirectional WebSocket endpoint"},
	{[]string{"uni_websocket.enabled"}, "uni_websocket.enabled", true, "",
		"enable the unidirectional WebSocket endpoint"},
	{[]string{"uni_sse"}, "uni_sse", true, "", "enable the unidirectional SSE endpoint"},
	{[]string{"uni_sse.enabled"}, "uni_sse.enabled", true, "",
		"enable the unidirectional SSE endpoint"},
	{[]string{"uni_http_stream"}, "uni_http_stream", true, "",
		"enable the unidirectional HTTP-streaming endpoint"},
	{[]string{"uni_http_stream.enabled"}, "uni_http_stream.enabled", true, "",
		"enable the unidirectional HTTP-streaming endpoint"},
	{[]string{"sse"}, "sse", true, "", "enable the bidirectional SSE endpoint"},
	{[]string{"sse.enabled"}, "sse.enabled", true, "", "enable the bidirectional SSE endpoint"},
	{[]string{"http_stream"}, "http_stream", true, "",
		"enable the bidirectional HTTP-streaming endpoint"},
	{[]string{"http_stream.enabled"}, "http_stream.enabled", true, "",
		"enable the bidirectional HTTP-streaming endpoint"},
	{[]string{"tls"}, "tls", true, "", "enable TLS"},
	{[]string{"tls_cert"}, "tls_cert", false, "", "TLS certificate file"},
	{[]string{"tls_key"}, "tls_key", false, "", "TLS key file"},
	{[]string{"tls_external"}, "tls_external", true, "", "TLS on the external port only"},
	{[]string{"redis_address"}, "redis_address", false, defaultRedisAddress,
		"Redis address (redis engine)"},
	{[]string{"nats_url"}, "nats_url", false, "nats://localhost:4222",
		"NATS address (nats broker)"},
	// Accepted for compatibility; Herald warns that they do nothing.
	{[]string{"sockjs"}, "sockjs", true, "", "not supported"},
	{[]string{"tarantool_address"}, "tarantool_address", false, "", "not supported"},
	{[]string{"grpc_api"}, "grpc_api", true, "", "not supported"},
	{[]string{"grpc_api.enabled"}, "grpc_api.enabled", true, "", "not supported"},
	{[]string{"grpc_api_port"}, "grpc_api_port", false, "10000", "not supported"},
	{[]string{"grpc_api.port"}, "grpc_api.port", false, "10000", "not supported"},
	{[]string{"grpc_api_tls"}, "grpc_api_tls", true, "", "not supported"},
	{[]string{"grpc_api_tls_cert"}, "grpc_api_tls_cert", false, "", "not supported"},
	{[]string{"grpc_api_tls_key"}, "grpc_api_tls_key", false, "", "not supported"},
	{[]string{"grpc_api_tls_disable"}, "grpc_api_tls_disable", true, "", "not supported"},
	{[]string{"uni_grpc"}, "uni_grpc", true, "", "not supported"},
	{[]string{"uni_grpc.enabled"}, "uni_grpc.enabled", true, "", "not supported"},
	{[]string{"uni_grpc_port"}, "uni_grpc_port", false, "11000", "not supported"},
	{[]string{"uni_grpc.port"}, "uni_grpc.port", false, "11000", "not supported"},
	{[]string{"swagger.enabled"}, "swagger.enabled", true, "", "not supported"},
	{[]string{"init.enabled"}, "init.enabled", true, "", "not supported"},
	{[]string{"map_broker.type"}, "map_broker.type", false, "memory", "not supported"},
}

// RegisterFlags registers the configuration options on fs, each under
// every name it has had (-p, --port and --http_server.port...). Only the
// flags a user sets override the configuration; defaults shown in the help
// are informative. The caller registers -c/--config itself.
func RegisterFlags(fs *flag.FlagSet) {
	for _, d := range flagDefs {
		for _, name := range d.names {
			if d.bool {
				fs.Bool(name, false, d.usage)
			} else {
				fs.String(name, d.def, d.usage)
			}
		}
	}
}

// flagIndex maps every flag name to its definition.
var flagIndex = func() map[string]*flagDef {
	m := map[string]*flagDef{}
	for i := range flagDefs {
		for _, n := range flagDefs[i].names {
			m[n] = &flagDefs[i]
		}
	}
	return m
}()

// collectFlags returns the flags the user set, as flat keys and nested
// paths.
func collectFlags(fs *flag.FlagSet) (flat, nested map[string]any) {
	flat, nested = map[string]any{}, map[string]any{}
	if fs == nil {
		return flat, nested
	}
	fs.Visit(func(f *flag.Flag) {
		d, ok := flagIndex[f.Name]
		if !ok {
			return // the command's own flags
		}
		rs := rawString{s: f.Value.String(), src: "flag -" + f.Name}
		if len(f.Name) > 1 {
			rs.src = "flag --" + f.Name
		}
		if isFlat(d.key) {
			flat[d.key] = rs
		} else {
			setPath(nested, d.key, rs)
		}
	})
	return flat, nested
}
