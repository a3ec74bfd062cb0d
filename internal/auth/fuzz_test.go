package auth

import (
	"context"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerifyConnectToken feeds arbitrary input both as a whole token and as
// the payload of a correctly signed token, so that claim decoding is
// reached and not only signature rejection.
func FuzzVerifyConnectToken(f *testing.F) {
	seeds := []jwt.MapClaims{
		{"sub": "u", "exp": future()},
		{"sub": "u", "info": map[string]any{"a": 1}, "b64info": "AAEC",
			"meta": map[string]any{}},
		{"channels": []string{"a", "b"}, "expire_at": 0},
		{"subs": map[string]any{"c": map[string]any{"b64data": "AQ==",
			"override": map[string]any{"presence": map[string]any{"value": true},
				"recover": true}}}},
		{"channel": "c", "client": "x", "aud": []string{"a"}, "iss": "i"},
	}
	for _, c := range seeds {
		tok := hs(f, c)
		f.Add([]byte(tok))
		payload, _ := jwt.NewParser().DecodeSegment(splitPayload(tok))
		f.Add(payload)
	}
	f.Add([]byte(`{"subs":{"a":{"override":{"presence":{"value":"x"}}}}}`))
	f.Add([]byte(`{"user":{"id":1}}`))
	f.Add([]byte("eyJhbGciOiJub25lIn0.e30."))

	v := newVerifier(f, Config{HMACSecretKey: testSecret, Audience: "a",
		IssuerRegex: "^i"})
	custom := newVerifier(f, Config{HMACSecretKey: testSecret, UserIDClaim: "user.id"})
	header := []byte(`{"alg":"HS256","typ":"JWT"}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		signed := signRaw(header, data, testSecret)
		for _, tok := range []string{string(data), signed} {
			for _, v := range []*Verifier{v, custom} {
				ct, err := v.VerifyConnectToken(ctx, tok)
				if err == nil && ct.Meta != nil && ct.Meta[0] != '{' {
					t.Fatalf("meta %q accepted", ct.Meta)
				}
				st, err := v.VerifySubscribeToken(ctx, tok)
				if err == nil && st.Channel == "" {
					t.Fatal("subscription token without channel accepted")
				}
			}
		}
	})
}

func splitPayload(tok string) string {
	start := 0
	for i := range len(tok) {
		if tok[i] == '.' {
			if start != 0 {
				return tok[start:i]
			}
			start = i + 1
		}
	}
	return ""
}
