// Package redis is the Redis engine: a [Broker] that orders publications
// per channel with a server-side script (stream history, offset and epoch,
// idempotency) and fans them out to every node over PUB/SUB, and a
// [PresenceManager] whose entries expire when a node stops refreshing them.
//
// [Shards] holds the connections: one per configured address (channels
// spread by a consistent hash), one Redis Cluster (a channel's keys share a
// hash tag) or one Sentinel-managed master. Nothing outside the engine
// wiring imports this package.
package redis
