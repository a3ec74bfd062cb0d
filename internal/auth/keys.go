package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// Algorithms per key family. Tokens are accepted only for the families
// whose key is configured, which is what stops algorithm confusion.
var (
	hmacAlgs = []string{"HS256", "HS384", "HS512"}
	rsaAlgs  = []string{"RS256", "RS384", "RS512"}
	jwksAlgs = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "EdDSA"}
)

var errNoKey = errors.New("auth: no key configured for this algorithm")

// staticKeys are the keys given in the configuration, one per family.
type staticKeys struct {
	// hmac holds a []byte boxed once: returning a slice as any from the
	// Keyfunc would otherwise allocate on every verification.
	hmac  any
	rsa   *rsa.PublicKey
	ec    *ecdsa.PublicKey
	ecAlg string // the one ES algorithm that matches ec's curve
}

// newStaticKeys parses the configured keys and returns the valid methods.
// The list is never nil: jwt treats a nil list as "any algorithm".
func newStaticKeys(c Config) (*staticKeys, []string, error) {
	k := &staticKeys{}
	algs := make([]string, 0, 7)
	if c.HMACSecretKey != "" {
		k.hmac = any([]byte(c.HMACSecretKey))
		algs = append(algs, hmacAlgs...)
	}
	if c.RSAPublicKey != "" {
		key, err := jwt.ParseRSAPublicKeyFromPEM([]byte(c.RSAPublicKey))
		if err != nil {
			return nil, nil, fmt.Errorf("auth: rsa_public_key: %w", err)
		}
		k.rsa = key
		algs = append(algs, rsaAlgs...)
	}
	if c.ECDSAPublicKey != "" {
		key, err := jwt.ParseECPublicKeyFromPEM([]byte(c.ECDSAPublicKey))
		if err != nil {
			return nil, nil, fmt.Errorf("auth: ecdsa_public_key: %w", err)
		}
		alg := curveAlg(key.Curve)
		if alg == "" {
			return nil, nil, fmt.Errorf("auth: ecdsa_public_key: unsupported curve %s",
				key.Curve.Params().Name)
		}
		k.ec, k.ecAlg = key, alg
		algs = append(algs, alg)
	}
	return k, algs, nil
}

// key is the jwt.Keyfunc for static keys. It picks the key by the family of
// the token's algorithm, so an HS256 token is never checked against RSA or
// ECDSA key bytes.
func (k *staticKeys) key(t *jwt.Token) (any, error) {
	switch t.Method.(type) {
	case *jwt.SigningMethodHMAC:
		if k.hmac != nil {
			return k.hmac, nil
		}
	case *jwt.SigningMethodRSA:
		if k.rsa != nil {
			return k.rsa, nil
		}
	case *jwt.SigningMethodECDSA:
		if k.ec != nil && t.Method.Alg() == k.ecAlg {
			return k.ec, nil
		}
	}
	return nil, errNoKey
}

// curveAlg maps a curve to its JWS algorithm (RFC 7518 section 3.4): each
// ES algorithm is defined for exactly one curve, so one EC key enables one
// algorithm.
func curveAlg(c elliptic.Curve) string {
	switch c {
	case elliptic.P256():
		return "ES256"
	case elliptic.P384():
		return "ES384"
	case elliptic.P521():
		return "ES512"
	}
	return ""
}
