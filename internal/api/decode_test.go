package api

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestDecodeScalars(t *testing.T) {
	strs := map[string]string{
		`"abc"`: "abc", `null`: "", `"a\"b\\c\/d\n\t"`: "a\"b\\c/d\n\t",
		`"\u00e9\u20ac"`: "é€", `"\ud83d\ude00"`: "😀", `"\ud83d"`: "\ufffd",
		"\"\xff\"": "\ufffd",
	}
	for in, want := range strs {
		d := decoder{b: []byte(in)}
		if got, err := d.str(); err != nil || got != want {
			t.Errorf("str(%s) = %q, %v; want %q", in, got, err, want)
		}
	}

	ints := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{`0`, 0, false}, {`-1`, -1, false}, {`null`, 0, false},
		{`2147483647`, math.MaxInt32, false}, {`2147483648`, 0, true},
		{`-2147483648`, math.MinInt32, false}, {`-2147483649`, 0, true},
		{`1.0`, 0, true}, {`1e3`, 0, true}, {`"1"`, 0, true}, {`01`, 0, true},
	}
	for _, tt := range ints {
		d := decoder{b: []byte(tt.in)}
		got, err := d.int(math.MaxInt32)
		if (err != nil) != tt.wantErr || !tt.wantErr && got != tt.want {
			t.Errorf("int(%s) = %d, %v", tt.in, got, err)
		}
	}
	for in, wantErr := range map[string]bool{`-1`: true, `-0`: true, `0`: false,
		`18446744073709551615`: false, `18446744073709551616`: true} {
		d := decoder{b: []byte(in)}
		if _, err := d.uint(math.MaxUint64); (err != nil) != wantErr {
			t.Errorf("uint(%s): %v", in, err)
		}
	}
}

// TestDecodeErrorKinds checks that malformed JSON and values of the wrong
// type are told apart: the legacy route answers them differently.
func TestDecodeErrorKinds(t *testing.T) {
	tests := []struct {
		in     string
		syntax bool
	}{
		{`{"channel":1}`, false},
		{`{"channel":[1,{}]}`, false},
		{`{"channel":[1,}`, true},
		{`{"channel":"x","data":tru}`, true},
		{`{"tags":{"k":1}}`, false},
		{`{"tags":{"k":}}`, true},
		{`{"skip_history":"x"}`, false},
		{`{"channel":"x"`, true},
		{`[`, true},
		{`5`, false},
	}
	for _, tt := range tests {
		d := decoder{b: []byte(tt.in)}
		err := decodeRequest(&d, &publishRequest{})
		if err == nil {
			t.Errorf("%s: no error", tt.in)
			continue
		}
		if isSyntax(err) != tt.syntax {
			t.Errorf("%s: %v, want syntax=%v", tt.in, err, tt.syntax)
		}
	}
}

func TestDecodeKeys(t *testing.T) {
	in := `{"CHANNEL":"a","D\u0041TA":{"K":1},"tags":{"Key":"v","k\u00e9y":"w"},` +
		`"` + strings.Repeat("x", 100) + `":1,"idempotency_KEY":"i"}`
	d := decoder{b: []byte(in)}
	var r publishRequest
	if err := decodeRequest(&d, &r); err != nil {
		t.Fatal(err)
	}
	if r.channel != "a" || string(r.data) != `{"K":1}` || r.idempotencyKey != "i" ||
		r.tags["Key"] != "v" || r.tags["kéy"] != "w" || len(r.tags) != 2 {
		t.Fatalf("decoded %+v", r)
	}
}

func TestDecodeOverride(t *testing.T) {
	tests := []struct {
		in   string
		want string // presence join_leave push positioning recovery, "-" unset
	}{
		{`null`, "nil"},
		{`{}`, "nil"},
		{`{"presence":{"value":true}}`, "t----"},
		{`{"presence":{}}`, "f----"},
		{`{"presence":{"value":null}}`, "f----"},
		{`{"join_leave":false,"force_push_join_leave":true}`, "-ft--"},
		{`{"position":{"value":true},"recover":{"value":true}}`, "---tt"},
		{`{"position":{"value":true},"force_positioning":{"value":false}}`, "---f-"},
		{`{"force_recovery":{"value":false},"recover":true}`, "----f"},
	}
	for _, tt := range tests {
		d := decoder{b: []byte(tt.in)}
		o, err := d.override()
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		got := "nil"
		if o != nil {
			got = ""
			for _, p := range []*bool{o.Presence, o.JoinLeave, o.ForcePushJoinLeave,
				o.ForcePositioning, o.ForceRecovery} {
				switch {
				case p == nil:
					got += "-"
				case *p:
					got += "t"
				default:
					got += "f"
				}
			}
		}
		if got != tt.want {
			t.Errorf("%s: %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "abc", "a\"b\\c", "\x00\x1f\n\r\t", "é€😀",
		"\u2028\u2029", "<&>"} {
		got := appendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil || back != s {
			t.Errorf("appendString(%q) = %s, round trip %q, %v", s, got, back, err)
		}
	}
	if got := string(appendString(nil, "\xff")); got != `"\ufffd"` {
		t.Errorf("invalid UTF-8: %s", got)
	}
}
