package api

import (
	"bytes"
	"encoding/base64"
	"math"
	"slices"
	"strconv"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/jsonwire"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/protocol"
)

// Results are appended to a byte slice by hand. Field presence follows the
// reference server's encoder: everything is omitted when empty except the
// fields it always writes (spec §4.16), which the encoders below name.

// result is what a successful method returns.
type result interface {
	// appendJSON appends the result object.
	appendJSON(b []byte) []byte
}

// emptyResult is the {} of methods that return nothing.
type emptyResult struct{}

func (emptyResult) appendJSON(b []byte) []byte { return append(b, "{}"...) }

// publishResult is where a publication landed; both fields are omitted
// when the channel keeps no history.
type publishResult protocol.StreamPosition

func (r publishResult) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = uintField(b, "offset", r.Offset)
	b = stringField(b, "epoch", r.Epoch)
	return append(b, '}')
}

// publishReply is one channel's outcome in a broadcast.
type publishReply struct {
	res publishResult
	err *protocol.Error
}

// broadcastResult holds one reply per requested channel, in request order.
type broadcastResult []publishReply

func (r broadcastResult) appendJSON(b []byte) []byte {
	b = append(b, `{"responses":[`...)
	for i, p := range r {
		if i > 0 {
			b = append(b, ',')
		}
		if p.err != nil {
			b = appendError(append(b, `{"error":`...), p.err)
		} else {
			b = p.res.appendJSON(append(b, `{"result":`...))
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// presenceResult maps client IDs to their info; "presence" is always
// written, {} when nobody is there.
type presenceResult map[string]*protocol.ClientInfo

func (r presenceResult) appendJSON(b []byte) []byte {
	b = append(b, `{"presence":{`...)
	for i, id := range sortedKeys(r) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendClientInfo(append(appendString(b, id), ':'), r[id])
	}
	return append(b, "}}"...)
}

// presenceStatsResult always writes both counters.
type presenceStatsResult engine.PresenceStats

func (r presenceStatsResult) appendJSON(b []byte) []byte {
	b = append(b, `{"num_clients":`...)
	b = strconv.AppendUint(b, uint64(max(r.NumClients, 0)), 10)
	b = append(b, `,"num_users":`...)
	b = strconv.AppendUint(b, uint64(max(r.NumUsers, 0)), 10)
	return append(b, '}')
}

// historyResult always writes publications ([] when none), epoch and
// offset.
type historyResult struct {
	pubs []*protocol.Publication
	pos  protocol.StreamPosition
}

func (r historyResult) appendJSON(b []byte) []byte {
	b = append(b, `{"publications":[`...)
	for i, p := range r.pubs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendPublication(b, p)
	}
	b = appendString(append(b, `],"epoch":`...), r.pos.Epoch)
	b = append(b, `,"offset":`...)
	b = strconv.AppendUint(b, r.pos.Offset, 10)
	return append(b, '}')
}

// channelsResult maps active channels to their subscriber counts;
// "channels" is always written.
type channelsResult map[string]int

func (r channelsResult) appendJSON(b []byte) []byte {
	b = append(b, `{"channels":{`...)
	for i, ch := range sortedKeys(r) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, ch), ":{"...)
		b = uintField(b, "num_clients", uint64(max(r[ch], 0)))
		b = append(b, '}')
	}
	return append(b, "}}"...)
}

// nodeInfo describes one node in the info result.
type nodeInfo struct {
	uid, name, version                         string
	numClients, numUsers, numChannels, numSubs int
	uptime                                     int64
	// process and metrics are nil when the node reports none.
	process *metrics.Process
	metrics *metrics.Snapshot
}

// infoResult lists the nodes of the cluster.
type infoResult []nodeInfo

func (r infoResult) appendJSON(b []byte) []byte {
	b = append(b, `{"nodes":[`...)
	for i, n := range r {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(append(b, `{"uid":`...), n.uid)
		b = appendString(append(b, `,"name":`...), n.name)
		b = appendString(append(b, `,"version":`...), n.version)
		b = countField(b, "num_clients", n.numClients)
		b = countField(b, "num_users", n.numUsers)
		b = countField(b, "num_channels", n.numChannels)
		b = uintField(b, "uptime", uint64(max(n.uptime, 0)))
		b = countField(b, "num_subs", n.numSubs)
		b = appendProcess(b, n.process)
		b = appendMetrics(b, n.metrics)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// appendProcess writes a node's process figures when it has them.
func appendProcess(b []byte, p *metrics.Process) []byte {
	if p == nil {
		return b
	}
	b = appendFloat(append(appendKey(b, "process"), `{"cpu":`...), p.CPU)
	b = strconv.AppendInt(append(b, `,"rss":`...), p.RSS, 10)
	return append(b, '}')
}

// appendMetrics writes a node's metrics snapshot when it has one, items in
// name order.
func appendMetrics(b []byte, m *metrics.Snapshot) []byte {
	if m == nil {
		return b
	}
	b = appendFloat(append(appendKey(b, "metrics"), `{"interval":`...), m.Interval)
	b = append(b, `,"items":{`...)
	for i, k := range sortedKeys(m.Items) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendFloat(append(appendString(b, k), ':'), m.Items[k])
	}
	return append(b, "}}"...)
}

// appendFloat writes v as a JSON number; JSON has none for NaN and the
// infinities, which become 0.
func appendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendClientInfo writes user and client always, the infos when set.
func appendClientInfo(b []byte, ci *protocol.ClientInfo) []byte {
	if ci == nil {
		return append(b, `{"user":"","client":""}`...)
	}
	b = appendString(append(b, `{"user":`...), ci.User)
	b = appendString(append(b, `,"client":`...), ci.Client)
	b = rawField(b, "conn_info", ci.ConnInfo)
	b = rawField(b, "chan_info", ci.ChanInfo)
	return append(b, '}')
}

// appendPublication writes a stored publication. Data that is not JSON
// (published with b64data) is written base64-encoded as "b64data", the name
// the API accepts it under, so that the response stays valid JSON.
func appendPublication(b []byte, p *protocol.Publication) []byte {
	b = append(b, '{')
	if len(p.Data) > 0 {
		if jsonwire.Valid(p.Data) {
			b = appendRawJSON(appendKey(b, "data"), p.Data)
		} else {
			b = append(appendKey(b, "b64data"), '"')
			b = base64.StdEncoding.AppendEncode(b, p.Data)
			b = append(b, '"')
		}
	}
	if p.Info != nil {
		b = appendClientInfo(appendKey(b, "info"), p.Info)
	}
	b = uintField(b, "offset", p.Offset)
	if len(p.Tags) > 0 {
		b = append(appendKey(b, "tags"), '{')
		for i, k := range sortedKeys(p.Tags) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(append(appendString(b, k), ':'), p.Tags[k])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendKey appends `"key":`, preceded by a comma unless the enclosing
// object was just opened. Keys are constants that need no escaping.
func appendKey(b []byte, key string) []byte {
	if n := len(b); n > 0 && b[n-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func uintField(b []byte, key string, v uint64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendUint(appendKey(b, key), v, 10)
}

// countField writes a counter that is always present.
func countField(b []byte, key string, v int) []byte {
	return strconv.AppendUint(appendKey(b, key), uint64(max(v, 0)), 10)
}

func stringField(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendString(appendKey(b, key), v)
}

// rawField embeds an info value when it is set and is JSON. Info given as
// b64info may be binary; it is left out rather than break the response.
func rawField(b []byte, key string, v []byte) []byte {
	if len(v) == 0 || !jsonwire.Valid(v) {
		return b
	}
	return appendRawJSON(appendKey(b, key), v)
}

// appendRawJSON embeds v, which must be valid JSON, dropping raw newlines:
// in valid JSON they can only be insignificant whitespace, and the legacy
// route separates replies with newlines.
func appendRawJSON(b, v []byte) []byte {
	for {
		i := bytes.IndexByte(v, '\n')
		if i < 0 {
			return append(b, v...)
		}
		b = append(b, v[:i]...)
		v = v[i+1:]
	}
}

// appendString appends s as a JSON string. Control characters are escaped,
// invalid UTF-8 becomes U+FFFD, and U+2028 and U+2029 are escaped for old
// JavaScript parsers.
func appendString(b []byte, s string) []byte {
	return jsonwire.AppendString(b, s, jsonwire.EscapeLineTerminators)
}

// sortedKeys returns the keys of m in order, for stable output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
