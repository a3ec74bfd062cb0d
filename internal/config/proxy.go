package config

import (
	"time"

	"github.com/heraldhq/herald/internal/channel"
)

// Proxy is one backend endpoint that Herald calls on client events
// (proxy.md). An endpoint starting with grpc:// selects the gRPC variant.
type Proxy struct {
	Endpoint string        `json:"endpoint"`
	Timeout  time.Duration `json:"timeout"`
	// HTTPHeaders and GRPCMetadata name the client request headers (or
	// metadata keys) forwarded to the backend.
	HTTPHeaders     []string `json:"http_headers"`
	GRPCMetadata    []string `json:"grpc_metadata"`
	EmulatedHeaders []string `json:"emulated_headers"`
	// BinaryEncoding sends payloads base64-encoded (b64data).
	BinaryEncoding bool `json:"binary_encoding"`
	// IncludeConnectionMeta adds the connection's meta to requests.
	IncludeConnectionMeta bool      `json:"include_connection_meta"`
	HTTP                  ProxyHTTP `json:"http"`
	GRPC                  ProxyGRPC `json:"grpc"`
}

// ProxyHTTP holds options of HTTP proxies.
type ProxyHTTP struct {
	TLS                    TLS                     `json:"tls"`
	StaticHeaders          map[string]string       `json:"static_headers"`
	StatusToCodeTransforms []StatusToCodeTransform `json:"status_to_code_transforms"`
}

// StatusToCodeTransform turns a backend HTTP status into a client error or
// disconnect instead of the generic internal error.
type StatusToCodeTransform struct {
	StatusCode   int                 `json:"status_code"`
	ToError      TransformError      `json:"to_error"`
	ToDisconnect TransformDisconnect `json:"to_disconnect"`
}

// TransformError is the client error of a [StatusToCodeTransform].
type TransformError struct {
	Code      uint32 `json:"code"`
	Message   string `json:"message"`
	Temporary bool   `json:"temporary"`
}

// TransformDisconnect is the disconnect of a [StatusToCodeTransform].
type TransformDisconnect struct {
	Code   uint32 `json:"code"`
	Reason string `json:"reason"`
}

// ProxyGRPC holds options of gRPC proxies.
type ProxyGRPC struct {
	TLS              TLS               `json:"tls"`
	CredentialsKey   string            `json:"credentials_key"`
	CredentialsValue string            `json:"credentials_value"`
	Compression      bool              `json:"compression"`
	StaticMetadata   map[string]string `json:"static_metadata"`
}

// ClientProxy is the connect or refresh proxy; it is used only when
// enabled.
type ClientProxy struct {
	Enabled bool `json:"enabled"`
	Proxy
}

// NamedProxy is an entry of the top-level "proxies" list, referred to by
// name from channel and RPC options.
type NamedProxy struct {
	Name string `json:"name"`
	Proxy
}

// Proxies gathers every proxy of the configuration in one place. In the
// file they live under client.proxy (Connect, Refresh), channel.proxy
// (Subscribe, Publish, SubRefresh, SubscribeStream), rpc.proxy (RPC) and
// the top-level "proxies" list (Named). Channel and RPC options select the
// default proxy of their kind with the name "default".
type Proxies struct {
	Connect         ClientProxy
	Refresh         ClientProxy
	Subscribe       Proxy
	Publish         Proxy
	SubRefresh      Proxy
	SubscribeStream Proxy
	RPC             Proxy
	Named           []NamedProxy
}

// Proxy kinds for [Proxies.Lookup].
const (
	KindSubscribe       = "subscribe"
	KindPublish         = "publish"
	KindSubRefresh      = "sub_refresh"
	KindSubscribeStream = "subscribe_stream"
	KindRPC             = "rpc"
)

// Lookup returns the proxy that channel or RPC options select with name
// for an event kind: the default proxy of the kind for "" or "default",
// otherwise the named proxy.
func (p *Proxies) Lookup(kind, name string) (*Proxy, bool) {
	if name == "" || name == channel.DefaultProxyName {
		var d *Proxy
		switch kind {
		case KindSubscribe:
			d = &p.Subscribe
		case KindPublish:
			d = &p.Publish
		case KindSubRefresh:
			d = &p.SubRefresh
		case KindSubscribeStream:
			d = &p.SubscribeStream
		case KindRPC:
			d = &p.RPC
		default:
			return nil, false
		}
		return d, true
	}
	for i := range p.Named {
		if p.Named[i].Name == name {
			return &p.Named[i].Proxy, true
		}
	}
	return nil, false
}

// Views of the nested file layout for the parts of [Proxies] that live
// in other sections; the loader decodes them and copies them over.
type clientProxyView struct {
	Connect ClientProxy `json:"connect"`
	Refresh ClientProxy `json:"refresh"`
}

type channelProxyView struct {
	Subscribe       Proxy `json:"subscribe"`
	Publish         Proxy `json:"publish"`
	SubRefresh      Proxy `json:"sub_refresh"`
	SubscribeStream Proxy `json:"subscribe_stream"`
}
