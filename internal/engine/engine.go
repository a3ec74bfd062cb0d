// Package engine defines what the node needs from a broker (ordering and
// fan-out of publications between nodes, channel history) and from a presence
// manager. Implementations live in sub-packages; nothing in the core imports
// them.
package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/heraldhq/herald/internal/protocol"
)

// Errors returned by engines.
var (
	// ErrUnrecoverablePosition means that the requested stream position is
	// not in history any more (wrong epoch, or trimmed by size or TTL).
	ErrUnrecoverablePosition = errors.New("engine: unrecoverable position")
)

// PublishOptions tune one publication.
type PublishOptions struct {
	// HistorySize and HistoryTTL enable history for the channel when both
	// are positive: the publication is stored and gets an offset.
	HistorySize int
	HistoryTTL  time.Duration
	// HistoryMetaTTL is how long the stream's offset and epoch outlive its
	// last publication; zero means the engine's default (forever for memory).
	HistoryMetaTTL time.Duration
	// IdempotencyKey suppresses a repeated publication with the same key
	// within IdempotentResultTTL; the first result is returned again.
	IdempotencyKey      string
	IdempotentResultTTL time.Duration
	// Delta asks for the publication to reach subscribers that negotiated
	// delta compression as a delta against the channel's previous one.
	Delta bool
}

// HistoryOptions select a page of a channel's stream.
type HistoryOptions struct {
	// Since, when set, returns publications after that position; an epoch
	// mismatch or a trimmed position yields ErrUnrecoverablePosition.
	Since *protocol.StreamPosition
	// Limit caps the number of publications: 0 returns the position only,
	// a negative value returns everything kept.
	Limit int
	// Reverse returns the newest publications first. With Since it pages
	// backwards: the publications before Since, newest first.
	Reverse bool
	// MetaTTL extends the stream's metadata lifetime, as in PublishOptions.
	MetaTTL time.Duration
}

// PublishResult tells where a publication landed.
type PublishResult struct {
	Position protocol.StreamPosition
	// Suppressed is true when an idempotency key matched an earlier publish.
	Suppressed bool
}

// EventHandler receives what the broker delivers to this node. The broker
// calls it in channel order: for one channel, never concurrently and never
// out of order. A broker may call it while holding its own locks, so the
// handler must be quick, must not block and must not call the broker.
type EventHandler interface {
	// HandlePublication receives a publication; delta is its
	// PublishOptions.Delta.
	HandlePublication(ch string, pub *protocol.Publication, sp protocol.StreamPosition,
		delta bool)
	HandleJoin(ch string, info *protocol.ClientInfo)
	HandleLeave(ch string, info *protocol.ClientInfo)
	HandleControl(data []byte)
	// HandleDeliveryGap says that events of channels may have been lost on
	// their way to this node: the broker's subscription to them had to be
	// re-established after a failure. Publications accepted meanwhile are
	// in history, so subscribers that track their position can recover.
	HandleDeliveryGap(channels []string)
}

// Broker orders publications per channel, delivers them to every node with
// subscribers, and keeps channel history.
type Broker interface {
	// Run starts delivery to h; it must be called once before anything else.
	Run(ctx context.Context, h EventHandler) error
	// Subscribe tells the broker that this node has subscribers in ch.
	Subscribe(ctx context.Context, ch string) error
	// Unsubscribe tells the broker that this node has none left in ch.
	Unsubscribe(ctx context.Context, ch string) error
	// Publish stores pub (when history is on) and delivers it to every node
	// subscribed to ch. pub.Offset is assigned by the broker.
	Publish(ctx context.Context, ch string, pub *protocol.Publication,
		opts PublishOptions) (PublishResult, error)
	// PublishJoin and PublishLeave deliver presence events to every node.
	PublishJoin(ctx context.Context, ch string, info *protocol.ClientInfo) error
	PublishLeave(ctx context.Context, ch string, info *protocol.ClientInfo) error
	// PublishControl sends a node control message to all nodes.
	PublishControl(ctx context.Context, data []byte) error
	// History reads the stream of ch.
	History(ctx context.Context, ch string, opts HistoryOptions) (
		[]*protocol.Publication, protocol.StreamPosition, error)
	// RemoveHistory drops the stored publications of ch; offset and epoch
	// are kept so positioned subscribers do not see a spurious gap.
	RemoveHistory(ctx context.Context, ch string) error
	// Close releases the broker's resources.
	Close(ctx context.Context) error
}

// HistoryStore keeps channel streams for a broker that only carries
// messages between nodes (NATS). The memory and Redis brokers are stores.
type HistoryStore interface {
	// AddHistory does what [Broker.Publish] does but deliver: it stores
	// pub in ch's stream when opts enable history, assigning pub.Offset,
	// honours opts.IdempotencyKey, and then calls send with the result,
	// unless the publication was suppressed. Calls for one channel made on
	// this node call send in the order of their offsets, so a broker that
	// sends from it keeps the channel in order. An error from send is
	// returned; the publication stays in history.
	AddHistory(ctx context.Context, ch string, pub *protocol.Publication,
		opts PublishOptions, send func(PublishResult) error) (PublishResult, error)
	// History and RemoveHistory are those of [Broker].
	History(ctx context.Context, ch string, opts HistoryOptions) (
		[]*protocol.Publication, protocol.StreamPosition, error)
	RemoveHistory(ctx context.Context, ch string) error
}

// PresenceStats counts the clients and distinct users present in a channel.
type PresenceStats struct {
	NumClients int
	NumUsers   int
}

// PresenceManager keeps who is subscribed to which channel, cluster-wide.
type PresenceManager interface {
	// AddPresence adds or refreshes clientID in ch; the entry expires after
	// the manager's TTL unless refreshed again.
	AddPresence(ctx context.Context, ch, clientID string, info *protocol.ClientInfo) error
	// RemovePresence removes clientID from ch.
	RemovePresence(ctx context.Context, ch, clientID, userID string) error
	// Presence returns the clients present in ch, keyed by client ID.
	Presence(ctx context.Context, ch string) (map[string]*protocol.ClientInfo, error)
	// PresenceStats counts clients and distinct users in ch.
	PresenceStats(ctx context.Context, ch string) (PresenceStats, error)
	// Close releases the manager's resources.
	Close(ctx context.Context) error
}

// epochAlphabet is URL-safe, so that an epoch never needs escaping in JSON,
// query strings or Redis keys, and has no ':', which separates the parts of
// a position in the Redis engine's replies and messages.
const epochAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// NewEpoch returns a new stream epoch: 8 random characters (48 bits).
// Epochs only need to differ from the earlier generations of one channel;
// math/rand/v2's global generator is seeded from the OS and safe for
// concurrent use.
func NewEpoch() string {
	var b [8]byte
	r := rand.Uint64()
	for i := range b {
		b[i] = epochAlphabet[r&63]
		r >>= 6
	}
	return string(b[:])
}
