package protocol

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	cf "github.com/centrifugal/protocol"
)

// sampleReplies covers every field of every reply and push at least once.
// Raw values are JSON so that both codecs can carry them.
func sampleReplies() []struct {
	name string
	r    *Reply
} {
	info := &ClientInfo{User: "42", Client: "c1", ConnInfo: Raw(`{"n":"Ann"}`),
		ChanInfo: Raw(`[1,2]`)}
	pub := &Publication{Data: Raw(`{"text":"hello"}`), Info: info, Offset: 13,
		Tags: map[string]string{"b": "2", "a": "1", "": ""}, Delta: true,
		Time: 1724300000123}
	sub := &SubscribeResult{Expires: true, TTL: 60, Recoverable: true,
		Epoch: "aBcD", Publications: []*Publication{pub, {Data: Raw(`1`)}},
		Recovered: true, Offset: 12, Positioned: true, Data: Raw(`"x"`),
		WasRecovering: true, Delta: true, ID: 7}
	big := bytes.Repeat([]byte("x"), 70000) // three-byte length varints
	return []struct {
		name string
		r    *Reply
	}{
		{"ping", &Reply{}},
		{"error", &Reply{ID: 2, Error: &Error{Code: 103, Message: "permission denied"}}},
		{"error temporary", &Reply{ID: 9, Error: &Error{Code: 100,
			Message: "internal server error", Temporary: true}}},
		{"connect", &Reply{ID: 1, Connect: &ConnectResult{Client: "c3b7",
			Version: "6.9.1", Expires: true, TTL: 3600, Data: Raw(`{"a":1}`),
			Subs: map[string]*SubscribeResult{"#42": {}, "news": sub, "nil": nil},
			Ping: 25, Pong: true, Session: "s1", Node: "n1", Time: -5}}},
		{"connect minimal", &Reply{ID: 1, Connect: &ConnectResult{Client: "c",
			Version: "6.9.1", Ping: 25, Pong: true}}},
		{"subscribe empty", &Reply{ID: 2, Subscribe: &SubscribeResult{}}},
		{"subscribe full", &Reply{ID: 2, Subscribe: sub}},
		{"unsubscribe", &Reply{ID: 5, Unsubscribe: &UnsubscribeResult{}}},
		{"publish", &Reply{ID: 3, Publish: &PublishResult{}}},
		{"presence", &Reply{ID: 7, Presence: &PresenceResult{
			Presence: map[string]*ClientInfo{"c1": {User: "42", Client: "c1"},
				"c0": info, "c2": {}}}}},
		{"presence empty", &Reply{ID: 7, Presence: &PresenceResult{}}},
		{"presence stats zero", &Reply{ID: 8, PresenceStats: &PresenceStatsResult{}}},
		{"presence stats", &Reply{ID: 8, PresenceStats: &PresenceStatsResult{
			NumClients: 3, NumUsers: 2}}},
		{"history nil", &Reply{ID: 4, History: &HistoryResult{}}},
		{"history", &Reply{ID: 4, History: &HistoryResult{Epoch: "e", Offset: 14,
			Publications: []*Publication{pub, {Data: Raw(`{}`), Offset: 14}}}}},
		{"ping result", &Reply{ID: 6, Ping: &PingResult{}}},
		{"rpc", &Reply{ID: 10, RPC: &RPCResult{Data: Raw(`{"ok":true}`)}}},
		{"rpc empty", &Reply{ID: 10, RPC: &RPCResult{}}},
		{"refresh", &Reply{ID: 11, Refresh: &RefreshResult{Client: "c",
			Version: "v", Expires: true, TTL: 30}}},
		{"sub refresh", &Reply{ID: 12, SubRefresh: &SubRefreshResult{
			Expires: true, TTL: 40}}},
		{"max id", &Reply{ID: 1<<32 - 1, Publish: &PublishResult{}}},
		{"push pub", &Reply{Push: &Push{Channel: "news",
			Pub: &Publication{Data: Raw(`{"text":"hello"}`), Offset: 13}}}},
		{"push pub full", &Reply{Push: &Push{ID: -3, Channel: "news", Pub: pub}}},
		{"push join", &Reply{Push: &Push{Channel: "chat",
			Join: &Join{Info: ClientInfo{User: "42", Client: "8a1f"}}}}},
		{"push join empty info", &Reply{Push: &Push{Channel: "chat", Join: &Join{}}}},
		{"push leave", &Reply{Push: &Push{Channel: "chat", Leave: &Leave{Info: *info}}}},
		{"push unsubscribe", &Reply{Push: &Push{Channel: "news",
			Unsubscribe: &Unsubscribe{Code: 2000, Reason: "server unsubscribe"}}}},
		{"push message", &Reply{Push: &Push{Message: &Message{Data: Raw(`{"alert":true}`)}}}},
		{"push subscribe", &Reply{Push: &Push{Channel: "#42", Subscribe: &Subscribe{
			Recoverable: true, Epoch: "xYz1", Offset: 3, Positioned: true,
			Data: Raw(`null`)}}}},
		{"push connect", &Reply{Push: &Push{Connect: &Connect{Client: "c",
			Version: "v", Data: Raw(`{"d":1}`), Subs: map[string]*SubscribeResult{
				"a": sub}, Expires: true, TTL: 9, Ping: 25, Pong: true,
			Session: "s", Node: "n", Time: 77}}}},
		{"push disconnect", &Reply{Push: &Push{Disconnect: &Disconnect{
			Code: 3001, Reason: "shutdown"}}}},
		{"push refresh", &Reply{Push: &Push{Refresh: &Refresh{Expires: true, TTL: 3600}}}},
		{"push empty", &Reply{Push: &Push{}}},
		{"unicode", &Reply{ID: 1, Error: &Error{Code: 400,
			Message: "ü\u2028<&>\"\\\x01\t日本\U0001F600"}}},
		{"large", &Reply{Push: &Push{Channel: "big", Pub: &Publication{
			Data: Raw(`"` + string(big) + `"`)}}}},
	}
}

// sampleCommands covers every request field Herald decodes, plus fields it
// skips (dictionary, map subscription and shared-poll extensions).
func sampleCommands() []*cf.Command {
	sub := &cf.SubscribeRequest{Channel: "news", Token: "t", Recover: true,
		Epoch: "aBcD", Offset: 1<<64 - 1, Data: cf.Raw(`{"s":[1,{"x":null}]}`),
		Positioned: true, Recoverable: true, JoinLeave: true, Delta: "fossil",
		Flag: 3, Type: 4, Phase: 1, Cursor: "c", Limit: 5, Asc: true,
		Tf: &cf.FilterNode{Op: "and", Nodes: []*cf.FilterNode{{Key: "k",
			Cmp: "eq", Val: "v"}}}}
	return []*cf.Command{
		{Id: 1, Connect: &cf.ConnectRequest{Name: "js"}},
		{Id: 1, Connect: &cf.ConnectRequest{Token: "eyJhbGciOi", Data: cf.Raw(`{"a":1}`),
			Subs: map[string]*cf.SubscribeRequest{"#1": {Recover: true, Offset: 5,
				Epoch: "e"}, "x": {}},
			Name: "go", Version: "1.0", Headers: map[string]string{"Cookie": "a=b",
				"X": ""}, Flag: 1, Dict: "d", Profile: "p"}},
		{Id: 2, Subscribe: &cf.SubscribeRequest{Channel: "news", Flag: 1}},
		{Id: 2, Subscribe: sub},
		{Id: 3, Subscribe: &cf.SubscribeRequest{Channel: "t", Type: -1}},
		{Id: 5, Unsubscribe: &cf.UnsubscribeRequest{Channel: "news"}},
		{Id: 6, Publish: &cf.PublishRequest{Channel: "news", Data: cf.Raw(`"hi"`),
			Type: 1, Key: "k", Removed: true}},
		{Id: 7, Presence: &cf.PresenceRequest{Channel: "p"}},
		{Id: 8, PresenceStats: &cf.PresenceStatsRequest{Channel: "p"}},
		{Id: 9, History: &cf.HistoryRequest{Channel: "h", Limit: -1,
			Since: &cf.StreamPosition{Offset: 3, Epoch: "e"}, Reverse: true}},
		{Id: 9, History: &cf.HistoryRequest{Channel: "h", Limit: 10}},
		{Id: 10, Ping: &cf.PingRequest{}},
		{Send: &cf.SendRequest{Data: cf.Raw(`{"x":1}`)}},
		{Id: 11, Rpc: &cf.RPCRequest{Data: cf.Raw(`[1,2.5e3,-0,true,false,null]`),
			Method: "m"}},
		{Id: 12, Refresh: &cf.RefreshRequest{Token: "tok"}},
		{Id: 13, SubRefresh: &cf.SubRefreshRequest{Channel: "c", Token: "tok",
			Type: 1, Untrack: []string{"a"}}},
		{Id: 1<<32 - 1, Publish: &cf.PublishRequest{Channel: "ü\u2028\"\\/\x01",
			Data: cf.Raw(`"\u00fc\ud83d\ude00"`)}},
		{},
	}
}

// decodeAll collects the commands of a frame.
func decodeAll(c Codec, frame []byte) ([]*Command, error) {
	var out []*Command
	err := c.DecodeFrame(frame, func(cmd *Command) error {
		out = append(out, cmd)
		return nil
	})
	return out, err
}

func TestSpecProtobufBytes(t *testing.T) {
	// Spec §15.5.
	connect := []byte{0x08, 0x08, 0x01, 0x22, 0x04, 0x22, 0x02, 0x6A, 0x73}
	cmds, err := decodeAll(Protobuf, connect)
	if err != nil {
		t.Fatal(err)
	}
	want := []*Command{{ID: 1, Connect: &ConnectRequest{Name: "js"}}}
	if !reflect.DeepEqual(cmds, want) {
		t.Errorf("connect frame decoded to %+v", cmds[0])
	}

	cmds, err = decodeAll(Protobuf, []byte{0x00})
	if err != nil || len(cmds) != 1 || !reflect.DeepEqual(cmds[0], &Command{}) {
		t.Errorf("pong frame: %v, %+v", err, cmds)
	}
	if got := Protobuf.AppendReply(nil, &Reply{}); !bytes.Equal(got, []byte{0}) {
		t.Errorf("server ping = % x, want 00", got)
	}
	if got := Protobuf.AppendPush(nil, &Push{}); !bytes.Equal(got, []byte{0}) {
		t.Errorf("empty push = % x, want 00", got)
	}
	// The reference encoder produces the same connect frame.
	ref, err := cf.NewProtobufCommandEncoder().Encode(&cf.Command{Id: 1,
		Connect: &cf.ConnectRequest{Name: "js"}})
	if err != nil || !bytes.Equal(ref, connect) {
		t.Errorf("reference connect frame = % x, %v", ref, err)
	}
}

func TestSpecJSONPingPong(t *testing.T) {
	if got := string(JSON.AppendReply(nil, &Reply{})); got != "{}" {
		t.Errorf("server ping = %s, want {}", got)
	}
	cmds, err := decodeAll(JSON, []byte("{}"))
	if err != nil || len(cmds) != 1 || !reflect.DeepEqual(cmds[0], &Command{}) {
		t.Errorf("pong: %v, %+v", err, cmds)
	}
}

func TestBinary(t *testing.T) {
	if JSON.Binary() || !Protobuf.Binary() {
		t.Errorf("Binary: JSON %v, Protobuf %v", JSON.Binary(), Protobuf.Binary())
	}
}

func TestAppendKeepsPrefix(t *testing.T) {
	for _, c := range []Codec{JSON, Protobuf} {
		for _, s := range sampleReplies() {
			alone := c.AppendReply(nil, s.r)
			prefixed := c.AppendReply([]byte("prefix"), s.r)
			if string(prefixed) != "prefix"+string(alone) {
				t.Errorf("%T %s: appending after a prefix changed the output",
					c, s.name)
			}
		}
	}
}

func TestDecodeFrameStopsOnCallbackError(t *testing.T) {
	stop := errors.New("stop")
	frames := map[Codec][]byte{
		JSON:     []byte("{\"id\":1}\n{\"id\":2}\n{\"id\":3}"),
		Protobuf: {2, 8, 1, 2, 8, 2, 2, 8, 3},
	}
	for c, frame := range frames {
		var ids []uint32
		err := c.DecodeFrame(frame, func(cmd *Command) error {
			ids = append(ids, cmd.ID)
			if cmd.ID == 2 {
				return stop
			}
			return nil
		})
		if err != stop || !reflect.DeepEqual(ids, []uint32{1, 2}) {
			t.Errorf("%T: err %v, ids %v", c, err, ids)
		}
	}
}

func TestMalformedPartialFrame(t *testing.T) {
	// Commands before the bad one are handed over in order, then the error.
	frames := map[Codec][]byte{
		JSON:     []byte("{\"id\":1}\n{\"id\":"),
		Protobuf: {2, 8, 1, 5, 8},
	}
	for c, frame := range frames {
		cmds, err := decodeAll(c, frame)
		if !errors.Is(err, ErrMalformed) || len(cmds) != 1 || cmds[0].ID != 1 {
			t.Errorf("%T: err %v, %d commands", c, err, len(cmds))
		}
	}
}

func TestCommandsDoNotAliasFrame(t *testing.T) {
	frames := map[Codec][]byte{
		JSON: []byte(`{"id":1,"publish":{"channel":"ch","data":{"a":"b"}}}`),
	}
	pb, _ := cf.NewProtobufCommandEncoder().Encode(&cf.Command{Id: 1,
		Publish: &cf.PublishRequest{Channel: "ch", Data: cf.Raw(`{"a":"b"}`)}})
	frames[Protobuf] = pb
	for c, frame := range frames {
		cmds, err := decodeAll(c, frame)
		if err != nil {
			t.Fatal(err)
		}
		for i := range frame {
			frame[i] = 'z'
		}
		p := cmds[0].Publish
		if p.Channel != "ch" || string(p.Data) != `{"a":"b"}` {
			t.Errorf("%T: command changed with the frame: %q %q", c, p.Channel, p.Data)
		}
	}
}
