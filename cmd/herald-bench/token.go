package main

import (
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// tokenTTL is long enough for any bounded run.
const tokenTTL = 2 * time.Hour

// connectToken signs an HS256 connection token for user i. With a channel,
// the token's channels claim subscribes the connection on the server side,
// which needs no namespace permission.
func connectToken(secret string, i int, channel string) (string, error) {
	claims := jwt.MapClaims{
		"sub": "bench-" + strconv.Itoa(i),
		"exp": time.Now().Add(tokenTTL).Unix(),
	}
	if channel != "" {
		claims["channels"] = []string{channel}
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).
		SignedString([]byte(secret))
}
