package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
	"unicode/utf8"

	cf "github.com/centrifugal/protocol"
)

// jsonSeeds are frames for FuzzJSONDecodeFrame to start from: every sample
// command, spec examples, and near misses.
func jsonSeeds(f *testing.F) {
	enc := cf.NewJSONCommandEncoder()
	var all [][]byte
	for _, c := range sampleCommands() {
		b, err := enc.Encode(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		all = append(all, b)
	}
	f.Add(bytes.Join(all, []byte{'\n'}))
	for _, s := range []string{
		"", "\n", "{}", "{}\n", "{}\n\n", "{}\n{}", "[]", "null", `{"id":1.0}`,
		`{"connect":{"token":"eyJhbGciOi...","name":"js"},"id":1}` + "\n" +
			`{"subscribe":{"channel":"news","flag":1},"id":2}`,
		`{"publish":{"channel":"\ud83d\ude00\ud800","data":{"a":[1,-2.5e-3,"\u0000"]}}}`,
		`{"send":{"data":[[[[{"a":{"b":[]}}]]]]}}`,
		`{"subscribe":{"tf":{"op":"or","nodes":[{"key":"k","cmp":"in","vals":["a"]}]}}}`,
		`{"connect":{"subs":{"a":null,"b":{"recover":true}},"headers":{"h":"v"}}}`,
	} {
		f.Add([]byte(s))
	}
}

func FuzzJSONDecodeFrame(f *testing.F) {
	jsonSeeds(f)
	f.Fuzz(func(t *testing.T, frame []byte) {
		cmds, err := decodeAll(JSON, frame)
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
		for _, line := range lines {
			if !json.Valid(line) {
				t.Fatalf("accepted invalid JSON %q", line)
			}
		}
		for _, c := range cmds {
			checkJSONCommand(t, c)
		}
		// Where the reference decoder accepts the frame too, both agree.
		ref, err := cfDecodeJSONCommands(frame)
		if err != nil {
			return
		}
		want := make([]*Command, len(ref))
		for i, c := range ref {
			want[i] = fromCFCommand(c)
		}
		if !reflect.DeepEqual(cmds, want) {
			t.Fatalf("frame %q\n got %+v\nwant %+v", frame, cmds, want)
		}
	})
}

// checkJSONCommand checks what a decoded command promises: raw fields are
// valid JSON and strings are valid UTF-8.
func checkJSONCommand(t *testing.T, c *Command) {
	t.Helper()
	var raws []Raw
	var strs []string
	if r := c.Connect; r != nil {
		raws = append(raws, r.Data)
		strs = append(strs, r.Token, r.Name, r.Version)
		for k, v := range r.Subs {
			if v == nil {
				t.Fatalf("nil subs entry %q", k)
			}
			raws = append(raws, v.Data)
			strs = append(strs, k, v.Channel)
		}
		for k, v := range r.Headers {
			strs = append(strs, k, v)
		}
	}
	if r := c.Subscribe; r != nil {
		raws = append(raws, r.Data)
		strs = append(strs, r.Channel, r.Token, r.Epoch, r.Delta)
	}
	if r := c.Publish; r != nil {
		raws = append(raws, r.Data)
		strs = append(strs, r.Channel)
	}
	if r := c.RPC; r != nil {
		raws = append(raws, r.Data)
		strs = append(strs, r.Method)
	}
	if r := c.Send; r != nil {
		raws = append(raws, r.Data)
	}
	for _, r := range raws {
		if r != nil && !json.Valid(r) {
			t.Fatalf("raw field is not valid JSON: %q", r)
		}
	}
	for _, s := range strs {
		if !utf8.ValidString(s) {
			t.Fatalf("string field is not valid UTF-8: %q", s)
		}
	}
}

// cfDecodeJSONCommands decodes a frame with the reference JSON decoder.
func cfDecodeJSONCommands(frame []byte) ([]*cf.Command, error) {
	dec := cf.NewJSONCommandDecoder(frame)
	var out []*cf.Command
	for {
		c, err := dec.Decode()
		if c != nil {
			out = append(out, c)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func FuzzProtobufDecodeFrame(f *testing.F) {
	enc := cf.NewProtobufCommandEncoder()
	var all []byte
	for _, c := range sampleCommands() {
		b, err := enc.Encode(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		all = append(all, b...)
	}
	f.Add(all)
	for _, s := range [][]byte{
		nil, {0}, {0, 0}, {0x08, 0x08, 0x01, 0x22, 0x04, 0x22, 0x02, 0x6A, 0x73},
		{0x80}, {5, 8, 1}, {1, 0x0b}, {3, 0x5b, 0x08, 0x01},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		cmds, err := decodeAll(Protobuf, frame)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		for _, c := range cmds {
			if c.Connect != nil {
				for k, v := range c.Connect.Subs {
					if v == nil {
						t.Fatalf("nil subs entry %q", k)
					}
				}
			}
		}
		ref, err := cfDecodeCommands(frame)
		if err != nil {
			return
		}
		want := make([]*Command, len(ref))
		for i, c := range ref {
			want[i] = fromCFCommand(c)
		}
		if !reflect.DeepEqual(cmds, want) {
			t.Fatalf("frame % x\n got %+v\nwant %+v", frame, cmds, want)
		}
	})
}

func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"\\<>&\u2028\x00\x1f", "\xff\xc3", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}
