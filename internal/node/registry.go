package node

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// registry holds what the other nodes last announced. Times are passed in
// rather than read, so that expiry can be tested without waiting.
type registry struct {
	// ttl is how long an entry lives without a new announcement.
	ttl time.Duration

	mu    sync.Mutex
	nodes map[string]seen
}

// seen is an announcement and when it arrived.
type seen struct {
	info Info
	at   time.Time
}

func newRegistry(ttl time.Duration) *registry {
	return &registry{ttl: ttl, nodes: make(map[string]seen)}
}

// update records info as announced at now; an announcement without
// metrics keeps those of the node's last one. It reports whether the node
// was not known before, so that this node can announce itself to a
// newcomer without waiting for its next tick.
func (r *registry) update(info Info, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()

	old, ok := r.nodes[info.ID]
	if info.Metrics == nil && ok {
		info.Metrics = old.info.Metrics
	}
	r.nodes[info.ID] = seen{info: info, at: now}
	return !ok || now.Sub(old.at) >= r.ttl
}

// remove forgets node id.
func (r *registry) remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.nodes, id)
}

// live returns the nodes heard from within the TTL before now, sorted by
// name (then ID), and forgets the others. Uptimes are advanced by the time
// since each announcement arrived.
func (r *registry) live(now time.Time) []Info {
	r.mu.Lock()
	defer r.mu.Unlock()

	out := make([]Info, 0, len(r.nodes))
	for id, s := range r.nodes {
		age := now.Sub(s.at)
		if age >= r.ttl {
			delete(r.nodes, id)
			continue
		}
		info := s.info
		info.Uptime += int64(max(age, 0) / time.Second)
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b Info) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return out
}
