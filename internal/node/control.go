package node

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/protocol"
)

// Control messages travel between nodes through the broker's
// PublishControl. Each is a format version byte, a kind byte and a JSON
// body. JSON is enough here: a few messages a second per node, and a
// message stays readable in redis-cli while debugging a cluster. The
// version byte lets a later format be told apart, so that nodes of mixed
// versions drop what they cannot read instead of misreading it.
const controlVersion byte = 1

// Kinds of control message.
const (
	// kindAnnounce carries a node's [Info]; every node sends one each
	// announce interval.
	kindAnnounce byte = 1
	// kindLeave says that a node is stopping, so that the others drop it
	// at once rather than after its announcements lapse.
	kindLeave byte = 2
	// kindCommand carries a [UserCommand] for every node to apply.
	kindCommand byte = 3
	// kindSurvey carries a [surveyRequest] for every node to answer.
	kindSurvey byte = 4
	// kindSurveyReply carries one node's [surveyReply] to the asker. It
	// reaches every node; the others drop it.
	kindSurveyReply byte = 5
)

var (
	// errControlVersion marks a message in a format this node does not
	// know.
	errControlVersion = errors.New("node: unknown control message version")
	// errControlKind marks a kind this node does not know, such as one
	// added by a later release running alongside it.
	errControlKind = errors.New("node: unknown control message kind")
)

// Info describes a node as the info API reports it.
type Info struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	NumClients  int    `json:"clients"`
	NumUsers    int    `json:"users"`
	NumSubs     int    `json:"subs"`
	NumChannels int    `json:"channels"`
	// Uptime is in seconds. A node sends its uptime rather than its start
	// time so that the receivers' clocks need not agree with its own.
	Uptime int64 `json:"uptime"`
	// Process is the node's CPU and memory use, nil where it cannot be
	// read.
	Process *metrics.Process `json:"process,omitempty"`
	// Metrics is the node's latest metrics snapshot, nil when aggregation
	// is off. Being the largest part, it travels only in announcements
	// after it changed or after a new node appeared; the receivers keep
	// the last one they were sent.
	Metrics *metrics.Snapshot `json:"metrics,omitempty"`
}

// CommandKind says what a [UserCommand] does.
type CommandKind uint8

// Kinds of user command, one for each server API method that acts on a
// user's connections.
const (
	CommandSubscribe CommandKind = iota + 1
	CommandUnsubscribe
	CommandDisconnect
	CommandRefresh
	// CommandEmulate carries a client's frame, sent to one node through
	// the emulation endpoint, to the node that holds the client's
	// emulated session (Session is its key, Data the frame). Only that
	// node has the key; the others ignore it.
	CommandEmulate
)

// UserCommand is a server API subscribe, unsubscribe, disconnect or
// refresh, with all its parameters, as every node applies it to its own
// connections of the user.
type UserCommand struct {
	Kind CommandKind `json:"kind"`
	// User, Client and Session select the connections, as the API's
	// user, client and session parameters do.
	User    string `json:"user,omitempty"`
	Client  string `json:"client,omitempty"`
	Session string `json:"session,omitempty"`
	// Channel is the channel of a subscribe or unsubscribe.
	Channel string `json:"channel,omitempty"`

	// Info is the channel info of a subscribe, or the new connection
	// info of a refresh. It has no omitempty: a refresh with empty info
	// replaces the info, one without it leaves the info alone.
	Info []byte `json:"info"`
	// Data is the subscribe push data.
	Data []byte `json:"data,omitempty"`
	// ExpireAt is the subscription expiry of a subscribe or the
	// connection expiry of a refresh, in Unix seconds.
	ExpireAt     int64                    `json:"expire_at,omitempty"`
	Override     *auth.Override           `json:"override,omitempty"`
	RecoverSince *protocol.StreamPosition `json:"recover_since,omitempty"`

	// Disconnect is what a disconnect closes connections with; Keep lists
	// the client IDs it spares.
	Disconnect *protocol.Disconnect `json:"disconnect,omitempty"`
	Keep       []string             `json:"keep,omitempty"`

	// Expired makes a refresh close the connections as expired.
	Expired bool `json:"expired,omitempty"`
}

// surveyRequest asks every node for its part of an answer; see survey.go.
type surveyRequest struct {
	// ID tells the replies to this survey from those to the asker's
	// others.
	ID string `json:"id"`
	// Op names the question. Params are its parameters, in the op's own
	// form, so that a new op needs no change here.
	Op     string          `json:"op"`
	Params json.RawMessage `json:"params,omitempty"`
}

// surveyReply is one node's answer to a survey.
type surveyReply struct {
	ID string `json:"id"`
	// To is the asking node's ID.
	To string `json:"to"`
	// Result is the answer, in the op's own form. It stays raw until the
	// asker reads it: every node receives every reply, and only the asker
	// needs it decoded.
	Result json.RawMessage `json:"result,omitempty"`
	// Error says why the node has no answer, such as an op it does not
	// know.
	Error string `json:"error,omitempty"`
}

// channelsParams are the parameters of a channels survey.
type channelsParams struct {
	// Pattern travels so that each node sends only the channels it
	// selects: the asker filters again, with its own matcher.
	Pattern string `json:"pattern,omitempty"`
}

// channelsAnswer is one node's result of a channels survey.
type channelsAnswer struct {
	// Channels maps each channel to its number of subscribers on the node.
	Channels map[string]int `json:"channels"`
	// Omitted counts the channels left out to keep the reply under
	// maxReplyBytes.
	Omitted int `json:"omitted,omitempty"`
}

// controlBody is the JSON part of a control message. From is the sending
// node's ID, so that a node can ignore its own messages: the broker
// delivers them back to it too.
type controlBody struct {
	From    string         `json:"from"`
	Node    *Info          `json:"node,omitempty"`
	Command *UserCommand   `json:"command,omitempty"`
	Survey  *surveyRequest `json:"survey,omitempty"`
	Reply   *surveyReply   `json:"reply,omitempty"`
}

// control is a decoded control message.
type control struct {
	kind byte
	controlBody
}

// encodeControl frames a control message of kind.
func encodeControl(kind byte, body controlBody) []byte {
	// Marshalling these types cannot fail: they hold no channels, funcs
	// or cyclic values, and their raw JSON fields are only ever filled by
	// json.Marshal or by decoding.
	js, _ := json.Marshal(body)
	return append([]byte{controlVersion, kind}, js...)
}

// encodeAnnounce frames info as its node's announcement.
func encodeAnnounce(info Info) []byte {
	return encodeControl(kindAnnounce, controlBody{From: info.ID, Node: &info})
}

// encodeLeave frames the stopping of node id.
func encodeLeave(id string) []byte {
	return encodeControl(kindLeave, controlBody{From: id})
}

// encodeCommand frames cmd as sent by node from.
func encodeCommand(from string, cmd UserCommand) []byte {
	return encodeControl(kindCommand, controlBody{From: from, Command: &cmd})
}

// encodeSurvey frames req as asked by node from.
func encodeSurvey(from string, req surveyRequest) []byte {
	return encodeControl(kindSurvey, controlBody{From: from, Survey: &req})
}

// encodeSurveyReply frames rep as answered by node from.
func encodeSurveyReply(from string, rep surveyReply) []byte {
	return encodeControl(kindSurveyReply, controlBody{From: from, Reply: &rep})
}

// decodeControl parses a control message, checking that its body has what
// its kind needs.
func decodeControl(data []byte) (control, error) {
	if len(data) < 2 {
		return control{}, errors.New("node: short control message")
	}
	if data[0] != controlVersion {
		return control{}, fmt.Errorf("%w %d", errControlVersion, data[0])
	}
	c := control{kind: data[1]}
	if err := json.Unmarshal(data[2:], &c.controlBody); err != nil {
		return control{}, fmt.Errorf("node: control message: %w", err)
	}
	if c.From == "" {
		return control{}, errors.New("node: control message without sender")
	}
	switch c.kind {
	case kindAnnounce:
		if c.Node == nil || c.Node.ID != c.From {
			return control{}, errors.New("node: announcement without its node")
		}
	case kindLeave:
	case kindCommand:
		if c.Command == nil {
			return control{}, errors.New("node: command message without command")
		}
	case kindSurvey:
		if c.Survey == nil || c.Survey.ID == "" || c.Survey.Op == "" {
			return control{}, errors.New("node: survey message without survey")
		}
	case kindSurveyReply:
		if c.Reply == nil || c.Reply.ID == "" || c.Reply.To == "" {
			return control{}, errors.New("node: survey reply without its survey")
		}
	default:
		return control{}, fmt.Errorf("%w %d", errControlKind, c.kind)
	}
	return c, nil
}
