// Package node joins the hub (this node's subscribers) with the engines
// (ordering, history, presence and delivery between nodes). Sessions and the
// server API publish and subscribe through a Node; the broker delivers back
// into it.
package node

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/hub"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/protocol"
)

// Config holds what a Node needs to run.
type Config struct {
	// Name identifies this node in info and logs.
	Name string
	// Version is reported to clients in connect replies.
	Version  string
	Broker   engine.Broker
	Presence engine.PresenceManager
	Hub      *hub.Hub
	Logger   *slog.Logger
	// AnnounceInterval is how often the node tells the others about
	// itself; zero means [DefaultAnnounceInterval]. The others forget it
	// after three intervals without word.
	AnnounceInterval time.Duration
	// PositionCheckDelay is how often the node compares the stream
	// position of channels that have positioned subscribers with what they
	// received, so that a subscriber who missed the last publications of a
	// channel recovers them. Zero disables the periodic check: a broker
	// that cannot lose events needs none. Delivery gaps the broker reports
	// are checked at once either way.
	PositionCheckDelay time.Duration
	// Metrics records the node's broker traffic and provides the process
	// and metrics figures of its announcements; nil records nothing and
	// announces no figures.
	Metrics *metrics.Metrics
}

// Node is one Herald server process's view of the cluster.
type Node struct {
	cfg     Config
	id      string
	log     *slog.Logger
	started time.Time

	// mu serialises broker subscribe and unsubscribe calls per node so
	// that a channel's last unsubscribe cannot overtake its next subscribe.
	mu sync.Mutex

	cl  cluster
	pos positions
}

// New returns a Node; call [Node.Run] before use.
func New(cfg Config) *Node {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.AnnounceInterval <= 0 {
		cfg.AnnounceInterval = DefaultAnnounceInterval
	}
	return &Node{
		cfg:     cfg,
		id:      randomID(),
		log:     cfg.Logger.With("component", "node"),
		started: time.Now(),
		cl: cluster{
			reg:    newRegistry(announceMisses * cfg.AnnounceInterval),
			wake:   make(chan struct{}, 1),
			queued: make(chan struct{}, 1),
		},
		pos: positions{wake: make(chan struct{}, 1)},
	}
}

// Run starts delivery from the broker, and the node's announcements and
// application of other nodes' commands, which last until ctx ends or
// [Node.Stop].
func (n *Node) Run(ctx context.Context) error {
	if err := n.cfg.Broker.Run(ctx, n); err != nil {
		return err
	}
	n.startCluster(ctx)
	n.startPositions(ctx)
	return nil
}

// ID returns the node's unique ID for this run.
func (n *Node) ID() string { return n.id }

// Name returns the configured node name.
func (n *Node) Name() string { return n.cfg.Name }

// Version returns the server version reported to clients.
func (n *Node) Version() string { return n.cfg.Version }

// Started returns when the node started.
func (n *Node) Started() time.Time { return n.started }

// Hub returns the node's hub.
func (n *Node) Hub() *hub.Hub { return n.cfg.Hub }

// Broker returns the node's broker.
func (n *Node) Broker() engine.Broker { return n.cfg.Broker }

// PresenceManager returns the node's presence manager.
func (n *Node) PresenceManager() engine.PresenceManager { return n.cfg.Presence }

// HandlePublication implements [engine.EventHandler].
func (n *Node) HandlePublication(ch string, pub *protocol.Publication,
	sp protocol.StreamPosition, delta bool) {
	n.cfg.Metrics.MessageReceived(metrics.MessagePublication)
	n.cfg.Hub.BroadcastPublication(ch, pub, sp, delta)
}

// HandleJoin implements [engine.EventHandler].
func (n *Node) HandleJoin(ch string, info *protocol.ClientInfo) {
	n.cfg.Metrics.MessageReceived(metrics.MessageJoin)
	n.cfg.Hub.BroadcastJoin(ch, info)
}

// HandleLeave implements [engine.EventHandler].
func (n *Node) HandleLeave(ch string, info *protocol.ClientInfo) {
	n.cfg.Metrics.MessageReceived(metrics.MessageLeave)
	n.cfg.Hub.BroadcastLeave(ch, info)
}

// AddSub registers s with the hub and, for the channel's first subscriber
// on this node, with the broker.
func (n *Node) AddSub(ctx context.Context, s *hub.Sub) error {
	n.mu.Lock()
	defer n.mu.Unlock()

	if !n.cfg.Hub.Add(s) {
		return nil
	}
	if err := n.cfg.Broker.Subscribe(ctx, s.Channel()); err != nil {
		n.cfg.Hub.Remove(s)
		return err
	}
	return nil
}

// RemoveSub unregisters s, and the channel from the broker when s was its
// last subscriber on this node.
func (n *Node) RemoveSub(ctx context.Context, s *hub.Sub) {
	n.mu.Lock()
	defer n.mu.Unlock()

	if !n.cfg.Hub.Remove(s) {
		return
	}
	if err := n.cfg.Broker.Unsubscribe(ctx, s.Channel()); err != nil {
		n.log.Warn("broker unsubscribe failed", "channel", s.Channel(), "error", err)
	}
}

// Publish hands a publication to the broker.
func (n *Node) Publish(ctx context.Context, ch string, pub *protocol.Publication,
	opts engine.PublishOptions) (engine.PublishResult, error) {
	m := n.cfg.Metrics
	if m == nil {
		return n.cfg.Broker.Publish(ctx, ch, pub, opts)
	}

	m.MessageSent(metrics.MessagePublication)
	start := time.Now()
	res, err := n.cfg.Broker.Publish(ctx, ch, pub, opts)
	m.BrokerPublish(time.Since(start), err != nil)
	return res, err
}

// PublishJoin tells the subscribers of ch on every node that info joined.
func (n *Node) PublishJoin(ctx context.Context, ch string,
	info *protocol.ClientInfo) error {
	n.cfg.Metrics.MessageSent(metrics.MessageJoin)
	return n.cfg.Broker.PublishJoin(ctx, ch, info)
}

// PublishLeave tells the subscribers of ch on every node that info left.
func (n *Node) PublishLeave(ctx context.Context, ch string,
	info *protocol.ClientInfo) error {
	n.cfg.Metrics.MessageSent(metrics.MessageLeave)
	return n.cfg.Broker.PublishLeave(ctx, ch, info)
}

// publishControl sends a control message to every node.
func (n *Node) publishControl(ctx context.Context, data []byte) error {
	n.cfg.Metrics.MessageSent(metrics.MessageControl)
	return n.cfg.Broker.PublishControl(ctx, data)
}

// History reads a channel's stream.
func (n *Node) History(ctx context.Context, ch string, opts engine.HistoryOptions) (
	[]*protocol.Publication, protocol.StreamPosition, error) {
	return n.cfg.Broker.History(ctx, ch, opts)
}
