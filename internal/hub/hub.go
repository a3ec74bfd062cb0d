// Package hub keeps which connection is subscribed to which channel on this
// node and fans publications out to them.
//
// A publication is encoded at most once per wire variant (JSON, Protobuf...)
// and every subscriber of that variant receives a reference to the same bytes.
// Subscribers that negotiated delta compression read two more forms of each
// variant, the full payload and the fossil delta against the channel's
// previous publication, each also built once, on first use.
// The hub owns no goroutines: broadcasts run on the caller's goroutine, which
// for every engine is the one goroutine that orders the channel's stream.
package hub

import (
	"encoding/json"
	"hash/maphash"
	"runtime"
	"sync"
	"unicode/utf8"

	"github.com/heraldhq/herald/internal/delta"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/protocol"
)

// MaxVariants bounds the number of wire variants a hub can serve.
const MaxVariants = 4

// Conn is what the hub needs from a client connection.
type Conn interface {
	// Enqueue queues prepared bytes for writing. It must not block.
	Enqueue(b []byte)
	// InsufficientState reports that the subscription to ch lost its
	// position in the stream, so the client must recover.
	InsufficientState(ch string)
	// InappropriateData reports that ch carried data the connection's wire
	// format cannot hold: binary data for a JSON connection.
	InappropriateData(ch string)
}

// Encoder turns a push into the bytes of one wire variant.
type Encoder interface {
	AppendReply(dst []byte, r *protocol.Reply) []byte
	// Binary reports whether the variant carries payloads as bytes; a text
	// variant embeds them as JSON and cannot carry anything else.
	Binary() bool
}

// Hub maps channels to subscribers.
type Hub struct {
	seed     maphash.Seed
	encoders []Encoder
	shards   [numShards]shard
	// patch computes fossil deltas; tests count its calls.
	patch func(prev, next []byte) []byte
	// workers is how many goroutines deliver to a large channel.
	workers int
	// metrics counts deliveries, once per broadcast; set before use.
	metrics *metrics.Metrics
}

const numShards = 64

type shard struct {
	// mu guards channels and the subscriber slices inside them.
	mu       sync.RWMutex
	channels map[string]*channelSubs
}

type channelSubs struct {
	subs []*Sub
	// deltaSubs counts the subscribers that negotiated delta compression.
	// Only while there are some does the channel keep prev, the payload of
	// its last publication: the base of the next delta. hasPrev is false
	// until a publication went out with deltaSubs > 0, since a base the
	// hub did not see cannot be trusted. The channel's broadcaster writes
	// prev under the read lock; it is the only one that reads it.
	deltaSubs int
	prev      []byte
	hasPrev   bool
}

// New returns a hub that encodes variant i with encoders[i].
func New(encoders []Encoder) *Hub {
	if len(encoders) > MaxVariants {
		panic("hub: too many variants")
	}
	h := &Hub{seed: maphash.MakeSeed(), encoders: encoders, patch: delta.Patch,
		workers: runtime.GOMAXPROCS(0)}
	for i := range h.shards {
		h.shards[i].channels = make(map[string]*channelSubs)
	}
	return h
}

// SetMetrics makes the hub count its deliveries into m. Call it before the
// first subscriber is added.
func (h *Hub) SetMetrics(m *metrics.Metrics) { h.metrics = m }

func (h *Hub) shard(ch string) *shard {
	return &h.shards[maphash.String(h.seed, ch)%numShards]
}

// Add registers s in its channel and reports whether it is the first
// subscriber of that channel on this node.
func (h *Hub) Add(s *Sub) (first bool) {
	sh := h.shard(s.channel)
	sh.mu.Lock()
	defer sh.mu.Unlock()

	cs := sh.channels[s.channel]
	if cs == nil {
		cs = &channelSubs{}
		sh.channels[s.channel] = cs
		first = true
	}
	s.idx = len(cs.subs)
	cs.subs = append(cs.subs, s)
	if s.delta {
		cs.deltaSubs++
	}
	return first
}

// Remove unregisters s and reports whether its channel has no subscribers
// left on this node.
func (h *Hub) Remove(s *Sub) (last bool) {
	sh := h.shard(s.channel)
	sh.mu.Lock()
	defer sh.mu.Unlock()

	cs := sh.channels[s.channel]
	if cs == nil || s.idx < 0 || s.idx >= len(cs.subs) || cs.subs[s.idx] != s {
		return false
	}

	// Swap with the last element so that the slice stays dense.
	end := len(cs.subs) - 1
	cs.subs[s.idx] = cs.subs[end]
	cs.subs[s.idx].idx = s.idx
	cs.subs[end] = nil
	cs.subs = cs.subs[:end]
	s.idx = -1
	if s.delta {
		cs.deltaSubs--
		if cs.deltaSubs == 0 {
			cs.prev, cs.hasPrev = nil, false
		}
	}
	if len(cs.subs) == 0 {
		delete(sh.channels, s.channel)
		return true
	}
	return false
}

// NumSubscribers returns how many subscribers ch has on this node.
func (h *Hub) NumSubscribers(ch string) int {
	sh := h.shard(ch)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if cs := sh.channels[ch]; cs != nil {
		return len(cs.subs)
	}
	return 0
}

// Channels calls fn with every channel that has subscribers on this node and
// its subscriber count.
func (h *Hub) Channels(fn func(ch string, n int)) {
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for ch, cs := range sh.channels {
			fn(ch, len(cs.subs))
		}
		sh.mu.RUnlock()
	}
}

// PositionedChannels returns the channels that have at least one positioned
// subscriber on this node: those whose stream position is worth checking.
func (h *Hub) PositionedChannels() []string {
	var out []string
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for ch, cs := range sh.channels {
			for _, s := range cs.subs {
				if s.positioned {
					out = append(out, ch)
					break
				}
			}
		}
		sh.mu.RUnlock()
	}
	return out
}

// Behind returns the active positioned subscribers of ch that have not
// received every publication up to top, the channel's current stream
// position, or that follow another epoch. A publication still on its way
// to this node makes a subscriber look behind for a moment, so callers
// check again later before acting: see [Hub.MarkLost].
func (h *Hub) Behind(ch string, top protocol.StreamPosition) []*Sub {
	sh := h.shard(ch)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	var out []*Sub
	if cs := sh.channels[ch]; cs != nil {
		for _, s := range cs.subs {
			if s.behind(top) {
				out = append(out, s)
			}
		}
	}
	return out
}

// MarkLost makes each of subs that is still behind top recover: its
// connection is told the subscription lost its place in the stream.
func (h *Hub) MarkLost(subs []*Sub, top protocol.StreamPosition) int {
	n := 0
	for _, s := range subs {
		if s.behind(top) {
			s.markLost()
			n++
		}
	}
	return n
}

// prepared holds the bytes of one push per variant, built on first use.
type prepared struct {
	h     *Hub
	reply protocol.Reply
	bytes [MaxVariants][]byte
	// data is the payload that text variants must check, when there is one.
	data    []byte
	notJSON bool
	checked bool
	// d holds the forms delta subscribers read; nil for joins and leaves.
	d *deltaForms
}

// deltaForms are the bytes of one publication for subscribers that
// negotiated delta compression: full[v] carries the whole payload, patched[v]
// the delta against prev, or the same bytes as full[v] when there is no
// usable delta.
type deltaForms struct {
	pub *protocol.Publication
	// prev is the base of the delta: nil when pub was not published as a
	// delta or the channel has no trusted previous payload.
	prev    []byte
	full    [MaxVariants][]byte
	patched [MaxVariants][]byte

	patchFn   func(prev, next []byte) []byte
	patch     []byte
	patchDone bool
	notUTF8   bool
	utf8Done  bool
}

// get returns the push bytes for variant v, or nil when the payload cannot
// travel in that variant.
func (p *prepared) get(v uint8) []byte {
	if b := p.bytes[v]; b != nil {
		return b
	}
	enc := p.h.encoders[v]
	if !enc.Binary() && !p.textOK() {
		return nil
	}
	b := enc.AppendReply(nil, &p.reply)
	p.bytes[v] = b
	return b
}

// textOK reports whether the payload may be embedded in a JSON frame.
func (p *prepared) textOK() bool {
	if p.data == nil {
		return true
	}
	// Protobuf clients may publish arbitrary bytes; embedding them in a
	// JSON frame would corrupt the stream for JSON subscribers.
	if !p.checked {
		p.checked, p.notJSON = true, !json.Valid(p.data)
	}
	return !p.notJSON
}

// getDelta returns the full and the delta form of the publication for a
// delta subscriber of variant v. withPatch false skips building the delta
// form, returning nil for it. full is nil when the payload cannot travel in
// that variant.
func (p *prepared) getDelta(v uint8, withPatch bool) (full, patched []byte) {
	d := p.d
	binary := p.h.encoders[v].Binary()
	if !binary && !d.textOK(p) {
		return nil, nil
	}
	full = d.full[v]
	if full == nil {
		if binary {
			// Raw bytes: identical to what other subscribers get.
			full = p.get(v)
		} else {
			full = p.encodePub(v, protocol.AppendStringData(nil, d.pub.Data), false)
		}
		d.full[v] = full
	}
	if !withPatch {
		return full, nil
	}
	patched = d.patched[v]
	if patched == nil {
		patch := d.computePatch()
		switch {
		case patch == nil || (!binary && !utf8.Valid(patch)):
			patched = full
		case binary:
			patched = p.encodePub(v, patch, true)
		default:
			patched = p.encodePub(v, protocol.AppendStringData(nil, patch), true)
		}
		d.patched[v] = patched
	}
	return full, patched
}

// textOK reports whether the payload can be sent as a JSON string that
// gives the client back the exact bytes.
func (d *deltaForms) textOK(p *prepared) bool {
	if !p.textOK() {
		return false
	}
	if !d.utf8Done {
		d.utf8Done, d.notUTF8 = true, !utf8.Valid(d.pub.Data)
	}
	return !d.notUTF8
}

// computePatch returns the delta against prev once per publication, shared
// by every variant; nil when there is none worth sending.
func (d *deltaForms) computePatch() []byte {
	if !d.patchDone {
		d.patchDone = true
		if d.prev != nil {
			d.patch = d.patchFn(d.prev, d.pub.Data)
		}
	}
	return d.patch
}

// encodePub encodes the publication push for variant v with data in place
// of the payload.
func (p *prepared) encodePub(v uint8, data []byte, isDelta bool) []byte {
	pub := *p.d.pub
	pub.Data, pub.Delta = data, isDelta
	push := *p.reply.Push
	push.Pub = &pub
	return p.h.encoders[v].AppendReply(nil, &protocol.Reply{Push: &push})
}

// BroadcastPublication delivers pub to every subscriber of ch on this node.
// With isDelta, subscribers that negotiated delta compression get the
// payload as a delta against the channel's previous publication where they
// hold that one. Callers must not broadcast concurrently for one channel:
// positions are checked, and delta bases kept, in call order.
func (h *Hub) BroadcastPublication(ch string, pub *protocol.Publication,
	sp protocol.StreamPosition, isDelta bool) {
	p := prepared{h: h, data: pub.Data}
	p.reply.Push = &protocol.Push{Channel: ch, Pub: pub}
	sh := h.shard(ch)
	sh.mu.RLock()
	defer sh.mu.RUnlock()

	cs := sh.channels[ch]
	if cs == nil {
		return
	}
	if cs.deltaSubs > 0 {
		p.d = &deltaForms{pub: pub, patchFn: h.patch}
		if isDelta && cs.hasPrev {
			p.d.prev = cs.prev
		}
	} else if len(cs.subs) >= parallelMin && h.workers > 1 {
		h.deliverParallel(ch, &p, cs.subs, pub, sp)
		return
	}
	var n metrics.Deliveries
	for _, s := range cs.subs {
		if s.delta {
			if h.deliverDelta(ch, &p, s, pub, sp) {
				n[s.slot()]++
			}
			continue
		}
		if s.deliverPlain(ch, p.get(s.variant), pub, sp) {
			n[s.slot()]++
		}
	}
	h.metrics.Delivered(metrics.FramePushPublication, &n)
	// Every publication is the base of the next delta, whether or not it
	// was itself sent as one: clients keep each payload they receive.
	if cs.deltaSubs > 0 {
		cs.prev, cs.hasPrev = pub.Data, true
	}
}

// parallelMin is the subscriber count from which a publication is
// delivered by several goroutines. Deliveries write to sockets inline when
// a connection's queue is idle, so one goroutine walking a large channel
// would leave the other cores idle and the last subscriber waiting for
// every write before its own; below this count the goroutines would cost
// more than they save.
const parallelMin = 1024

// deliverParallel delivers a publication to subs from h.workers goroutines,
// the caller's included, each taking one contiguous part, and returns when
// all are done, so that publications of a channel still reach every
// subscriber in order. Channels with delta subscribers never come here:
// their forms are built lazily per subscriber.
func (h *Hub) deliverParallel(ch string, p *prepared, subs []*Sub,
	pub *protocol.Publication, sp protocol.StreamPosition) {
	// Build every variant up front: prepared is not safe for concurrent
	// use, and an unused variant costs one encode per publication.
	var bytes [MaxVariants][]byte
	for v := range h.encoders {
		bytes[v] = p.get(uint8(v))
	}
	part := func(subs []*Sub) {
		var n metrics.Deliveries
		for _, s := range subs {
			if s.deliverPlain(ch, bytes[s.variant], pub, sp) {
				n[s.slot()]++
			}
		}
		h.metrics.Delivered(metrics.FramePushPublication, &n)
	}

	var wg sync.WaitGroup
	n, w := len(subs), h.workers
	for i := 1; i < w; i++ {
		wg.Go(func() { part(subs[i*n/w : (i+1)*n/w]) })
	}
	part(subs[:n/w])
	wg.Wait()
}

// deliverDelta delivers a publication to a delta subscriber and reports
// whether it did, as [Sub.deliver].
func (h *Hub) deliverDelta(ch string, p *prepared, s *Sub, pub *protocol.Publication,
	sp protocol.StreamPosition) bool {
	full, patched := p.getDelta(s.variant, s.mayTakeDelta())
	if full == nil {
		s.deltaBase.Store(false)
		s.conn.InappropriateData(ch)
		return false
	}
	return s.deliver(full, patched, pub, sp)
}

// BroadcastJoin delivers a join push to the subscribers of ch that asked for
// join and leave events.
func (h *Hub) BroadcastJoin(ch string, info *protocol.ClientInfo) {
	p := prepared{h: h}
	p.reply.Push = &protocol.Push{Channel: ch, Join: &protocol.Join{Info: *info}}
	h.broadcastEvent(ch, &p, metrics.FramePushJoin)
}

// BroadcastLeave delivers a leave push like BroadcastJoin.
func (h *Hub) BroadcastLeave(ch string, info *protocol.ClientInfo) {
	p := prepared{h: h}
	p.reply.Push = &protocol.Push{Channel: ch, Leave: &protocol.Leave{Info: *info}}
	h.broadcastEvent(ch, &p, metrics.FramePushLeave)
}

// broadcastEvent delivers a join or leave push, frames of kind f.
func (h *Hub) broadcastEvent(ch string, p *prepared, f metrics.Frame) {
	sh := h.shard(ch)
	sh.mu.RLock()
	defer sh.mu.RUnlock()

	cs := sh.channels[ch]
	if cs == nil {
		return
	}
	var n metrics.Deliveries
	for _, s := range cs.subs {
		if !s.joinLeave {
			continue
		}
		if s.deliver(p.get(s.variant), nil, nil, protocol.StreamPosition{}) {
			n[s.slot()]++
		}
	}
	h.metrics.Delivered(f, &n)
}
