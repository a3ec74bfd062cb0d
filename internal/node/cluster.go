package node

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/metrics"
)

// DefaultAnnounceInterval is how often a node announces itself, as the
// reference server does.
const DefaultAnnounceInterval = 3 * time.Second

// announceMisses is how many announcements in a row a node may miss before
// the others forget it.
const announceMisses = 3

// commandTimeout bounds applying one command from another node; a
// subscribe may read history from the engine.
const commandTimeout = 10 * time.Second

// Local is this node's connections as the cluster needs them: counted in
// announcements, and changed by the user commands of other nodes. The
// session manager implements it.
type Local interface {
	NumClients() int
	NumUsers() int
	NumSubscriptions() int
	// ApplyUserCommand applies cmd to this node's connections.
	ApplyUserCommand(ctx context.Context, cmd UserCommand) error
}

// cluster is the node's state for control messages.
type cluster struct {
	// local is set once by SetLocal, before Run.
	local Local
	reg   *registry
	// wake asks the announcer for an announcement now.
	wake chan struct{}

	// queue holds the commands received from other nodes, in order, until
	// the worker applies them: HandleControl must not block, and applying
	// a subscribe calls the broker.
	queueMu sync.Mutex
	queue   []UserCommand
	queued  chan struct{}

	// sv holds the surveys this node asks and answers.
	sv surveys

	stopOnce sync.Once
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// SetLocal gives the node its connections. Call it before [Node.Run]:
// without it the node announces no connections and ignores commands.
func (n *Node) SetLocal(l Local) { n.cl.local = l }

// Peers returns the other live nodes of the cluster, sorted by name.
func (n *Node) Peers() []Info { return n.cl.reg.live(time.Now()) }

// Broadcast sends cmd to the other nodes, which apply it to their own
// connections. The caller applies it to this node's: the copy the broker
// delivers back here is ignored.
func (n *Node) Broadcast(ctx context.Context, cmd UserCommand) error {
	return n.publishControl(ctx, encodeCommand(n.id, cmd))
}

// startCluster starts the announcer and the command and survey workers;
// they run until ctx ends or Stop is called.
func (n *Node) startCluster(ctx context.Context) {
	ctx, n.cl.cancel = context.WithCancel(ctx)
	n.cl.wg.Go(func() { n.announceLoop(ctx) })
	n.cl.wg.Go(func() { n.commandLoop(ctx) })
	n.cl.wg.Go(func() { n.surveyLoop(ctx) })
}

// Stop tells the other nodes that this one is leaving and stops the
// cluster goroutines. Call it before closing the broker; it may be called
// more than once, and without Run.
func (n *Node) Stop(ctx context.Context) {
	n.cl.stopOnce.Do(func() {
		n.stopPositions()
		if n.cl.cancel == nil {
			return
		}
		n.cl.cancel()
		n.cl.wg.Wait()

		err := n.publishControl(ctx, encodeLeave(n.id))
		if err != nil {
			n.log.Debug("leave announcement failed", "error", err)
		}
	})
}

// info describes this node now.
func (n *Node) info() Info {
	now := time.Now()
	p, snap := n.Figures(now)
	return Info{
		ID:          n.id,
		Name:        n.cfg.Name,
		Version:     n.cfg.Version,
		Uptime:      int64(now.Sub(n.started) / time.Second),
		NumClients:  n.NumClients(),
		NumUsers:    n.NumUsers(),
		NumSubs:     n.NumSubscriptions(),
		NumChannels: n.NumChannels(),
		Process:     p,
		Metrics:     snap,
	}
}

// Figures returns this node's process and metrics figures as of now, as
// its announcements carry them; either is nil when the node has none.
func (n *Node) Figures(now time.Time) (*metrics.Process, *metrics.Snapshot) {
	return n.cfg.Metrics.Process(now), n.cfg.Metrics.Snapshot(now)
}

// NumClients returns the number of clients connected to this node.
func (n *Node) NumClients() int {
	if l := n.cl.local; l != nil {
		return l.NumClients()
	}
	return 0
}

// NumUsers returns the number of distinct users connected to this node.
func (n *Node) NumUsers() int {
	if l := n.cl.local; l != nil {
		return l.NumUsers()
	}
	return 0
}

// NumSubscriptions returns the number of subscriptions on this node.
func (n *Node) NumSubscriptions() int {
	if l := n.cl.local; l != nil {
		return l.NumSubscriptions()
	}
	return 0
}

// NumChannels returns the number of channels with subscribers on this
// node.
func (n *Node) NumChannels() int {
	c := 0
	n.cfg.Hub.Channels(func(string, int) { c++ })
	return c
}

// NumNodes returns the number of live nodes of the cluster, this one
// included.
func (n *Node) NumNodes() int { return len(n.Peers()) + 1 }

// announceLoop announces the node at once, then every interval and
// whenever a new node appears, so that the newcomer learns of this one
// without waiting a full interval.
func (n *Node) announceLoop(ctx context.Context) {
	t := time.NewTicker(n.cfg.AnnounceInterval)
	defer t.Stop()
	// sent is the metrics snapshot the others were last sent; full asks
	// for it again, for a newcomer that has none.
	var sent *metrics.Snapshot
	full := true
	for {
		info := n.info()
		snap := info.Metrics
		if snap == sent && !full {
			info.Metrics = nil
		}
		err := n.publishControl(ctx, encodeAnnounce(info))
		switch {
		case err == nil:
			sent, full = snap, false
		case ctx.Err() == nil:
			n.log.Warn("node announcement failed", "error", err)
		}
		// Pruning here bounds the registry even when nobody calls info.
		n.cl.reg.live(time.Now())

		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.cl.wake:
			full = true
		}
	}
}

// commandLoop applies the commands of other nodes in the order received.
func (n *Node) commandLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.cl.queued:
		}
		n.cl.queueMu.Lock()
		cmds := n.cl.queue
		n.cl.queue = nil
		n.cl.queueMu.Unlock()

		for _, cmd := range cmds {
			n.apply(ctx, cmd)
		}
	}
}

func (n *Node) apply(ctx context.Context, cmd UserCommand) {
	l := n.cl.local
	if l == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	if err := l.ApplyUserCommand(ctx, cmd); err != nil {
		n.log.Warn("applying a command of another node failed", "kind", cmd.Kind,
			"user", cmd.User, "channel", cmd.Channel, "error", err)
	}
}

// HandleControl implements [engine.EventHandler]. It only records and
// queues: the broker may hold its locks while calling it.
func (n *Node) HandleControl(data []byte) {
	n.cfg.Metrics.MessageReceived(metrics.MessageControl)
	c, err := decodeControl(data)
	if errors.Is(err, errControlVersion) || errors.Is(err, errControlKind) {
		// A node of another version: not this node's business.
		n.log.Debug("ignoring control message", "error", err)
		return
	}
	if err != nil {
		n.log.Warn("dropping malformed control message", "error", err)
		return
	}
	if c.From == n.id {
		// Our own, already applied here before it was sent.
		return
	}

	switch c.kind {
	case kindAnnounce:
		if n.cl.reg.update(*c.Node, time.Now()) {
			select {
			case n.cl.wake <- struct{}{}:
			default:
			}
		}
	case kindLeave:
		n.cl.reg.remove(c.From)
	case kindCommand:
		n.cl.queueMu.Lock()
		n.cl.queue = append(n.cl.queue, *c.Command)
		n.cl.queueMu.Unlock()
		select {
		case n.cl.queued <- struct{}{}:
		default:
		}
	case kindSurvey:
		if !n.cl.sv.enqueue(c.From, *c.Survey) {
			n.log.Warn("dropping a survey request: too many waiting",
				"from", c.From, "op", c.Survey.Op, "survey", c.Survey.ID)
		}
	case kindSurveyReply:
		// Replies reach every node; only the asker has a use for them.
		if c.Reply.To == n.id {
			n.cl.sv.deliver(c.From, *c.Reply)
		}
	}
}
