package node

import (
	"context"
	"errors"
	"time"
)

// ErrUnknownNode is returned for an emulation request that names a node
// this one does not know to be alive.
var ErrUnknownNode = errors.New("node: unknown node")

// Emulate hands a client frame for the emulated session key to the node
// nodeID, which holds the session's stream: the client's commands may
// reach any node behind a load balancer. The frame for this node's own
// sessions is applied by the caller, not here.
func (n *Node) Emulate(ctx context.Context, nodeID, key string, frame []byte) error {
	if !n.Knows(nodeID) {
		return ErrUnknownNode
	}
	return n.Broadcast(ctx, UserCommand{Kind: CommandEmulate, Session: key, Data: frame})
}

// Knows reports whether id is this node or another live one.
func (n *Node) Knows(id string) bool {
	if id == n.id {
		return true
	}
	for _, p := range n.cl.reg.live(time.Now()) {
		if p.ID == id {
			return true
		}
	}
	return false
}
