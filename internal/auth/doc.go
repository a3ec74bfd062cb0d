// Package auth verifies the JSON Web Tokens that clients present: connection
// tokens on connect and refresh, and subscription tokens on subscribe and
// sub-refresh. The claims, the algorithms and the split between an expired
// token (the client fetches a new one) and an invalid one (the client gives
// up) follow the token contract in spec/config.md section 5, so tokens minted
// by existing backends keep working.
//
// Start reading at [NewVerifier] and [Verifier.VerifyConnectToken]. A
// [Verifier] is immutable after construction apart from its JWKS key cache,
// and is safe for concurrent use. It starts no goroutines: a JWKS fetch runs
// on the goroutine of the first caller that needs it, while concurrent
// callers wait for that result, so nothing needs shutting down.
//
// Signatures are checked with github.com/golang-jwt/jwt/v5, always with an
// explicit list of valid algorithms derived from the configured keys. An
// algorithm without a key is never accepted, which rules out "none" and the
// classic confusion of an HMAC token signed with an RSA public key.
package auth
