// Package hub keeps which connection is subscribed to which channel on this
// node and fans publications out to them.
//
// A publication is encoded at most once per wire variant (JSON, Protobuf...)
// and every subscriber of that variant receives a reference to the same bytes.
// The hub owns no goroutines: broadcasts run on the caller's goroutine, which
// for every engine is the one goroutine that orders the channel's stream.
package hub

import (
	"encoding/json"
	"hash/maphash"
	"sync"

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
}

const numShards = 64

type shard struct {
	// mu guards channels and the subscriber slices inside them.
	mu       sync.RWMutex
	channels map[string]*channelSubs
}

type channelSubs struct {
	subs []*Sub
}

// New returns a hub that encodes variant i with encoders[i].
func New(encoders []Encoder) *Hub {
	if len(encoders) > MaxVariants {
		panic("hub: too many variants")
	}
	h := &Hub{seed: maphash.MakeSeed(), encoders: encoders}
	for i := range h.shards {
		h.shards[i].channels = make(map[string]*channelSubs)
	}
	return h
}

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

// prepared holds the bytes of one push per variant, built on first use.
type prepared struct {
	h     *Hub
	reply protocol.Reply
	bytes [MaxVariants][]byte
	// data is the payload that text variants must check, when there is one.
	data    []byte
	notJSON bool
	checked bool
}

// get returns the push bytes for variant v, or nil when the payload cannot
// travel in that variant.
func (p *prepared) get(v uint8) []byte {
	if b := p.bytes[v]; b != nil {
		return b
	}
	enc := p.h.encoders[v]
	if !enc.Binary() && p.data != nil {
		// Protobuf clients may publish arbitrary bytes; embedding them in
		// a JSON frame would corrupt the stream for JSON subscribers.
		if !p.checked {
			p.checked, p.notJSON = true, !json.Valid(p.data)
		}
		if p.notJSON {
			return nil
		}
	}
	b := enc.AppendReply(nil, &p.reply)
	p.bytes[v] = b
	return b
}

// BroadcastPublication delivers pub to every subscriber of ch on this node.
// Callers must not broadcast concurrently for one channel: positions are
// checked in call order.
func (h *Hub) BroadcastPublication(ch string, pub *protocol.Publication,
	sp protocol.StreamPosition) {
	p := prepared{h: h, data: pub.Data}
	p.reply.Push = &protocol.Push{Channel: ch, Pub: pub}
	h.broadcast(ch, &p, func(s *Sub) bool { return true }, pub, sp)
}

// BroadcastJoin delivers a join push to the subscribers of ch that asked for
// join and leave events.
func (h *Hub) BroadcastJoin(ch string, info *protocol.ClientInfo) {
	p := prepared{h: h}
	p.reply.Push = &protocol.Push{Channel: ch, Join: &protocol.Join{Info: *info}}
	h.broadcast(ch, &p, (*Sub).wantsJoinLeave, nil, protocol.StreamPosition{})
}

// BroadcastLeave delivers a leave push like BroadcastJoin.
func (h *Hub) BroadcastLeave(ch string, info *protocol.ClientInfo) {
	p := prepared{h: h}
	p.reply.Push = &protocol.Push{Channel: ch, Leave: &protocol.Leave{Info: *info}}
	h.broadcast(ch, &p, (*Sub).wantsJoinLeave, nil, protocol.StreamPosition{})
}

func (h *Hub) broadcast(ch string, p *prepared, want func(*Sub) bool,
	pub *protocol.Publication, sp protocol.StreamPosition) {
	sh := h.shard(ch)
	sh.mu.RLock()
	defer sh.mu.RUnlock()

	cs := sh.channels[ch]
	if cs == nil {
		return
	}
	for _, s := range cs.subs {
		if !want(s) {
			continue
		}
		b := p.get(s.variant)
		if b == nil {
			s.conn.InappropriateData(ch)
			continue
		}
		s.deliver(b, pub, sp)
	}
}
