package config

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"gopkg.in/yaml.v3"

	"github.com/heraldhq/herald/internal/channel"
)

// Source names where configuration comes from. Later sources override
// earlier ones: defaults, then the file, then the environment, then flags.
type Source struct {
	// File is a JSON, YAML or TOML file, chosen by extension; empty means
	// none. A file that does not exist yields a warning, not an error.
	File string
	// Env is the environment in os.Environ form. Variables prefixed
	// HERALD_ or CENTRIFUGO_ are read, by flat key
	// (CENTRIFUGO_API_KEY) or nested path (CENTRIFUGO_HTTP_API_KEY).
	Env []string
	// Flags were registered with [RegisterFlags] and parsed; only flags
	// the user set count.
	Flags *flag.FlagSet
}

// loader holds the state of one Load.
type loader struct {
	cfg *Config
	// v3 is the dialect of channel options, see options.go.
	v3 bool
	// granular is v3-v5 granular proxy mode.
	granular   bool
	topOptions map[string]any
	// Granular-mode references to named proxies.
	connectName, refreshName *string

	unknown     []string
	unsupported []string
	warnings    []string
}

// layer is one source split into flat keys and nested keys.
type layer struct {
	flat, nested map[string]any
}

// Load reads the configuration from src, layered over [Default], and
// validates it. Both file formats are accepted, even mixed in one file:
// flat keys of Centrifugo v3-v5 (api_key, proxy_connect_endpoint...) are
// translated to the nested v6 keys, and a nested key wins over the flat
// key it replaces. The warnings list keys that were ignored.
func Load(src Source) (*Config, []string, error) {
	l := &loader{cfg: Default()}
	file, err := l.readFile(src.File)
	if err != nil {
		return nil, nil, err
	}
	fileLayer, err := splitFile(file)
	if err != nil {
		return nil, nil, err
	}
	env := l.collectEnv(src.Env)
	flagFlat, flagNested := collectFlags(src.Flags)
	layers := []layer{fileLayer, {env.flat, env.nested}, {flagFlat, flagNested}}

	l.v3 = hasV3Markers(fileLayer.flat) || len(file) == 0 && hasV3Markers(env.flat)
	for _, ly := range layers {
		if v, ok := ly.flat["granular_proxy_mode"]; ok {
			b, ok := readBool(v)
			if !ok {
				return nil, nil, &keyError{key: labelOf("granular_proxy_mode", v),
					msg: "expected true or false, got " + describe(v)}
			}
			l.granular = b
		}
	}

	for i, ly := range layers {
		if err := l.apply(ly, i == 0); err != nil {
			return nil, nil, err
		}
		if i == 1 {
			if err := l.applyItemEnv(env.items); err != nil {
				return nil, nil, err
			}
		}
	}
	if err := l.finalize(); err != nil {
		return nil, nil, err
	}
	if err := l.cfg.Validate(); err != nil {
		return nil, nil, err
	}
	return l.cfg, l.collectWarnings(), nil
}

// readFile reads and parses the file into the generic tree form.
func (l *loader) readFile(path string) (map[string]any, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		l.warnings = append(l.warnings,
			fmt.Sprintf("config: file %s not found, using defaults", path))
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parseFile(path, data)
}

// parseFile parses data in the format of path's extension.
func parseFile(path string, data []byte) (map[string]any, error) {
	var v any
	var err error
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".json":
		if strings.TrimSpace(string(data)) == "" {
			return nil, nil
		}
		v, err = parseJSON(data)
	case ".yaml", ".yml":
		err = yaml.Unmarshal(data, &v)
	case ".toml":
		var m map[string]any
		err = toml.Unmarshal(data, &m)
		v = m
	default:
		return nil, fmt.Errorf("config: %s: unknown format %q (want .json, .yaml, .yml "+
			"or .toml)", path, ext)
	}
	if err != nil {
		return nil, fmt.Errorf("config: parse %s: %w", path, err)
	}
	if v == nil {
		return nil, nil
	}
	m, ok := normalize(v).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("config: %s: the top level must be an object", path)
	}
	return m, nil
}

// splitFile sorts a file's top-level keys into flat (v3-v5) and nested
// (v6) ones. A name both formats use is flat when its value has the flat
// type: admin: true is the flat key, admin: {...} the nested section.
func splitFile(m map[string]any) (layer, error) {
	ly := layer{flat: map[string]any{}, nested: map[string]any{}}
	for k, v := range m {
		if v == nil {
			continue // an empty YAML value or a JSON null means "not set"
		}
		kind, collides := collisionKinds[k]
		switch {
		case collides:
			_, isMap := v.(map[string]any)
			_, isBool := v.(bool)
			_, isString := v.(string)
			switch {
			case kind == "bool" && isBool || kind == "string" && isString:
				ly.flat[k] = v
			case isMap:
				ly.nested[k] = v
			default:
				want := "true or false"
				if kind == "string" {
					want = "a name"
				}
				return ly, &keyError{key: k, msg: fmt.Sprintf("expected %s, or an object "+
					"of the nested format, got %s", want, describe(v))}
			}
		case isFlat(k):
			ly.flat[k] = v
		default:
			ly.nested[k] = v
		}
	}
	return ly, nil
}

// apply decodes one layer onto the configuration: its flat keys first,
// then its nested keys, which win.
func (l *loader) apply(ly layer, first bool) error {
	t, err := l.translate(ly.flat, first)
	if err != nil {
		return err
	}
	if err := l.decodeTree(t.tree, t.origins); err != nil {
		return err
	}
	if err := l.applyCommon(t); err != nil {
		return err
	}
	normalizeProxies(ly.nested)
	return l.decodeTree(ly.nested, nil)
}

// decodeTree decodes a nested tree. The proxy sections are decoded into
// [Config.Proxy], where they are gathered.
func (l *loader) decodeTree(tree map[string]any, origins map[string]string) error {
	d := &decoder{origins: origins}
	defer func() {
		l.unknown = append(l.unknown, d.unknown...)
		l.unsupported = append(l.unsupported, d.unsupported...)
	}()
	p := &l.cfg.Proxy
	if sub, ok := take(tree, "client", "proxy"); ok {
		v := clientProxyView{Connect: p.Connect, Refresh: p.Refresh}
		if err := d.decode("client.proxy", sub, reflect.ValueOf(&v).Elem()); err != nil {
			return err
		}
		p.Connect, p.Refresh = v.Connect, v.Refresh
	}
	if sub, ok := take(tree, "channel", "proxy"); ok {
		v := channelProxyView{Subscribe: p.Subscribe, Publish: p.Publish,
			SubRefresh: p.SubRefresh, SubscribeStream: p.SubscribeStream}
		if err := d.decode("channel.proxy", sub, reflect.ValueOf(&v).Elem()); err != nil {
			return err
		}
		p.Subscribe, p.Publish, p.SubRefresh = v.Subscribe, v.Publish, v.SubRefresh
		p.SubscribeStream = v.SubscribeStream
	}
	if sub, ok := take(tree, "rpc", "proxy"); ok {
		if err := d.decode("rpc.proxy", sub, reflect.ValueOf(&p.RPC).Elem()); err != nil {
			return err
		}
	}
	if sub, ok := tree["proxies"]; ok {
		delete(tree, "proxies")
		if err := d.decode("proxies", sub, reflect.ValueOf(&p.Named).Elem()); err != nil {
			return err
		}
	}
	return d.decode("", tree, reflect.ValueOf(l.cfg).Elem())
}

// take removes tree[section][key] and returns it.
func take(tree map[string]any, section, key string) (any, bool) {
	m, ok := tree[section].(map[string]any)
	if !ok {
		return nil, false
	}
	v, ok := m[key]
	delete(m, key)
	return v, ok
}

// applyCommon copies flat proxy settings shared by all proxies
// (proxy_http_headers...) to every proxy that has an endpoint.
func (l *loader) applyCommon(t *layerTree) error {
	if len(t.common) == 0 {
		return nil
	}
	d := &decoder{origins: t.commonOrigins}
	var scratch Proxy // reports bad values even when no proxy is configured
	if err := d.decode("proxy", t.common, reflect.ValueOf(&scratch).Elem()); err != nil {
		return err
	}
	p := &l.cfg.Proxy
	for _, dst := range []*Proxy{&p.Connect.Proxy, &p.Refresh.Proxy, &p.Subscribe,
		&p.Publish, &p.SubRefresh, &p.SubscribeStream, &p.RPC} {
		if dst.Endpoint == "" {
			continue
		}
		if err := d.decode("proxy", t.common, reflect.ValueOf(dst).Elem()); err != nil {
			return err
		}
	}
	return nil
}

// finalize resolves what depends on all layers together.
func (l *loader) finalize() error {
	c := l.cfg
	if l.granular {
		err := l.resolveNamed(l.connectName, "connect_proxy_name", &c.Proxy.Connect)
		if err != nil {
			return err
		}
		err = l.resolveNamed(l.refreshName, "refresh_proxy_name", &c.Proxy.Refresh)
		if err != nil {
			return err
		}
	}
	setDefaultProxyNames(&c.Channel.WithoutNamespace)
	for i := range c.Channel.Namespaces {
		setDefaultProxyNames(&c.Channel.Namespaces[i].Options)
	}
	if c.RPC.WithoutNamespace.ProxyName == "" {
		c.RPC.WithoutNamespace.ProxyName = channel.DefaultProxyName
	}
	for i := range c.RPC.Namespaces {
		if c.RPC.Namespaces[i].ProxyName == "" {
			c.RPC.Namespaces[i].ProxyName = channel.DefaultProxyName
		}
	}

	level := strings.ToLower(strings.TrimSpace(c.Log.Level))
	if !slices.Contains(logLevels, level) {
		l.warnings = append(l.warnings,
			fmt.Sprintf("config: unknown log level %q, using info", c.Log.Level))
		level = "info"
	}
	c.Log.Level = level
	c.Log.Format = strings.ToLower(c.Log.Format)
	if c.Node.Name == "" {
		host, _ := os.Hostname()
		c.Node.Name = host + "_" + strconv.Itoa(c.HTTPServer.Port)
	}
	a := &c.Admin
	if a.Enabled && !a.Insecure && (a.Password == "" || a.Secret == "") {
		l.warnings = append(l.warnings, "config: admin is enabled without admin.password "+
			"and admin.secret: nobody can log in")
	}
	return nil
}

// resolveNamed inlines the named proxy that a granular-mode connect or
// refresh reference points to.
func (l *loader) resolveNamed(name *string, key string, dst *ClientProxy) error {
	if name == nil || *name == "" {
		return nil
	}
	for _, p := range l.cfg.Proxy.Named {
		if p.Name == *name {
			*dst = ClientProxy{Enabled: true, Proxy: p.Proxy}
			return nil
		}
	}
	return &keyError{key: key, msg: fmt.Sprintf("proxy %q is not in proxies", *name)}
}

// collectWarnings returns the warnings, one line for all unknown keys and
// one for all keys of unimplemented features.
func (l *loader) collectWarnings() []string {
	out := append(slices.Clone(l.warnings), l.cfg.Warnings()...)
	if len(l.unsupported) > 0 {
		out = append(out, "config: ignoring keys of features Herald does not "+
			"implement: "+strings.Join(uniqueSorted(l.unsupported), ", "))
	}
	if len(l.unknown) > 0 {
		out = append(out, "config: ignoring unknown keys: "+
			strings.Join(uniqueSorted(l.unknown), ", "))
	}
	return out
}

func uniqueSorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
