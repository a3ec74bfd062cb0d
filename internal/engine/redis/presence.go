package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/engine/wire"
	"github.com/heraldhq/herald/internal/protocol"
)

// PresenceConfig tunes a [PresenceManager].
type PresenceConfig struct {
	// Prefix starts every key (default "herald"). It must not contain '{',
	// which would break the hash tag of a channel's keys.
	Prefix string
	// TTL expires an entry not refreshed by AddPresence in time (default
	// 60s, presence_ttl).
	TTL time.Duration
}

// Defaults of [PresenceConfig].
const (
	defaultPresencePrefix = "herald"
	defaultPresenceTTL    = 60 * time.Second
)

// errPresenceClosed is returned by calls made after Close.
var errPresenceClosed = errors.New("redis: presence manager closed")

// PresenceManager is the cluster-wide [engine.PresenceManager] kept in Redis.
//
// Key layout, per channel ch (all keys share the hash tag {ch}, so a Redis
// Cluster keeps them in one slot and a script may touch them together):
//
//	<prefix>.presence.data.{ch}    hash   client ID -> encoded ClientInfo
//	<prefix>.presence.users.{ch}   hash   client ID -> user ID
//	<prefix>.presence.expire.{ch}  zset   client ID -> expiry, unix ms
//
// The users hash lets the stats script count distinct users without
// decoding ClientInfo in Lua. Every script first drops the entries whose
// expiry has passed, so an entry vanishes exactly at its deadline even though
// Redis cannot expire hash fields by itself. AddPresence moves the keys' own
// expiry to the latest entry deadline, so a channel whose nodes all died
// disappears from Redis without anyone reading it.
//
// ClientInfo is stored in the protobuf wire format of wire.go (1 user,
// 2 client, 3 conn_info, 4 chan_info), the same body join and leave messages
// carry: compact and binary-safe for the raw JSON parts.
//
// Deadlines come from the clock of the node that adds an entry, so nodes'
// clocks should agree to well within the TTL.
type PresenceManager struct {
	shards *Shards
	prefix string
	ttl    time.Duration
	closed atomic.Bool
}

var _ engine.PresenceManager = (*PresenceManager)(nil)

// NewPresenceManager returns a PresenceManager on s. It does not own s:
// Close leaves the connections open for the broker sharing them.
func NewPresenceManager(s *Shards, cfg PresenceConfig) *PresenceManager {
	if cfg.Prefix == "" {
		cfg.Prefix = defaultPresencePrefix
	}
	if cfg.TTL <= 0 {
		cfg.TTL = defaultPresenceTTL
	}
	return &PresenceManager{shards: s, prefix: cfg.Prefix, ttl: cfg.TTL}
}

// presencePrune is shared by every script: it drops the entries of KEYS
// (data, users, expire) whose deadline is at or before ARGV[1]. HDEL takes
// the IDs in batches because unpack of a huge table overflows the Lua stack.
const presencePrune = `
local function prune(now)
  local gone = redis.call('zrangebyscore', KEYS[3], '-inf', now)
  if #gone == 0 then
    return
  end
  redis.call('zremrangebyscore', KEYS[3], '-inf', now)
  for i = 1, #gone, 1000 do
    local last = math.min(i + 999, #gone)
    redis.call('hdel', KEYS[1], unpack(gone, i, last))
    redis.call('hdel', KEYS[2], unpack(gone, i, last))
  end
end
prune(ARGV[1])
`

// ARGV: now, ttl (ms), client ID, user ID, encoded info.
var presenceAddScript = rueidis.NewLuaScript(presencePrune + `
local deadline = tonumber(ARGV[1]) + tonumber(ARGV[2])
redis.call('hset', KEYS[1], ARGV[3], ARGV[5])
redis.call('hset', KEYS[2], ARGV[3], ARGV[4])
redis.call('zadd', KEYS[3], deadline, ARGV[3])
-- Keys live as long as their latest entry; another node may use a longer
-- TTL, so take the zset's maximum rather than this entry's deadline.
local top = redis.call('zrange', KEYS[3], -1, -1, 'withscores')
for i = 1, 3 do
  redis.call('pexpireat', KEYS[i], top[2])
end
return 1
`)

// ARGV: now, client ID.
var presenceRemoveScript = rueidis.NewLuaScript(presencePrune + `
redis.call('hdel', KEYS[1], ARGV[2])
redis.call('hdel', KEYS[2], ARGV[2])
redis.call('zrem', KEYS[3], ARGV[2])
return 1
`)

// ARGV: now. Returns HGETALL of the data hash.
var presenceGetScript = rueidis.NewLuaScript(presencePrune + `
return redis.call('hgetall', KEYS[1])
`)

// ARGV: now. Returns {clients, distinct users}.
var presenceStatsScript = rueidis.NewLuaScript(presencePrune + `
local seen, users = {}, 0
for _, u in ipairs(redis.call('hvals', KEYS[2])) do
  if not seen[u] then
    seen[u] = true
    users = users + 1
  end
end
return {redis.call('hlen', KEYS[1]), users}
`)

// keys returns the data, users and expire keys of ch.
func (m *PresenceManager) keys(ch string) []string {
	tag := "{" + ch + "}"
	return []string{
		m.prefix + ".presence.data." + tag,
		m.prefix + ".presence.users." + tag,
		m.prefix + ".presence.expire." + tag,
	}
}

// nowMillis is the current time as the scripts' deadline unit.
func nowMillis() string {
	return strconv.FormatInt(time.Now().UnixMilli(), 10)
}

// AddPresence adds clientID to ch or refreshes its deadline and info.
func (m *PresenceManager) AddPresence(ctx context.Context, ch, clientID string,
	info *protocol.ClientInfo) error {
	if m.closed.Load() {
		return errPresenceClosed
	}
	if info == nil {
		info = &protocol.ClientInfo{Client: clientID}
	}

	args := []string{
		nowMillis(),
		strconv.FormatInt(m.ttl.Milliseconds(), 10),
		clientID,
		info.User,
		string(wire.EncodeClientInfo(info)),
	}
	err := presenceAddScript.Exec(ctx, m.shards.For(ch), m.keys(ch), args).Error()
	if err != nil {
		return fmt.Errorf("redis: add presence: %w", err)
	}
	return nil
}

// RemovePresence removes clientID from ch. userID is not needed: the users
// hash is keyed by client.
func (m *PresenceManager) RemovePresence(ctx context.Context,
	ch, clientID, _ string) error {
	if m.closed.Load() {
		return errPresenceClosed
	}
	args := []string{nowMillis(), clientID}
	err := presenceRemoveScript.Exec(ctx, m.shards.For(ch), m.keys(ch), args).Error()
	if err != nil {
		return fmt.Errorf("redis: remove presence: %w", err)
	}
	return nil
}

// Presence returns the live clients of ch, keyed by client ID, in a new map
// the caller owns.
func (m *PresenceManager) Presence(ctx context.Context, ch string) (
	map[string]*protocol.ClientInfo, error) {
	if m.closed.Load() {
		return nil, errPresenceClosed
	}
	res := presenceGetScript.Exec(ctx, m.shards.For(ch), m.keys(ch),
		[]string{nowMillis()})
	flat, err := res.AsStrSlice()
	if err != nil {
		return nil, fmt.Errorf("redis: presence: %w", err)
	}

	out := make(map[string]*protocol.ClientInfo, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		info, err := wire.DecodeClientInfo([]byte(flat[i+1]))
		if err != nil {
			return nil, fmt.Errorf("redis: presence of client %q: %w", flat[i], err)
		}
		out[flat[i]] = info
	}
	return out, nil
}

// PresenceStats counts the live clients of ch and their distinct users; an
// empty user ID (anonymous) counts as one user, as in the memory engine.
func (m *PresenceManager) PresenceStats(ctx context.Context, ch string) (
	engine.PresenceStats, error) {
	if m.closed.Load() {
		return engine.PresenceStats{}, errPresenceClosed
	}
	res := presenceStatsScript.Exec(ctx, m.shards.For(ch), m.keys(ch),
		[]string{nowMillis()})
	counts, err := res.AsIntSlice()
	if err != nil {
		return engine.PresenceStats{}, fmt.Errorf("redis: presence stats: %w", err)
	}
	if len(counts) != 2 {
		return engine.PresenceStats{}, fmt.Errorf("redis: presence stats: got %d values",
			len(counts))
	}
	return engine.PresenceStats{NumClients: int(counts[0]), NumUsers: int(counts[1])}, nil
}

// Close makes later calls fail. The shards stay open: they are shared with
// the broker. Close may be called more than once.
func (m *PresenceManager) Close(context.Context) error {
	m.closed.Store(true)
	return nil
}
