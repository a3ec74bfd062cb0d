package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// connectClaims is the payload of a connection token. Decoding into typed
// fields makes a claim of the wrong JSON type fail the whole token.
type connectClaims struct {
	jwt.RegisteredClaims
	ExpireAt *int64               `json:"expire_at"`
	Info     json.RawMessage      `json:"info"`
	B64Info  string               `json:"b64info"`
	Channels []string             `json:"channels"`
	Subs     map[string]subClaims `json:"subs"`
	Meta     json.RawMessage      `json:"meta"`
	// Channel is decoded only to refuse it: a subscription token must not
	// be usable as a connection token.
	Channel string `json:"channel"`
}

// subClaims are the options of one subscription, shared by the entries of
// a connection token's subs and by subscription tokens.
type subClaims struct {
	Info     json.RawMessage `json:"info"`
	B64Info  string          `json:"b64info"`
	Data     json.RawMessage `json:"data"`
	B64Data  string          `json:"b64data"`
	Override *OverrideJSON   `json:"override"`
}

// subscribeClaims is the payload of a subscription token.
type subscribeClaims struct {
	jwt.RegisteredClaims
	subClaims
	Channel  string `json:"channel"`
	Client   string `json:"client"`
	ExpireAt *int64 `json:"expire_at"`
}

// OverrideJSON is the JSON form of [Override] that tokens and proxy
// results share. It carries both the v4+ names and the v3 names (position,
// recover), so that tokens and backends written for either server version
// keep working, and accepts each flag as a plain boolean or as the
// protobuf BoolValue object.
type OverrideJSON struct {
	Presence           boolValue `json:"presence"`
	JoinLeave          boolValue `json:"join_leave"`
	ForcePushJoinLeave boolValue `json:"force_push_join_leave"`
	ForcePositioning   boolValue `json:"force_positioning"`
	ForceRecovery      boolValue `json:"force_recovery"`
	Position           boolValue `json:"position"`
	Recover            boolValue `json:"recover"`
}

// boolValue is an optional boolean written either as {"value": b}, the
// protobuf BoolValue form that backends send, or as a plain JSON boolean.
type boolValue struct {
	set, value bool
}

// UnmarshalJSON implements [json.Unmarshaler].
func (b *boolValue) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "null":
		return nil
	case "true", "false":
		b.set, b.value = true, data[0] == 't'
		return nil
	}
	// A missing value means false, as protobuf omits default values.
	var obj struct {
		Value bool `json:"value"`
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return err
	}
	b.set, b.value = true, obj.Value
	return nil
}

func (b boolValue) ptr() *bool {
	if !b.set {
		return nil
	}
	v := b.value
	return &v
}

// Override converts the JSON form; nil when nothing is overridden, so that
// callers can skip option merging with one check.
func (o *OverrideJSON) Override() *Override {
	if o == nil {
		return nil
	}
	out := Override{
		Presence:           o.Presence.ptr(),
		JoinLeave:          o.JoinLeave.ptr(),
		ForcePushJoinLeave: o.ForcePushJoinLeave.ptr(),
		ForcePositioning:   o.ForcePositioning.ptr(),
		ForceRecovery:      o.ForceRecovery.ptr(),
	}
	if out.ForcePositioning == nil {
		out.ForcePositioning = o.Position.ptr()
	}
	if out.ForceRecovery == nil {
		out.ForceRecovery = o.Recover.ptr()
	}
	if out == (Override{}) {
		return nil
	}
	return &out
}

// options converts decoded subscription claims; only bad base64 can fail.
func (s *subClaims) options() (SubscribeOptions, error) {
	info, err := pickBytes(s.Info, s.B64Info)
	if err != nil {
		return SubscribeOptions{}, fmt.Errorf("b64info: %w", err)
	}
	data, err := pickBytes(s.Data, s.B64Data)
	if err != nil {
		return SubscribeOptions{}, fmt.Errorf("b64data: %w", err)
	}
	return SubscribeOptions{Info: info, Data: data, Override: s.Override.Override()}, nil
}

var errMetaNotObject = errors.New("meta claim is not a JSON object")

// connectToken builds the result once signature and claims are checked.
func (c *connectClaims) connectToken(userID string) (ConnectToken, error) {
	info, err := pickBytes(c.Info, c.B64Info)
	if err != nil {
		return ConnectToken{}, fmt.Errorf("b64info: %w", err)
	}
	meta := rawJSON(c.Meta)
	if meta != nil && meta[0] != '{' {
		return ConnectToken{}, errMetaNotObject
	}
	ct := ConnectToken{
		UserID:   userID,
		ExpireAt: expireAt(c.ExpireAt, c.ExpiresAt),
		Info:     info,
		Channels: c.Channels,
		Meta:     meta,
	}
	if len(c.Subs) > 0 {
		ct.Subs = make(map[string]SubscribeOptions, len(c.Subs))
		for ch, s := range c.Subs {
			opts, err := s.options()
			if err != nil {
				return ConnectToken{}, fmt.Errorf("subs: %w", err)
			}
			ct.Subs[ch] = opts
		}
	}
	return ct, nil
}

// subscribeToken builds the result once signature and claims are checked.
func (c *subscribeClaims) subscribeToken(userID string) (SubscribeToken, error) {
	opts, err := c.options()
	if err != nil {
		return SubscribeToken{}, err
	}
	return SubscribeToken{
		UserID:   userID,
		Channel:  c.Channel,
		Client:   c.Client,
		ExpireAt: expireAt(c.ExpireAt, c.ExpiresAt),
		Info:     opts.Info,
		Data:     opts.Data,
		Override: opts.Override,
	}, nil
}

// expireAt applies the expire_at rule: when present it decides alone, and a
// value <= 0 means the connection never expires even though exp is set
// (exp then only limits how long the token itself may be presented).
func expireAt(claim *int64, exp *jwt.NumericDate) int64 {
	if claim != nil {
		return max(*claim, 0)
	}
	if exp != nil {
		return exp.Unix()
	}
	return 0
}

// pickBytes returns the decoded base64 value when set, else the raw JSON.
// The b64 claims use standard padded base64, as server SDKs produce it.
func pickBytes(raw json.RawMessage, b64 string) ([]byte, error) {
	if b64 != "" {
		return base64.StdEncoding.DecodeString(b64)
	}
	return rawJSON(raw), nil
}

// rawJSON maps an absent or null claim to nil so callers test only len.
func rawJSON(raw json.RawMessage) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

var errUserIDType = errors.New("user ID claim is not a string or number")

// lookupUserID finds a custom user ID claim in the token payload. The name
// is tried as a top-level key first, so URL-style names with dots work; a
// dotted path into nested objects is the fallback. A missing claim means an
// anonymous user, like a missing sub. Numbers are accepted as their literal
// text because some identity providers emit numeric user IDs.
func lookupUserID(token, name string) (string, error) {
	_, rest, _ := strings.Cut(token, ".")
	seg, _, _ := strings.Cut(rest, ".")
	payload, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return "", err
	}
	val, err := lookupPath(payload, name)
	if err != nil || val == nil {
		return "", err
	}
	switch val[0] {
	case '"':
		var s string
		err := json.Unmarshal(val, &s)
		return s, err
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(val), nil
	}
	return "", errUserIDType
}

// lookupPath returns the raw value at name in the JSON object obj, or nil.
func lookupPath(obj []byte, name string) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return nil, err
	}
	if v, ok := m[name]; ok {
		return rawJSON(v), nil
	}
	head, tail, ok := strings.Cut(name, ".")
	if !ok {
		return nil, nil
	}
	inner := rawJSON(m[head])
	if inner == nil || inner[0] != '{' {
		return nil, nil
	}
	return lookupPath(inner, tail)
}
