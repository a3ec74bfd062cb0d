package config

import (
	"encoding/json"
	"strings"
	"testing"
)

// everyFlatKey holds every key of config.md §1 and proxy.md §6.1-6.2 with
// a value of its type.
var everyFlatKey = map[string]any{
	"token_hmac_secret_key": "s", "token_rsa_public_key": "", "token_ecdsa_public_key": "",
	"token_jwks_public_endpoint": "", "token_audience": "a", "token_issuer": "i",
	"admin": true, "admin_password": "p", "admin_secret": "s", "admin_insecure": false,
	"admin_web_path": "", "admin_external": false, "admin_handler_prefix": "",
	"api_key": "k", "api_disable": false, "api_insecure": false, "api_handler_prefix": "/api",
	"allowed_origins": []string{"https://*.example.com"}, "address": "", "port": "8000",
	"internal_address": "", "internal_port": "9000", "name": "n", "engine": "redis",
	"broker": "nats", "gomaxprocs": 0, "pid_file": "", "log_level": "info", "log_file": "",
	"shutdown_timeout": "30s", "shutdown_termination_delay": "0s",
	"websocket_disable": false, "client_insecure": false, "debug": false,
	"prometheus": true, "health": true, "usage_stats_disable": true,
	"node_info_metrics_aggregate_interval": "60s",
	"websocket_handler_prefix":             "/connection/websocket", "sockjs_handler_prefix": "/s",
	"http_stream_handler_prefix": "/h", "sse_handler_prefix": "/e",
	"emulation_handler_prefix": "/emulation", "uni_websocket_handler_prefix": "/uw",
	"uni_sse_handler_prefix": "/us", "uni_http_stream_handler_prefix": "/uh",
	"prometheus_handler_prefix": "/metrics", "health_handler_prefix": "/health",
	"client_anonymous": true, "client_expired_close_delay": "25s",
	"client_expired_sub_close_delay": "25s", "client_stale_close_delay": "25s",
	"client_channel_limit": 128, "client_queue_max_size": 1048576,
	"client_presence_update_interval": "27s", "client_user_connection_limit": 0,
	"client_concurrency": 0, "client_channel_position_check_delay": "40s",
	"client_history_max_publication_limit":  300,
	"client_recovery_max_publication_limit": 300, "channel_max_length": 255,
	"use_unlimited_history_by_default": false,
	"channel_private_prefix":           "$", "channel_namespace_boundary": ":",
	"channel_user_boundary": "#", "channel_user_separator": ",",
	"rpc_namespace_boundary": ":", "user_subscribe_to_personal": true,
	"user_personal_channel_namespace": "personal", "user_personal_single_connection": true,
	"namespaces": []any{map[string]any{"name": "personal", "presence": true,
		"join_leave": true, "history_size": 10, "history_ttl": "60s", "recover": true,
		"position": true, "protected": false, "publish": true, "subscribe_to_publish": true,
		"anonymous": true, "presence_disable_for_client": false,
		"history_disable_for_client": false, "proxy_subscribe": false,
		"proxy_publish": false, "subscribe_proxy_name": "", "publish_proxy_name": ""}},
	"rpc_namespaces": []any{map[string]any{"name": "rpc", "rpc_proxy_name": ""}},
	"presence":       true, "join_leave": true, "history_size": 10, "history_ttl": 60,
	"recover": true, "position": true, "protected": false, "publish": true,
	"subscribe_to_publish": false, "anonymous": false,
	"presence_disable_for_client": false, "history_disable_for_client": false,
	"proxy_subscribe": false, "proxy_publish": false,
	"websocket_compression": false, "websocket_compression_min_size": 0,
	"websocket_compression_level": 1, "websocket_read_buffer_size": 0,
	"websocket_write_buffer_size": 0, "websocket_use_write_buffer_pool": false,
	"websocket_ping_interval": "25s", "websocket_write_timeout": "1s",
	"websocket_message_size_limit": 65536, "sockjs": false, "sockjs_url": "x",
	"sockjs_heartbeat_delay": "25s", "uni_websocket": true,
	"uni_websocket_compression": false, "uni_websocket_compression_min_size": 0,
	"uni_websocket_compression_level": 1, "uni_websocket_read_buffer_size": 0,
	"uni_websocket_write_buffer_size": 0, "uni_websocket_use_write_buffer_pool": false,
	"uni_websocket_ping_interval": "25s", "uni_websocket_write_timeout": "1s",
	"uni_websocket_message_size_limit": 65536, "uni_sse": true,
	"uni_sse_max_request_body_size": 65536, "uni_http_stream": true,
	"uni_http_stream_max_request_body_size": 65536, "uni_grpc": false,
	"uni_grpc_address": "", "uni_grpc_port": 11000,
	"uni_grpc_max_receive_message_size": 65536, "uni_grpc_tls": false,
	"uni_grpc_tls_cert": "", "uni_grpc_tls_key": "", "uni_grpc_tls_disable": false,
	"sse": true, "http_stream": true, "tls": false, "tls_cert": "", "tls_key": "",
	"tls_external": false, "tls_autocert": false, "tls_autocert_host_whitelist": "",
	"tls_autocert_cache_dir": "", "tls_autocert_email": "", "tls_autocert_server_name": "",
	"tls_autocert_http": false, "tls_autocert_http_addr": ":80",
	"redis_address": "127.0.0.1:6379", "redis_prefix": "centrifugo", "redis_db": 0,
	"redis_user": "", "redis_password": "", "redis_tls": false,
	"redis_tls_skip_verify": false, "redis_connect_timeout": "1s",
	"redis_read_timeout": "5s", "redis_write_timeout": "1s", "redis_idle_timeout": "0s",
	"redis_use_lists": false, "redis_sharded_pub_sub_partitions": 0,
	"redis_cluster_address":  []string{},
	"redis_sentinel_address": []string{}, "redis_sentinel_master_name": "",
	"redis_sentinel_user": "", "redis_sentinel_password": "", "history_meta_ttl": 0,
	"presence_ttl": 60, "nats_url": "nats://localhost:4222", "nats_prefix": "centrifugo",
	"nats_dial_timeout": "1s", "nats_write_timeout": "1s", "tarantool_address": "",
	"tarantool_mode": "standalone", "tarantool_user": "", "tarantool_password": "",
	"grpc_api": false, "grpc_api_address": "", "grpc_api_port": 10000, "grpc_api_key": "",
	"grpc_api_tls": false, "grpc_api_tls_cert": "", "grpc_api_tls_key": "",
	"grpc_api_tls_disable": false, "graphite": false, "graphite_host": "localhost",
	"graphite_port": 2003, "graphite_prefix": "centrifugo", "graphite_interval": "10s",
	"graphite_tags":          false,
	"proxy_connect_endpoint": "http://c", "proxy_connect_timeout": "1s",
	"proxy_refresh_endpoint": "http://r", "proxy_refresh_timeout": "1s",
	"proxy_subscribe_endpoint": "http://s", "proxy_subscribe_timeout": "1s",
	"proxy_publish_endpoint": "http://p", "proxy_publish_timeout": "1s",
	"proxy_rpc_endpoint": "http://rpc", "proxy_rpc_timeout": "1s",
	"proxy_sub_refresh_endpoint": "http://sr", "proxy_sub_refresh_timeout": "1s",
	"proxy_http_headers": []string{"Cookie"}, "proxy_grpc_metadata": []string{},
	"proxy_binary_encoding": false, "proxy_include_connection_meta": true,
	"proxy_grpc_cert_file": "", "proxy_grpc_credentials_key": "",
	"proxy_grpc_credentials_value": "", "proxy_static_http_headers": map[string]any{},
	"proxy_http_status_code_transforms": []any{}, "proxy_grpc_compression": false,
	"granular_proxy_mode": false, "proxies": []any{map[string]any{"name": "named",
		"endpoint": "http://n", "timeout": "1s", "http_headers": []string{},
		"grpc_metadata": []string{}, "binary_encoding": false,
		"include_connection_meta": false, "grpc_cert_file": "",
		"grpc_credentials_key": "", "grpc_credentials_value": ""}},
	"connect_proxy_name": "", "refresh_proxy_name": "", "rpc_proxy_name": "",
}

func TestEveryFlatKeyAccepted(t *testing.T) {
	data, err := json.Marshal(everyFlatKey)
	if err != nil {
		t.Fatal(err)
	}
	c, warnings := loadJSON(t, string(data))
	for _, w := range warnings {
		if strings.Contains(w, "unknown") {
			t.Errorf("warning: %s", w)
		}
	}
	if len(warnings) != 1 {
		t.Fatalf("warnings %q", warnings)
	}
	for _, key := range []string{"sockjs", "tarantool_mode", "graphite", "grpc_api_port",
		"uni_grpc_tls", "tls_autocert", "gomaxprocs", "redis_idle_timeout"} {
		if !strings.Contains(warnings[0], key) {
			t.Errorf("%s not reported as unsupported", key)
		}
	}
	if !c.Proxy.Refresh.Enabled || c.Proxy.Subscribe.Endpoint != "http://s" ||
		!c.Proxy.Refresh.IncludeConnectionMeta || c.Proxy.Connect.GRPC.TLS.Enabled ||
		c.Proxy.Named[0].GRPC.TLS.Enabled {
		t.Errorf("proxies %+v", c.Proxy)
	}
}

const everyNestedKey = `{
 "http_server": {"address": "", "port": 8000, "internal_address": "", "internal_port": "",
  "tls": {"enabled": false, "cert_pem": "", "key_pem": "", "server_ca_pem": "",
   "client_ca_pem": "", "insecure_skip_verify": false, "server_name": ""},
  "tls_external": false},
 "log": {"level": "info", "file": ""},
 "engine": {"type": "memory", "redis": {"address": ["redis://127.0.0.1:6379"],
  "prefix": "centrifugo", "connect_timeout": "1s", "io_timeout": "4s", "db": 0,
  "user": "", "password": "", "client_name": "", "force_resp2": false,
  "cluster_address": [], "tls": {"enabled": false}, "sentinel_address": [],
  "sentinel_user": "", "sentinel_password": "", "sentinel_master_name": "",
  "sentinel_client_name": "", "sentinel_tls": {"enabled": false},
  "sharded_pub_sub_partitions": 0, "history_use_lists": false, "presence_ttl": "60s", "presence_hash_field_ttl": false,
  "presence_user_mapping": false}},
 "broker": {"enabled": false, "type": "memory", "redis": {"prefix": "x"},
  "nats": {"url": "nats://localhost:4222", "prefix": "centrifugo", "dial_timeout": "1s",
   "write_timeout": "1s", "allow_wildcards": false}},
 "presence_manager": {"enabled": false, "type": "memory", "redis": {"presence_ttl": "60s"}},
 "client": {
  "proxy": {"connect": {"enabled": false, "endpoint": "", "timeout": "1s",
    "http_headers": [], "emulated_headers": [], "grpc_metadata": [],
    "binary_encoding": false, "include_connection_meta": false,
    "http": {"tls": {"enabled": false}, "static_headers": {},
     "status_to_code_transforms": [{"status_code": 404,
      "to_error": {"code": 404, "message": "not found", "temporary": false},
      "to_disconnect": {"code": 0, "reason": ""}}]},
    "grpc": {"tls": {"enabled": false}, "credentials_key": "", "credentials_value": "",
     "compression": false, "static_metadata": {}}},
   "refresh": {"enabled": false}},
  "allowed_origins": [],
  "token": {"hmac_secret_key": "", "hmac_previous_secret_key": "",
   "hmac_previous_secret_key_valid_until": 0, "rsa_public_key": "",
   "ecdsa_public_key": "", "jwks_public_endpoint": "", "audience": "",
   "audience_regex": "", "issuer": "", "issuer_regex": "", "user_id_claim": "",
   "insecure_skip_jwks_endpoint_safety_check": false},
  "subscription_token": {"enabled": false, "hmac_secret_key": ""},
  "allow_anonymous_connect_without_token": false,
  "disallow_anonymous_connection_tokens": false, "ping_interval": "25s",
  "pong_timeout": "8s", "expired_close_delay": "25s", "expired_sub_close_delay": "25s",
  "stale_close_delay": "10s", "channel_limit": 128, "queue_max_size": 1048576,
  "presence_update_interval": "27s", "concurrency": 0,
  "channel_position_check_delay": "40s", "channel_position_max_time_lag": "0s",
  "connection_limit": 0, "user_connection_limit": 0, "connection_rate_limit": 0,
  "command_rate_limit": 0,
  "connect_include_server_time": false, "history_max_publication_limit": 300,
  "recovery_max_publication_limit": 300, "insecure_skip_token_signature_verify": false,
  "user_id_http_header": "", "insecure": false,
  "subscribe_to_user_personal_channel": {"enabled": false,
   "personal_channel_namespace": "", "single_connection": false}},
 "channel": {
  "proxy": {"subscribe": {"endpoint": "", "timeout": "1s"}, "publish": {},
   "sub_refresh": {}, "subscribe_stream": {}},
  "without_namespace": {"presence": false, "join_leave": false,
   "force_push_join_leave": false, "history_size": 0, "history_ttl": "0s",
   "history_meta_ttl": "0s", "force_positioning": false, "allow_positioning": false,
   "force_recovery": false, "allow_recovery": false, "force_recovery_mode": "",
   "allowed_delta_types": [], "allow_tags_filter": false, "delta_publish": false,
   "allow_subscribe_for_anonymous": false, "allow_subscribe_for_client": false,
   "allow_publish_for_anonymous": false, "allow_publish_for_subscriber": false,
   "allow_publish_for_client": false, "allow_presence_for_anonymous": false,
   "allow_presence_for_subscriber": false, "allow_presence_for_client": false,
   "allow_history_for_anonymous": false, "allow_history_for_subscriber": false,
   "allow_history_for_client": false, "allow_user_limited_channels": false,
   "channel_regex": "", "publication_data_format": "",
   "subscribe_proxy_enabled": false, "subscribe_proxy_name": "default",
   "publish_proxy_enabled": false, "publish_proxy_name": "default",
   "sub_refresh_proxy_enabled": false, "sub_refresh_proxy_name": "default",
   "subscribe_stream_proxy_enabled": false, "subscribe_stream_proxy_name": "default",
   "subscribe_stream_proxy_bidirectional": false},
  "namespaces": [], "history_meta_ttl": "720h", "max_length": 255,
  "private_prefix": "$", "namespace_boundary": ":", "user_boundary": "#",
  "user_separator": ","},
 "rpc": {"proxy": {"endpoint": "", "timeout": "1s"},
  "without_namespace": {"proxy_enabled": false, "proxy_name": "default"},
  "namespaces": [], "ping": {"enabled": false, "method": "ping"},
  "namespace_boundary": ":"},
 "proxies": [],
 "http_api": {"disabled": false, "handler_prefix": "/api", "key": "", "error_mode": "",
  "external": false, "insecure": false},
 "websocket": {"disabled": false, "handler_prefix": "/connection/websocket",
  "compression": false, "compression_min_size": 0, "compression_level": 1,
  "read_buffer_size": 0, "use_write_buffer_pool": false, "write_buffer_size": 0,
  "write_timeout": "1s", "message_size_limit": 65536,
  "decompressed_message_size_limit": 0},
 "sse": {"enabled": false, "handler_prefix": "/connection/sse",
  "max_request_body_size": 65536},
 "http_stream": {"enabled": false, "handler_prefix": "/connection/http_stream",
  "max_request_body_size": 65536},
 "uni_sse": {"enabled": false, "handler_prefix": "/connection/uni_sse",
  "max_request_body_size": 65536},
 "uni_http_stream": {"enabled": false, "handler_prefix": "/connection/uni_http_stream",
  "max_request_body_size": 65536},
 "uni_websocket": {"enabled": false, "handler_prefix": "/connection/uni_websocket",
  "compression": false, "compression_min_size": 0, "compression_level": 1,
  "read_buffer_size": 0, "use_write_buffer_pool": false, "write_buffer_size": 0,
  "write_timeout": "1s", "message_size_limit": 65536,
  "decompressed_message_size_limit": 0, "disable_closing_handshake": false,
  "disable_disconnect_push": false, "join_push_messages": false},
 "emulation": {"handler_prefix": "/emulation", "max_request_body_size": 65536},
 "admin": {"enabled": false, "handler_prefix": "", "password": "", "secret": "",
  "insecure": false, "web_path": "", "web_proxy_address": "", "external": false},
 "prometheus": {"enabled": false, "handler_prefix": "/metrics",
  "instrument_http_handlers": false, "recovered_publications_histogram": false,
  "native_histograms": false},
 "health": {"enabled": false, "handler_prefix": "/health"},
 "debug": {"enabled": false, "handler_prefix": "/debug/pprof"},
 "usage_stats": {"disabled": false},
 "node": {"name": "", "info_metrics_aggregate_interval": "60s"},
 "shutdown": {"timeout": "30s"},
 "pid_file": ""
}`

func TestEveryNestedKeyAccepted(t *testing.T) {
	c, warnings := loadJSON(t, everyNestedKey)
	if len(warnings) != 0 {
		t.Fatalf("warnings %q", warnings)
	}
	if len(c.Proxy.Connect.HTTP.StatusToCodeTransforms) != 1 ||
		c.Proxy.Connect.HTTP.StatusToCodeTransforms[0].ToError.Message != "not found" {
		t.Fatalf("transforms %+v", c.Proxy.Connect.HTTP)
	}
}
