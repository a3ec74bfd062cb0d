// Package memory is Herald's single-node engine: a [Broker] that orders
// publications per channel and keeps their history in bounded ring buffers,
// and a [PresenceManager] that keeps who is subscribed where. Nothing leaves
// the process, so a node using it is a cluster of one.
//
// # Ordering
//
// Channels are spread over a fixed set of stripes by hash; each stripe has one
// mutex. Publishing takes the channel's stripe lock, assigns the next offset,
// appends to the ring and calls the node's [engine.EventHandler] before
// releasing the lock. That single critical section is what gives each channel
// one total order, and what lets a concurrent [Broker.History] reader see
// either all or none of a publication (stored and delivered). The price is
// the handler contract described on [Broker].
//
// # Goroutines
//
// Each value owns at most one goroutine, a janitor that periodically drops
// expired history, stream metadata, idempotency results and presence entries.
// The Broker starts it in [Broker.Run]; the PresenceManager starts it in
// [NewPresenceManager]. Both stop and wait for it in Close. The janitor only
// frees memory: every read trims lazily as well, so correctness never depends
// on when it runs. Handler calls run on the publisher's goroutine.
//
// # Reading order
//
// broker.go (the Broker and its stripes), stream.go (one channel's ring and
// position rules), presence.go, then janitor.go and config.go.
package memory
