package app

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/proxy"
	"github.com/heraldhq/herald/internal/session"
)

// proxySet owns the backend clients built from config.
type proxySet struct {
	byKind  map[string]*proxy.Proxy
	named   map[string]*proxy.Proxy
	all     []*proxy.Proxy
	headers []string
}

// newProxies builds one client per configured endpoint and the lookups that
// sessions use to pick one per event.
func newProxies(cfg *config.Config, logger *slog.Logger) (*proxySet, session.Proxies, error) {
	ps := &proxySet{byKind: map[string]*proxy.Proxy{}, named: map[string]*proxy.Proxy{}}
	var out session.Proxies
	var err error

	p := &cfg.Proxy
	if p.Connect.Enabled && p.Connect.Endpoint != "" {
		if out.Connect, err = ps.add("client.proxy.connect", p.Connect.Proxy, logger); err != nil {
			return nil, out, err
		}
	}
	if p.Refresh.Enabled && p.Refresh.Endpoint != "" {
		if out.Refresh, err = ps.add("client.proxy.refresh", p.Refresh.Proxy, logger); err != nil {
			return nil, out, err
		}
	}
	defaults := map[string]config.Proxy{
		config.KindSubscribe:  p.Subscribe,
		config.KindPublish:    p.Publish,
		config.KindSubRefresh: p.SubRefresh,
		config.KindRPC:        p.RPC,
	}
	for kind, c := range defaults {
		if c.Endpoint == "" {
			continue
		}
		if ps.byKind[kind], err = ps.add("proxy "+kind, c, logger); err != nil {
			return nil, out, err
		}
	}
	for _, np := range p.Named {
		if ps.named[np.Name], err = ps.add("proxies "+np.Name, np.Proxy, logger); err != nil {
			return nil, out, err
		}
	}

	out.Channel = ps.lookup
	out.RPC = func(method string) *proxy.Proxy { return ps.rpc(&cfg.RPC, method) }
	return ps, out, nil
}

func (ps *proxySet) add(where string, c config.Proxy, logger *slog.Logger) (*proxy.Proxy, error) {
	px, err := proxy.New(c, logger)
	if err != nil {
		return nil, fmt.Errorf("app: %s: %w", where, err)
	}
	ps.all = append(ps.all, px)
	for _, h := range c.HTTPHeaders {
		if !containsFold(ps.headers, h) {
			ps.headers = append(ps.headers, h)
		}
	}
	return px, nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// lookup finds the proxy of an event kind by the name that channel or RPC
// options give: "" and "default" mean the kind's default proxy.
func (ps *proxySet) lookup(kind, name string) *proxy.Proxy {
	if name == "" || name == "default" {
		return ps.byKind[kind]
	}
	return ps.named[name]
}

// rpc finds the proxy for a method through its RPC namespace; a method
// whose namespace is not configured follows the options without namespace.
func (ps *proxySet) rpc(cfg *config.RPC, method string) *proxy.Proxy {
	opts := cfg.WithoutNamespace
	if ns := session.RPCNamespace(method, cfg.NamespaceBoundary); ns != "" {
		for _, n := range cfg.Namespaces {
			if n.Name == ns {
				opts = n.RPCOptions
				break
			}
		}
	}
	if !opts.ProxyEnabled {
		return nil
	}
	return ps.lookup(config.KindRPC, opts.ProxyName)
}

func (ps *proxySet) close() {
	for _, px := range ps.all {
		px.Close()
	}
}
