package proxy

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/protocol"
)

// envelope is the answer to every event: exactly one of its fields should
// be set, and they are checked in the order disconnect, error, result
// (spec §4.2). Unknown fields are ignored so that newer backends keep
// working.
type envelope[R any] struct {
	Result     *R              `json:"result"`
	Error      *wireError      `json:"error"`
	Disconnect *wireDisconnect `json:"disconnect"`
}

// resultOnly is the answer to refresh and sub_refresh, where error and
// disconnect are not acted upon; leaving them out of the type also keeps a
// malformed error object from failing an otherwise usable answer.
type resultOnly[R any] struct {
	Result *R `json:"result"`
}

type wireError struct {
	Code      uint32 `json:"code"`
	Message   string `json:"message"`
	Temporary bool   `json:"temporary"`
}

type wireDisconnect struct {
	Code   uint32 `json:"code"`
	Reason string `json:"reason"`
	// Reconnect is read from backends written for Centrifugo v3; newer
	// backends omit it and the code ranges decide.
	Reconnect *bool `json:"reconnect"`
}

// reply returns the backend's disconnect or error as the protocol value
// the session acts on, or nil when neither is set. Codes are passed on
// without range checks: the tutorial backend disconnects with 1000.
func (env *envelope[R]) reply() error {
	if d := env.Disconnect; d != nil {
		reconnect := protocol.ShouldReconnect(d.Code)
		if d.Reconnect != nil {
			reconnect = *d.Reconnect
		}
		return &protocol.Disconnect{Code: d.Code, Reason: d.Reason, Reconnect: reconnect}
	}
	if e := env.Error; e != nil {
		return &protocol.Error{Code: e.Code, Message: e.Message, Temporary: e.Temporary}
	}
	return nil
}

// isReply reports whether err is the backend's (or a status transform's)
// answer rather than a failure to get one.
func isReply(err error) bool {
	switch err.(type) {
	case *protocol.Error, *protocol.Disconnect:
		return true
	}
	return false
}

func unmarshal(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

type wireConnectResult struct {
	User     string                       `json:"user"`
	ExpireAt flexInt                      `json:"expire_at"`
	Info     json.RawMessage              `json:"info"`
	B64Info  string                       `json:"b64info"`
	Data     json.RawMessage              `json:"data"`
	B64Data  string                       `json:"b64data"`
	Channels []string                     `json:"channels"`
	Subs     map[string]wireSubscribeOpts `json:"subs"`
	Meta     json.RawMessage              `json:"meta"`
}

// wireSubscribeOpts is both a subs entry of a connect result and a
// subscribe result; the contract gives them the same fields.
type wireSubscribeOpts struct {
	ExpireAt flexInt            `json:"expire_at"`
	Info     json.RawMessage    `json:"info"`
	B64Info  string             `json:"b64info"`
	Data     json.RawMessage    `json:"data"`
	B64Data  string             `json:"b64data"`
	Override *auth.OverrideJSON `json:"override"`
}

type wireRefreshResult struct {
	Expired  bool            `json:"expired"`
	ExpireAt flexInt         `json:"expire_at"`
	Info     json.RawMessage `json:"info"`
	B64Info  string          `json:"b64info"`
	Meta     json.RawMessage `json:"meta"`
}

type wirePublishResult struct {
	Data           json.RawMessage   `json:"data"`
	B64Data        string            `json:"b64data"`
	SkipHistory    bool              `json:"skip_history"`
	Tags           map[string]string `json:"tags"`
	IdempotencyKey string            `json:"idempotency_key"`
	Delta          bool              `json:"delta"`
	Version        flexUint          `json:"version"`
	VersionEpoch   string            `json:"version_epoch"`
}

type wireRPCResult struct {
	Data    json.RawMessage `json:"data"`
	B64Data string          `json:"b64data"`
}

func decodeConnect(body []byte) (*ConnectResult, error) {
	var env envelope[wireConnectResult]
	if err := unmarshal(body, &env); err != nil {
		return nil, err
	}
	if err := env.reply(); err != nil {
		return nil, err
	}
	w := env.Result
	if w == nil {
		return nil, nil
	}
	info, err := pick(w.Info, w.B64Info, "b64info")
	if err != nil {
		return nil, err
	}
	data, err := pick(w.Data, w.B64Data, "b64data")
	if err != nil {
		return nil, err
	}
	res := &ConnectResult{User: w.User, ExpireAt: int64(w.ExpireAt), Info: info,
		Data: data, Channels: w.Channels, Meta: raw(w.Meta)}
	if len(w.Subs) > 0 {
		res.Subs = make(map[string]SubscribeOptions, len(w.Subs))
		for ch, o := range w.Subs {
			opts, err := o.options()
			if err != nil {
				return nil, fmt.Errorf("subs: %w", err)
			}
			res.Subs[ch] = opts
		}
	}
	return res, nil
}

func decodeRefresh(body []byte) (*RefreshResult, error) {
	var env resultOnly[wireRefreshResult]
	if err := unmarshal(body, &env); err != nil {
		return nil, err
	}
	w := env.Result
	if w == nil {
		return &RefreshResult{Expired: true}, nil
	}
	info, err := pick(w.Info, w.B64Info, "b64info")
	if err != nil {
		return nil, err
	}
	return &RefreshResult{Expired: w.Expired, ExpireAt: int64(w.ExpireAt),
		Info: info, Meta: raw(w.Meta)}, nil
}

func decodeSubscribe(body []byte) (*SubscribeResult, error) {
	var env envelope[wireSubscribeOpts]
	if err := unmarshal(body, &env); err != nil {
		return nil, err
	}
	if err := env.reply(); err != nil {
		return nil, err
	}
	if env.Result == nil {
		return &SubscribeResult{}, nil
	}
	opts, err := env.Result.options()
	if err != nil {
		return nil, err
	}
	return &SubscribeResult{ExpireAt: opts.ExpireAt, Info: opts.Info,
		Data: opts.Data, Override: opts.Override}, nil
}

func decodePublish(body []byte) (*PublishResult, error) {
	var env envelope[wirePublishResult]
	if err := unmarshal(body, &env); err != nil {
		return nil, err
	}
	if err := env.reply(); err != nil {
		return nil, err
	}
	w := env.Result
	if w == nil {
		return &PublishResult{}, nil
	}
	data, err := pick(w.Data, w.B64Data, "b64data")
	if err != nil {
		return nil, err
	}
	return &PublishResult{Data: data, SkipHistory: w.SkipHistory, Tags: w.Tags,
		IdempotencyKey: w.IdempotencyKey, Delta: w.Delta,
		Version: uint64(w.Version), VersionEpoch: w.VersionEpoch}, nil
}

func decodeRPC(body []byte) (*RPCResult, error) {
	var env envelope[wireRPCResult]
	if err := unmarshal(body, &env); err != nil {
		return nil, err
	}
	if err := env.reply(); err != nil {
		return nil, err
	}
	if env.Result == nil {
		return &RPCResult{}, nil
	}
	data, err := pick(env.Result.Data, env.Result.B64Data, "b64data")
	if err != nil {
		return nil, err
	}
	return &RPCResult{Data: data}, nil
}

func decodeSubRefresh(body []byte) (*SubRefreshResult, error) {
	var env resultOnly[wireRefreshResult]
	if err := unmarshal(body, &env); err != nil {
		return nil, err
	}
	w := env.Result
	if w == nil {
		return &SubRefreshResult{Expired: true}, nil
	}
	info, err := pick(w.Info, w.B64Info, "b64info")
	if err != nil {
		return nil, err
	}
	return &SubRefreshResult{Expired: w.Expired, ExpireAt: int64(w.ExpireAt),
		Info: info}, nil
}

func (o *wireSubscribeOpts) options() (SubscribeOptions, error) {
	info, err := pick(o.Info, o.B64Info, "b64info")
	if err != nil {
		return SubscribeOptions{}, err
	}
	data, err := pick(o.Data, o.B64Data, "b64data")
	if err != nil {
		return SubscribeOptions{}, err
	}
	return SubscribeOptions{ExpireAt: int64(o.ExpireAt), Info: info, Data: data,
		Override: o.Override.Override()}, nil
}

// pick returns the decoded base64 field when it is non-empty, else the raw
// JSON field (spec §5: either form may come in either mode).
func pick(rawJSON json.RawMessage, b64, name string) ([]byte, error) {
	if b64 == "" {
		return raw(rawJSON), nil
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("bad %s: %w", name, err)
	}
	return b, nil
}

// raw treats an absent field and an explicit null alike: both mean "not
// set", which callers test with a nil check.
func raw(m json.RawMessage) []byte {
	if len(m) == 0 || string(m) == "null" {
		return nil
	}
	return m
}

// flexInt is an int64 written as a JSON number or, as protobuf JSON
// encodes 64-bit integers, as a decimal string.
type flexInt int64

// UnmarshalJSON implements [json.Unmarshaler].
func (n *flexInt) UnmarshalJSON(data []byte) error {
	s, err := numberText(data)
	if err != nil || s == "" {
		return err
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errors.New("not a 64-bit integer")
	}
	*n = flexInt(v)
	return nil
}

// flexUint is the unsigned form of [flexInt].
type flexUint uint64

// UnmarshalJSON implements [json.Unmarshaler].
func (n *flexUint) UnmarshalJSON(data []byte) error {
	s, err := numberText(data)
	if err != nil || s == "" {
		return err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return errors.New("not an unsigned 64-bit integer")
	}
	*n = flexUint(v)
	return nil
}

// numberText returns the digits of a JSON number or numeric string, or ""
// for null.
func numberText(data []byte) (string, error) {
	if string(data) == "null" {
		return "", nil
	}
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return "", err
		}
		if s == "" {
			return "", errors.New("empty number string")
		}
		return s, nil
	}
	return string(data), nil
}
