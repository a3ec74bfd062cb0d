package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/metrics"
)

// Errors of the package. Returned errors wrap them with the event and the
// cause appended for logs; test with [errors.Is].
var (
	// ErrUnavailable means the backend gave no usable answer: a network
	// error, the timeout, a status other than 200 without a matching
	// status transform, or a body that is too large, unreadable, not the
	// expected JSON, or carries bad base64. Errors wrapping it may also
	// wrap the cause, such as [context.DeadlineExceeded].
	ErrUnavailable = errors.New("proxy: backend unavailable")
	// ErrDataNotJSON means a client payload could not be sent because it is
	// not valid JSON and the proxy does not use binary encoding; typically
	// a protobuf client sending binary data. Errors wrapping it also wrap
	// [ErrUnavailable], so callers that only know that sentinel answer the
	// client with error 100, as Centrifugo does.
	ErrDataNotJSON = errors.New("proxy: data is not valid JSON " +
		"(binary_encoding is off)")
	// ErrGRPCNotSupported is returned by [New] for an endpoint that does not
	// start with http:// or https://, which the contract treats as a gRPC
	// endpoint.
	ErrGRPCNotSupported = errors.New("proxy: grpc proxies are not supported yet")
)

const (
	// defaultTimeout applies when the configuration leaves it zero.
	defaultTimeout = time.Second
	// maxIdleConnsPerHost keeps enough warm connections for bursts of
	// connects after a restart; Centrifugo uses the same number.
	maxIdleConnsPerHost = 255
	// maxBodySize bounds a backend answer so that a broken backend cannot
	// make Herald buffer unbounded data. Real answers are a few KiB.
	maxBodySize = 16 << 20
	// warnEvery is the minimum interval between two failure warnings of
	// one endpoint.
	warnEvery = 10 * time.Second
)

// Proxy calls one backend endpoint. It is safe for concurrent use; all
// callers share its keep-alive connection pool.
type Proxy struct {
	endpoint string
	client   *http.Client
	timeout  time.Duration
	maxBody  int64 // answer size limit; maxBodySize except in tests
	binary   bool
	withMeta bool

	// Header forwarding rules, fixed at construction (headers.go).
	httpHeaders     []string
	emulatedHeaders []string
	staticHeaders   http.Header
	transforms      []config.StatusToCodeTransform

	log  *slog.Logger
	warn warnLimiter

	// metrics is set once before use; recs holds its recorder of each
	// event, resolved on the event's first call.
	metrics *metrics.Metrics
	recs    [len(events)]atomic.Pointer[metrics.ProxyCall]
}

// New returns a proxy for cfg.Endpoint, which must be an http:// or
// https:// URL; it is called exactly as given, query included. Any other
// endpoint is a gRPC endpoint per the contract, which Herald does not
// support yet ([ErrGRPCNotSupported]). A zero timeout means one second.
// The TLS settings under cfg.HTTP.TLS apply when enabled. A nil logger
// discards.
func New(cfg config.Proxy, logger *slog.Logger) (*Proxy, error) {
	u, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	tr, err := newTransport(cfg.HTTP.TLS)
	if err != nil {
		return nil, fmt.Errorf("proxy: %s: http.tls: %w", redact(u), err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	return &Proxy{
		endpoint: cfg.Endpoint,
		// The whole-request timeout is enforced with a context in post, so
		// that a timeout can be told apart from the caller going away.
		client:          &http.Client{Transport: tr},
		timeout:         timeout,
		maxBody:         maxBodySize,
		binary:          cfg.BinaryEncoding,
		withMeta:        cfg.IncludeConnectionMeta,
		httpHeaders:     cfg.HTTPHeaders,
		emulatedHeaders: cfg.EmulatedHeaders,
		staticHeaders:   staticHeaders(cfg.HTTP.StaticHeaders),
		transforms:      cfg.HTTP.StatusToCodeTransforms,
		log: logger.With("component", "proxy",
			"endpoint", redact(u)),
	}, nil
}

// SetMetrics makes the proxy record the duration and outcome of its calls
// into m. Call it before the first call.
func (p *Proxy) SetMetrics(m *metrics.Metrics) { p.metrics = m }

// recorder returns the metrics of event ev, nil without metrics.
func (p *Proxy) recorder(ev string) *metrics.ProxyCall {
	if p.metrics == nil {
		return nil
	}
	i := 0
	for i < len(events) && events[i] != ev {
		i++
	}
	if i == len(events) {
		return nil
	}
	if r := p.recs[i].Load(); r != nil {
		return r
	}
	// Racing first calls resolve the same series; either store will do.
	r := p.metrics.ProxyCall(ev)
	p.recs[i].Store(r)
	return r
}

// Close closes the idle keep-alive connections to the backend. Calls in
// flight finish normally; a later call opens a new connection.
func (p *Proxy) Close() {
	p.client.CloseIdleConnections()
}

func parseEndpoint(endpoint string) (*url.URL, error) {
	if endpoint == "" {
		return nil, errors.New("proxy: endpoint is empty")
	}
	lower := strings.ToLower(endpoint)
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		return nil, ErrGRPCNotSupported
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		// url.Error repeats the URL, which may hold a secret; keep the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("proxy: bad endpoint: %w", err)
	}
	if u.Host == "" {
		return nil, errors.New("proxy: bad endpoint: no host")
	}
	return u, nil
}

// redact returns the endpoint for logs: scheme, host and path only, since
// backends sometimes carry an API key in the query or the user info.
func redact(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// newTransport builds the keep-alive pool of one proxy. It ignores the
// HTTP_PROXY environment, as Centrifugo does: backends are addressed
// directly.
func newTransport(tc config.TLS) (*http.Transport, error) {
	tlsCfg, err := clientTLS(tc)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:         dialer.DialContext,
		TLSClientConfig:     tlsCfg,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: maxIdleConnsPerHost,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}, nil
}
