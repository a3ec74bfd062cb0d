package auth

import (
	"context"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestStaticAlgorithms(t *testing.T) {
	rk := rsaKey(t)
	ec256, ec384, ec521 := ecKey(t, elliptic.P256()), ecKey(t, elliptic.P384()),
		ecKey(t, elliptic.P521())
	rsaCfg := Config{RSAPublicKey: pemPublic(t, &rk.PublicKey)}
	hmacCfg := Config{HMACSecretKey: testSecret}

	tests := []struct {
		name   string
		cfg    Config
		method jwt.SigningMethod
		key    any
	}{
		{"HS256", hmacCfg, jwt.SigningMethodHS256, []byte(testSecret)},
		{"HS384", hmacCfg, jwt.SigningMethodHS384, []byte(testSecret)},
		{"HS512", hmacCfg, jwt.SigningMethodHS512, []byte(testSecret)},
		{"RS256", rsaCfg, jwt.SigningMethodRS256, rk},
		{"RS384", rsaCfg, jwt.SigningMethodRS384, rk},
		{"RS512", rsaCfg, jwt.SigningMethodRS512, rk},
		{"ES256", Config{ECDSAPublicKey: pemPublic(t, &ec256.PublicKey)},
			jwt.SigningMethodES256, ec256},
		{"ES384", Config{ECDSAPublicKey: pemPublic(t, &ec384.PublicKey)},
			jwt.SigningMethodES384, ec384},
		{"ES512", Config{ECDSAPublicKey: pemPublic(t, &ec521.PublicKey)},
			jwt.SigningMethodES512, ec521},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, tt.cfg)
			claims := jwt.MapClaims{"sub": "42", "exp": future()}
			ct, err := v.VerifyConnectToken(t.Context(), sign(t, tt.method, tt.key, claims, ""))
			if err != nil || ct.UserID != "42" {
				t.Fatalf("connect: got %+v, %v", ct, err)
			}
			claims["channel"] = "$private"
			st, err := v.VerifySubscribeToken(t.Context(), sign(t, tt.method, tt.key, claims, ""))
			if err != nil || st.Channel != "$private" || st.UserID != "42" {
				t.Fatalf("subscribe: got %+v, %v", st, err)
			}
		})
	}
}

func TestConnectTokenRejected(t *testing.T) {
	rk := rsaKey(t)
	rsaPEM := pemPublic(t, &rk.PublicKey)
	ec := ecKey(t, elliptic.P256())
	ecPEM := pemPublic(t, &ec.PublicKey)
	all := Config{HMACSecretKey: testSecret, RSAPublicKey: rsaPEM, ECDSAPublicKey: ecPEM}
	ok := jwt.MapClaims{"sub": "1", "exp": future()}

	noneToken := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, ok, "")
	valid := hs(t, ok)
	tamperedPayload := func() string {
		parts := strings.Split(valid, ".")
		parts[1] = b64u([]byte(`{"sub":"admin"}`))
		return strings.Join(parts, ".")
	}()
	ec384 := ecKey(t, elliptic.P384())

	tests := []struct {
		name  string
		cfg   Config
		token string
		want  error
	}{
		{"expired", all, hs(t, jwt.MapClaims{"sub": "1", "exp": past()}), ErrTokenExpired},
		{"exp is now", all, hs(t, jwt.MapClaims{"exp": time.Now().Unix() - 1}),
			ErrTokenExpired},
		{"nbf in future", all, hs(t, jwt.MapClaims{"nbf": future()}), ErrTokenExpired},
		{"bad signature", all, sign(t, jwt.SigningMethodHS256, []byte("other"), ok, ""),
			ErrInvalidToken},
		{"tampered payload", all, tamperedPayload, ErrInvalidToken},
		{"expired with bad signature", all,
			sign(t, jwt.SigningMethodHS256, []byte("x"), jwt.MapClaims{"exp": past()}, ""),
			ErrInvalidToken},
		{"empty", all, "", ErrInvalidToken},
		{"two segments", all, "a.b", ErrInvalidToken},
		{"four segments", all, valid + ".x", ErrInvalidToken},
		{"garbage", all, "!!!.???.***", ErrInvalidToken},
		{"header not JSON", all, b64u([]byte("nope")) + ".e30.", ErrInvalidToken},
		{"payload not object", all, signRaw([]byte(`{"alg":"HS256"}`), []byte(`[1]`),
			testSecret), ErrInvalidToken},
		{"alg none", all, noneToken, ErrInvalidToken},
		{"alg none unsigned", all, b64u([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
			b64u([]byte(`{"sub":"1"}`)) + ".", ErrInvalidToken},
		{"alg missing", all, signRaw([]byte(`{"typ":"JWT"}`), []byte(`{}`), testSecret),
			ErrInvalidToken},
		{"alg not configured", Config{HMACSecretKey: testSecret},
			sign(t, jwt.SigningMethodRS256, rk, ok, ""), ErrInvalidToken},
		{"PS256 never accepted", all, sign(t, jwt.SigningMethodPS256, rk, ok, ""),
			ErrInvalidToken},
		{"ES384 with a P-256 key configured", all,
			sign(t, jwt.SigningMethodES384, ec384, ok, ""), ErrInvalidToken},
		// The classic confusion attack: the RSA public key is public, so an
		// attacker can HMAC-sign with its PEM bytes.
		{"HS256 keyed with the RSA public key", Config{RSAPublicKey: rsaPEM},
			sign(t, jwt.SigningMethodHS256, []byte(rsaPEM), ok, ""), ErrInvalidToken},
		{"HS256 keyed with the RSA public key, HMAC on", all,
			sign(t, jwt.SigningMethodHS256, []byte(rsaPEM), ok, ""), ErrInvalidToken},
		{"HS256 keyed with the ECDSA public key", Config{ECDSAPublicKey: ecPEM},
			sign(t, jwt.SigningMethodHS256, []byte(ecPEM), ok, ""), ErrInvalidToken},
		{"no keys configured", Config{}, valid, ErrInvalidToken},
		{"channel claim", all, hs(t, jwt.MapClaims{"sub": "1", "channel": "news"}),
			ErrInvalidToken},
		{"channel claim beats expiry", all,
			hs(t, jwt.MapClaims{"channel": "news", "exp": past()}), ErrInvalidToken},
		{"sub not a string", all, hs(t, jwt.MapClaims{"sub": 1}), ErrInvalidToken},
		{"exp not a number", all, hs(t, jwt.MapClaims{"exp": "soon"}), ErrInvalidToken},
		{"expire_at not an integer", all, hs(t, jwt.MapClaims{"expire_at": "x"}),
			ErrInvalidToken},
		{"channels not a list", all, hs(t, jwt.MapClaims{"channels": "news"}),
			ErrInvalidToken},
		{"subs not an object", all, hs(t, jwt.MapClaims{"subs": []string{"a"}}),
			ErrInvalidToken},
		{"b64info not base64", all, hs(t, jwt.MapClaims{"b64info": "%%%"}),
			ErrInvalidToken},
		{"sub b64data not base64", all,
			hs(t, jwt.MapClaims{"subs": map[string]any{"a": map[string]any{"b64data": "%"}}}),
			ErrInvalidToken},
		{"override not bool", all, hs(t, jwt.MapClaims{"subs": map[string]any{
			"a": map[string]any{"override": map[string]any{"presence": "yes"}}}}),
			ErrInvalidToken},
		{"meta not an object", all, hs(t, jwt.MapClaims{"meta": "x"}), ErrInvalidToken},
		{"aud not strings", all, hs(t, jwt.MapClaims{"aud": 5}), ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, tt.cfg)
			_, err := v.VerifyConnectToken(t.Context(), tt.token)
			assertErr(t, err, tt.want)
		})
	}
}

// assertErr checks that err is want and not the other sentinel, so that
// expired and invalid stay distinguishable.
func assertErr(t *testing.T, err, want error) {
	t.Helper()
	other := ErrInvalidToken
	if want == ErrInvalidToken {
		other = ErrTokenExpired
	}
	if !errors.Is(err, want) || errors.Is(err, other) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

func TestAudienceIssuer(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		claims jwt.MapClaims
		want   error
	}{
		{"aud string match", Config{Audience: "herald"},
			jwt.MapClaims{"aud": "herald"}, nil},
		{"aud list contains", Config{Audience: "herald"},
			jwt.MapClaims{"aud": []string{"web", "herald"}}, nil},
		{"aud mismatch", Config{Audience: "herald"},
			jwt.MapClaims{"aud": "other"}, ErrInvalidToken},
		{"aud missing", Config{Audience: "herald"}, jwt.MapClaims{}, ErrInvalidToken},
		{"aud not required", Config{}, jwt.MapClaims{"aud": "anything"}, nil},
		{"iss match", Config{Issuer: "https://auth.example"},
			jwt.MapClaims{"iss": "https://auth.example"}, nil},
		{"iss mismatch", Config{Issuer: "https://auth.example"},
			jwt.MapClaims{"iss": "https://evil.example"}, ErrInvalidToken},
		{"iss missing", Config{Issuer: "a"}, jwt.MapClaims{}, ErrInvalidToken},
		{"aud regex match", Config{AudienceRegex: `^app-\d+$`},
			jwt.MapClaims{"aud": []string{"x", "app-7"}}, nil},
		{"aud regex mismatch", Config{AudienceRegex: `^app-\d+$`},
			jwt.MapClaims{"aud": "app-x"}, ErrInvalidToken},
		{"iss regex match", Config{IssuerRegex: `^https://[a-z]+\.example$`},
			jwt.MapClaims{"iss": "https://tenant.example"}, nil},
		{"iss regex mismatch", Config{IssuerRegex: `^https://[a-z]+\.example$`},
			jwt.MapClaims{"iss": "https://tenant.example.evil"}, ErrInvalidToken},
		{"both match", Config{Audience: "a", Issuer: "i"},
			jwt.MapClaims{"aud": "a", "iss": "i"}, nil},
		// A token for the wrong audience is invalid even when it is also
		// expired: a fresh token would not help.
		{"aud mismatch and expired", Config{Audience: "herald"},
			jwt.MapClaims{"aud": "other", "exp": past()}, ErrInvalidToken},
		{"aud match and expired", Config{Audience: "herald"},
			jwt.MapClaims{"aud": "herald", "exp": past()}, ErrTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.HMACSecretKey = testSecret
			v := newVerifier(t, tt.cfg)
			_, err := v.VerifyConnectToken(t.Context(), hs(t, tt.claims))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("connect: %v", err)
				}
			} else {
				assertErr(t, err, tt.want)
			}
			// Subscription tokens get the same checks.
			tt.claims["channel"] = "ch"
			_, err = v.VerifySubscribeToken(t.Context(), hs(t, tt.claims))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("subscribe: %v", err)
				}
			} else {
				assertErr(t, err, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestConnectTokenClaims(t *testing.T) {
	exp := future()
	tests := []struct {
		name   string
		claims jwt.MapClaims
		want   ConnectToken
	}{
		{"minimal", jwt.MapClaims{"sub": "u"}, ConnectToken{UserID: "u"}},
		{"anonymous", jwt.MapClaims{}, ConnectToken{}},
		{"exp is expiry", jwt.MapClaims{"exp": exp}, ConnectToken{ExpireAt: exp}},
		{"expire_at wins over exp", jwt.MapClaims{"exp": exp, "expire_at": exp + 100},
			ConnectToken{ExpireAt: exp + 100}},
		{"expire_at 0 never expires", jwt.MapClaims{"exp": exp, "expire_at": 0},
			ConnectToken{}},
		{"expire_at without exp", jwt.MapClaims{"expire_at": 123},
			ConnectToken{ExpireAt: 123}},
		{"expire_at null is absent", jwt.MapClaims{"exp": exp, "expire_at": nil},
			ConnectToken{ExpireAt: exp}},
		{"info", jwt.MapClaims{"info": map[string]any{"name": "Ann"}},
			ConnectToken{Info: []byte(`{"name":"Ann"}`)}},
		{"info scalar", jwt.MapClaims{"info": "x"}, ConnectToken{Info: []byte(`"x"`)}},
		{"info null", jwt.MapClaims{"info": nil}, ConnectToken{}},
		{"b64info", jwt.MapClaims{"b64info": "AAEC"},
			ConnectToken{Info: []byte{0, 1, 2}}},
		{"b64info wins", jwt.MapClaims{"info": map[string]any{"a": 1}, "b64info": "AAEC"},
			ConnectToken{Info: []byte{0, 1, 2}}},
		{"channels", jwt.MapClaims{"channels": []string{"news", "#u"}},
			ConnectToken{Channels: []string{"news", "#u"}}},
		{"meta", jwt.MapClaims{"meta": map[string]any{"plan": "pro"}},
			ConnectToken{Meta: []byte(`{"plan":"pro"}`)}},
		{"empty channel claim tolerated", jwt.MapClaims{"channel": ""}, ConnectToken{}},
		{"subs", jwt.MapClaims{"subs": map[string]any{
			"a": map[string]any{"info": map[string]any{"x": 1}, "b64data": "AQ=="},
			"b": map[string]any{"b64info": "Ag==", "data": []int{1},
				"info": "ignored"},
			"c": map[string]any{"override": map[string]any{
				"presence":              map[string]any{"value": true},
				"join_leave":            false,
				"force_push_join_leave": map[string]any{"value": false},
				"force_positioning":     true,
				"force_recovery":        map[string]any{},
			}},
			"d": map[string]any{"override": map[string]any{}},
		}}, ConnectToken{Subs: map[string]SubscribeOptions{
			"a": {Info: []byte(`{"x":1}`), Data: []byte{1}},
			"b": {Info: []byte{2}, Data: []byte(`[1]`)},
			"c": {Override: &Override{
				Presence:           ptr(true),
				JoinLeave:          ptr(false),
				ForcePushJoinLeave: ptr(false),
				ForcePositioning:   ptr(true),
				ForceRecovery:      ptr(false),
			}},
			"d": {},
		}}},
	}
	v := newVerifier(t, Config{HMACSecretKey: testSecret})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.VerifyConnectToken(t.Context(), hs(t, tt.claims))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %s\nwant %s", dump(got), dump(tt.want))
			}
		})
	}
}

func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestOverrideForms(t *testing.T) {
	tests := []struct {
		name     string
		override string
		want     *Override
	}{
		{"absent", ``, nil},
		{"null", `,"override":null`, nil},
		{"empty", `,"override":{}`, nil},
		{"BoolValue objects", `,"override":{"presence":{"value":true},` +
			`"join_leave":{"value":false}}`,
			&Override{Presence: ptr(true), JoinLeave: ptr(false)}},
		{"plain booleans", `,"override":{"force_recovery":true,"force_positioning":false}`,
			&Override{ForceRecovery: ptr(true), ForcePositioning: ptr(false)}},
		{"empty BoolValue is false", `,"override":{"presence":{}}`,
			&Override{Presence: ptr(false)}},
		{"null field ignored", `,"override":{"presence":null}`, nil},
		{"v3 names", `,"override":{"position":{"value":true},"recover":{"value":true}}`,
			&Override{ForcePositioning: ptr(true), ForceRecovery: ptr(true)}},
		{"v4 names win", `,"override":{"recover":true,"force_recovery":false,` +
			`"position":false,"force_positioning":true}`,
			&Override{ForceRecovery: ptr(false), ForcePositioning: ptr(true)}},
		{"unknown keys ignored", `,"override":{"something":{"value":true}}`, nil},
	}
	v := newVerifier(t, Config{HMACSecretKey: testSecret})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := `{"sub":"u","channel":"ch"` + tt.override + `}`
			tok := signRaw([]byte(`{"alg":"HS256","typ":"JWT"}`), []byte(payload), testSecret)
			st, err := v.VerifySubscribeToken(t.Context(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(st.Override, tt.want) {
				t.Fatalf("got %s, want %s", dump(st.Override), dump(tt.want))
			}
		})
	}
}

func TestSubscribeToken(t *testing.T) {
	exp := future()
	tests := []struct {
		name    string
		claims  jwt.MapClaims
		want    SubscribeToken
		wantErr error
	}{
		{"full", jwt.MapClaims{"sub": "u", "channel": "$c", "client": "cid", "exp": exp,
			"info": map[string]any{"a": 1}, "data": "d",
			"override": map[string]any{"presence": map[string]any{"value": true}}},
			SubscribeToken{UserID: "u", Channel: "$c", Client: "cid", ExpireAt: exp,
				Info: []byte(`{"a":1}`), Data: []byte(`"d"`),
				Override: &Override{Presence: ptr(true)}}, nil},
		{"b64 wins", jwt.MapClaims{"channel": "c", "info": 1, "b64info": "AQ==",
			"data": 2, "b64data": "Ag=="},
			SubscribeToken{Channel: "c", Info: []byte{1}, Data: []byte{2}}, nil},
		{"expire_at", jwt.MapClaims{"channel": "c", "exp": exp, "expire_at": 7},
			SubscribeToken{Channel: "c", ExpireAt: 7}, nil},
		{"expire_at 0", jwt.MapClaims{"channel": "c", "exp": exp, "expire_at": 0},
			SubscribeToken{Channel: "c"}, nil},
		{"no channel", jwt.MapClaims{"sub": "u"}, SubscribeToken{}, ErrInvalidToken},
		{"empty channel", jwt.MapClaims{"channel": ""}, SubscribeToken{}, ErrInvalidToken},
		{"channel not a string", jwt.MapClaims{"channel": 5}, SubscribeToken{},
			ErrInvalidToken},
		{"client not a string", jwt.MapClaims{"channel": "c", "client": 5},
			SubscribeToken{}, ErrInvalidToken},
		{"bad b64data", jwt.MapClaims{"channel": "c", "b64data": "!"}, SubscribeToken{},
			ErrInvalidToken},
		{"expired", jwt.MapClaims{"channel": "c", "exp": past()}, SubscribeToken{},
			ErrTokenExpired},
		{"nbf in future", jwt.MapClaims{"channel": "c", "nbf": future()},
			SubscribeToken{}, ErrTokenExpired},
	}
	v := newVerifier(t, Config{HMACSecretKey: testSecret})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.VerifySubscribeToken(t.Context(), hs(t, tt.claims))
			if tt.wantErr != nil {
				assertErr(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %s\nwant %s", dump(got), dump(tt.want))
			}
		})
	}
}

func TestSubscribeTokenSignature(t *testing.T) {
	v := newVerifier(t, Config{HMACSecretKey: testSecret})
	tok := sign(t, jwt.SigningMethodHS256, []byte("wrong"),
		jwt.MapClaims{"channel": "c"}, "")
	_, err := v.VerifySubscribeToken(t.Context(), tok)
	assertErr(t, err, ErrInvalidToken)
}

func TestUserIDClaim(t *testing.T) {
	tests := []struct {
		name    string
		claim   string
		claims  jwt.MapClaims
		want    string
		wantErr bool
	}{
		{"default sub", "", jwt.MapClaims{"sub": "s", "user_id": "x"}, "s", false},
		{"explicit sub", "sub", jwt.MapClaims{"sub": "s"}, "s", false},
		{"custom", "user_id", jwt.MapClaims{"sub": "s", "user_id": "x"}, "x", false},
		{"custom number", "user_id", jwt.MapClaims{"user_id": 12345}, "12345", false},
		{"custom missing is anonymous", "user_id", jwt.MapClaims{"sub": "s"}, "", false},
		{"custom null is anonymous", "user_id", jwt.MapClaims{"user_id": nil}, "", false},
		{"URL-style name", "https://herald.example/uid",
			jwt.MapClaims{"https://herald.example/uid": "u"}, "u", false},
		{"nested", "user.id", jwt.MapClaims{"user": map[string]any{"id": "n"}}, "n", false},
		{"custom bool", "user_id", jwt.MapClaims{"user_id": true}, "", true},
		{"custom object", "user_id", jwt.MapClaims{"user_id": map[string]any{}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, Config{HMACSecretKey: testSecret, UserIDClaim: tt.claim})
			ct, err := v.VerifyConnectToken(t.Context(), hs(t, tt.claims))
			if tt.wantErr {
				assertErr(t, err, ErrInvalidToken)
				return
			}
			if err != nil || ct.UserID != tt.want {
				t.Fatalf("connect: got %q, %v; want %q", ct.UserID, err, tt.want)
			}
			tt.claims["channel"] = "c"
			st, err := v.VerifySubscribeToken(t.Context(), hs(t, tt.claims))
			if err != nil || st.UserID != tt.want {
				t.Fatalf("subscribe: got %q, %v; want %q", st.UserID, err, tt.want)
			}
		})
	}
}

func TestTimeBoundaries(t *testing.T) {
	v := newVerifier(t, Config{HMACSecretKey: testSecret})
	now := time.Unix(1_700_000_000, 0)
	v.now = func() time.Time { return now }
	tests := []struct {
		name   string
		claims jwt.MapClaims
		want   error
	}{
		{"exp one second ahead", jwt.MapClaims{"exp": now.Unix() + 1}, nil},
		{"exp equals now", jwt.MapClaims{"exp": now.Unix()}, ErrTokenExpired},
		{"nbf equals now", jwt.MapClaims{"nbf": now.Unix()}, nil},
		{"nbf one second ahead", jwt.MapClaims{"nbf": now.Unix() + 1}, ErrTokenExpired},
		{"fractional exp", jwt.MapClaims{"exp": float64(now.Unix()) + 1.5}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.VerifyConnectToken(t.Context(), hs(t, tt.claims))
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			assertErr(t, err, tt.want)
		})
	}
}

func TestNewVerifierErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"rsa not PEM", Config{RSAPublicKey: "nope"}, "rsa_public_key"},
		{"rsa holds an EC key", Config{RSAPublicKey: pemPublic(t,
			&ecKey(t, elliptic.P256()).PublicKey)}, "rsa_public_key"},
		{"ecdsa not PEM", Config{ECDSAPublicKey: "-----BEGIN PUBLIC KEY-----\nAA==\n" +
			"-----END PUBLIC KEY-----\n"}, "ecdsa_public_key"},
		{"ecdsa holds an RSA key", Config{ECDSAPublicKey: pemPublic(t,
			&rsaKey(t).PublicKey)}, "ecdsa_public_key"},
		{"ecdsa P-224", Config{ECDSAPublicKey: pemPublic(t,
			&ecKey(t, elliptic.P224()).PublicKey)}, "ecdsa_public_key"},
		{"audience regex", Config{AudienceRegex: "("}, "audience_regex"},
		{"issuer regex", Config{IssuerRegex: "[z-a]"}, "issuer_regex"},
		{"jwks not a URL", Config{JWKSPublicEndpoint: "://x"}, "jwks_public_endpoint"},
		{"jwks not http", Config{JWKSPublicEndpoint: "file:///etc/keys"},
			"jwks_public_endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewVerifier(tt.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

func TestGenerateHMACToken(t *testing.T) {
	v := newVerifier(t, Config{HMACSecretKey: testSecret})
	tests := []struct {
		name  string
		ttl   time.Duration
		extra map[string]any
		check func(t *testing.T, ct ConnectToken, err error)
	}{
		{"no ttl", 0, nil, func(t *testing.T, ct ConnectToken, err error) {
			if err != nil || ct.UserID != "u1" || ct.ExpireAt != 0 {
				t.Fatalf("got %+v, %v", ct, err)
			}
		}},
		{"ttl", time.Hour, nil, func(t *testing.T, ct ConnectToken, err error) {
			d := time.Until(time.Unix(ct.ExpireAt, 0))
			if err != nil || d < 59*time.Minute || d > time.Hour {
				t.Fatalf("got %+v, %v", ct, err)
			}
		}},
		{"negative ttl is expired", -time.Minute, nil,
			func(t *testing.T, _ ConnectToken, err error) { assertErr(t, err, ErrTokenExpired) }},
		{"extra claims, arguments win", 0,
			map[string]any{"sub": "ignored", "info": map[string]any{"n": 1},
				"channels": []string{"a"}},
			func(t *testing.T, ct ConnectToken, err error) {
				if err != nil || ct.UserID != "u1" || string(ct.Info) != `{"n":1}` ||
					len(ct.Channels) != 1 {
					t.Fatalf("got %+v, %v", ct, err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := GenerateHMACToken(testSecret, "u1", tt.ttl, tt.extra)
			if err != nil {
				t.Fatal(err)
			}
			ct, err := v.VerifyConnectToken(context.Background(), tok)
			tt.check(t, ct, err)
		})
	}
	if _, err := GenerateHMACToken("", "u", 0, nil); err == nil {
		t.Fatal("empty secret accepted")
	}
}
