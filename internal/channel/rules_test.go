package channel

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func testRules(t *testing.T) *Rules {
	t.Helper()
	c := DefaultConfig()
	c.WithoutNamespace = Options{Presence: true}
	c.Namespaces = []Namespace{
		{Name: "chat", Options: Options{JoinLeave: true}},
		{Name: "news.v2", Options: Options{ChannelRegex: `^[a-z]+$`}},
		{Name: "personal", Options: Options{Presence: true}},
	}
	r, err := NewRules(c)
	if err != nil {
		t.Fatalf("NewRules: %v", err)
	}
	return r
}

func TestOptionsNamespaces(t *testing.T) {
	r := testRules(t)
	tests := []struct {
		ch        string
		found     bool
		joinLeave bool
		presence  bool
	}{
		{"index", true, false, true},
		{"chat:index", true, true, false},
		{"$chat:secret", true, true, false},
		{"chat:a:b", true, true, false},
		{"$index", true, false, true},
		{"#42", true, false, true},
		{"unknown:x", false, false, false},
		{"$unknown:x", false, false, false},
		{":x", true, false, true},
		{"news.v2:top", true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.ch, func(t *testing.T) {
			o, ok := r.Options(tt.ch)
			if ok != tt.found {
				t.Fatalf("found = %v, want %v", ok, tt.found)
			}
			if !ok {
				return
			}
			if o.JoinLeave != tt.joinLeave || o.Presence != tt.presence {
				t.Errorf("got join_leave=%v presence=%v", o.JoinLeave, o.Presence)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	c := DefaultConfig()
	c.MaxLength = 10
	r, err := NewRules(c)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ch string
		ok bool
	}{
		{"a", true},
		{"chat:index", true},
		{"", false},
		{"0123456789a", false},
		{"caf\u00e9", false},
		{"tab\tok", true},
	}
	for _, tt := range tests {
		err := r.Validate(tt.ch)
		if (err == nil) != tt.ok {
			t.Errorf("Validate(%q) = %v, want ok=%v", tt.ch, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidChannel) {
			t.Errorf("Validate(%q) = %v, does not wrap ErrInvalidChannel", tt.ch, err)
		}
	}

	r0, err := NewRules(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r0.Validate(strings.Repeat("a", 255)); err != nil {
		t.Errorf("zero MaxLength should mean 255: %v", err)
	}
	if err := r0.Validate(strings.Repeat("a", 256)); err == nil {
		t.Error("256 bytes accepted with the default max length")
	}
}

func TestPrivateAndUserLimited(t *testing.T) {
	r := testRules(t)
	if !r.IsPrivate("$chat:x") || r.IsPrivate("chat:$x") {
		t.Error("IsPrivate wrong")
	}
	if !r.IsUserLimited("dialog#42,43") || r.IsUserLimited("dialog") {
		t.Error("IsUserLimited wrong")
	}
	tests := []struct {
		ch, user string
		want     bool
	}{
		{"dialog#42,43", "42", true},
		{"dialog#42,43", "43", true},
		{"dialog#42,43", "4", false},
		{"personal:user#42", "42", true},
		{"a#1#2", "2", true},
		{"a#1#2", "1", false},
		{"dialog#", "", false},
		{"dialog", "42", false},
		{"#demo-user", "demo-user", true},
	}
	for _, tt := range tests {
		if got := r.UserAllowed(tt.ch, tt.user); got != tt.want {
			t.Errorf("UserAllowed(%q, %q) = %v, want %v", tt.ch, tt.user, got, tt.want)
		}
	}
}

func TestCheckRegex(t *testing.T) {
	r := testRules(t)
	o, _ := r.Options("news.v2:top")
	tests := []struct {
		ch   string
		want bool
	}{
		{"news.v2:top", true},
		{"$news.v2:top", true},
		{"news.v2:Top", false},
		{"news.v2:a:b", false},
	}
	for _, tt := range tests {
		if got := r.CheckRegex(tt.ch, o); got != tt.want {
			t.Errorf("CheckRegex(%q) = %v, want %v", tt.ch, got, tt.want)
		}
	}
	top, _ := r.Options("x")
	if !r.CheckRegex("anything", top) {
		t.Error("options without regex must accept")
	}
	// Options that did not come through NewRules still work.
	raw := &Options{ChannelRegex: `^\d+$`}
	if !r.CheckRegex("12", raw) || r.CheckRegex("a", raw) {
		t.Error("uncompiled regex handled wrong")
	}
	if r.CheckRegex("12", &Options{ChannelRegex: "("}) {
		t.Error("bad regex must accept nothing")
	}
}

func TestPersonalChannel(t *testing.T) {
	r := testRules(t)
	if got := r.PersonalChannel("", "42"); got != "#42" {
		t.Errorf("got %q", got)
	}
	if got := r.PersonalChannel("personal", "42"); got != "personal:#42" {
		t.Errorf("got %q", got)
	}
	o, ok := r.Options(r.PersonalChannel("personal", "42"))
	if !ok || !o.Presence {
		t.Error("personal channel does not resolve to its namespace")
	}
	if !r.UserAllowed(r.PersonalChannel("personal", "42"), "42") {
		t.Error("personal channel does not allow its user")
	}
}

func TestNewRulesValidation(t *testing.T) {
	hist := Options{HistorySize: 10, HistoryTTL: 300 * time.Second}
	tests := []struct {
		name    string
		mutate  func(c *Config)
		wantErr string
	}{
		{"ok", func(c *Config) {}, ""},
		{"bad name", func(c *Config) {
			c.Namespaces = []Namespace{{Name: "a"}}
		}, "invalid namespace name"},
		{"bad chars", func(c *Config) {
			c.Namespaces = []Namespace{{Name: "a b"}}
		}, "invalid namespace name"},
		{"duplicate", func(c *Config) {
			c.Namespaces = []Namespace{{Name: "ab"}, {Name: "ab"}}
		}, "not unique"},
		{"size only", func(c *Config) {
			c.WithoutNamespace.HistorySize = 10
		}, "both history size and history ttl required for history"},
		{"ttl only", func(c *Config) {
			c.Namespaces = []Namespace{{Name: "ab", Options: Options{HistoryTTL: time.Second}}}
		}, "both history size and history ttl required for history"},
		{"recovery without history", func(c *Config) {
			c.WithoutNamespace.ForceRecovery = true
		}, "required for recovery"},
		{"recovery with history", func(c *Config) {
			o := hist
			o.ForceRecovery = true
			c.WithoutNamespace = o
		}, ""},
		{"fractional ttl", func(c *Config) {
			o := hist
			o.HistoryTTL = 1500 * time.Millisecond
			c.WithoutNamespace = o
		}, "whole seconds"},
		{"fractional meta ttl", func(c *Config) {
			c.WithoutNamespace.HistoryMetaTTL = time.Millisecond
		}, "whole seconds"},
		{"fractional global meta ttl", func(c *Config) {
			c.HistoryMetaTTL = time.Millisecond
		}, "whole seconds"},
		{"ttl above global meta ttl", func(c *Config) {
			o := hist
			o.HistoryTTL = 1000 * time.Hour
			c.WithoutNamespace = o
		}, "can not be greater"},
		{"ttl above own meta ttl", func(c *Config) {
			o := hist
			o.HistoryMetaTTL = 100 * time.Second
			c.Namespaces = []Namespace{{Name: "ab", Options: o}}
		}, "can not be greater"},
		{"no meta ttl limit", func(c *Config) {
			o := hist
			o.HistoryTTL = 10000 * time.Hour
			c.HistoryMetaTTL = 0
			c.WithoutNamespace = o
		}, ""},
		{"bad regex", func(c *Config) {
			c.WithoutNamespace.ChannelRegex = "("
		}, "invalid channel_regex"},
		{"bad recovery mode", func(c *Config) {
			c.WithoutNamespace.ForceRecoveryMode = "x"
		}, "force_recovery_mode"},
		{"bad data format", func(c *Config) {
			c.WithoutNamespace.PublicationDataFormat = "xml"
		}, "publication_data_format"},
		{"bad delta", func(c *Config) {
			c.WithoutNamespace.AllowedDeltaTypes = []string{"xdelta"}
		}, "delta type"},
		{"stream proxy combo", func(c *Config) {
			c.WithoutNamespace.SubscribeStreamProxyEnabled = true
			c.WithoutNamespace.PublishProxyEnabled = true
		}, "subscribe stream proxy"},
		{"negative max length", func(c *Config) { c.MaxLength = -1 }, "max_length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			_, err := NewRules(c)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("no error, want %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestHistoryEnabled(t *testing.T) {
	o := Options{HistorySize: 1}
	if o.HistoryEnabled() {
		t.Error("size alone enables history")
	}
	o.HistoryTTL = time.Second
	if !o.HistoryEnabled() {
		t.Error("size and ttl do not enable history")
	}
}

func TestEmptySyntax(t *testing.T) {
	// Empty separators switch the corresponding feature off.
	r, err := NewRules(Config{Namespaces: []Namespace{{Name: "ns"}}})
	if err != nil {
		t.Fatal(err)
	}
	if r.IsPrivate("$x") || r.IsUserLimited("a#1") || r.UserAllowed("a#1", "1") {
		t.Error("features should be off")
	}
	if _, ok := r.Options("ns:x"); !ok {
		t.Error("without boundary every channel is top-level")
	}
}

func TestRulesDoNotAliasConfig(t *testing.T) {
	c := DefaultConfig()
	c.Namespaces = []Namespace{{Name: "ab", Options: Options{Presence: true,
		AllowedDeltaTypes: []string{"fossil"}}}}
	r, err := NewRules(c)
	if err != nil {
		t.Fatal(err)
	}
	c.Namespaces[0].Presence = false
	c.Namespaces[0].AllowedDeltaTypes[0] = "x"
	o, _ := r.Options("ab:x")
	if !o.Presence || o.AllowedDeltaTypes[0] != "fossil" {
		t.Error("rules changed with the config they came from")
	}
}

func FuzzRules(f *testing.F) {
	for _, s := range []string{"", "chat:index", "$chat:a#1,2", "#", ":", "$", "a#",
		"news.v2:top", "\xff", "ns:#42", "$:#,"} {
		f.Add(s, "42")
	}
	c := DefaultConfig()
	c.Namespaces = []Namespace{
		{Name: "chat"},
		{Name: "news.v2", Options: Options{ChannelRegex: `^[a-z]+$`}},
	}
	r, err := NewRules(c)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ch, user string) {
		valid := r.Validate(ch) == nil
		o, ok := r.Options(ch)
		if ok {
			_ = r.CheckRegex(ch, o)
		}
		private := r.IsPrivate(ch)
		limited := r.IsUserLimited(ch)
		allowed := r.UserAllowed(ch, user)
		if allowed && !limited {
			t.Fatalf("user %q allowed in %q, which is not user-limited", user, ch)
		}
		if allowed && user == "" {
			t.Fatalf("anonymous user allowed in %q", ch)
		}
		if private && ch[0] != '$' {
			t.Fatalf("%q private without prefix", ch)
		}
		if valid && (ch == "" || len(ch) > 255) {
			t.Fatalf("%q valid", ch)
		}
		p := r.PersonalChannel("chat", user)
		if user != "" && !r.UserAllowed(p, user) && !strings.Contains(user, ",") &&
			!strings.Contains(user, "#") {
			t.Fatalf("personal channel %q does not allow %q", p, user)
		}
	})
}
