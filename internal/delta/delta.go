// Package delta computes the fossil deltas that subscribers who negotiated
// delta compression receive instead of full publication payloads (client
// protocol §12).
package delta

import (
	"unicode/utf8"

	fossil "github.com/shadowspore/fossil-delta"

	"github.com/heraldhq/herald/internal/protocol"
)

// Fossil is the only delta type of the protocol.
const Fossil = "fossil"

// Patch returns the fossil delta that turns prev into next, or nil when the
// delta is not smaller than next: then sending next itself is cheaper.
func Patch(prev, next []byte) []byte {
	p := fossil.Create(prev, next)
	if len(p) >= len(next) {
		return nil
	}
	return p
}

// Chain rewrites recovered publications for a delta subscriber: the first
// keeps its full payload, each later one becomes a delta against its
// predecessor where that is smaller. text selects the JSON form, where data
// is a JSON string. The input publications are shared with history and are
// not modified; new ones are returned.
func Chain(pubs []*protocol.Publication, text bool) []*protocol.Publication {
	out := make([]*protocol.Publication, len(pubs))
	for i, pub := range pubs {
		c := *pub
		var patch []byte
		// Invalid UTF-8 cannot survive a JSON string: neither a patch nor
		// a base holding it reaches the client intact.
		if i > 0 && (!text || utf8.Valid(pubs[i-1].Data)) {
			patch = Patch(pubs[i-1].Data, pub.Data)
		}
		if text && !utf8.Valid(patch) {
			patch = nil
		}
		if patch != nil {
			c.Data, c.Delta = patch, true
		}
		if text {
			c.Data = protocol.AppendStringData(nil, c.Data)
		}
		out[i] = &c
	}
	return out
}
