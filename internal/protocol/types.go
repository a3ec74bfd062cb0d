package protocol

// Raw is an opaque payload. On JSON connections it holds a JSON value that is
// embedded into frames as is; on Protobuf connections it holds arbitrary bytes.
// A nil Raw means the field is absent.
type Raw []byte

// Command is one client-to-server message (client protocol v2). Exactly one
// request field is set, except for a pong, where none is.
type Command struct {
	ID uint32

	Connect       *ConnectRequest
	Subscribe     *SubscribeRequest
	Unsubscribe   *UnsubscribeRequest
	Publish       *PublishRequest
	Presence      *PresenceRequest
	PresenceStats *PresenceStatsRequest
	History       *HistoryRequest
	Ping          *PingRequest
	Send          *SendRequest
	RPC           *RPCRequest
	Refresh       *RefreshRequest
	SubRefresh    *SubRefreshRequest
}

// Reply is one server-to-client message. A reply to a command echoes its ID and
// carries Error or one result; a push has ID 0 and Push set; a server ping is
// an empty Reply.
type Reply struct {
	ID    uint32
	Error *Error
	Push  *Push

	Connect       *ConnectResult
	Subscribe     *SubscribeResult
	Unsubscribe   *UnsubscribeResult
	Publish       *PublishResult
	Presence      *PresenceResult
	PresenceStats *PresenceStatsResult
	History       *HistoryResult
	Ping          *PingResult
	RPC           *RPCResult
	Refresh       *RefreshResult
	SubRefresh    *SubRefreshResult
}

// Error is a reply error with one of the protocol's codes.
type Error struct {
	Code      uint32
	Message   string
	Temporary bool
}

// Push is an unsolicited server message about a channel or the connection.
type Push struct {
	ID      int64
	Channel string

	Pub         *Publication
	Join        *Join
	Leave       *Leave
	Unsubscribe *Unsubscribe
	Message     *Message
	Subscribe   *Subscribe
	Connect     *Connect
	Disconnect  *Disconnect
	Refresh     *Refresh
}

// ClientInfo describes a connection in presence, join/leave and publications.
type ClientInfo struct {
	User     string
	Client   string
	ConnInfo Raw
	ChanInfo Raw
}

// Publication is one message in a channel.
type Publication struct {
	Data   Raw
	Info   *ClientInfo
	Offset uint64
	Tags   map[string]string
	Delta  bool
	Time   int64
}

// StreamPosition is a point in a channel stream.
type StreamPosition struct {
	Offset uint64
	Epoch  string
}

// ConnectRequest opens a session.
type ConnectRequest struct {
	Token   string
	Data    Raw
	Subs    map[string]*SubscribeRequest
	Name    string
	Version string
	Headers map[string]string
}

// ConnectResult answers a successful connect.
type ConnectResult struct {
	Client  string
	Version string
	Expires bool
	TTL     uint32
	Data    Raw
	Subs    map[string]*SubscribeResult
	Ping    uint32
	Pong    bool
	Session string
	Node    string
	Time    int64
}

// SubscribeRequest asks for a subscription, optionally recovering missed
// publications from Offset in Epoch.
type SubscribeRequest struct {
	Channel     string
	Token       string
	Recover     bool
	Epoch       string
	Offset      uint64
	Data        Raw
	Positioned  bool
	Recoverable bool
	JoinLeave   bool
	Delta       string
	Flag        int64
	// Type selects map or shared-poll subscriptions, which Herald declines.
	Type int32
	// HasFilter reports that the request carried a tags filter (field tf),
	// which Herald declines; the filter itself is not decoded.
	HasFilter bool
}

// SubscribeResult answers a successful subscribe.
type SubscribeResult struct {
	Expires       bool
	TTL           uint32
	Recoverable   bool
	Epoch         string
	Publications  []*Publication
	Recovered     bool
	Offset        uint64
	Positioned    bool
	Data          Raw
	WasRecovering bool
	Delta         bool
	ID            int64
}

// UnsubscribeRequest ends a client-side subscription.
type UnsubscribeRequest struct {
	Channel string
}

// UnsubscribeResult answers an unsubscribe; it has no fields.
type UnsubscribeResult struct{}

// PublishRequest publishes Data into Channel on behalf of the client.
type PublishRequest struct {
	Channel string
	Data    Raw
}

// PublishResult answers a publish; it has no fields.
type PublishResult struct{}

// PresenceRequest asks who is subscribed to Channel.
type PresenceRequest struct {
	Channel string
}

// PresenceResult maps client IDs to their info. It is always written.
type PresenceResult struct {
	Presence map[string]*ClientInfo
}

// PresenceStatsRequest asks for presence counters of Channel.
type PresenceStatsRequest struct {
	Channel string
}

// PresenceStatsResult holds presence counters; both are always written.
type PresenceStatsResult struct {
	NumClients uint32
	NumUsers   uint32
}

// HistoryRequest reads a channel's stream.
type HistoryRequest struct {
	Channel string
	Limit   int32
	Since   *StreamPosition
	Reverse bool
}

// HistoryResult holds a page of a stream and its current top. All fields are
// always written.
type HistoryResult struct {
	Publications []*Publication
	Epoch        string
	Offset       uint64
}

// PingRequest is defined by the schema but unused in protocol v2.
type PingRequest struct{}

// PingResult is defined by the schema but unused in protocol v2.
type PingResult struct{}

// SendRequest is an asynchronous message to the server; it has no reply.
type SendRequest struct {
	Data Raw
}

// RPCRequest calls Method on the application backend.
type RPCRequest struct {
	Data   Raw
	Method string
}

// RPCResult carries the backend's answer to an RPC.
type RPCResult struct {
	Data Raw
}

// RefreshRequest extends the connection with a new token.
type RefreshRequest struct {
	Token string
}

// RefreshResult answers a successful refresh.
type RefreshResult struct {
	Client  string
	Version string
	Expires bool
	TTL     uint32
}

// SubRefreshRequest extends a subscription with a new subscription token.
type SubRefreshRequest struct {
	Channel string
	Token   string
}

// SubRefreshResult answers a successful sub_refresh.
type SubRefreshResult struct {
	Expires bool
	TTL     uint32
}

// Join announces a new subscriber.
type Join struct {
	Info ClientInfo
}

// Leave announces a subscriber that went away.
type Leave struct {
	Info ClientInfo
}

// Unsubscribe tells the client that the server ended a subscription.
type Unsubscribe struct {
	Code   uint32
	Reason string
}

// Message is a server-to-client message outside any channel.
type Message struct {
	Data Raw
}

// Subscribe announces a server-side subscription added after connect.
type Subscribe struct {
	Recoverable bool
	Epoch       string
	Offset      uint64
	Positioned  bool
	Data        Raw
}

// Connect is the first push of a unidirectional stream.
type Connect struct {
	Client  string
	Version string
	Data    Raw
	Subs    map[string]*SubscribeResult
	Expires bool
	TTL     uint32
	Ping    uint32
	Pong    bool
	Session string
	Node    string
	Time    int64
}

// Disconnect tells a client on an emulated or unidirectional transport why
// the server is closing it.
type Disconnect struct {
	Code      uint32
	Reason    string
	Reconnect bool
}

// Refresh tells the client that the server extended its connection.
type Refresh struct {
	Expires bool
	TTL     uint32
}
