package admin

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTokenLifetime(t *testing.T) {
	secret := []byte(testSecret)
	issued := time.Unix(1_700_000_000, 0)
	tok, err := issueToken(secret, issued)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		at   time.Time
		want error
	}{
		{"at issue", issued, nil},
		{"a second before expiry", issued.Add(TokenTTL - time.Second), nil},
		{"at expiry", issued.Add(TokenTTL), errTokenExpired},
		{"long after", issued.Add(365 * 24 * time.Hour), errTokenExpired},
	}
	for _, tt := range tests {
		if err := verifyToken(secret, tok, tt.at); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestTokenTampering(t *testing.T) {
	secret := []byte(testSecret)
	now := time.Unix(1_700_000_000, 0)
	tok, err := issueToken(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 4 {
		t.Fatalf("token %q: want 4 dot-separated parts", tok)
	}
	// flip changes one character of s to another of the base64url alphabet.
	flip := func(s string) string {
		c := byte('A')
		if s[0] == 'A' {
			c = 'B'
		}
		return string(c) + s[1:]
	}
	join := func(p ...string) string { return strings.Join(p, ".") }
	later := join(parts[0], "99999999999", parts[2])
	forged := later + "." + parts[3]

	tests := []struct {
		name, token string
		want        error
	}{
		{"expiry pushed back", forged, errTokenMAC},
		{"nonce changed", join(parts[0], parts[1], flip(parts[2]), parts[3]), errTokenMAC},
		{"signature changed", join(parts[0], parts[1], parts[2], flip(parts[3])), errTokenMAC},
		{"signature shortened", tok[:len(tok)-3], errTokenMAC},
		{"signature dropped", join(parts[0], parts[1], parts[2]), errTokenMAC},
		{"signature not base64", join(parts[0], parts[1], parts[2], "***"), errTokenFormat},
		{"no dot", "insecure", errTokenFormat},
		{"empty", "", errTokenFormat},
	}
	for _, tt := range tests {
		if err := verifyToken(secret, tt.token, now); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}

	if err := verifyToken([]byte("other"), tok, now); !errors.Is(err, errTokenMAC) {
		t.Errorf("other secret: %v, want %v", err, errTokenMAC)
	}
	if err := verifyToken(nil, tok, now); !errors.Is(err, errNoSecret) {
		t.Errorf("no secret: %v, want %v", err, errNoSecret)
	}
	if _, err := issueToken(nil, now); !errors.Is(err, errNoSecret) {
		t.Errorf("issue without secret: %v, want %v", err, errNoSecret)
	}
}

// A well-signed body of the wrong shape is still refused.
func TestTokenSignedGarbage(t *testing.T) {
	secret := []byte(testSecret)
	now := time.Unix(1_700_000_000, 0)
	for _, body := range []string{"h1.notanumber.x", "h2.99999999999.x", "h1.99999999999",
		"h1.9.x.y"} {
		tok := body + "." + b64.EncodeToString(tokenMAC(secret, body))
		if err := verifyToken(secret, tok, now); !errors.Is(err, errTokenFormat) {
			t.Errorf("%q: %v, want %v", body, err, errTokenFormat)
		}
	}
}

func TestTokensDiffer(t *testing.T) {
	now := time.Now()
	a, _ := issueToken([]byte(testSecret), now)
	b, _ := issueToken([]byte(testSecret), now)
	if a == b {
		t.Errorf("two logins got the same token %q", a)
	}
}

func FuzzVerifyToken(f *testing.F) {
	secret := []byte(testSecret)
	now := time.Unix(1_700_000_000, 0)
	// Fuzz workers build their own copy of tok: it must not be random.
	body := "h1.1702592000.AAAAAAAAAAAAAAAA"
	tok := body + "." + b64.EncodeToString(tokenMAC(secret, body))
	for _, s := range []string{tok, "", ".", "h1...", "insecure", tok + "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := verifyToken(secret, s, now)
		if err == nil && s != tok {
			t.Fatalf("%q verified but was never issued", s)
		}
	})
}
