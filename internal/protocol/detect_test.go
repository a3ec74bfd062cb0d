package protocol

import (
	"errors"
	"testing"

	cf "github.com/centrifugal/protocol"
	"google.golang.org/protobuf/encoding/protowire"
)

// detectCases are first frames with the version DetectVersion must find:
// VersionUnknown means an error. v2 frames come from the reference v2
// encoder, v1 frames from v1Frames and the legacy spec.
func detectCases(t testing.TB) []struct {
	name   string
	frame  []byte
	binary bool
	want   Version
} {
	t.Helper()
	type tc = struct {
		name   string
		frame  []byte
		binary bool
		want   Version
	}
	var out []tc
	add := func(name string, frame []byte, binary bool, want Version) {
		out = append(out, tc{name, frame, binary, want})
	}

	jsonEnc, pbEnc := cf.NewJSONCommandEncoder(), cf.NewProtobufCommandEncoder()
	v2 := func(name string, c *cf.Command, want Version) {
		j, err := jsonEnc.Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		p, err := pbEnc.Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		add("v2 json "+name, j, false, want)
		add("v2 protobuf "+name, p, true, want)
	}
	v2("connect", &cf.Command{Id: 1, Connect: &cf.ConnectRequest{Name: "js"}}, Version2)
	v2("connect with token and subs", &cf.Command{Id: 1, Connect: &cf.ConnectRequest{
		Token: "t", Subs: map[string]*cf.SubscribeRequest{"a": {Recover: true}}}},
		Version2)
	v2("empty connect", &cf.Command{Id: 1, Connect: &cf.ConnectRequest{}}, Version2)
	// A v2 client must connect first; anything else is a bad request.
	v2("subscribe first", &cf.Command{Id: 1, Subscribe: &cf.SubscribeRequest{
		Channel: "news"}}, VersionUnknown)
	v2("pong first", &cf.Command{}, VersionUnknown)
	v2("send first", &cf.Command{Send: &cf.SendRequest{Data: cf.Raw(`1`)}},
		VersionUnknown)

	for _, c := range sampleCommands() {
		line, frame, ok := v1Frames(t, c)
		if !ok {
			continue
		}
		// Every v1 command has method or params, except a connect with
		// empty params, which has only its id.
		add("v1 json "+string(line), line, false, Version1)
		add("v1 protobuf "+string(line), frame, true, Version1)
	}
	for _, s := range []string{
		`{"params":{"name":"js"},"id":1}`,
		`{"id":1}`,
		`{"id":1,"params":{"name":"js"}}`,
		`{"method":1,"params":{"channel":"news"},"id":2}`,
		"{\"params\":{\"name\":\"js\"},\"id\":1}\n{\"method\":1,\"id\":2}",
		"{\"id\":1}\ngarbage",
		` { "params" : {} , "id" : 1 } `,
	} {
		add("v1 json "+s, []byte(s), false, Version1)
	}
	add("v1 protobuf id only", pbtFrame(pbtVarint(1, 1)), true, Version1)
	add("v1 protobuf 2.8.3 connect",
		[]byte{0x08, 0x08, 0x01, 0x1a, 0x04, 0x22, 0x02, 0x6a, 0x73}, true, Version1)

	for _, s := range []string{
		"", "\n", "{}", "[]", "null", "x", `{"id":1,"seq":1}`, `{"id":1`,
		`{"connect":{}`, `{"id":1} x`, `{"ping":{},"id":1}`, "\n{\"id\":1}",
		`{"Connect":{},"id":1}`, `{"id":1,"connect":}`,
	} {
		add("garbage json "+s, []byte(s), false, VersionUnknown)
	}
	for name, b := range map[string][]byte{
		"nil":               nil,
		"pong":              {0},
		"bad prefix":        {0x80},
		"length past end":   {5, 8, 1},
		"truncated field":   {2, 8, 0x80},
		"unknown field":     pbtFrame(pbtVarint(1, 1), pbtVarint(20, 1)),
		"connect as varint": pbtFrame(pbtVarint(1, 1), pbtVarint(4, 1)),
		"method as bytes":   pbtFrame(pbtVarint(1, 1), pbtBytes(2)),
		"json sent binary":  []byte(`{"id":1}`),
	} {
		add("garbage protobuf "+name, b, true, VersionUnknown)
	}
	return out
}

func TestDetectVersion(t *testing.T) {
	for _, tt := range detectCases(t) {
		got, err := DetectVersion(tt.frame, tt.binary)
		switch {
		case tt.want == VersionUnknown && !errors.Is(err, ErrMalformed):
			t.Errorf("%s: got %v, %v; want ErrMalformed", tt.name, got, err)
		case tt.want == VersionUnknown && got != VersionUnknown:
			t.Errorf("%s: version %v with error %v", tt.name, got, err)
		case tt.want != VersionUnknown && (err != nil || got != tt.want):
			t.Errorf("%s: got %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

// TestDetectThenDecode checks that a frame detected as one version decodes
// with that version's codec to a connect command.
func TestDetectThenDecode(t *testing.T) {
	codecs := map[Version][2]Codec{
		Version1: {LegacyJSON, LegacyProtobuf},
		Version2: {JSON, Protobuf},
	}
	for _, tt := range detectCases(t) {
		v, err := DetectVersion(tt.frame, tt.binary)
		if err != nil {
			continue
		}
		c := codecs[v][0]
		if tt.binary {
			c = codecs[v][1]
		}
		var first *Command
		_ = c.DecodeFrame(tt.frame, func(cmd *Command) error {
			if first == nil {
				first = cmd
			}
			return nil
		})
		if first == nil && v == Version2 {
			t.Errorf("%s: %v codec decoded nothing", tt.name, v)
		}
		if first != nil && first.Connect == nil && v == Version2 {
			t.Errorf("%s: first command is not a connect: %+v", tt.name, first)
		}
	}
}

func FuzzDetectVersion(f *testing.F) {
	for _, tt := range detectCases(f) {
		f.Add(tt.frame, tt.binary)
	}
	f.Fuzz(func(t *testing.T, frame []byte, binary bool) {
		v, err := DetectVersion(frame, binary)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || v != VersionUnknown {
				t.Fatalf("%v, %v", v, err)
			}
			return
		}
		if v != Version1 && v != Version2 {
			t.Fatalf("version %v without an error", v)
		}
		// A v1 first command that the v1 codec accepts is a connect: the
		// connect method is 0, written by leaving method out.
		if v != Version1 {
			return
		}
		c := LegacyJSON
		if binary {
			c = LegacyProtobuf
		}
		var first *Command
		_ = c.DecodeFrame(frame, func(cmd *Command) error {
			if first == nil {
				first = cmd
			}
			return errors.New("stop")
		})
		if first != nil && first.Connect == nil && !hasMethod(frame, binary) {
			t.Fatalf("v1 command without method decoded to %+v", first)
		}
	})
}

// hasMethod reports whether the first command of a frame that
// DetectVersion accepted carries a method.
func hasMethod(frame []byte, binary bool) bool {
	found := false
	if binary {
		size, n := protowire.ConsumeVarint(frame)
		_ = pbEach(frame[n:n+int(size)], func(f pbField) error {
			found = found || f.num == 2
			return nil
		})
		return found
	}
	line := frame
	for i, c := range frame {
		if c == '\n' {
			line = frame[:i]
			break
		}
	}
	d := jsonDecoder{b: line}
	_ = d.line(func(key []byte) error {
		found = found || string(key) == "method"
		return d.skip()
	})
	return found
}
