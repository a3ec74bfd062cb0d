package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func FuzzLegacyJSONDecodeFrame(f *testing.F) {
	var all [][]byte
	for _, c := range sampleCommands() {
		if line, _, ok := v1Frames(f, c); ok {
			f.Add(line)
			all = append(all, line)
		}
	}
	f.Add(bytes.Join(all, []byte{'\n'}))
	for _, s := range []string{
		"", "\n", "{}", `{"id":1}`, `{"method":7}`, `{"method":7,"id":2}` + "\n",
		`{"params":{"name":"js"},"id":1}`,
		`{"params":{"name":"js","subs":{"#demo-user":{"recover":true,"offset":5,` +
			`"epoch":"abc","seq":1,"gen":2}}},"id":1}`,
		`{"params":{"channel":"c"},"method":1,"id":2,"method":3}`,
		`{"method":1,"params":{"channel":"c"},"params":null,"id":2}`,
		`{"method":6,"params":{"channel":"c","since":{"offset":1,"epoch":"e"},` +
			`"limit":10,"reverse":true},"id":8}`,
		`{"method":8,"params":{"data":[[[[{"a":{"b":[]}}]]]]}}`,
		`{"method":99,"id":1}`, `{"method":-1,"id":1}`, `{"params":[],"id":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		cmds, err := decodeAll(LegacyJSON, frame)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		lines := bytes.Split(bytes.TrimSuffix(frame, []byte{'\n'}), []byte{'\n'})
		if len(lines) != len(cmds) {
			t.Fatalf("%d lines, %d commands", len(lines), len(cmds))
		}
		for i, line := range lines {
			checkJSONCommand(t, cmds[i])
			checkLegacyCommand(t, cmds[i])
			checkLegacyJSONEnvelope(t, line, cmds[i])
		}
	})
}

// checkLegacyJSONEnvelope compares the id and method of a decoded command
// with what encoding/json reads from its line, where the last of repeated
// keys wins too.
func checkLegacyJSONEnvelope(t *testing.T, line []byte, c *Command) {
	t.Helper()
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(line, &keys); err != nil {
		t.Fatalf("accepted %q, which encoding/json rejects: %v", line, err)
	}
	var id uint32
	var method int32
	if err := json.Unmarshal(keys["id"], &id); keys["id"] != nil && err != nil {
		t.Fatalf("id in %q: %v", line, err)
	}
	if err := json.Unmarshal(keys["method"], &method); keys["method"] != nil &&
		err != nil {
		t.Fatalf("method in %q: %v", line, err)
	}
	if c.ID != id || requestMethod(c) != int(method) {
		t.Fatalf("%q decoded to id %d, method %d", line, c.ID, requestMethod(c))
	}
}

// requestMethod returns the v1 method of the request that c holds.
func requestMethod(c *Command) int {
	for m, set := range []bool{c.Connect != nil, c.Subscribe != nil,
		c.Unsubscribe != nil, c.Publish != nil, c.Presence != nil,
		c.PresenceStats != nil, c.History != nil, c.Ping != nil, c.Send != nil,
		c.RPC != nil, c.Refresh != nil, c.SubRefresh != nil} {
		if set {
			return m
		}
	}
	return -1
}

func FuzzLegacyProtobufDecodeFrame(f *testing.F) {
	var all []byte
	for _, c := range sampleCommands() {
		if _, frame, ok := v1Frames(f, c); ok {
			f.Add(frame)
			all = append(all, frame...)
		}
	}
	f.Add(all)
	for _, s := range [][]byte{
		nil, {0}, {0x08, 0x08, 0x01, 0x1a, 0x04, 0x22, 0x02, 0x6a, 0x73},
		{0x04, 0x08, 0x09, 0x10, 0x07}, {0x80}, {5, 8, 1}, {1, 0x0b},
		{4, 0x10, 0x08, 0x1a, 0}, {3, 0x08, 0x01, 0x1a},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		cmds, err := decodeAll(LegacyProtobuf, frame)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		// The v2 codec, given the same requests in v2 form, agrees.
		want, err := decodeAll(Protobuf, v2FrameFromV1(t, frame))
		if err != nil || len(want) != len(cmds) {
			t.Fatalf("v2 form of % x: %v, %d commands", frame, err, len(want))
		}
		for i, c := range cmds {
			checkLegacyCommand(t, c)
			if !reflect.DeepEqual(c, v1Command(want[i])) {
				t.Fatalf("frame % x\n got %+v\nwant %+v", frame, c, want[i])
			}
		}
	})
}

// v2FrameFromV1 rewrites a well-formed v1 frame in v2 form: the last params
// becomes request field 4+method, present even when empty.
func v2FrameFromV1(t *testing.T, frame []byte) []byte {
	t.Helper()
	var out []byte
	for len(frame) > 0 {
		size, n := protowire.ConsumeVarint(frame)
		msg := frame[n : n+int(size)]
		frame = frame[n+int(size):]
		var id, method uint64
		var params []byte
		err := pbEach(msg, func(f pbField) error {
			switch {
			case f.is(1, protowire.VarintType):
				id = f.v
			case f.is(2, protowire.VarintType):
				method = uint64(uint32(int32(f.v)))
			case f.is(3, protowire.BytesType):
				params = f.b
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		v2 := pbUint(nil, 1, uint64(uint32(id)))
		v2 = protowire.AppendTag(v2, protowire.Number(4+method), protowire.BytesType)
		v2 = protowire.AppendBytes(v2, params)
		out = protowire.AppendBytes(out, v2)
	}
	return out
}
