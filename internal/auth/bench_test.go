package auth

import (
	"crypto/elliptic"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func benchClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"sub":  "user-42",
		"exp":  future(),
		"info": map[string]any{"name": "Ann", "role": "editor"},
	}
}

func BenchmarkVerifyConnectTokenHS256(b *testing.B) {
	v := newVerifier(b, Config{HMACSecretKey: testSecret})
	tok := hs(b, benchClaims())
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyConnectToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySubscribeTokenHS256(b *testing.B) {
	v := newVerifier(b, Config{HMACSecretKey: testSecret})
	claims := benchClaims()
	claims["channel"] = "$private:room"
	tok := hs(b, claims)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifySubscribeToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyConnectTokenRS256(b *testing.B) {
	rk := rsaKey(b)
	v := newVerifier(b, Config{RSAPublicKey: pemPublic(b, &rk.PublicKey)})
	tok := sign(b, jwt.SigningMethodRS256, rk, benchClaims(), "")
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyConnectToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyConnectTokenES256(b *testing.B) {
	k := ecKey(b, elliptic.P256())
	v := newVerifier(b, Config{ECDSAPublicKey: pemPublic(b, &k.PublicKey)})
	tok := sign(b, jwt.SigningMethodES256, k, benchClaims(), "")
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyConnectToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyConnectTokenJWKS(b *testing.B) {
	k := ecKey(b, elliptic.P256())
	srv := newJWKSServer(b)
	srv.setKeys(b, ecJWK(b, "k", &k.PublicKey))
	v := jwksVerifier(b, srv, jwksMinRefetch, nil)
	tok := sign(b, jwt.SigningMethodES256, k, benchClaims(), "k")
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyConnectToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
