package proxy

import (
	"context"
	"net/http"
	"time"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/metrics"
)

// Caller describes the connection an event comes from (spec §4.1).
type Caller struct {
	// Client is the connection's client ID.
	Client string
	// Transport is the transport name: websocket, sse, http_stream,
	// uni_websocket, uni_sse, uni_http_stream...
	Transport string
	// Protocol is the client protocol format, "json" or "protobuf".
	Protocol string
	// User is the connection's user ID, "" for anonymous. It is sent with
	// every event but connect, even when empty.
	User string
	// Meta is the connection's raw JSON meta. It is sent only when the
	// proxy has include_connection_meta on, and never with connect.
	Meta []byte
	// Headers are the connection request's headers as returned by
	// [CaptureHeaders]. Those named in the proxy's http_headers are
	// forwarded; the map and its values are only read.
	Headers http.Header
	// EmulatedHeaders are the headers the client sent in its connect
	// command. Those named in the proxy's emulated_headers are forwarded
	// unless a forwarded transport header has the same name.
	EmulatedHeaders map[string]string
}

// Event names, used in error messages, log lines and metrics.
const (
	evConnect    = "connect"
	evRefresh    = "refresh"
	evSubscribe  = "subscribe"
	evPublish    = "publish"
	evRPC        = "rpc"
	evSubRefresh = "sub_refresh"
)

// events lists the event names; a name's index is its recorder's slot.
var events = [...]string{evConnect, evRefresh, evSubscribe, evPublish, evRPC,
	evSubRefresh}

// ConnectRequest is what a client sent in its connect command (spec §4.3).
type ConnectRequest struct {
	// Name and Version identify the client SDK; sent when not empty.
	Name, Version string
	// Data is the client's connect payload: raw JSON, or any bytes when the
	// proxy uses binary encoding.
	Data []byte
	// Channels are the server-side channels the client asks for.
	Channels []string
}

// ConnectResult is the backend's verdict on a connection (spec §4.3). Byte
// fields are nil when the backend did not set them; b64info and b64data
// arrive decoded in Info and Data.
type ConnectResult struct {
	// User is the user ID; "" accepts the connection as anonymous.
	User string
	// ExpireAt is when the connection expires, in Unix seconds, as sent;
	// zero or negative means never.
	ExpireAt int64
	// Info is the connection info shown in presence and publications.
	Info []byte
	// Data is returned to the client in the connect reply.
	Data []byte
	// Channels are server-side subscriptions with namespace defaults.
	Channels []string
	// Subs are server-side subscriptions with per-channel options.
	Subs map[string]SubscribeOptions
	// Meta is the raw JSON connection meta, never shown to clients.
	Meta []byte
}

// SubscribeOptions are the options of one server-side subscription in
// [ConnectResult.Subs].
type SubscribeOptions struct {
	// ExpireAt is when the subscription expires, in Unix seconds; zero or
	// negative means never.
	ExpireAt int64
	// Info is the channel info of the subscriber.
	Info []byte
	// Data is sent to the client with the subscription.
	Data []byte
	// Override replaces channel options; nil when nothing is overridden.
	Override *auth.Override
}

// RefreshResult is the backend's verdict on an expiring connection (spec
// §4.4).
type RefreshResult struct {
	// Expired closes the connection with "connection expired".
	Expired bool
	// ExpireAt is the new expiry in Unix seconds.
	ExpireAt int64
	// Info replaces the connection info when not nil.
	Info []byte
	// Meta replaces the connection meta when not nil.
	Meta []byte
}

// SubscribeRequest is a client's subscribe command (spec §4.5).
type SubscribeRequest struct {
	Channel string
	// Token is the subscription token the client sent, if any.
	Token string
	// Data is the client's subscribe payload.
	Data []byte
}

// SubscribeResult is the backend's permission to subscribe (spec §4.5).
// A zero value means "allowed with the namespace defaults".
type SubscribeResult struct {
	// ExpireAt is when the subscription expires, in Unix seconds; zero or
	// negative means never.
	ExpireAt int64
	// Info is the channel info of the subscriber.
	Info []byte
	// Data is returned in the subscribe reply.
	Data []byte
	// Override replaces channel options; nil when nothing is overridden.
	Override *auth.Override
}

// PublishRequest is a client's publish command (spec §4.6).
type PublishRequest struct {
	Channel string
	Data    []byte
}

// PublishResult is the backend's permission to publish (spec §4.6). A zero
// value means "publish the client's data as is".
type PublishResult struct {
	// Data, when not nil, is published instead of the client's data.
	Data []byte
	// SkipHistory keeps the publication out of the channel history.
	SkipHistory bool
	// Tags are attached to the publication.
	Tags map[string]string
	// IdempotencyKey deduplicates the publication.
	IdempotencyKey string
	// Delta asks for delta encoding of the publication.
	Delta bool
	// Version and VersionEpoch drop publications older than the latest one.
	Version      uint64
	VersionEpoch string
}

// RPCRequest is a client's RPC command (spec §4.7).
type RPCRequest struct {
	// Method is omitted from the request when empty.
	Method string
	Data   []byte
}

// RPCResult is the backend's answer to an RPC (spec §4.7).
type RPCResult struct {
	// Data is the reply payload; nil when the backend sent none.
	Data []byte
}

// SubRefreshRequest names the expiring subscription (spec §4.8).
type SubRefreshRequest struct {
	Channel string
}

// SubRefreshResult is the backend's verdict on an expiring subscription
// (spec §4.8).
type SubRefreshResult struct {
	// Expired ends the subscription.
	Expired bool
	// ExpireAt is the new expiry in Unix seconds.
	ExpireAt int64
	// Info replaces the channel info when not nil.
	Info []byte
}

// Connect asks the backend whether a client without a connection token
// may connect, and as whom.
//
// It returns the result; (nil, nil) when the backend set none of result,
// error and disconnect, which means "no credentials" (anonymous if allowed,
// otherwise disconnect 3501); a [*protocol.Disconnect] or [*protocol.Error]
// with the backend's code and reason or message as sent; or an error
// wrapping [ErrUnavailable], which a bidirectional client sees as error 100
// and a unidirectional one as disconnect 3004 (spec §2.1). Bad base64 in
// the result is a backend failure too.
func (p *Proxy) Connect(ctx context.Context, c Caller,
	r ConnectRequest) (*ConnectResult, error) {
	body, err := p.encodeConnect(&c, &r)
	if err != nil {
		return nil, p.fail(ctx, evConnect, err)
	}
	return call(ctx, p, evConnect, &c, body, decodeConnect)
}

// Refresh asks the backend whether an expiring connection may live on.
// Only the result counts (spec §4.4): an answer without one, including an
// error, a disconnect, or a matching status transform, yields Expired.
// An error wrapping [ErrUnavailable] means the backend could not be asked;
// the caller then extends the connection by 60 seconds and asks again.
func (p *Proxy) Refresh(ctx context.Context, c Caller) (*RefreshResult, error) {
	res, err := call(ctx, p, evRefresh, &c, p.encodeRefresh(&c), decodeRefresh)
	if isReply(err) {
		return &RefreshResult{Expired: true}, nil
	}
	return res, err
}

// Subscribe asks the backend whether the client may subscribe to a
// channel. It returns the result (zero when the backend sent none, which
// allows the subscription), a [*protocol.Error] or [*protocol.Disconnect]
// as sent, or an error wrapping [ErrUnavailable], which the client sees as
// the temporary error 100.
func (p *Proxy) Subscribe(ctx context.Context, c Caller,
	r SubscribeRequest) (*SubscribeResult, error) {
	body, err := p.encodeSubscribe(&c, &r)
	if err != nil {
		return nil, p.fail(ctx, evSubscribe, err)
	}
	return call(ctx, p, evSubscribe, &c, body, decodeSubscribe)
}

// Publish asks the backend whether the client may publish, and what. It
// returns the result (zero when the backend sent none: publish the
// client's data), a [*protocol.Error] or [*protocol.Disconnect] as sent,
// or an error wrapping [ErrUnavailable], which the client sees as error
// 100.
func (p *Proxy) Publish(ctx context.Context, c Caller,
	r PublishRequest) (*PublishResult, error) {
	body, err := p.encodePublish(&c, &r)
	if err != nil {
		return nil, p.fail(ctx, evPublish, err)
	}
	return call(ctx, p, evPublish, &c, body, decodePublish)
}

// RPC passes a client's RPC to the backend. It returns the result (Data
// nil when the backend sent none), a [*protocol.Error] or
// [*protocol.Disconnect] as sent, or an error wrapping [ErrUnavailable],
// which the client sees as error 100.
func (p *Proxy) RPC(ctx context.Context, c Caller, r RPCRequest) (*RPCResult, error) {
	body, err := p.encodeRPC(&c, &r)
	if err != nil {
		return nil, p.fail(ctx, evRPC, err)
	}
	return call(ctx, p, evRPC, &c, body, decodeRPC)
}

// SubRefresh asks the backend whether an expiring subscription may live
// on. As with [Proxy.Refresh], only the result counts: an answer without
// one yields Expired, and an error wrapping [ErrUnavailable] means the
// caller extends the subscription by 60 seconds and asks again.
func (p *Proxy) SubRefresh(ctx context.Context, c Caller,
	r SubRefreshRequest) (*SubRefreshResult, error) {
	res, err := call(ctx, p, evSubRefresh, &c, p.encodeSubRefresh(&c, &r),
		decodeSubRefresh)
	if isReply(err) {
		return &SubRefreshResult{Expired: true}, nil
	}
	return res, err
}

// call posts body and decodes the answer, recording the call's duration
// and outcome. Decoding failures are backend failures ([ErrUnavailable]);
// the backend's own error or disconnect, and a status transform's, are
// returned as they are.
func call[R any](ctx context.Context, p *Proxy, ev string, c *Caller, body []byte,
	decode func([]byte) (*R, error)) (*R, error) {
	rec := p.recorder(ev)
	if rec == nil {
		return exchange(ctx, p, ev, c, body, decode)
	}

	start := time.Now()
	res, err := exchange(ctx, p, ev, c, body, decode)
	outcome := metrics.OutcomeOK
	switch {
	case isReply(err):
		outcome = metrics.OutcomeRejected
	case err != nil:
		outcome = metrics.OutcomeUnavailable
	}
	rec.Done(time.Since(start), outcome)
	return res, err
}

// exchange posts body and decodes the answer, as [call] describes.
func exchange[R any](ctx context.Context, p *Proxy, ev string, c *Caller,
	body []byte, decode func([]byte) (*R, error)) (*R, error) {
	answer, err := p.post(ctx, ev, c, body)
	if err != nil {
		return nil, err
	}
	res, err := decode(answer.Bytes())
	putBuf(answer)
	if err != nil && !isReply(err) {
		return nil, p.fail(ctx, ev, err)
	}
	return res, err
}
