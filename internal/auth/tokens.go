package auth

// ConnectToken is what a verified connection token grants. The session
// applies it: it checks ExpireAt, resolves channel options for Channels and
// Subs, and forwards Meta to proxies.
type ConnectToken struct {
	// UserID is the user the connection belongs to; "" means anonymous.
	UserID string
	// ExpireAt is when the connection expires, in Unix seconds; 0 means
	// never. It comes from expire_at when that claim is present (where 0
	// also means never) and from exp otherwise.
	ExpireAt int64
	// Info is the connection info shown to other clients: the raw JSON of
	// info, or the decoded bytes of b64info, which wins when both are set.
	Info []byte
	// Channels are server-side subscriptions. By the token contract the
	// session ignores them when Subs is not empty.
	Channels []string
	// Subs are server-side subscriptions with per-channel options.
	Subs map[string]SubscribeOptions
	// Meta is the raw JSON object of meta, hidden from other clients.
	Meta []byte
}

// SubscribeOptions are the per-channel options of one entry in a connection
// token's subs claim.
type SubscribeOptions struct {
	// Info is the channel info: raw JSON of info, or decoded b64info.
	Info []byte
	// Data is sent to the client with the subscription: raw JSON of data, or
	// decoded b64data.
	Data []byte
	// Override replaces channel options for this subscription; nil when the
	// token overrides nothing.
	Override *Override
}

// Override holds channel option overrides from a token. A nil field keeps
// the channel's configured value.
//
// Each field accepts the protobuf BoolValue object form {"value": true}
// that backends send, and a plain JSON boolean. The v3 names position and
// recover set ForcePositioning and ForceRecovery unless the v4+ names are
// also present, in which case the v4+ names win.
type Override struct {
	Presence           *bool
	JoinLeave          *bool
	ForcePushJoinLeave *bool
	ForcePositioning   *bool
	ForceRecovery      *bool
}

// SubscribeToken is what a verified subscription token grants. The session
// checks that Channel is the channel being subscribed to, that UserID is the
// connection's user, and that Client, when not empty, is the connection's
// client ID.
type SubscribeToken struct {
	// UserID is the user the token was issued for; "" means anonymous.
	UserID string
	// Channel is the channel the token grants; never empty.
	Channel string
	// Client binds the token to one connection when not empty (v3 tokens).
	Client string
	// ExpireAt is when the subscription expires, in Unix seconds; 0 means
	// never. Same rules as [ConnectToken.ExpireAt].
	ExpireAt int64
	// Info is the channel info: raw JSON of info, or decoded b64info.
	Info []byte
	// Data is returned in the subscribe reply: raw JSON of data, or decoded
	// b64data.
	Data []byte
	// Override replaces channel options for this subscription; nil when the
	// token overrides nothing.
	Override *Override
}
