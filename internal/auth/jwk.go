package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// jsonWebKey is one entry of a JWKS document (RFC 7517, RFC 7518 section 6,
// RFC 8037 for OKP). Only the public members Herald needs are decoded.
type jsonWebKey struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// jwk is a parsed verification key with the algorithms it may verify.
type jwk struct {
	pub  any // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
	algs []string
}

var (
	errKeyAlg     = errors.New("auth: token algorithm does not match the JWKS key")
	errKeyUnknown = errors.New("auth: unsupported JWKS key")
)

// parseJWKS decodes a key set. Keys that cannot be used (encryption keys,
// unknown types, bad encodings, no kid) are skipped and reported, so one
// bad entry does not take down the keys next to it.
func parseJWKS(body []byte) (map[string]jwk, []error, error) {
	var doc struct {
		Keys []jsonWebKey `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, nil, fmt.Errorf("decode key set: %w", err)
	}
	keys := make(map[string]jwk, len(doc.Keys))
	var skipped []error
	for _, raw := range doc.Keys {
		k, err := raw.parse()
		if err != nil {
			skipped = append(skipped, fmt.Errorf("kid %q: %w", raw.Kid, err))
			continue
		}
		keys[raw.Kid] = k
	}
	return keys, skipped, nil
}

func (j *jsonWebKey) parse() (jwk, error) {
	if j.Kid == "" {
		return jwk{}, errors.New("no kid")
	}
	if j.Use != "" && j.Use != "sig" {
		return jwk{}, fmt.Errorf("%w: use %q", errKeyUnknown, j.Use)
	}
	var k jwk
	var err error
	switch j.Kty {
	case "RSA":
		k, err = j.rsa()
	case "EC":
		k, err = j.ec()
	case "OKP":
		k, err = j.okp()
	default:
		return jwk{}, fmt.Errorf("%w: kty %q", errKeyUnknown, j.Kty)
	}
	if err != nil {
		return jwk{}, err
	}
	// An alg member pins the key to one algorithm (RFC 7517 section 4.4).
	if j.Alg != "" {
		if !slices.Contains(k.algs, j.Alg) {
			return jwk{}, fmt.Errorf("%w: alg %q for kty %q", errKeyUnknown, j.Alg, j.Kty)
		}
		k.algs = []string{j.Alg}
	}
	return k, nil
}

func (j *jsonWebKey) rsa() (jwk, error) {
	n, err := b64url(j.N)
	if err != nil || len(n) == 0 {
		return jwk{}, errors.New("bad modulus n")
	}
	e, err := b64url(j.E)
	if err != nil || len(e) == 0 || len(e) > 4 {
		return jwk{}, errors.New("bad exponent e")
	}
	exp := new(big.Int).SetBytes(e).Int64()
	if exp < 3 || exp > 1<<31-1 {
		return jwk{}, errors.New("bad exponent e")
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp)}
	return jwk{pub: pub, algs: rsaAlgs}, nil
}

func (j *jsonWebKey) ec() (jwk, error) {
	var curve elliptic.Curve
	switch j.Crv {
	case "P-256":
		curve = elliptic.P256()
	case "P-384":
		curve = elliptic.P384()
	case "P-521":
		curve = elliptic.P521()
	default:
		return jwk{}, fmt.Errorf("%w: crv %q", errKeyUnknown, j.Crv)
	}
	x, errX := b64url(j.X)
	y, errY := b64url(j.Y)
	size := (curve.Params().BitSize + 7) / 8
	// RFC 7518 section 6.2.1.2 requires full-length coordinates; checking
	// it also keeps the uncompressed point below well-formed.
	if errX != nil || errY != nil || len(x) != size || len(y) != size {
		return jwk{}, errors.New("bad coordinates x, y")
	}
	point := make([]byte, 0, 1+2*size)
	point = append(append(append(point, 4), x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return jwk{}, err
	}
	return jwk{pub: pub, algs: []string{curveAlg(curve)}}, nil
}

func (j *jsonWebKey) okp() (jwk, error) {
	if j.Crv != "Ed25519" {
		return jwk{}, fmt.Errorf("%w: crv %q", errKeyUnknown, j.Crv)
	}
	x, err := b64url(j.X)
	if err != nil || len(x) != ed25519.PublicKeySize {
		return jwk{}, errors.New("bad public key x")
	}
	return jwk{pub: ed25519.PublicKey(x), algs: []string{"EdDSA"}}, nil
}

// b64url decodes base64url, tolerating the padding some issuers add.
func b64url(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// accepts reports whether a token signed with alg may be checked with k.
func (k jwk) accepts(alg string) error {
	if !slices.Contains(k.algs, alg) {
		return fmt.Errorf("%w: %s", errKeyAlg, alg)
	}
	return nil
}
