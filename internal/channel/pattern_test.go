package channel

import (
	"path"
	"strings"
	"testing"
	"time"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "", true},
		{"*", "anything:at#all", true},
		{"news", "news", true},
		{"news", "news1", false},
		{"chat:*", "chat:room", true},
		{"chat:*", "chat:", true},
		{"chat:*", "chatroom", false},
		{"*:room", "chat:room", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "abcabc", true},
		{"a*b*c", "acb", false},
		{"a**b", "aXXb", true},
		{"?", "x", true},
		{"?", "", false},
		{"?", "é", true},
		{"??", "é", false},
		{"[abc]x", "bx", true},
		{"[abc]x", "dx", false},
		{"[!abc]x", "dx", true},
		{"[!abc]x", "ax", false},
		{"[a-c0-9]", "7", true},
		{"[a-c0-9]", "d", false},
		{"[a-]", "-", true},
		{"{news,chat}:*", "chat:x", true},
		{"{news,chat}:*", "feed:x", false},
		{"{a,b{c,d}}e", "bde", true},
		{"{a,b{c,d}}e", "be", false},
		{"{a*,?b}", "zb", true},
		{"x{,y}", "x", true},
		{`\*`, "*", true},
		{`\*`, "a", false},
		{`a\{b`, "a{b", true},
		{"a,b", "a,b", true},
		{"a}b", "a}b", true},
		{"$user:#42", "$user:#42", true},
	}
	for _, tt := range tests {
		g, err := CompilePattern(tt.pattern)
		if err != nil {
			t.Errorf("compile %q: %v", tt.pattern, err)
			continue
		}
		if got := g.Match(tt.name); got != tt.want {
			t.Errorf("%q matches %q: %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestGlobErrors(t *testing.T) {
	for _, p := range []string{"[", "[]", "[a", "[z-a]", "{", "{a,b", `\`, "a{b{c}",
		strings.Repeat("{a,b}", 9)} {
		if _, err := CompilePattern(p); err == nil {
			t.Errorf("compile %q: no error", p)
		}
	}
	if _, err := CompilePattern(strings.Repeat("{a,b}", 8)); err != nil {
		t.Errorf("256 alternatives: %v", err)
	}
}

// TestGlobAgreesWithPath checks brace-free patterns against path.Match,
// which has the same semantics for names without '/'.
func TestGlobAgreesWithPath(t *testing.T) {
	patterns := []string{"*", "a*", "*a", "a?c", "[ab]*", "[!a]?", "*b*", "a*b*a"}
	names := []string{"", "a", "b", "ab", "abc", "aba", "bab", "ca", "xyz"}
	for _, p := range patterns {
		g, err := CompilePattern(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			want, _ := path.Match(strings.ReplaceAll(p, "[!", "[^"), n)
			if got := g.Match(n); got != want {
				t.Errorf("%q vs %q: %v, path.Match %v", p, n, got, want)
			}
		}
	}
}

// TestGlobLinear checks that a pattern built to make naive backtracking
// exponential is matched quickly.
func TestGlobLinear(t *testing.T) {
	g, err := CompilePattern(strings.Repeat("a*", 30) + "b")
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Repeat("a", 250)
	start := time.Now()
	if g.Match(name) {
		t.Fatal("matched")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %v", d)
	}
}
