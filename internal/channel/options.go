// Package channel holds Herald's channel name rules and per-channel options:
// which namespace a channel belongs to, whether it is private ("$" prefix) or
// user-limited ("#" boundary), and what clients may do in it.
//
// [NewRules] validates a [Config] once and compiles it into [Rules], an
// immutable value that every connection reads concurrently without locks.
// Start reading at [Rules.Options].
package channel

import (
	"regexp"
	"time"
)

// DefaultProxyName names the default proxy of a kind (channel.proxy.subscribe
// and so on). An empty proxy name in [Options] means the same.
const DefaultProxyName = "default"

// Recovery modes for [Options.ForceRecoveryMode].
const (
	RecoveryModeStream = "stream"
	RecoveryModeCache  = "cache"
)

// Options are the options of one namespace, or of channels without a
// namespace. Every field is off by default: v4+ permissions are closed until
// an allow_* flag opens them. The json tags are the option keys of the
// configuration file.
type Options struct {
	// Presence keeps the set of subscribers of each channel.
	Presence bool `json:"presence"`
	// JoinLeave emits join and leave messages to subscribers who ask for
	// them; ForcePushJoinLeave sends them to every subscriber.
	JoinLeave          bool `json:"join_leave"`
	ForcePushJoinLeave bool `json:"force_push_join_leave"`

	// HistorySize and HistoryTTL enable history when both are positive.
	HistorySize int           `json:"history_size"`
	HistoryTTL  time.Duration `json:"history_ttl"`
	// HistoryMetaTTL is how long a stream's position outlives its last
	// publication; zero means the global [Config.HistoryMetaTTL].
	HistoryMetaTTL time.Duration `json:"history_meta_ttl"`

	// ForcePositioning and ForceRecovery turn the features on for every
	// subscription; the Allow variants let clients ask for them.
	ForcePositioning bool `json:"force_positioning"`
	AllowPositioning bool `json:"allow_positioning"`
	ForceRecovery    bool `json:"force_recovery"`
	AllowRecovery    bool `json:"allow_recovery"`
	// ForceRecoveryMode is "stream" (the default when empty) or "cache".
	ForceRecoveryMode string `json:"force_recovery_mode"`

	// Subscribe permissions. "Client" means any authenticated connection,
	// "Anonymous" a connection with an empty user ID.
	AllowSubscribeForClient    bool `json:"allow_subscribe_for_client"`
	AllowSubscribeForAnonymous bool `json:"allow_subscribe_for_anonymous"`

	// Publish permissions. "Subscriber" means a connection subscribed to the
	// channel it publishes to.
	AllowPublishForClient     bool `json:"allow_publish_for_client"`
	AllowPublishForSubscriber bool `json:"allow_publish_for_subscriber"`
	AllowPublishForAnonymous  bool `json:"allow_publish_for_anonymous"`

	// Presence and presence stats permissions.
	AllowPresenceForClient     bool `json:"allow_presence_for_client"`
	AllowPresenceForSubscriber bool `json:"allow_presence_for_subscriber"`
	AllowPresenceForAnonymous  bool `json:"allow_presence_for_anonymous"`

	// History permissions.
	AllowHistoryForClient     bool `json:"allow_history_for_client"`
	AllowHistoryForSubscriber bool `json:"allow_history_for_subscriber"`
	AllowHistoryForAnonymous  bool `json:"allow_history_for_anonymous"`

	// AllowUserLimitedChannels honours the user boundary ("#"): a user
	// listed after the last boundary may subscribe without a token.
	AllowUserLimitedChannels bool `json:"allow_user_limited_channels"`

	// ChannelRegex, when set, must match the part of the channel name after
	// the namespace boundary (see [Rules.CheckRegex]).
	ChannelRegex string `json:"channel_regex"`
	regex        *regexp.Regexp

	// Proxies. An empty name, like "default", selects the default proxy of
	// that kind; other names refer to named proxies.
	SubscribeProxyEnabled  bool   `json:"subscribe_proxy_enabled"`
	SubscribeProxyName     string `json:"subscribe_proxy_name"`
	PublishProxyEnabled    bool   `json:"publish_proxy_enabled"`
	PublishProxyName       string `json:"publish_proxy_name"`
	SubRefreshProxyEnabled bool   `json:"sub_refresh_proxy_enabled"`
	SubRefreshProxyName    string `json:"sub_refresh_proxy_name"`
	// The subscribe stream proxy (gRPC only) is accepted and validated but
	// Herald does not call it yet.
	SubscribeStreamProxyEnabled       bool   `json:"subscribe_stream_proxy_enabled"`
	SubscribeStreamProxyName          string `json:"subscribe_stream_proxy_name"`
	SubscribeStreamProxyBidirectional bool   `json:"subscribe_stream_proxy_bidirectional"`

	// AllowedDeltaTypes lists the delta encodings clients may negotiate
	// (only "fossil" exists); DeltaPublish makes delta the default for
	// publications.
	AllowedDeltaTypes []string `json:"allowed_delta_types"`
	DeltaPublish      bool     `json:"delta_publish"`
	// AllowTagsFilter lets clients filter publications by tags.
	AllowTagsFilter bool `json:"allow_tags_filter"`
	// PublicationDataFormat is "" (any non-empty data), "json",
	// "json_object" or "binary".
	PublicationDataFormat string `json:"publication_data_format"`
}

// HistoryEnabled reports whether publications in these channels are kept.
func (o *Options) HistoryEnabled() bool {
	return o.HistorySize > 0 && o.HistoryTTL > 0
}

// Namespace is a named group of channels sharing options. A channel
// "chat:index" belongs to namespace "chat".
type Namespace struct {
	Name string `json:"name"`
	Options
}

// Config describes channel names and options, as in the "channel" section
// of the configuration file.
type Config struct {
	// MaxLength caps channel names in bytes; zero means 255.
	MaxLength int `json:"max_length"`
	// PrivatePrefix marks channels that need a subscription token; empty
	// disables private channels.
	PrivatePrefix string `json:"private_prefix"`
	// NamespaceBoundary separates a namespace from the rest of the name;
	// empty disables namespaces.
	NamespaceBoundary string `json:"namespace_boundary"`
	// UserBoundary starts the list of users allowed in a user-limited
	// channel, UserSeparator separates them; an empty UserBoundary disables
	// user-limited channels.
	UserBoundary  string `json:"user_boundary"`
	UserSeparator string `json:"user_separator"`
	// HistoryMetaTTL is the stream meta TTL of namespaces that do not set
	// their own; zero keeps stream meta without expiry.
	HistoryMetaTTL time.Duration `json:"history_meta_ttl"`
	// WithoutNamespace applies to channels without a namespace.
	WithoutNamespace Options `json:"without_namespace"`
	// Namespaces are matched by name; there is no inheritance from
	// WithoutNamespace.
	Namespaces []Namespace `json:"namespaces"`
}

// DefaultConfig returns the default channel syntax with no namespaces and
// every option off.
func DefaultConfig() Config {
	return Config{
		MaxLength:         255,
		PrivatePrefix:     "$",
		NamespaceBoundary: ":",
		UserBoundary:      "#",
		UserSeparator:     ",",
		HistoryMetaTTL:    720 * time.Hour,
	}
}
