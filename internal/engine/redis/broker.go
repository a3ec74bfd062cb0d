package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/engine/wire"
	"github.com/heraldhq/herald/internal/protocol"
)

// Errors returned by the Redis broker.
var (
	// ErrNotRunning is returned by calls that need [Broker.Run] first.
	ErrNotRunning = errors.New("redis: broker not running")
	// ErrAlreadyRunning is returned by a second [Broker.Run].
	ErrAlreadyRunning = errors.New("redis: broker already running")
	// ErrClosed is returned by calls made after [Broker.Close].
	ErrClosed = errors.New("redis: broker closed")
)

const (
	defaultBrokerPrefix = "herald"
	// opTimeout bounds a call whose context has no deadline, so that an
	// unreachable Redis fails a publish instead of hanging it.
	opTimeout = 4 * time.Second
	// defaultIdempotentTTL matches the memory engine.
	defaultIdempotentTTL = 5 * time.Minute
	// DefaultPartitions is how many sharded PUB/SUB partitions a Redis
	// Cluster deployment gets when the config leaves it to Herald: enough
	// to spread the PUB/SUB load over a few masters, few enough that each
	// node holds a handful of PUB/SUB connections.
	DefaultPartitions = 16
)

// BrokerConfig configures a [Broker].
type BrokerConfig struct {
	// Prefix starts every key and PUB/SUB channel name (default "herald").
	Prefix string
	// Logger receives connection state changes; nil means slog.Default.
	Logger *slog.Logger
	// Partitions is, on a Redis Cluster, how many sharded PUB/SUB
	// partitions channels are spread over (0 means [DefaultPartitions]).
	// Each partition is one hash slot holding its channels' keys, and one
	// PUB/SUB connection per node. Changing it moves every channel's keys.
	Partitions int
}

// Broker is the Redis [engine.Broker]. Key layout, per channel ch, all
// sharing the hash tag {ch} so that one script can touch them:
//
//	<prefix>.stream.{ch}       stream  entry ID "<offset>-0", field d = body
//	<prefix>.meta.{ch}         hash    e = epoch, s = top offset
//	<prefix>.idem.{ch}.<key>   string  "offset:epoch" of the first publish
//
// PUB/SUB channels are <prefix>.ch.<ch> for a channel's publications, joins
// and leaves (one channel, so they stay in order) and <prefix>.control for
// node control messages. See wire.go for the message format.
//
// On a Redis Cluster, PUB/SUB is sharded (SPUBLISH, SSUBSCRIBE): a channel
// belongs to one of a fixed number of partitions p, and its keys and its
// PUB/SUB channel carry the partition's hash tag first, <prefix>.{p}.stream.
// {ch}, <prefix>.{p}.ch.<ch>, so that the publish script may SPUBLISH from
// the slot of its keys and one SSUBSCRIBE per partition covers many
// channels. Control messages travel in partition 0.
type Broker struct {
	shards  *Shards
	prefix  string
	log     *slog.Logger
	control string
	// partitions is the number of sharded PUB/SUB partitions on a Redis
	// Cluster, 0 otherwise.
	partitions int
	// controlSub indexes the subscriber that carries control messages.
	controlSub int

	handler atomic.Pointer[handlerRef]
	// started is set once Run has built subs, which are read without a
	// lock afterwards.
	started atomic.Bool
	closed  atomic.Bool

	// storeLocks order AddHistory calls per channel stripe.
	storeLocks [64]sync.Mutex

	// subs has one subscriber per shard, in [Shards.All] order, or one per
	// partition on a cluster; set by Run.
	subs   []*subscriber
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// handlerRef boxes the handler interface for atomic.Pointer.
type handlerRef struct {
	h engine.EventHandler
}

var (
	_ engine.Broker       = (*Broker)(nil)
	_ engine.HistoryStore = (*Broker)(nil)
)

// NewBroker returns a Broker over s; call [Broker.Run] before using it.
func NewBroker(s *Shards, cfg BrokerConfig) *Broker {
	if cfg.Prefix == "" {
		cfg.Prefix = defaultBrokerPrefix
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	b := &Broker{
		shards:  s,
		prefix:  cfg.Prefix,
		log:     log.With("component", "redis_broker"),
		control: cfg.Prefix + ".control",
	}
	if s.Cluster() {
		b.partitions = cfg.Partitions
		if b.partitions <= 0 {
			b.partitions = DefaultPartitions
		}
		b.control = cfg.Prefix + ".{0}.control"
	} else {
		b.controlSub = s.index(b.control)
	}
	return b
}

// sharded reports whether PUB/SUB is sharded over cluster partitions.
func (b *Broker) sharded() bool { return b.partitions > 0 }

// partition returns the cluster partition of ch.
func (b *Broker) partition(ch string) int {
	return jumpHash(hashString(ch), b.partitions)
}

// subFor returns the subscriber that carries ch.
func (b *Broker) subFor(ch string) *subscriber {
	if b.sharded() {
		return b.subs[b.partition(ch)]
	}
	return b.subs[b.shards.index(ch)]
}

// partitionTag is the hash tag that starts ch's names on a cluster, or "".
func (b *Broker) partitionTag(ch string) string {
	if !b.sharded() {
		return ""
	}
	return ".{" + strconv.Itoa(b.partition(ch)) + "}"
}

// Run connects one PUB/SUB connection per shard and starts delivering to h.
// It returns once every connection is subscribed, or with the first error;
// later connection losses are retried in the background until ctx is done
// or [Broker.Close].
func (b *Broker) Run(ctx context.Context, h engine.EventHandler) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if !b.handler.CompareAndSwap(nil, &handlerRef{h}) {
		return ErrAlreadyRunning
	}

	runCtx, cancel := context.WithCancel(ctx)
	b.cancel = cancel
	clients := b.shards.All()
	if b.sharded() {
		clients = make([]rueidis.Client, b.partitions)
		for i := range clients {
			clients[i] = b.shards.All()[0]
		}
	}
	for i, c := range clients {
		s := newSubscriber(b, c, i == b.controlSub)
		b.subs = append(b.subs, s)
		b.wg.Go(func() { s.run(runCtx) })
	}

	for _, s := range b.subs {
		if err := s.waitReady(ctx); err != nil {
			b.cancel()
			b.wg.Wait()
			return fmt.Errorf("redis: broker run: %w", err)
		}
	}
	b.started.Store(true)
	return nil
}

// Close stops the PUB/SUB connections and waits for their goroutines. The
// shards' clients belong to the caller and stay open.
func (b *Broker) Close(context.Context) error {
	if b.closed.Swap(true) {
		return nil
	}
	if b.cancel != nil {
		b.cancel()
	}
	b.wg.Wait()
	return nil
}

// ready reports why the broker may not be used, if it may not.
func (b *Broker) ready() error {
	if b.closed.Load() {
		return ErrClosed
	}
	if !b.started.Load() {
		return ErrNotRunning
	}
	return nil
}

// Subscribe subscribes this node's PUB/SUB connection to ch and returns
// once Redis confirmed it, so publications made afterwards reach h.
func (b *Broker) Subscribe(ctx context.Context, ch string) error {
	if err := b.ready(); err != nil {
		return err
	}
	return b.subFor(ch).change(ctx, ch, true)
}

// Unsubscribe stops delivery of ch to this node.
func (b *Broker) Unsubscribe(ctx context.Context, ch string) error {
	if err := b.ready(); err != nil {
		return err
	}
	return b.subFor(ch).change(ctx, ch, false)
}

// keys returns the stream, meta and idempotency keys of ch.
func (b *Broker) keys(ch, idemKey string) []string {
	start := b.prefix + b.partitionTag(ch)
	tag := "{" + ch + "}"
	return []string{
		start + ".stream." + tag,
		start + ".meta." + tag,
		start + ".idem." + tag + "." + idemKey,
	}
}

// pubsubChannel is the PUB/SUB channel that carries ch's events.
func (b *Broker) pubsubChannel(ch string) string {
	return b.prefix + b.partitionTag(ch) + ".ch." + ch
}

// channelOf is the inverse of pubsubChannel.
func (b *Broker) channelOf(pubsub string) (string, bool) {
	rest, ok := strings.CutPrefix(pubsub, b.prefix)
	if !ok {
		return "", false
	}
	if b.sharded() {
		// Skip the partition tag: ".{p}".
		i := strings.IndexByte(rest, '}')
		if !strings.HasPrefix(rest, ".{") || i < 0 {
			return "", false
		}
		rest = rest[i+1:]
	}
	return strings.CutPrefix(rest, ".ch.")
}

// publishCommand is the PUB/SUB publish command of the deployment.
func (b *Broker) publishCommand() string {
	if b.sharded() {
		return "spublish"
	}
	return "publish"
}

// publishCmd builds the command that publishes msg to channel.
func (b *Broker) publishCmd(c rueidis.Client, channel, msg string) rueidis.Completed {
	if b.sharded() {
		return c.B().Spublish().Channel(channel).Message(msg).Build()
	}
	return c.B().Publish().Channel(channel).Message(msg).Build()
}

// Publish runs the publish script: with history it appends pub to ch's
// stream and assigns pub.Offset; it then fans pub out to every subscribed
// node. A repeated opts.IdempotencyKey returns the first result with
// Suppressed set and publishes nothing. Without history or idempotency it
// is a plain PUBLISH.
func (b *Broker) Publish(ctx context.Context, ch string, pub *protocol.Publication,
	opts engine.PublishOptions) (engine.PublishResult, error) {
	if err := b.ready(); err != nil {
		return engine.PublishResult{}, err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()

	kind := string(rune(wire.KindPublication))
	if opts.Delta {
		kind = string(rune(wire.KindDelta))
	}
	withHistory := opts.HistorySize > 0 && opts.HistoryTTL > 0
	c := b.shards.For(ch)
	if !withHistory && opts.IdempotencyKey == "" {
		pub.Offset = 0
		// The message is built in one buffer that the command only reads.
		msg := wire.AppendPublication(append([]byte(kind), "0::"...), pub)
		cmd := b.publishCmd(c, b.pubsubChannel(ch), rueidis.BinaryString(msg))
		if err := c.Do(ctx, cmd).Error(); err != nil {
			return engine.PublishResult{}, fmt.Errorf("redis: publish: %w", err)
		}
		return engine.PublishResult{}, nil
	}

	return b.runPublish(ctx, c, ch, kind, wire.EncodePublication(pub), pub, opts,
		b.publishCommand())
}

// runPublish runs the publish script; command is the PUB/SUB command that
// fans the publication out, or "" to store it only.
func (b *Broker) runPublish(ctx context.Context, c rueidis.Client, ch, kind string,
	body []byte, pub *protocol.Publication, opts engine.PublishOptions, command string) (
	engine.PublishResult, error) {
	withHistory := opts.HistorySize > 0 && opts.HistoryTTL > 0
	args := []string{
		b.pubsubChannel(ch), kind, rueidis.BinaryString(body),
		"0", "0", millis(opts.HistoryMetaTTL), "0", engine.NewEpoch(),
		command,
	}
	if withHistory {
		args[3] = strconv.Itoa(opts.HistorySize)
		args[4] = millis(opts.HistoryTTL)
	}
	if opts.IdempotencyKey != "" {
		ttl := opts.IdempotentResultTTL
		if ttl <= 0 {
			ttl = defaultIdempotentTTL
		}
		args[6] = millis(ttl)
	}
	res, err := publishScript.Exec(ctx, c, b.keys(ch, opts.IdempotencyKey), args).ToArray()
	if err != nil {
		return engine.PublishResult{}, fmt.Errorf("redis: publish: %w", err)
	}
	return publishResult(res, pub)
}

// AddHistory implements [engine.HistoryStore] for a broker that carries
// publications itself (NATS): the publish script stores pub without
// publishing it on Redis, then send runs. Calls for one channel are
// serialised on this node from the script to the end of send, so that
// offsets leave this node in order; nodes publishing into one channel at
// once may still be overtaken by each other, which subscribers that track
// their position notice and recover from.
func (b *Broker) AddHistory(ctx context.Context, ch string, pub *protocol.Publication,
	opts engine.PublishOptions, send func(engine.PublishResult) error) (
	engine.PublishResult, error) {
	if b.closed.Load() {
		return engine.PublishResult{}, ErrClosed
	}
	if (opts.HistorySize <= 0 || opts.HistoryTTL <= 0) && opts.IdempotencyKey == "" {
		pub.Offset = 0
		return engine.PublishResult{}, send(engine.PublishResult{})
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()

	mu := &b.storeLocks[hashString(ch)%uint64(len(b.storeLocks))]
	mu.Lock()
	defer mu.Unlock()
	kind := string(rune(wire.KindPublication))
	res, err := b.runPublish(ctx, b.shards.For(ch), ch, kind,
		wire.EncodePublication(pub), pub, opts, "")
	if err != nil || res.Suppressed {
		return res, err
	}
	return res, send(res)
}

// publishResult reads the script's {suppressed, "offset:epoch"} reply.
func publishResult(res []rueidis.RedisMessage, pub *protocol.Publication) (
	engine.PublishResult, error) {
	if len(res) != 2 {
		return engine.PublishResult{}, fmt.Errorf("redis: publish: %w", wire.ErrMalformed)
	}
	suppressed, err := res[0].AsInt64()
	if err != nil {
		return engine.PublishResult{}, fmt.Errorf("redis: publish: %w", err)
	}
	s, err := res[1].ToString()
	if err != nil {
		return engine.PublishResult{}, fmt.Errorf("redis: publish: %w", err)
	}
	sp, err := wire.ParsePosition(s)
	if err != nil {
		return engine.PublishResult{}, fmt.Errorf("redis: publish: %w", err)
	}
	if suppressed == 0 {
		pub.Offset = sp.Offset
	}
	return engine.PublishResult{Position: sp, Suppressed: suppressed == 1}, nil
}

// PublishJoin delivers a join event to every node subscribed to ch, in
// order with ch's publications.
func (b *Broker) PublishJoin(ctx context.Context, ch string,
	info *protocol.ClientInfo) error {
	return b.publishInfo(ctx, ch, wire.KindJoin, info)
}

// PublishLeave delivers a leave event, as [Broker.PublishJoin].
func (b *Broker) PublishLeave(ctx context.Context, ch string,
	info *protocol.ClientInfo) error {
	return b.publishInfo(ctx, ch, wire.KindLeave, info)
}

func (b *Broker) publishInfo(ctx context.Context, ch string, kind byte,
	info *protocol.ClientInfo) error {
	if err := b.ready(); err != nil {
		return err
	}
	msg := string(rune(kind)) + string(wire.EncodeClientInfo(info))
	return b.publish(ctx, b.shards.For(ch), b.pubsubChannel(ch), msg)
}

// PublishControl sends data to every node, this one included.
func (b *Broker) PublishControl(ctx context.Context, data []byte) error {
	if err := b.ready(); err != nil {
		return err
	}
	msg := string(rune(wire.KindControl)) + string(data)
	return b.publish(ctx, b.shards.For(b.control), b.control, msg)
}

func (b *Broker) publish(ctx context.Context, c rueidis.Client, channel, msg string) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if err := c.Do(ctx, b.publishCmd(c, channel, msg)).Error(); err != nil {
		return fmt.Errorf("redis: publish: %w", err)
	}
	return nil
}

// History returns a page of ch's stream and its current position, with the
// semantics of the memory engine: the position is created when missing (so
// the epoch reported is the next publication's), Since is checked even with
// Limit 0, an offset beyond the top is unrecoverable, and Reverse with Since
// pages backwards. On ErrUnrecoverablePosition the position is returned.
func (b *Broker) History(ctx context.Context, ch string, opts engine.HistoryOptions) (
	[]*protocol.Publication, protocol.StreamPosition, error) {
	if b.closed.Load() {
		return nil, protocol.StreamPosition{}, ErrClosed
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()

	args := []string{engine.NewEpoch(), millis(opts.MetaTTL), "0", "0", "", "-1", "0"}
	if opts.Since != nil {
		args[2] = "1"
		args[3] = strconv.FormatUint(opts.Since.Offset, 10)
		args[4] = opts.Since.Epoch
	}
	if opts.Limit >= 0 {
		args[5] = strconv.Itoa(opts.Limit)
	}
	if opts.Reverse {
		args[6] = "1"
	}
	res, err := historyScript.Exec(ctx, b.shards.For(ch), b.keys(ch, "")[:2], args).ToArray()
	if err != nil {
		return nil, protocol.StreamPosition{}, fmt.Errorf("redis: history: %w", err)
	}
	return historyResult(res)
}

// historyResult reads {top, epoch, ok, id1, body1, ...}.
func historyResult(res []rueidis.RedisMessage) (
	[]*protocol.Publication, protocol.StreamPosition, error) {
	var sp protocol.StreamPosition
	if len(res) < 3 || len(res)%2 == 0 {
		return nil, sp, fmt.Errorf("redis: history: %w", wire.ErrMalformed)
	}
	top, err := res[0].ToString()
	if err != nil {
		return nil, sp, fmt.Errorf("redis: history: %w", err)
	}
	if sp.Offset, err = strconv.ParseUint(top, 10, 64); err != nil {
		return nil, sp, fmt.Errorf("redis: history: %w", wire.ErrMalformed)
	}
	if sp.Epoch, err = res[1].ToString(); err != nil {
		return nil, sp, fmt.Errorf("redis: history: %w", err)
	}
	if ok, err := res[2].AsInt64(); err != nil || ok == 0 {
		return nil, sp, engine.ErrUnrecoverablePosition
	}

	var pubs []*protocol.Publication
	for i := 3; i < len(res); i += 2 {
		pub, err := historyEntry(res[i], res[i+1])
		if err != nil {
			return nil, sp, fmt.Errorf("redis: history: %w", err)
		}
		pubs = append(pubs, pub)
	}
	return pubs, sp, nil
}

// historyEntry decodes one stream entry; its ID is "<offset>-0".
func historyEntry(id, body rueidis.RedisMessage) (*protocol.Publication, error) {
	s, err := id.ToString()
	if err != nil {
		return nil, err
	}
	n := 0
	for n < len(s) && s[n] != '-' {
		n++
	}
	off, err := strconv.ParseUint(s[:n], 10, 64)
	if err != nil {
		return nil, wire.ErrMalformed
	}
	data, err := body.ToString()
	if err != nil {
		return nil, err
	}
	pub, err := wire.DecodePublication([]byte(data))
	if err != nil {
		return nil, err
	}
	pub.Offset = off
	return pub, nil
}

// RemoveHistory deletes ch's stream and keeps its meta hash, so the offset
// and epoch carry on.
func (b *Broker) RemoveHistory(ctx context.Context, ch string) error {
	if b.closed.Load() {
		return ErrClosed
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	c := b.shards.For(ch)
	if err := c.Do(ctx, c.B().Del().Key(b.keys(ch, "")[0]).Build()).Error(); err != nil {
		return fmt.Errorf("redis: remove history: %w", err)
	}
	return nil
}

// withTimeout bounds ctx by opTimeout unless it has a deadline already.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, opTimeout)
}

// millis formats d in whole milliseconds, rounding a positive d up so that
// a sub-millisecond TTL does not turn into "no TTL".
func millis(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return strconv.FormatInt(int64((d+time.Millisecond-1)/time.Millisecond), 10)
}
