package config

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// flatKey describes a flat key of Centrifugo v3-v5 files that is a plain
// rename of a nested key. Flat keys with more to them (engine, broker,
// proxies, channel options, namespaces...) are handled in translate.
type flatKey struct {
	path string // nested path
	// legacy marks an older spelling of path; when a file has both, the
	// newer key wins.
	legacy bool
	// sec marks a duration of whole seconds: a bare integer means seconds.
	sec bool
}

// flatKeys is the table of config.md §2, extended with v4/v5 names.
var flatKeys = buildFlatKeys()

func buildFlatKeys() map[string]flatKey {
	m := map[string]flatKey{}
	add := func(prefix, path string, suffixes ...string) {
		for _, s := range suffixes {
			m[prefix+s] = flatKey{path: path + s}
		}
	}
	old := func(key, path string) { m[key] = flatKey{path: path, legacy: true} }

	add("", "http_server.", "address", "port", "internal_address", "internal_port",
		"tls_external")
	add("", "client.", "allowed_origins", "ping_interval", "pong_timeout",
		"allow_anonymous_connect_without_token", "disallow_anonymous_connection_tokens")
	add("client_", "client.", "expired_close_delay", "expired_sub_close_delay",
		"stale_close_delay", "channel_limit", "queue_max_size", "presence_update_interval",
		"user_connection_limit", "concurrency", "channel_position_check_delay",
		"channel_position_max_time_lag", "history_max_publication_limit",
		"recovery_max_publication_limit", "connection_limit", "connection_rate_limit",
		"connect_include_server_time", "insecure", "insecure_skip_token_signature_verify",
		"user_id_http_header")
	old("client_anonymous", "client.allow_anonymous_connect_without_token")
	tokenKeys := []string{"hmac_secret_key", "rsa_public_key", "ecdsa_public_key",
		"jwks_public_endpoint", "audience", "audience_regex", "issuer", "issuer_regex",
		"user_id_claim"}
	add("token_", "client.token.", tokenKeys...)
	add("subscription_token_", "client.subscription_token.", tokenKeys...)
	m["separate_subscription_token_config"] = flatKey{path: "client.subscription_token.enabled"}
	m["user_subscribe_to_personal"] = flatKey{
		path: "client.subscribe_to_user_personal_channel.enabled"}
	add("user_", "client.subscribe_to_user_personal_channel.",
		"personal_channel_namespace")
	m["user_personal_single_connection"] = flatKey{
		path: "client.subscribe_to_user_personal_channel.single_connection"}

	add("channel_", "channel.", "max_length", "private_prefix", "namespace_boundary",
		"user_boundary", "user_separator")
	m["global_history_meta_ttl"] = flatKey{path: "channel.history_meta_ttl", sec: true}
	add("rpc_", "rpc.", "namespace_boundary")
	m["rpc_ping"] = flatKey{path: "rpc.ping.enabled"}
	m["rpc_ping_method"] = flatKey{path: "rpc.ping.method"}

	add("admin_", "admin.", "password", "secret", "insecure", "web_path",
		"web_proxy_address", "external")
	add("api_", "http_api.", "key", "insecure", "external", "error_mode")
	m["api_disable"] = flatKey{path: "http_api.disabled"}
	m["websocket_disable"] = flatKey{path: "websocket.disabled"}
	for _, sec := range []string{"admin", "debug", "prometheus", "health", "sse",
		"http_stream", "uni_websocket", "uni_sse", "uni_http_stream"} {
		m[sec] = flatKey{path: sec + ".enabled"}
	}
	for _, sec := range []string{"websocket", "http_stream", "sse", "emulation",
		"uni_websocket", "uni_sse", "uni_http_stream", "prometheus", "health", "admin"} {
		m[sec+"_handler_prefix"] = flatKey{path: sec + ".handler_prefix"}
	}
	m["api_handler_prefix"] = flatKey{path: "http_api.handler_prefix"}
	for _, sec := range []string{"sse", "http_stream", "uni_sse", "uni_http_stream",
		"emulation"} {
		m[sec+"_max_request_body_size"] = flatKey{path: sec + ".max_request_body_size"}
	}
	wsKeys := []string{"compression", "compression_min_size", "compression_level",
		"read_buffer_size", "write_buffer_size", "use_write_buffer_pool", "write_timeout",
		"message_size_limit"}
	add("websocket_", "websocket.", wsKeys...)
	add("uni_websocket_", "uni_websocket.", wsKeys...)

	m["name"] = flatKey{path: "node.name"}
	add("node_", "node.", "info_metrics_aggregate_interval")
	add("log_", "log.", "level", "file")
	add("shutdown_", "shutdown.", "timeout", "termination_delay")

	add("redis_", "engine.redis.", "address", "prefix", "db", "user", "password",
		"client_name", "force_resp2", "connect_timeout", "io_timeout", "cluster_address",
		"sentinel_address", "sentinel_master_name", "sentinel_user", "sentinel_password",
		"sentinel_client_name", "sharded_pub_sub_partitions")
	m["redis_use_lists"] = flatKey{path: "engine.redis.history_use_lists"}
	m["redis_presence_hash_field_ttl"] = flatKey{path: "engine.redis.presence_hash_field_ttl"}
	m["global_redis_presence_user_mapping"] = flatKey{
		path: "engine.redis.presence_user_mapping"}
	m["presence_ttl"] = flatKey{path: "engine.redis.presence_ttl", legacy: true, sec: true}
	m["global_presence_ttl"] = flatKey{path: "engine.redis.presence_ttl", sec: true}
	addTLS(m, "tls", "http_server.tls")
	addTLS(m, "redis_tls", "engine.redis.tls")
	addTLS(m, "redis_sentinel_tls", "engine.redis.sentinel_tls")
	old("redis_tls_skip_verify", "engine.redis.tls.insecure_skip_verify")
	add("nats_", "broker.nats.", "url", "prefix", "dial_timeout", "write_timeout",
		"allow_wildcards")
	return m
}

// addTLS adds the flat TLS keys of v3-v5 (tls, tls_cert, tls_cert_pem...)
// under prefix, mapped to a nested TLS object at path.
func addTLS(m map[string]flatKey, prefix, path string) {
	m[prefix] = flatKey{path: path + ".enabled"}
	for old, nested := range map[string]string{"cert": "cert_pem", "key": "key_pem",
		"root_ca": "server_ca_pem", "client_ca": "client_ca_pem"} {
		m[prefix+"_"+old] = flatKey{path: path + "." + nested, legacy: true}
		m[prefix+"_"+old+"_pem"] = flatKey{path: path + "." + nested}
	}
	m[prefix+"_server_name"] = flatKey{path: path + ".server_name"}
	m[prefix+"_insecure_skip_verify"] = flatKey{path: path + ".insecure_skip_verify"}
}

// collisionKinds are top-level names used by both formats: a bool (or
// string) value is the flat key, an object is the nested section.
var collisionKinds = map[string]string{
	"admin": "bool", "debug": "bool", "prometheus": "bool", "health": "bool",
	"sse": "bool", "http_stream": "bool", "uni_websocket": "bool", "uni_sse": "bool",
	"uni_http_stream": "bool", "engine": "string", "broker": "string",
}

// specialKeys are flat keys that translate handles in code.
var specialKeys = []string{"engine", "broker", "websocket_ping_interval",
	"redis_read_timeout", "redis_write_timeout", "history_meta_ttl", "namespaces",
	"rpc_namespaces", "granular_proxy_mode", "connect_proxy_name", "refresh_proxy_name",
	"rpc_proxy_name", "nats_tls", "proxy_grpc_tls"}

// Keys of features Herald does not implement: accepted with a warning.
var (
	unsupportedExact = []string{"gomaxprocs", "use_unlimited_history_by_default",
		"v3_use_offset", "redis_idle_timeout", "uni_websocket_ping_interval", "http3",
		"consumers", "enable_unreleased_features", "use_client_protocol_v1_by_default",
		"disable_client_protocol_v1", "skip_user_check_in_subscription_token",
		"proxy_cache_empty_endpoint", "proxy_cache_empty_timeout"}
	unsupportedPrefixes = []string{"sockjs", "tarantool", "graphite", "grpc_api",
		"uni_grpc", "tls_autocert", "opentelemetry", "webtransport", "swagger",
		"nats_raw_mode", "client_connect_code_to_unidirectional_disconnect",
		"uni_sse_connect_code_to_http_response",
		"uni_http_stream_connect_code_to_http_response"}
	ignoredFlat = []string{"usage_stats_disable"}
)

func unsupportedFlat(k string) bool {
	if slices.Contains(unsupportedExact, k) {
		return true
	}
	for _, p := range unsupportedPrefixes {
		if k == p || strings.HasPrefix(k, p+"_") || strings.HasPrefix(k, p+".") {
			return true
		}
	}
	return false
}

// Proxy keys of the flat format. proxyPaths gives the nested proxy of each
// kind of proxy_<kind>_endpoint / proxy_<kind>_timeout.
var proxyPaths = map[string]string{
	"connect": "client.proxy.connect", "refresh": "client.proxy.refresh",
	"subscribe": "channel.proxy.subscribe", "publish": "channel.proxy.publish",
	"sub_refresh":      "channel.proxy.sub_refresh",
	"subscribe_stream": "channel.proxy.subscribe_stream",
	"rpc":              "rpc.proxy",
}

// proxyCommon maps flat proxy settings shared by every proxy to their key
// inside each nested proxy ("copied to each configured proxy").
var proxyCommon = map[string]flatKey{
	"proxy_http_headers":                {path: "http_headers"},
	"proxy_grpc_metadata":               {path: "grpc_metadata"},
	"proxy_binary_encoding":             {path: "binary_encoding"},
	"proxy_include_connection_meta":     {path: "include_connection_meta"},
	"proxy_static_http_headers":         {path: "http.static_headers"},
	"proxy_http_status_code_transforms": {path: "http.status_to_code_transforms"},
	"proxy_grpc_credentials_key":        {path: "grpc.credentials_key"},
	"proxy_grpc_credentials_value":      {path: "grpc.credentials_value"},
	"proxy_grpc_compression":            {path: "grpc.compression"},
	"proxy_grpc_cert_file":              {path: "grpc.tls", legacy: true},
	"proxy_grpc_tls":                    {path: "grpc.tls"},
}

// proxyKeyPath returns the nested path of a flat proxy_<kind>_endpoint or
// proxy_<kind>_timeout key.
func proxyKeyPath(k string) (path, kind string, ok bool) {
	rest, found := strings.CutPrefix(k, "proxy_")
	if !found {
		return "", "", false
	}
	for _, field := range []string{"endpoint", "timeout"} {
		if kind, found := strings.CutSuffix(rest, "_"+field); found {
			if p, ok := proxyPaths[kind]; ok {
				return p + "." + field, kind, true
			}
		}
	}
	return "", "", false
}

// isFlat reports whether a top-level key belongs to the flat format.
func isFlat(k string) bool {
	_, table := flatKeys[k]
	_, common := proxyCommon[k]
	_, _, proxy := proxyKeyPath(k)
	return table || common || proxy || slices.Contains(specialKeys, k) ||
		isOptionKey(k) || unsupportedFlat(k) || slices.Contains(ignoredFlat, k)
}

// isLegacy reports whether k is an older spelling processed before newer
// keys of the same meaning.
func isLegacy(k string) bool {
	if e, ok := flatKeys[k]; ok {
		return e.legacy
	}
	if e, ok := proxyCommon[k]; ok {
		return e.legacy
	}
	return k == "websocket_ping_interval" || k == "redis_read_timeout" ||
		k == "redis_write_timeout"
}

// layerTree is one source of configuration translated to the nested form.
type layerTree struct {
	tree    map[string]any
	origins map[string]string
	// common holds flat proxy settings (proxy_http_headers...) to apply to
	// every proxy that has an endpoint once the layer is decoded.
	common        map[string]any
	commonOrigins map[string]string
}

func newLayerTree() *layerTree {
	return &layerTree{tree: map[string]any{}, origins: map[string]string{},
		common: map[string]any{}, commonOrigins: map[string]string{}}
}

func (t *layerTree) set(path string, v any, origin string) {
	setPath(t.tree, path, v)
	if origin != "" {
		t.origins[path] = origin
	}
}

// setPath stores v at a dotted path, creating objects on the way.
func setPath(tree map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := tree[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			tree[p] = next
		}
		tree = next
	}
	tree[parts[len(parts)-1]] = v
}

// labelOf names a flat key as the user wrote it.
func labelOf(k string, v any) string {
	if rs, ok := v.(rawString); ok && rs.src != "" {
		return rs.src
	}
	return k
}

// translate turns the flat keys of one source into the nested form.
// first is true for the file, whose channel options get the v3 defaults.
func (l *loader) translate(flat map[string]any, first bool) (*layerTree, error) {
	t := newLayerTree()
	options := map[string]any{}
	keys := slices.Sorted(maps.Keys(flat))
	// Older spellings first, so that newer keys overwrite them.
	slices.SortStableFunc(keys, func(a, b string) int {
		return boolRank(isLegacy(b)) - boolRank(isLegacy(a))
	})
	for _, k := range keys {
		if err := l.translateKey(t, flat, k, options); err != nil {
			return nil, err
		}
	}
	if err := l.translateOptions(t, options, first); err != nil {
		return nil, err
	}
	_, meta := flat["history_meta_ttl"]
	_, globalMeta := flat["global_history_meta_ttl"]
	if l.v3 && first && !meta && !globalMeta {
		// v3 kept stream meta without expiry unless told otherwise; keep
		// that, so that long history TTLs of v3 files stay valid.
		t.set("channel.history_meta_ttl", int64(0), "")
	}
	return t, nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (l *loader) translateKey(t *layerTree, flat map[string]any, k string,
	options map[string]any) error {
	v := flat[k]
	label := labelOf(k, v)
	if e, ok := flatKeys[k]; ok {
		if e.sec {
			v = secValue(v)
		}
		t.set(e.path, v, label)
		return nil
	}
	if p, kind, ok := proxyKeyPath(k); ok {
		l.translateProxyKey(t, p, kind, v, label)
		return nil
	}
	if e, ok := proxyCommon[k]; ok {
		if !l.granular {
			if k == "proxy_grpc_cert_file" {
				if textOf(v) == "" {
					return nil // no certificate: plaintext gRPC
				}
				v = map[string]any{"enabled": true, "server_ca_pem": v}
			} else if k == "proxy_grpc_tls" {
				v = normalizeTLS(v)
			}
			setPath(t.common, e.path, v)
			t.commonOrigins["proxy."+e.path] = label
		}
		return nil
	}
	switch {
	case unsupportedFlat(k):
		l.unsupported = append(l.unsupported, label)
	case slices.Contains(ignoredFlat, k):
	case isOptionKey(k):
		options[k] = v
	default:
		return l.translateSpecial(t, flat, k, v, label, options)
	}
	return nil
}

// translateProxyKey maps proxy_<kind>_endpoint and _timeout. A non-empty
// connect or refresh endpoint enables that proxy, a non-empty rpc endpoint
// sends RPCs without namespace to it. In granular mode these keys are
// ignored, as they were by v3.
func (l *loader) translateProxyKey(t *layerTree, path, kind string, v any, label string) {
	if l.granular {
		return
	}
	t.set(path, v, label)
	if !strings.HasSuffix(path, ".endpoint") {
		return
	}
	on := strings.TrimSpace(textOf(v)) != ""
	switch kind {
	case "connect", "refresh":
		t.set(strings.TrimSuffix(path, ".endpoint")+".enabled", on, "")
	case "rpc":
		if on {
			t.set("rpc.without_namespace.proxy_enabled", true, "")
		}
	}
}

func (l *loader) translateSpecial(t *layerTree, flat map[string]any, k string, v any,
	label string, options map[string]any) error {
	switch k {
	case "engine":
		t.set("engine.type", v, label)
	case "broker":
		if s := strings.TrimSpace(textOf(v)); s != "" {
			t.set("broker.enabled", true, "")
			t.set("broker.type", v, label)
		}
	case "websocket_ping_interval":
		t.set("client.ping_interval", v, label)
		// v3 had no pong timeout; keep the default one below the interval.
		if _, ok := flat["pong_timeout"]; !ok {
			if d, err := time.ParseDuration(textOf(v)); err == nil && d > 0 &&
				d <= l.cfg.Client.PongTimeout {
				t.set("client.pong_timeout", (d / 2).String(), "")
			}
		}
	case "redis_read_timeout", "redis_write_timeout":
		// Both became one io_timeout: keep the longer of the two.
		other := "redis_write_timeout"
		if k == other {
			other = "redis_read_timeout"
		}
		if ov, ok := flat[other]; ok && longer(ov, v) {
			return nil
		}
		t.set("engine.redis.io_timeout", v, label)
	case "history_meta_ttl":
		// Global in v3 and v4; a channel option in v5, which spells the
		// global one global_history_meta_ttl.
		if _, v5 := flat["global_history_meta_ttl"]; v5 {
			options[k] = v
			return nil
		}
		t.set("channel.history_meta_ttl", secValue(v), label)
	case "namespaces":
		list, err := l.translateNamespaces(v, label)
		if err != nil {
			return err
		}
		t.set("channel.namespaces", list, label)
	case "rpc_namespaces":
		t.set("rpc.namespaces", translateRPCNamespaces(v), label)
	case "granular_proxy_mode":
		// Read before translation; see Load.
	case "connect_proxy_name", "refresh_proxy_name":
		s := textOf(v)
		if k == "connect_proxy_name" {
			l.connectName = &s
		} else {
			l.refreshName = &s
		}
	case "rpc_proxy_name":
		if s := textOf(v); l.granular && s != "" {
			t.set("rpc.without_namespace.proxy_enabled", true, "")
			t.set("rpc.without_namespace.proxy_name", v, label)
		}
	case "nats_tls":
		t.set("broker.nats.tls", normalizeTLS(v), label)
	default:
		return fmt.Errorf("config: internal error: flat key %q has no translation", k)
	}
	return nil
}

// longer reports whether duration a is longer than b; values that do not
// parse compare as not longer, so that the decoder reports them.
func longer(a, b any) bool {
	da, errA := time.ParseDuration(textOf(a))
	db, errB := time.ParseDuration(textOf(b))
	return errA == nil && errB == nil && da > db
}

// secValue turns a bare integer into a duration in seconds, for the keys
// that v3 documented in whole seconds (history_ttl, history_meta_ttl,
// presence_ttl). Other durations need a unit, see decodeDuration.
func secValue(v any) any {
	switch x := v.(type) {
	case int64:
		if x >= 0 {
			return strconv.FormatInt(x, 10) + "s"
		}
	case float64:
		if x >= 0 && x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10) + "s"
		}
	case rawString:
		if n, err := strconv.ParseInt(strings.TrimSpace(x.s), 10, 64); err == nil && n >= 0 {
			x.s = strconv.FormatInt(n, 10) + "s"
			return x
		}
	}
	return v
}

// normalizeTLS maps the v5 TLS object variants (cert_pem_file,
// cert_pem_b64...) onto the single nested PEM keys.
func normalizeTLS(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		base := strings.TrimSuffix(strings.TrimSuffix(k, "_file"), "_b64")
		if base != k && strings.HasSuffix(base, "_pem") {
			if _, exact := m[base]; exact {
				continue
			}
			k = base
		}
		out[k] = x
	}
	return out
}

// translateRPCNamespaces maps v3 items {name, rpc_proxy_name} to nested
// {name, proxy_enabled, proxy_name}; nested items pass unchanged.
func translateRPCNamespaces(v any) any {
	items, ok := v.([]any)
	if !ok {
		return v
	}
	out := make([]any, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			out[i] = it
			continue
		}
		n := maps.Clone(m)
		if name, ok := n["rpc_proxy_name"]; ok {
			delete(n, "rpc_proxy_name")
			if textOf(name) != "" {
				n["proxy_name"] = name
				n["proxy_enabled"] = true
			}
		}
		out[i] = n
	}
	return out
}

// normalizeProxies maps v3 items of the top-level "proxies" list
// (grpc_cert_file, static_http_headers...) onto the nested proxy keys.
func normalizeProxies(tree map[string]any) {
	if rs, ok := tree["proxies"].(rawString); ok {
		// From the environment: parse here so that v3 items get renamed;
		// JSON errors are left for the decoder to report.
		if v, err := parseJSON([]byte(rs.s)); err == nil {
			tree["proxies"] = v
		}
	}
	items, ok := tree["proxies"].([]any)
	if !ok {
		return
	}
	renames := map[string]string{
		"static_http_headers":            "http.static_headers",
		"http_status_to_code_transforms": "http.status_to_code_transforms",
		"grpc_credentials_key":           "grpc.credentials_key",
		"grpc_credentials_value":         "grpc.credentials_value",
		"grpc_compression":               "grpc.compression",
	}
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		for old, path := range renames {
			if v, ok := m[old]; ok {
				delete(m, old)
				setPath(m, path, v)
			}
		}
		if v, ok := m["grpc_cert_file"]; ok {
			delete(m, "grpc_cert_file")
			if textOf(v) != "" {
				setPath(m, "grpc.tls", map[string]any{"enabled": true, "server_ca_pem": v})
			}
		}
		if v, ok := m["grpc_tls"]; ok {
			delete(m, "grpc_tls")
			setPath(m, "grpc.tls", normalizeTLS(v))
		}
	}
}
