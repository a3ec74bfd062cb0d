package auth

import (
	"errors"
	"maps"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// GenerateHMACToken returns an HS256 token for user, as printed by
// `herald gentoken`. The token carries sub and iat, and exp when ttl is not
// zero (a negative ttl makes an already expired token, handy for testing
// clients). extra adds claims such as info or channels; sub, iat and exp
// set by the arguments take precedence over the same keys in extra.
func GenerateHMACToken(secret, user string, ttl time.Duration,
	extra map[string]any) (string, error) {
	if secret == "" {
		return "", errors.New("auth: generate token: empty HMAC secret")
	}
	claims := make(jwt.MapClaims, len(extra)+3)
	maps.Copy(claims, extra)
	now := time.Now()
	claims["sub"] = user
	claims["iat"] = now.Unix()
	if ttl != 0 {
		claims["exp"] = now.Add(ttl).Unix()
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}
