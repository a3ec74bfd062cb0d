package config

import (
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

// Environment variables carry Herald's own prefix or Centrifugo's, so that
// existing deployments keep working. When both name the same key, the
// HERALD_ one wins.
var envPrefixes = []string{"CENTRIFUGO_", "HERALD_"}

// envSource is the environment split like a file: flat keys, nested paths,
// and per-item overrides resolved once the lists they refer to are known.
type envSource struct {
	flat   map[string]any
	nested map[string]any
	items  map[string]rawString // lower-case key without prefix
}

// envVar is one variable with a recognised prefix.
type envVar struct {
	name  string // as set, e.g. CENTRIFUGO_CLIENT_INSECURE
	key   string // lower-case without prefix, e.g. client_insecure
	value string
}

// readEnv collects the variables of env (in os.Environ form) that carry a
// prefix and a value; empty values count as unset.
func readEnv(env []string) map[string]envVar {
	out := map[string]envVar{}
	for _, prefix := range envPrefixes { // later prefixes win
		for _, kv := range env {
			name, value, ok := strings.Cut(kv, "=")
			rest, has := strings.CutPrefix(name, prefix)
			if !ok || !has || rest == "" || value == "" {
				continue
			}
			key := strings.ToLower(rest)
			out[key] = envVar{name: name, key: key, value: value}
		}
	}
	return out
}

// collectEnv sorts environment variables into flat keys, nested paths and
// per-item overrides; variables that match nothing are reported unknown.
func (l *loader) collectEnv(env []string) envSource {
	s := envSource{flat: map[string]any{}, nested: map[string]any{},
		items: map[string]rawString{}}
	index := nestedEnvIndex()
	vars := readEnv(env)
	for _, key := range slices.Sorted(maps.Keys(vars)) {
		v := vars[key]
		rs := rawString{s: v.value, src: "env " + v.name}
		switch {
		case kubernetesLink(v):
			// A Kubernetes service named "centrifugo" injects
			// CENTRIFUGO_PORT=tcp://... and friends; they are not ours.
		case isFlat(key):
			s.flat[key] = rs
		case index[key] != "":
			setPath(s.nested, index[key], rs)
		case itemEnvKey(key):
			s.items[key] = rs
		case strings.HasPrefix(key, "var_"):
			// CENTRIFUGO_VAR_* are for interpolation in other tools.
		default:
			l.unknown = append(l.unknown, "env "+v.name)
		}
	}
	return s
}

// k8sPortRe matches the service link variables Kubernetes injects for a
// service, such as CENTRIFUGO_PORT_8000_TCP_ADDR.
var k8sPortRe = regexp.MustCompile(`(^|_)port_\d+_(tcp|udp|sctp)(_|$)`)

func kubernetesLink(v envVar) bool {
	return strings.HasPrefix(v.key, "service_") || strings.Contains(v.key, "_service_") ||
		k8sPortRe.MatchString(v.key) || strings.Contains(v.key, "port") &&
		(strings.HasPrefix(v.value, "tcp://") || strings.HasPrefix(v.value, "udp://"))
}

// Lists whose items can be overridden one by one:
// CENTRIFUGO_CHANNEL_NAMESPACES_<NAME>_<OPTION> and the like.
var itemLists = []string{"channel_namespaces_", "rpc_namespaces_", "proxies_"}

func itemEnvKey(key string) bool {
	for _, p := range itemLists {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// nameForEnv spells a list item's name as it appears in variable names.
func nameForEnv(name string) string {
	return strings.ToLower(strings.NewReplacer(".", "_", "-", "_").Replace(name))
}

// applyItemEnv applies per-item overrides to the namespaces, RPC
// namespaces and named proxies configured so far.
func (l *loader) applyItemEnv(items map[string]rawString) error {
	used := map[string]bool{}
	c := l.cfg
	for i := range c.Channel.Namespaces {
		ns := &c.Channel.Namespaces[i]
		prefix := "channel_namespaces_" + nameForEnv(ns.Name) + "_"
		err := l.applyItem(items, used, prefix, "channel.namespaces["+ns.Name+"]", ns)
		if err != nil {
			return err
		}
	}
	for i := range c.RPC.Namespaces {
		ns := &c.RPC.Namespaces[i]
		prefix := "rpc_namespaces_" + nameForEnv(ns.Name) + "_"
		err := l.applyItem(items, used, prefix, "rpc.namespaces["+ns.Name+"]", ns)
		if err != nil {
			return err
		}
	}
	for i := range c.Proxy.Named {
		p := &c.Proxy.Named[i]
		prefix := "proxies_" + nameForEnv(p.Name) + "_"
		if err := l.applyItem(items, used, prefix, "proxies["+p.Name+"]", p); err != nil {
			return err
		}
	}
	for _, key := range slices.Sorted(maps.Keys(items)) {
		if !used[key] {
			l.unknown = append(l.unknown, items[key].src)
		}
	}
	return nil
}

// applyItem decodes the variables that start with prefix onto item.
func (l *loader) applyItem(items map[string]rawString, used map[string]bool,
	prefix, path string, item any) error {
	dst := reflect.ValueOf(item).Elem()
	index := envIndex(dst.Type())
	tree := map[string]any{}
	for key, rs := range items {
		rest, ok := strings.CutPrefix(key, prefix)
		if !ok || index[rest] == "" || index[rest] == "name" {
			continue
		}
		used[key] = true
		setPath(tree, index[rest], rs)
	}
	if len(tree) == 0 {
		return nil
	}
	d := &decoder{}
	err := d.decode(path, tree, dst)
	l.unknown = append(l.unknown, d.unknown...)
	l.unsupported = append(l.unsupported, d.unsupported...)
	return err
}

// nestedEnvIndex maps the environment spelling of every nested key
// (path with "." replaced by "_") to its path.
func nestedEnvIndex() map[string]string {
	out := envIndex(reflect.TypeFor[Config]())
	for prefix, t := range map[string]reflect.Type{
		"client.proxy":  reflect.TypeFor[clientProxyView](),
		"channel.proxy": reflect.TypeFor[channelProxyView](),
		"rpc.proxy":     reflect.TypeFor[Proxy](),
	} {
		for env, path := range envIndex(t) {
			out[nameForEnv(prefix)+"_"+env] = prefix + "." + path
		}
	}
	out["proxies"] = "proxies"
	return out
}

// envIndex maps env spellings to paths for the leaves of struct type t.
// Lists and maps are leaves: their variables hold JSON or words.
func envIndex(t reflect.Type) map[string]string {
	out := map[string]string{}
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for key, idx := range fieldsOf(t) {
			f := t.FieldByIndex(idx)
			p := joinPath(path, key)
			if f.Type.Kind() == reflect.Struct && f.Type != durationType {
				walk(f.Type, p)
				continue
			}
			out[strings.ReplaceAll(p, ".", "_")] = p
		}
	}
	walk(t, "")
	return out
}
