package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/channel"
)

// A survey asks every live node for its part of an answer. The asking node
// publishes a request on the control channel and answers its own part
// directly; every other node queues the request, answers it on its survey
// worker from its own state, and publishes a reply addressed to the asker.
// The asker waits for the nodes its registry lists as live, until all have
// replied or the survey times out, and does without the rest.
//
// Replies reach every node, like all control messages, so they are kept
// small: the replying node filters by the request's parameters, and one
// reply carries about maxReplyBytes of results at most.

// DefaultSurveyTimeout is how long a survey waits for the other nodes'
// replies, unless its context ends sooner.
const DefaultSurveyTimeout = 3 * time.Second

const (
	// opChannels asks for the channels with subscribers, with their counts.
	opChannels = "channels"
	// maxReplyBytes bounds the channel names one reply carries, so that
	// nodes with many channels cannot swell the asker's memory or every
	// node's PUB/SUB connection: Redis drops a subscriber whose pending
	// output stays above 8 MiB by default.
	maxReplyBytes = 1 << 20
	// channelEntryBytes is about what a channel costs in a reply beyond
	// its name: quotes, colon, count and comma.
	channelEntryBytes = 16
	// maxQueuedSurveys bounds the requests waiting for this node's answer.
	// Their askers do without this node's part of any request past it.
	maxQueuedSurveys = 64
)

// surveys is a node's state for the surveys it asks and those it answers.
type surveys struct {
	// lastID numbers the surveys this node asks. A counter is unique
	// enough: replies are addressed to the node's ID, new on every run.
	lastID atomic.Uint64

	// mu guards pending, queue and wake.
	mu sync.Mutex
	// pending has the surveys this node waits on, by ID.
	pending map[string]*survey
	// queue holds the requests of other nodes, in order, until the worker
	// answers them: HandleControl must not block, and answering publishes
	// through the broker.
	queue []queuedSurvey
	// wake tells the worker that queue has requests. It is made on first
	// use, as New leaves it nil and a request may arrive before Run
	// starts the worker.
	wake chan struct{}
}

// queuedSurvey is a request of node from waiting for this node's answer.
type queuedSurvey struct {
	from string
	req  surveyRequest
}

// nodeReply is one node's reply to a survey.
type nodeReply struct {
	// node names the node for the log, as "name (id)".
	node string
	surveyReply
}

// survey is one this node asks.
type survey struct {
	// expect maps the nodes asked to their names, for the log. It does not
	// change once the survey is pending.
	expect map[string]string

	// mu guards replies and done.
	mu      sync.Mutex
	replies map[string]surveyReply
	// done is closed when every node in expect has replied.
	done chan struct{}
}

// Channels returns the channels that have subscribers on any live node,
// each with its subscribers summed over the nodes. With a pattern (see
// [channel.Pattern]), only the channels that match are returned; the
// pattern travels with the survey, so each node sends only those.
//
// Nodes that do not reply within [DefaultSurveyTimeout], or before ctx's
// deadline, are left out of the result. The error is for a malformed
// pattern, a survey that could not be sent, or a ctx cancelled before the
// replies were in.
func (n *Node) Channels(ctx context.Context, pattern string) (map[string]int, error) {
	var match *channel.Pattern
	if pattern != "" {
		var err error
		if match, err = channel.CompilePattern(pattern); err != nil {
			return nil, fmt.Errorf("node: channels: %w", err)
		}
	}

	counts := make(map[string]int)
	n.cfg.Hub.Channels(func(ch string, subs int) {
		if match == nil || match.Match(ch) {
			counts[ch] = subs
		}
	})
	peers := n.Peers()
	if len(peers) == 0 {
		return counts, nil
	}

	// Marshalling a struct of one string cannot fail.
	params, _ := json.Marshal(channelsParams{Pattern: pattern})
	replies, err := n.survey(ctx, peers, opChannels, params)
	if err != nil {
		return nil, fmt.Errorf("node: channels survey: %w", err)
	}

	for _, r := range replies {
		n.mergeChannels(counts, r, match)
	}
	return counts, nil
}

// survey asks peers op and returns their replies once all have replied or
// the wait is over.
func (n *Node) survey(ctx context.Context, peers []Info, op string,
	params json.RawMessage) ([]nodeReply, error) {
	start := time.Now()
	s := &survey{
		expect:  make(map[string]string, len(peers)),
		replies: make(map[string]surveyReply, len(peers)),
		done:    make(chan struct{}),
	}
	for _, p := range peers {
		s.expect[p.ID] = p.Name
	}
	id := strconv.FormatUint(n.cl.sv.lastID.Add(1), 10)
	// Registered before the request goes out: a reply may come back before
	// publishControl returns.
	n.cl.sv.register(id, s)
	defer n.cl.sv.unregister(id)

	req := surveyRequest{ID: id, Op: op, Params: params}
	if err := n.publishControl(ctx, encodeSurvey(n.id, req)); err != nil {
		return nil, err
	}

	wait, cancel := context.WithTimeout(ctx, DefaultSurveyTimeout)
	defer cancel()
	select {
	case <-s.done:
	case <-wait.Done():
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil, ctx.Err()
		}
	}

	replies, missing := s.result()
	n.cfg.Metrics.Survey(op, time.Since(start))
	if len(missing) > 0 {
		n.log.Warn("nodes did not answer a survey in time", "op", op, "survey", id,
			"nodes", missing)
	}
	return replies, nil
}

// mergeChannels adds the counts of one node's reply to counts.
func (n *Node) mergeChannels(counts map[string]int, r nodeReply,
	match *channel.Pattern) {
	if r.Error != "" {
		n.log.Warn("node could not answer a channels survey", "node", r.node,
			"error", r.Error)
		return
	}
	var a channelsAnswer
	if err := json.Unmarshal(r.Result, &a); err != nil {
		n.log.Warn("dropping a malformed channels survey reply", "node", r.node,
			"error", err)
		return
	}
	if a.Omitted > 0 {
		n.log.Warn("node left channels out of its survey reply", "node", r.node,
			"omitted", a.Omitted, "max_bytes", maxReplyBytes)
	}

	for ch, subs := range a.Channels {
		// The node filtered already, unless it lacks the pattern syntax;
		// filtering again here keeps the answer right either way.
		if subs > 0 && (match == nil || match.Match(ch)) {
			counts[ch] += subs
		}
	}
}

// surveyLoop answers the surveys of other nodes in the order received.
func (n *Node) surveyLoop(ctx context.Context) {
	wake := n.cl.sv.wakeChan()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		}
		for _, q := range n.cl.sv.take() {
			n.answer(ctx, q)
		}
	}
}

// answer replies to one survey of another node.
func (n *Node) answer(ctx context.Context, q queuedSurvey) {
	rep := surveyReply{ID: q.req.ID, To: q.from}
	switch q.req.Op {
	case opChannels:
		res, err := n.answerChannels(q.req.Params)
		if err != nil {
			rep.Error = err.Error()
		}
		rep.Result = res
	default:
		rep.Error = "unknown survey op " + strconv.Quote(q.req.Op)
	}

	pubCtx, cancel := context.WithTimeout(ctx, DefaultSurveyTimeout)
	defer cancel()
	err := n.publishControl(pubCtx, encodeSurveyReply(n.id, rep))
	if err != nil && ctx.Err() == nil {
		n.log.Warn("survey reply failed", "to", q.from, "op", q.req.Op,
			"survey", q.req.ID, "error", err)
	}
}

// answerChannels lists this node's channels that match the survey's
// pattern, as many as fit in maxReplyBytes.
func (n *Node) answerChannels(params json.RawMessage) (json.RawMessage, error) {
	var p channelsParams
	if len(params) > 0 {
		if err := json.Unmarshal(params, &p); err != nil {
			return nil, fmt.Errorf("node: channels survey params: %w", err)
		}
	}
	var match *channel.Pattern
	if p.Pattern != "" {
		var err error
		if match, err = channel.CompilePattern(p.Pattern); err != nil {
			// The asker compiled it, so its syntax is newer: send
			// everything and let the asker filter.
			n.log.Debug("channels survey pattern not understood",
				"pattern", p.Pattern, "error", err)
		}
	}

	a := channelsAnswer{Channels: make(map[string]int)}
	size := 0
	n.cfg.Hub.Channels(func(ch string, subs int) {
		if match != nil && !match.Match(ch) {
			return
		}
		if size += len(ch) + channelEntryBytes; size > maxReplyBytes {
			a.Omitted++
			return
		}
		a.Channels[ch] = subs
	})
	// Marshalling a map of strings to ints cannot fail.
	res, _ := json.Marshal(a)
	return res, nil
}

func (sv *surveys) register(id string, s *survey) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.pending == nil {
		sv.pending = make(map[string]*survey)
	}
	sv.pending[id] = s
}

func (sv *surveys) unregister(id string) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	delete(sv.pending, id)
}

// deliver hands a reply of node from to its pending survey, if any: a late
// reply finds none.
func (sv *surveys) deliver(from string, rep surveyReply) {
	sv.mu.Lock()
	s := sv.pending[rep.ID]
	sv.mu.Unlock()
	if s != nil {
		s.add(from, rep)
	}
}

// enqueue queues a request of node from for the worker. It reports false
// when the queue is full and the request was dropped.
func (sv *surveys) enqueue(from string, req surveyRequest) bool {
	sv.mu.Lock()
	if len(sv.queue) >= maxQueuedSurveys {
		sv.mu.Unlock()
		return false
	}
	sv.queue = append(sv.queue, queuedSurvey{from: from, req: req})
	wake := sv.wakeLocked()
	sv.mu.Unlock()

	select {
	case wake <- struct{}{}:
	default:
	}
	return true
}

// take returns and forgets the queued requests.
func (sv *surveys) take() []queuedSurvey {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	q := sv.queue
	sv.queue = nil
	return q
}

func (sv *surveys) wakeChan() chan struct{} {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return sv.wakeLocked()
}

func (sv *surveys) wakeLocked() chan struct{} {
	if sv.wake == nil {
		sv.wake = make(chan struct{}, 1)
	}
	return sv.wake
}

// add records the reply of node from, keeping the first of a node that was
// asked and ignoring any other.
func (s *survey) add(from string, rep surveyReply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, asked := s.expect[from]; !asked {
		return
	}
	if _, dup := s.replies[from]; dup {
		return
	}
	s.replies[from] = rep
	if len(s.replies) == len(s.expect) {
		close(s.done)
	}
}

// result returns the replies so far and the nodes still missing, as
// "name (id)", sorted.
func (s *survey) result() ([]nodeReply, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	replies := make([]nodeReply, 0, len(s.replies))
	var missing []string
	for id, name := range s.expect {
		node := fmt.Sprintf("%s (%s)", name, id)
		if rep, ok := s.replies[id]; ok {
			replies = append(replies, nodeReply{node: node, surveyReply: rep})
			continue
		}
		missing = append(missing, node)
	}
	slices.Sort(missing)
	return replies, missing
}
