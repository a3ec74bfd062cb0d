package jsonwire

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzSkip feeds arbitrary bytes to the scanner: it must never panic, must
// agree with encoding/json on validity, and must stop inside the input.
// Every string it accepts must unquote as encoding/json unquotes it.
func FuzzSkip(f *testing.F) {
	for _, s := range []string{
		`{"a":[1,2.5e-3,true,null,"x\u00e9"]}`, `[`, `1 2`, `"\x"`, `"\ud83d\ude00"`,
		`{"k":{"k":[[{}]]}}`, "\"\xff\\u0041\"", `-0.0E-0`, `[1,]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", b, got, want)
		}
		for at := range min(len(b), 4) {
			end, err := Skip(b, at, 0)
			if end < at || end > len(b) {
				t.Fatalf("Skip(%q, %d) = %d, %v: outside the input", b, at, end, err)
			}
		}
		i := SkipSpace(b, 0)
		if i >= len(b) || b[i] != '"' {
			return
		}
		end, _, err := ScanString(b, i)
		if err != nil {
			return
		}
		var want string
		if err := json.Unmarshal(b[i:end+1], &want); err != nil {
			t.Fatalf("%q: ScanString accepted what encoding/json rejects: %v", b, err)
		}
		if got := AppendUnquoted(nil, b[i+1:end]); string(got) != want {
			t.Fatalf("%q: unquoted to %q, encoding/json says %q", b, got, want)
		}
	})
}

// FuzzAppendString checks that every string encodes to valid JSON that
// decodes to the string with invalid UTF-8 replaced, in every escape mode,
// and that with both escapes the output is encoding/json's.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"\\<>&\u2028\x00\x1f", "\xff\xc3", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for esc := range EscapeHTML | EscapeLineTerminators + 1 {
			got := AppendString(nil, s, esc)
			if !utf8.Valid(got) {
				t.Fatalf("%q, %d: invalid UTF-8 %q", s, esc, got)
			}
			var back string
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("%q, %d: %s: %v", s, esc, got, err)
			}
			if utf8.ValidString(s) && back != s {
				t.Fatalf("%q, %d: came back as %q", s, esc, back)
			}
		}
		want, _ := json.Marshal(s)
		got := AppendString(nil, s, EscapeHTML|EscapeLineTerminators)
		if !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}
