package admin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TokenTTL is how long a session token stays valid after login. Tokens are
// stateless: logging out forgets the token in the browser, and changing
// admin.secret revokes every token at once.
const TokenTTL = 30 * 24 * time.Hour

// insecureToken is what a login returns in insecure mode, where no token is
// checked; UIs of the v3 era look for this exact value.
const insecureToken = "insecure"

// tokenVersion starts every token, so that a later format can tell its own
// tokens from these.
const tokenVersion = "h1"

// tokenContext separates the MACs of admin tokens from any other MAC that
// someone might compute with the same secret.
const tokenContext = "herald admin session\x00"

// Token errors.
var (
	errTokenFormat  = errors.New("admin: malformed token")
	errTokenMAC     = errors.New("admin: token signature mismatch")
	errTokenExpired = errors.New("admin: token expired")
	errNoSecret     = errors.New("admin: no admin secret configured")
)

// b64 is strict so that each MAC has a single spelling.
var b64 = base64.RawURLEncoding.Strict()

// issueToken returns a token valid until now+TokenTTL, in the form
// h1.<expiry unix seconds>.<nonce>.<mac>. The nonce makes every login's
// token distinct, so that two sessions never share one by chance.
func issueToken(secret []byte, now time.Time) (string, error) {
	if len(secret) == 0 {
		return "", errNoSecret
	}
	var nonce [12]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", fmt.Errorf("admin: token nonce: %w", err)
	}

	exp := now.Add(TokenTTL).Unix()
	body := tokenVersion + "." + strconv.FormatInt(exp, 10) + "." +
		b64.EncodeToString(nonce[:])
	return body + "." + b64.EncodeToString(tokenMAC(secret, body)), nil
}

// verifyToken checks the signature of t, then its expiry.
func verifyToken(secret []byte, t string, now time.Time) error {
	if len(secret) == 0 {
		return errNoSecret
	}
	i := strings.LastIndexByte(t, '.')
	if i < 0 {
		return errTokenFormat
	}
	body, sig := t[:i], t[i+1:]
	mac, err := b64.DecodeString(sig)
	if err != nil {
		return errTokenFormat
	}
	if !hmac.Equal(mac, tokenMAC(secret, body)) {
		return errTokenMAC
	}

	// The body is ours from here on: it was signed with the secret.
	parts := strings.Split(body, ".")
	if len(parts) != 3 || parts[0] != tokenVersion {
		return errTokenFormat
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return errTokenFormat
	}
	if now.Unix() >= exp {
		return errTokenExpired
	}
	return nil
}

// tokenMAC is HMAC-SHA256 of body under secret, in the admin context.
func tokenMAC(secret []byte, body string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(tokenContext))
	m.Write([]byte(body))
	return m.Sum(nil)
}
