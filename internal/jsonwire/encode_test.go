package jsonwire

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestAppendStringMatchesStdlib(t *testing.T) {
	// With both escapes on, the output is encoding/json's byte for byte.
	var all strings.Builder
	for r := rune(0); r < 0x3000; r++ {
		all.WriteRune(r)
	}
	for _, s := range []string{
		"", "plain", `"quoted" \back\slash/`, "<script>&amp;</script>",
		"\x00\x01\x07\b\t\n\v\f\r\x1f\x7f", "ü日本\U0001F600", "\u2028\u2029",
		"\xff", "a\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80", all.String(),
	} {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got := AppendString(nil, s, EscapeHTML|EscapeLineTerminators)
		if !bytes.Equal(got, want) {
			t.Errorf("%.40q:\n got %.80s\nwant %.80s", s, got, want)
		}
	}
}

func TestAppendStringEscapes(t *testing.T) {
	tests := []struct {
		name string
		in   string
		esc  Escape
		want string
	}{
		{"plain", "abc", 0, `"abc"`},
		{"quote and backslash", `a"b\c`, 0, `"a\"b\\c"`},
		{"short control forms", "\b\f\n\r\t", 0, `"\b\f\n\r\t"`},
		{"other controls", "\x00\x1f", 0, `"\u0000\u001f"`},
		{"DEL is plain", "\x7f", 0, "\"\x7f\""},
		{"HTML kept", "<&>", 0, `"<&>"`},
		{"HTML escaped", "<&>", EscapeHTML, `"\u003c\u0026\u003e"`},
		{"line terminators kept", "\u2028\u2029", 0, "\"\u2028\u2029\""},
		{"line terminators escaped", "a\u2028b\u2029", EscapeLineTerminators,
			`"a\u2028b\u2029"`},
		{"invalid UTF-8", "a\xffb\xc3", 0, `"a\ufffdb\ufffd"`},
		{"multibyte", "é€😀", EscapeHTML | EscapeLineTerminators, `"é€😀"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendString([]byte("x"), tt.in, tt.esc)); got != "x"+tt.want {
				t.Errorf("got %s, want x%s", got, tt.want)
			}
		})
	}
}

func TestAppendStringAllocations(t *testing.T) {
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendString(buf[:0], "a\"<\u2028\xff\n", EscapeHTML|EscapeLineTerminators)
	})
	if allocs != 0 {
		t.Errorf("%v allocations, want 0", allocs)
	}
}

func BenchmarkAppendString(b *testing.B) {
	buf := make([]byte, 0, 256)
	s := "user-42 published to news:sport \"live\" <3 ünïcödé"
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = AppendString(buf[:0], s, EscapeHTML|EscapeLineTerminators)
	}
}
