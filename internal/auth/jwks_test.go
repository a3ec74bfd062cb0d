package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/elliptic"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// fakeClock drives cache expiry and refetch spacing without sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func useClock(v *Verifier) *fakeClock {
	clk := &fakeClock{t: time.Now()}
	v.now, v.jwks.now = clk.now, clk.now
	return clk
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached before deadline")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestJWKSAlgorithms(t *testing.T) {
	rk := rsaKey(t)
	ec256, ec384, ec521 := ecKey(t, elliptic.P256()), ecKey(t, elliptic.P384()),
		ecKey(t, elliptic.P521())
	ed := edKey(t)
	rs256Only := rsaJWK("rsa-rs256", &rk.PublicKey)
	rs256Only["alg"] = "RS256"
	srv := newJWKSServer(t)
	srv.setKeys(t,
		rsaJWK("rsa", &rk.PublicKey),
		rs256Only,
		ecJWK(t, "p256", &ec256.PublicKey),
		ecJWK(t, "p384", &ec384.PublicKey),
		ecJWK(t, "p521", &ec521.PublicKey),
		edJWK("ed", ed.Public().(ed25519.PublicKey)),
	)
	v := jwksVerifier(t, srv, jwksMinRefetch, nil)

	tests := []struct {
		name   string
		method jwt.SigningMethod
		key    any
		kid    string
	}{
		{"RS256", jwt.SigningMethodRS256, rk, "rsa"},
		{"RS384", jwt.SigningMethodRS384, rk, "rsa"},
		{"RS512", jwt.SigningMethodRS512, rk, "rsa"},
		{"RS256 pinned by alg", jwt.SigningMethodRS256, rk, "rsa-rs256"},
		{"ES256", jwt.SigningMethodES256, ec256, "p256"},
		{"ES384", jwt.SigningMethodES384, ec384, "p384"},
		{"ES512", jwt.SigningMethodES512, ec521, "p521"},
		{"EdDSA", jwt.SigningMethodEdDSA, ed, "ed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := jwt.MapClaims{"sub": "u", "exp": future()}
			ct, err := v.VerifyConnectToken(t.Context(),
				sign(t, tt.method, tt.key, claims, tt.kid))
			if err != nil || ct.UserID != "u" {
				t.Fatalf("connect: %+v, %v", ct, err)
			}
			claims["channel"] = "c"
			st, err := v.VerifySubscribeToken(t.Context(),
				sign(t, tt.method, tt.key, claims, tt.kid))
			if err != nil || st.Channel != "c" {
				t.Fatalf("subscribe: %+v, %v", st, err)
			}
		})
	}
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("endpoint hit %d times, want 1 (keys are cached)", n)
	}
}

func TestJWKSRejected(t *testing.T) {
	rk := rsaKey(t)
	ec256 := ecKey(t, elliptic.P256())
	ed := edKey(t)
	pinned := rsaJWK("rsa-rs256", &rk.PublicKey)
	pinned["alg"] = "RS256"
	srv := newJWKSServer(t)
	srv.setKeys(t, rsaJWK("rsa", &rk.PublicKey), pinned, ecJWK(t, "p256", &ec256.PublicKey))
	v := jwksVerifier(t, srv, time.Hour, nil)
	ok := jwt.MapClaims{"sub": "u"}
	rsaPEM := pemPublic(t, &rk.PublicKey)

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"no kid", sign(t, jwt.SigningMethodRS256, rk, ok, ""), ErrInvalidToken},
		{"unknown kid", sign(t, jwt.SigningMethodRS256, rk, ok, "nope"), ErrInvalidToken},
		{"HS256 never accepted", sign(t, jwt.SigningMethodHS256, []byte("s"), ok, "rsa"),
			ErrInvalidToken},
		{"HS256 keyed with the RSA public key", sign(t, jwt.SigningMethodHS256,
			[]byte(rsaPEM), ok, "rsa"), ErrInvalidToken},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType,
			ok, "rsa"), ErrInvalidToken},
		{"ES256 naming an RSA key", sign(t, jwt.SigningMethodES256, ec256, ok, "rsa"),
			ErrInvalidToken},
		{"RS512 naming an RS256-pinned key", sign(t, jwt.SigningMethodRS512, rk, ok,
			"rsa-rs256"), ErrInvalidToken},
		{"EdDSA naming an EC key", sign(t, jwt.SigningMethodEdDSA, ed, ok, "p256"),
			ErrInvalidToken},
		{"bad signature", sign(t, jwt.SigningMethodES256, ecKey(t, elliptic.P256()), ok,
			"p256"), ErrInvalidToken},
		{"expired", sign(t, jwt.SigningMethodRS256, rk, jwt.MapClaims{"exp": past()},
			"rsa"), ErrTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.VerifyConnectToken(t.Context(), tt.token)
			assertErr(t, err, tt.want)
		})
	}
}

func TestJWKSRotation(t *testing.T) {
	k1, k2 := ecKey(t, elliptic.P256()), ecKey(t, elliptic.P256())
	srv := newJWKSServer(t)
	srv.setKeys(t, ecJWK(t, "k1", &k1.PublicKey))
	v := jwksVerifier(t, srv, jwksMinRefetch, nil)
	clk := useClock(v)
	tok1 := sign(t, jwt.SigningMethodES256, k1, jwt.MapClaims{"sub": "1"}, "k1")
	tok2 := sign(t, jwt.SigningMethodES256, k2, jwt.MapClaims{"sub": "2"}, "k2")

	steps := []struct {
		name     string
		before   func()
		token    string
		want     error
		requests int32
	}{
		{"first token fetches", nil, tok1, nil, 1},
		{"known kid is cached", nil, tok1, nil, 1},
		{"new kid right after a fetch waits for the spacing", func() {
			srv.setKeys(t, ecJWK(t, "k2", &k2.PublicKey))
		}, tok2, ErrInvalidToken, 1},
		{"new kid later triggers a refetch", func() { clk.advance(jwksMinRefetch) },
			tok2, nil, 2},
		{"rotated-out kid is cached until the next fetch", nil, tok1, ErrInvalidToken, 2},
		{"rotated-out kid fails after refetch too", func() { clk.advance(jwksMinRefetch) },
			tok1, ErrInvalidToken, 3},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.before != nil {
				s.before()
			}
			_, err := v.VerifyConnectToken(t.Context(), s.token)
			if s.want == nil && err != nil {
				t.Fatal(err)
			}
			if s.want != nil {
				assertErr(t, err, s.want)
			}
			if n := srv.requests.Load(); n != s.requests {
				t.Fatalf("endpoint hit %d times, want %d", n, s.requests)
			}
		})
	}
}

func TestJWKSUnknownKidsDoNotHammer(t *testing.T) {
	k := ecKey(t, elliptic.P256())
	srv := newJWKSServer(t)
	srv.setKeys(t, ecJWK(t, "k", &k.PublicKey))
	v := jwksVerifier(t, srv, jwksMinRefetch, nil)
	clk := useClock(v)

	for round := range 3 {
		clk.advance(jwksMinRefetch)
		for i := range 20 {
			tok := sign(t, jwt.SigningMethodES256, k, jwt.MapClaims{},
				fmt.Sprintf("bogus-%d-%d", round, i))
			_, err := v.VerifyConnectToken(t.Context(), tok)
			assertErr(t, err, ErrInvalidToken)
			if !errors.Is(err, errUnknownKid) {
				t.Fatalf("got %v, want unknown kid", err)
			}
		}
		if n := srv.requests.Load(); n != int32(round+1) {
			t.Fatalf("round %d: endpoint hit %d times, want %d", round, n, round+1)
		}
	}
}

func TestJWKSCacheTTL(t *testing.T) {
	k := ecKey(t, elliptic.P256())
	srv := newJWKSServer(t)
	srv.setKeys(t, ecJWK(t, "k", &k.PublicKey))
	v := jwksVerifier(t, srv, jwksMinRefetch, nil)
	clk := useClock(v)
	tok := sign(t, jwt.SigningMethodES256, k, jwt.MapClaims{}, "k")

	steps := []struct {
		name     string
		advance  time.Duration
		status   int
		want     error
		requests int32
	}{
		{"first fetch", 0, http.StatusOK, nil, 1},
		{"fresh before an hour", jwksTTL - time.Second, http.StatusOK, nil, 1},
		{"stale after an hour refetches", time.Second, http.StatusOK, nil, 2},
		// Stale keys are not trusted when the endpoint is down: a key that
		// was removed to revoke it must stop working.
		{"stale and endpoint down", jwksTTL, http.StatusBadGateway, ErrInvalidToken, 4},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			clk.advance(s.advance)
			srv.status.Store(int32(s.status))
			_, err := v.VerifyConnectToken(t.Context(), tok)
			if s.want == nil && err != nil {
				t.Fatal(err)
			}
			if s.want != nil {
				assertErr(t, err, s.want)
			}
			if n := srv.requests.Load(); n != s.requests {
				t.Fatalf("endpoint hit %d times, want %d", n, s.requests)
			}
		})
	}
}

func TestJWKSEndpointDown(t *testing.T) {
	k := ecKey(t, elliptic.P256())
	srv := newJWKSServer(t)
	srv.setKeys(t, ecJWK(t, "k", &k.PublicKey))
	srv.status.Store(http.StatusInternalServerError)
	var logs logBuffer
	v := jwksVerifier(t, srv, jwksMinRefetch, logs.logger())
	clk := useClock(v)
	tok := sign(t, jwt.SigningMethodES256, k, jwt.MapClaims{"sub": "u"}, "k")

	for i := range 5 {
		_, err := v.VerifyConnectToken(t.Context(), tok)
		assertErr(t, err, ErrInvalidToken)
		if !errors.Is(err, errJWKSFailing) || !strings.Contains(err.Error(), "500") {
			t.Fatalf("attempt %d: got %v, want the fetch failure as cause", i, err)
		}
	}
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("endpoint hit %d times, want 2 (one GET and one retry)", n)
	}

	// Still failing at the next allowed fetch: no second warning yet.
	clk.advance(jwksMinRefetch)
	if _, err := v.VerifyConnectToken(t.Context(), tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("got %v", err)
	}
	if c := strings.Count(logs.String(), "JWKS fetch failed"); c != 1 {
		t.Fatalf("warned %d times, want 1:\n%s", c, logs.String())
	}

	srv.status.Store(http.StatusOK)
	clk.advance(jwksMinRefetch)
	if _, err := v.VerifyConnectToken(t.Context(), tok); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	out := logs.String()
	if !strings.Contains(out, "reachable again") ||
		!strings.Contains(out, "component=auth") {
		t.Fatalf("missing recovery log or component:\n%s", out)
	}
	if strings.Contains(out, tok) {
		t.Fatal("token written to the log")
	}
}

func TestJWKSEndpointUnreachable(t *testing.T) {
	k := ecKey(t, elliptic.P256())
	dead := httptest.NewServer(http.NotFoundHandler())
	endpoint := dead.URL
	dead.Close()

	v, err := NewVerifier(Config{JWKSPublicEndpoint: endpoint}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.VerifyConnectToken(t.Context(),
		sign(t, jwt.SigningMethodES256, k, jwt.MapClaims{}, "k"))
	assertErr(t, err, ErrInvalidToken)
	var urlErr *url.Error
	if !errors.As(err, &urlErr) {
		t.Fatalf("got %v, want the *url.Error cause", err)
	}
}

func TestJWKSEndpointTimeout(t *testing.T) {
	k := ecKey(t, elliptic.P256())
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter,
		r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })

	client := &http.Client{Timeout: 20 * time.Millisecond}
	v, err := NewVerifier(Config{JWKSPublicEndpoint: slow.URL, HTTPClient: client}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.VerifyConnectToken(t.Context(),
		sign(t, jwt.SigningMethodES256, k, jwt.MapClaims{}, "k"))
	assertErr(t, err, ErrInvalidToken)
	if !errors.Is(err, errJWKSFailing) {
		t.Fatalf("got %v", err)
	}
}

func TestJWKSConcurrentCallersShareOneFetch(t *testing.T) {
	k := ecKey(t, elliptic.P256())
	srv := newJWKSServer(t)
	srv.setKeys(t, ecJWK(t, "k", &k.PublicKey))
	v := jwksVerifier(t, srv, jwksMinRefetch, nil)
	tok := sign(t, jwt.SigningMethodES256, k, jwt.MapClaims{"sub": "u"}, "k")

	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			_, err := v.VerifyConnectToken(context.Background(), tok)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("endpoint hit %d times, want 1", n)
	}
}

func TestJWKSWaiterHonoursContext(t *testing.T) {
	k := ecKey(t, elliptic.P256())
	release := make(chan struct{})
	srv := newJWKSServer(t)
	srv.setKeys(t, ecJWK(t, "k", &k.PublicKey))
	srv.hold.Store(&release)
	v := jwksVerifier(t, srv, jwksMinRefetch, nil)
	tok := sign(t, jwt.SigningMethodES256, k, jwt.MapClaims{}, "k")

	leader := make(chan error, 1)
	go func() {
		_, err := v.VerifyConnectToken(context.Background(), tok)
		leader <- err
	}()
	waitFor(t, func() bool {
		v.jwks.mu.Lock()
		defer v.jwks.mu.Unlock()
		return v.jwks.inflight != nil
	})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := v.VerifyConnectToken(ctx, tok)
	assertErr(t, err, ErrInvalidToken)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}

	close(release)
	if err := <-leader; err != nil {
		t.Fatalf("leader: %v", err)
	}
}

func TestParseJWKS(t *testing.T) {
	ec := ecKey(t, elliptic.P256())
	good := ecJWK(t, "good", &ec.PublicKey)
	with := func(m map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	rk := rsaKey(t)

	tests := []struct {
		name string
		key  map[string]any
		ok   bool
	}{
		{"good EC", good, true},
		{"padded base64", with(good, "x", good["x"].(string)+"="), true},
		{"use sig", with(good, "use", "sig"), true},
		{"use enc", with(good, "use", "enc"), false},
		{"no kid", with(good, "kid", ""), false},
		{"unknown kty", with(good, "kty", "oct"), false},
		{"unknown crv", with(good, "crv", "secp256k1"), false},
		{"point not on curve", with(good, "y", good["x"]), false},
		{"short coordinate", with(good, "x", b64u([]byte{1, 2, 3})), false},
		{"EC alg for another curve", with(good, "alg", "ES384"), false},
		{"EC alg matches", with(good, "alg", "ES256"), true},
		{"RSA", rsaJWK("r", &rk.PublicKey), true},
		{"RSA with EC alg", with(rsaJWK("r", &rk.PublicKey), "alg", "ES256"), false},
		{"RSA PS256 alg", with(rsaJWK("r", &rk.PublicKey), "alg", "PS256"), false},
		{"RSA exponent 1", with(rsaJWK("r", &rk.PublicKey), "e", b64u([]byte{1})), false},
		{"RSA no modulus", with(rsaJWK("r", &rk.PublicKey), "n", ""), false},
		{"Ed448", map[string]any{"kty": "OKP", "kid": "e", "crv": "Ed448",
			"x": b64u(make([]byte, 57))}, false},
		{"Ed25519 short", map[string]any{"kty": "OKP", "kid": "e", "crv": "Ed25519",
			"x": b64u(make([]byte, 31))}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(dump(map[string]any{"keys": []any{tt.key}}))
			keys, skipped, err := parseJWKS(body)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(keys) == 1; got != tt.ok {
				t.Fatalf("usable = %v, want %v (skipped: %v)", got, tt.ok, skipped)
			}
			if len(skipped) == 0 == !tt.ok {
				t.Fatalf("skipped = %v", skipped)
			}
		})
	}
	if _, _, err := parseJWKS([]byte(`{"keys":5}`)); err == nil {
		t.Fatal("malformed key set accepted")
	}
}
