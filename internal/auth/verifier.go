package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Errors returned by [Verifier.VerifyConnectToken] and
// [Verifier.VerifySubscribeToken]. Returned errors wrap one of them, with
// the reason appended for logs; test with [errors.Is].
var (
	// ErrInvalidToken means the token can never be accepted: malformed, bad
	// signature, an algorithm without a configured key (including "none"),
	// audience or issuer mismatch, a claim of the wrong type, or a JWKS key
	// that cannot be found or fetched. Clients are disconnected for it.
	ErrInvalidToken = errors.New("auth: invalid token")
	// ErrTokenExpired means a correctly signed token is past its exp or
	// before its nbf. Clients react by fetching a fresh token.
	ErrTokenExpired = errors.New("auth: token expired")
)

// Config selects the keys and claim checks of a [Verifier]. Empty fields
// are off.
type Config struct {
	// HMACSecretKey enables HS256, HS384 and HS512.
	HMACSecretKey string
	// RSAPublicKey is a PEM public key (PKIX, PKCS #1 or a certificate) that
	// enables RS256, RS384 and RS512.
	RSAPublicKey string
	// ECDSAPublicKey is a PEM public key that enables the ES algorithm of its
	// curve: ES256 for P-256, ES384 for P-384, ES512 for P-521.
	ECDSAPublicKey string
	// JWKSPublicEndpoint is an http(s) URL serving a JSON Web Key Set. When
	// set, tokens are verified only with its keys, chosen by the token's kid
	// header, and the static keys above are ignored. RSA (RS256/384/512), EC
	// (ES256/384/512) and OKP Ed25519 (EdDSA) keys are supported.
	JWKSPublicEndpoint string
	// Audience, when set, must be one of the token's aud values.
	Audience string
	// Issuer, when set, must equal the token's iss.
	Issuer string
	// AudienceRegex, when set, must match one of the token's aud values.
	// Matching is unanchored; use ^ and $ to match whole values.
	AudienceRegex string
	// IssuerRegex, when set, must match the token's iss (unanchored).
	IssuerRegex string
	// UserIDClaim names the claim holding the user ID; "" means "sub". A
	// dotted name reaches into nested objects when no top-level claim has
	// that exact name.
	UserIDClaim string
	// HTTPClient fetches the JWKS; nil means a client with a 1s timeout.
	HTTPClient *http.Client
}

// Verifier checks connection and subscription tokens. It is safe for
// concurrent use and owns no goroutines.
type Verifier struct {
	parser  *jwt.Parser
	keyFunc jwt.Keyfunc // static keys; nil when jwks is set
	jwks    *jwksCache
	now     func() time.Time

	audience    string
	issuer      string
	audienceRe  *regexp.Regexp
	issuerRe    *regexp.Regexp
	userIDClaim string // "" for sub
}

// NewVerifier builds a verifier from c. It fails, naming the setting, when
// a PEM key, a regex or the JWKS URL cannot be parsed. A verifier without
// any key rejects every token as invalid. logger may be nil.
func NewVerifier(c Config, logger *slog.Logger) (*Verifier, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "auth")

	v := &Verifier{
		now:      time.Now,
		audience: c.Audience,
		issuer:   c.Issuer,
	}
	if c.UserIDClaim != "sub" {
		v.userIDClaim = c.UserIDClaim
	}
	var err error
	if v.audienceRe, err = compileRegex("audience_regex", c.AudienceRegex); err != nil {
		return nil, err
	}
	if v.issuerRe, err = compileRegex("issuer_regex", c.IssuerRegex); err != nil {
		return nil, err
	}

	algs, err := v.initKeys(c, logger)
	if err != nil {
		return nil, err
	}
	// Claims are checked here rather than by the jwt validator so that the
	// order of checks, and with it expired versus invalid, is ours.
	v.parser = jwt.NewParser(jwt.WithValidMethods(algs), jwt.WithoutClaimsValidation())
	return v, nil
}

// initKeys sets up either the JWKS cache or the static keys and returns
// the algorithms they allow.
func (v *Verifier) initKeys(c Config, logger *slog.Logger) ([]string, error) {
	if c.JWKSPublicEndpoint != "" {
		var err error
		if v.jwks, err = newJWKSCache(c, logger); err != nil {
			return nil, err
		}
		if c.HMACSecretKey != "" || c.RSAPublicKey != "" || c.ECDSAPublicKey != "" {
			logger.Warn("JWKS endpoint set, static token keys are ignored")
		}
		logger.Info("token verification via JWKS",
			"endpoint", v.jwks.logEndpoint, "algorithms", jwksAlgs)
		return jwksAlgs, nil
	}

	keys, algs, err := newStaticKeys(c)
	if err != nil {
		return nil, err
	}
	v.keyFunc = keys.key
	if len(algs) == 0 {
		logger.Info("no token keys configured, every token is rejected")
	} else {
		logger.Info("token verification enabled", "algorithms", algs)
	}
	return algs, nil
}

func compileRegex(name, expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("auth: %s: %w", name, err)
	}
	return re, nil
}

func newJWKSCache(c Config, logger *slog.Logger) (*jwksCache, error) {
	u, err := url.Parse(c.JWKSPublicEndpoint)
	if err != nil {
		return nil, fmt.Errorf("auth: jwks_public_endpoint: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("auth: jwks_public_endpoint: need an http or https URL")
	}
	client := c.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: jwksTimeout}
	}
	return &jwksCache{
		endpoint:    c.JWKSPublicEndpoint,
		logEndpoint: u.Redacted(),
		client:      client,
		logger:      logger,
		now:         time.Now,
		ttl:         jwksTTL,
		minRefetch:  jwksMinRefetch,
	}, nil
}

// VerifyConnectToken verifies a connection token and returns what it
// grants. Errors wrap [ErrInvalidToken] or [ErrTokenExpired]. A token with
// a non-empty channel claim is a subscription token and is invalid here.
// ctx bounds only the wait for a JWKS fetch.
func (v *Verifier) VerifyConnectToken(ctx context.Context,
	token string) (ConnectToken, error) {
	var c connectClaims
	if err := v.parse(ctx, token, &c); err != nil {
		return ConnectToken{}, err
	}
	if err := v.checkClaims(&c.RegisteredClaims); err != nil {
		return ConnectToken{}, err
	}
	if c.Channel != "" {
		return ConnectToken{}, fmt.Errorf("%w: channel claim in a connection token",
			ErrInvalidToken)
	}
	if err := v.checkTime(&c.RegisteredClaims); err != nil {
		return ConnectToken{}, err
	}

	userID, err := v.userID(token, c.Subject)
	if err != nil {
		return ConnectToken{}, err
	}
	ct, err := c.connectToken(userID)
	if err != nil {
		return ConnectToken{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return ct, nil
}

// VerifySubscribeToken verifies a subscription token and returns what it
// grants. Errors wrap [ErrInvalidToken] or [ErrTokenExpired]. The channel
// claim is required. ctx bounds only the wait for a JWKS fetch.
func (v *Verifier) VerifySubscribeToken(ctx context.Context,
	token string) (SubscribeToken, error) {
	var c subscribeClaims
	if err := v.parse(ctx, token, &c); err != nil {
		return SubscribeToken{}, err
	}
	if err := v.checkClaims(&c.RegisteredClaims); err != nil {
		return SubscribeToken{}, err
	}
	if err := v.checkTime(&c.RegisteredClaims); err != nil {
		return SubscribeToken{}, err
	}
	if c.Channel == "" {
		return SubscribeToken{}, fmt.Errorf("%w: no channel claim", ErrInvalidToken)
	}

	userID, err := v.userID(token, c.Subject)
	if err != nil {
		return SubscribeToken{}, err
	}
	st, err := c.subscribeToken(userID)
	if err != nil {
		return SubscribeToken{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return st, nil
}

// parse decodes the token into claims and checks its signature.
func (v *Verifier) parse(ctx context.Context, token string, claims jwt.Claims) error {
	keyFunc := v.keyFunc
	if v.jwks != nil {
		keyFunc = func(t *jwt.Token) (any, error) { return v.jwksKey(ctx, t) }
	}
	if _, err := v.parser.ParseWithClaims(token, claims, keyFunc); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return nil
}

func (v *Verifier) jwksKey(ctx context.Context, t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, errMissingKid
	}
	k, err := v.jwks.key(ctx, kid)
	if err != nil {
		return nil, err
	}
	if err := k.accepts(t.Method.Alg()); err != nil {
		return nil, err
	}
	return k.pub, nil
}

// checkClaims runs the audience and issuer checks. They come before the
// time checks: a token for another audience stays invalid however fresh,
// so reporting it as expired would only make the client fetch another.
func (v *Verifier) checkClaims(rc *jwt.RegisteredClaims) error {
	if v.audience != "" && !slices.Contains(rc.Audience, v.audience) {
		return fmt.Errorf("%w: audience mismatch", ErrInvalidToken)
	}
	if v.audienceRe != nil && !slices.ContainsFunc(rc.Audience, v.audienceRe.MatchString) {
		return fmt.Errorf("%w: audience does not match regex", ErrInvalidToken)
	}
	if v.issuer != "" && rc.Issuer != v.issuer {
		return fmt.Errorf("%w: issuer mismatch", ErrInvalidToken)
	}
	if v.issuerRe != nil && !v.issuerRe.MatchString(rc.Issuer) {
		return fmt.Errorf("%w: issuer does not match regex", ErrInvalidToken)
	}
	return nil
}

// checkTime applies exp and nbf without leeway: the token is valid from nbf
// inclusive until exp exclusive (RFC 7519 sections 4.1.4 and 4.1.5).
func (v *Verifier) checkTime(rc *jwt.RegisteredClaims) error {
	now := v.now()
	if rc.ExpiresAt != nil && !now.Before(rc.ExpiresAt.Time) {
		return ErrTokenExpired
	}
	if rc.NotBefore != nil && now.Before(rc.NotBefore.Time) {
		return fmt.Errorf("%w: not valid before nbf", ErrTokenExpired)
	}
	return nil
}

// userID reads the configured user ID claim. The payload is decoded a
// second time only when a custom claim name is configured, keeping the
// default path to one decode.
func (v *Verifier) userID(token, sub string) (string, error) {
	if v.userIDClaim == "" {
		return sub, nil
	}
	id, err := lookupUserID(token, v.userIDClaim)
	if err != nil {
		return "", fmt.Errorf("%w: %s claim: %w", ErrInvalidToken, v.userIDClaim, err)
	}
	return id, nil
}
