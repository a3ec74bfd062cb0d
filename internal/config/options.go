package config

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Channel permissions changed meaning between Centrifugo v3 and v4.
//
// In v3, channels are open by default: any authenticated user may subscribe
// to any channel of a configured namespace unless it is "protected", and
// "publish", "presence" and history are switched on per namespace with
// client access implied. From v4 on, channels are closed by default and
// every client permission is an explicit allow_* flag.
//
// A flat file does not say which version it was written for, and the two
// readings of the same options differ in what clients may do. Herald
// decides per file: the file is v3 when it contains a key that only v3 had
// (the channel options in v3OnlyOptions, at top level or in a namespace,
// or a top-level key in v3OnlyTop). Then the v3->v4 conversion of
// config.md §2.3 is applied to the top-level options and to every
// namespace, which keeps v3 behaviour exactly. Otherwise the file gets v4+
// semantics, closed by default: guessing "open" for a v4 or v5 file would
// silently grant clients permissions their operators never gave.
//
// Keys that v3 shares with v4/v5 (proxy_subscribe, proxy_publish,
// client_user_connection_limit, sockjs*, tarantool*...) do not decide the
// dialect, for that reason.
var (
	v3OnlyOptions = []string{"publish", "anonymous", "protected", "subscribe_to_publish",
		"presence_disable_for_client", "history_disable_for_client", "position", "recover"}
	v3OnlyTop = []string{"client_anonymous", "use_unlimited_history_by_default",
		"v3_use_offset"}
)

// optionRenames are flat channel option names whose nested name differs.
var optionRenames = map[string]string{
	"proxy_subscribe":                      "subscribe_proxy_enabled",
	"proxy_publish":                        "publish_proxy_enabled",
	"proxy_sub_refresh":                    "sub_refresh_proxy_enabled",
	"proxy_subscribe_stream":               "subscribe_stream_proxy_enabled",
	"proxy_subscribe_stream_bidirectional": "subscribe_stream_proxy_bidirectional",
}

// proxyNameOptions name granular-mode proxies; flat files use them only in
// granular proxy mode.
var proxyNameOptions = []string{"subscribe_proxy_name", "publish_proxy_name",
	"sub_refresh_proxy_name", "subscribe_stream_proxy_name"}

// proxyNameEnables maps each proxy name option to the nested switch it
// turns on: in granular mode v3-v5 consulted a channel proxy as soon as
// the namespace named one, with or without the proxy_* flag (proxy.md
// §4.5).
var proxyNameEnables = map[string]string{
	"subscribe_proxy_name":        "subscribe_proxy_enabled",
	"publish_proxy_name":          "publish_proxy_enabled",
	"sub_refresh_proxy_name":      "sub_refresh_proxy_enabled",
	"subscribe_stream_proxy_name": "subscribe_stream_proxy_enabled",
}

// flatOptions are the channel options a flat file may set at top level.
var flatOptions = []string{"presence", "join_leave", "force_push_join_leave",
	"history_size", "history_ttl", "force_positioning", "allow_positioning",
	"force_recovery", "allow_recovery", "force_recovery_mode", "allowed_delta_types",
	"delta_publish", "allow_subscribe_for_client", "allow_subscribe_for_anonymous",
	"allow_publish_for_client", "allow_publish_for_subscriber",
	"allow_publish_for_anonymous", "allow_presence_for_client",
	"allow_presence_for_subscriber", "allow_presence_for_anonymous",
	"allow_history_for_client", "allow_history_for_subscriber",
	"allow_history_for_anonymous", "allow_user_limited_channels", "channel_regex",
	"proxy_cache_empty", "cache_empty_proxy_name"}

func isOptionKey(k string) bool {
	_, renamed := optionRenames[k]
	return renamed || slices.Contains(flatOptions, k) || slices.Contains(v3OnlyOptions, k) ||
		slices.Contains(proxyNameOptions, k)
}

// hasV3Markers reports whether flat keys of a source include a key that
// only v3 had.
func hasV3Markers(flat map[string]any) bool {
	for k := range flat {
		if slices.Contains(v3OnlyTop, k) || slices.Contains(v3OnlyOptions, k) {
			return true
		}
	}
	items, _ := flat["namespaces"].([]any)
	return listHasV3Options(items)
}

func listHasV3Options(items []any) bool {
	for _, it := range items {
		m, _ := it.(map[string]any)
		for _, k := range v3OnlyOptions {
			if _, ok := m[k]; ok {
				return true
			}
		}
	}
	return false
}

// translateOptions places the top-level channel options of a flat source
// under channel.without_namespace. In a v3 file the options of all
// sources are converted together, so that an environment variable
// overrides a file key in v3 terms before the conversion.
func (l *loader) translateOptions(t *layerTree, options map[string]any, first bool) error {
	if len(options) == 0 && !(l.v3 && first) {
		return nil
	}
	group := options
	if l.v3 {
		if l.topOptions == nil {
			l.topOptions = map[string]any{}
		}
		maps.Copy(l.topOptions, options)
		group = l.topOptions
	} else {
		for _, k := range slices.Sorted(maps.Keys(options)) {
			if slices.Contains(v3OnlyOptions, k) {
				return &keyError{key: labelOf(k, options[k]), msg: "a v3 channel option " +
					"in a v4+ configuration; use the allow_* options instead"}
			}
		}
	}
	conv, err := convertOptions(group, l.v3, l.granular, "")
	if err != nil {
		return err
	}
	for k, v := range conv {
		origin := k
		if src, ok := group[k]; ok {
			origin = labelOf(k, src)
		}
		t.set("channel.without_namespace."+k, v, origin)
	}
	return nil
}

// translateNamespaces converts the items of a flat "namespaces" list. A
// list with v3-only options is converted as v3 even when it comes from the
// environment of a v4+ file: it replaces the file's list whole.
func (l *loader) translateNamespaces(v any, label string) (any, error) {
	if rs, ok := v.(rawString); ok {
		parsed, err := parseJSON([]byte(rs.s))
		if err != nil {
			return nil, &keyError{key: rs.src, msg: "expected a list of namespaces as JSON"}
		}
		v = parsed
	}
	items, ok := v.([]any)
	if !ok {
		return v, nil // the decoder reports the type
	}
	v3 := l.v3 || listHasV3Options(items)
	out := make([]any, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			out[i] = it
			continue
		}
		conv, err := convertOptions(m, v3, l.granular, fmt.Sprintf("%s[%d].", label, i))
		if err != nil {
			return nil, err
		}
		out[i] = conv
	}
	return out, nil
}

// convertOptions maps one group of flat channel options (top level or one
// namespace) to nested option keys. With v3 set it applies the v3->v4
// permission conversion of config.md §2.3; explicit v4+ keys in the group
// win over the derived ones. Unknown keys pass through for the decoder to
// report. where prefixes key names in errors.
func convertOptions(in map[string]any, v3, granular bool,
	where string) (map[string]any, error) {
	out := make(map[string]any, len(in))
	for k, v := range in {
		switch {
		case slices.Contains(v3OnlyOptions, k):
		case optionRenames[k] != "":
			out[optionRenames[k]] = v
		case slices.Contains(proxyNameOptions, k):
			// Without granular mode v3-v5 ignored proxy names.
			if granular && textOf(v) != "" {
				out[k] = v
			}
		case k == "history_ttl" || k == "history_meta_ttl":
			out[k] = secValue(v)
		default:
			out[k] = v
		}
	}
	if granular {
		// After the loop, so that a name wins over a proxy_* flag that
		// map order may have copied later.
		for _, k := range proxyNameOptions {
			if textOf(in[k]) != "" {
				out[proxyNameEnables[k]] = true
			}
		}
	}
	if !v3 {
		return out, nil
	}
	derived, err := v3Permissions(in, where)
	if err != nil {
		return nil, err
	}
	for k, v := range derived {
		if _, explicit := out[k]; !explicit {
			out[k] = v
		}
	}
	// v3 asked the publish proxy only after its own publish permission,
	// while v4+ makes the proxy the permission check. Without "publish"
	// a v3 client could never reach the proxy, so keep it off.
	if readTrue(out["publish_proxy_enabled"]) {
		if p, _ := readBool(in["publish"]); !p {
			out["publish_proxy_enabled"] = false
		}
	}
	return out, nil
}

// v3Permissions derives the v4+ permission flags that give the v3
// behaviour of one option group (config.md §4.3, "v3 permission logic").
func v3Permissions(in map[string]any, where string) (map[string]any, error) {
	flags := map[string]bool{}
	for _, k := range append(slices.Clone(v3OnlyOptions), "presence", "join_leave") {
		v, ok := in[k]
		if !ok || v == nil {
			continue
		}
		b, ok := readBool(v)
		if !ok {
			return nil, &keyError{key: where + labelOf(k, v),
				msg: "expected true or false, got " + describe(v)}
		}
		flags[k] = b
	}
	out := map[string]any{
		// v3 always honoured user-limited channels.
		"allow_user_limited_channels": true,
		// Open unless protected; anonymous users only when allowed.
		"allow_subscribe_for_client":    !flags["protected"],
		"allow_subscribe_for_anonymous": !flags["protected"] && flags["anonymous"],
	}
	if flags["publish"] {
		// v3 let any connection publish, anonymous ones included.
		if flags["subscribe_to_publish"] {
			out["allow_publish_for_subscriber"] = true
		} else {
			out["allow_publish_for_client"] = true
		}
		out["allow_publish_for_anonymous"] = true
	}
	if flags["presence"] && !flags["presence_disable_for_client"] {
		out["allow_presence_for_subscriber"] = true
		out["allow_presence_for_anonymous"] = true
	}
	if historyOn(in) && !flags["history_disable_for_client"] {
		out["allow_history_for_subscriber"] = true
		out["allow_history_for_anonymous"] = true
	}
	if flags["position"] {
		out["force_positioning"] = true
	}
	if flags["recover"] {
		out["force_recovery"] = true
	}
	if flags["join_leave"] {
		out["force_push_join_leave"] = true
	}
	return out, nil
}

// historyOn reports whether an option group keeps history. Values that do
// not parse count as off; the decoder reports them.
func historyOn(in map[string]any) bool {
	size, ok := readInt(in["history_size"])
	if !ok || size <= 0 {
		return false
	}
	s := textOf(secValue(in["history_ttl"]))
	if s == "" {
		return false
	}
	d, err := time.ParseDuration(s)
	return err == nil && d > 0
}

func readBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string, rawString:
		b, err := strconv.ParseBool(strings.TrimSpace(textOf(x)))
		return b, err == nil
	}
	return false, false
}

// readTrue reports whether v reads as true.
func readTrue(v any) bool {
	b, _ := readBool(v)
	return b
}

func readInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		return int64(x), x == float64(int64(x))
	case string, rawString:
		n, err := strconv.ParseInt(strings.TrimSpace(textOf(x)), 10, 64)
		return n, err == nil
	}
	return 0, false
}
