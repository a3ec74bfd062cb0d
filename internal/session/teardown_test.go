package session

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/golang-jwt/jwt/v5"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/protocol"
)

// roundTripFunc is an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// slowJWKS returns a verifier whose JWKS endpoint answers only once release
// is closed, and a subscription token for ch signed with its key.
func slowJWKS(t *testing.T, ch string) (v *auth.Verifier, tok string,
	release chan struct{}) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := fmt.Sprintf(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":%q}]}`,
		base64.RawURLEncoding.EncodeToString(pub))
	release = make(chan struct{})
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		<-release
		return &http.Response{
			StatusCode: http.StatusOK, Header: http.Header{}, Request: r,
			Body: io.NopCloser(strings.NewReader(keys)),
		}, nil
	})
	v, err = auth.NewVerifier(auth.Config{
		JWKSPublicEndpoint: "http://jwks.test/keys",
		HTTPClient:         &http.Client{Transport: rt},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jt := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"sub": "", "channel": ch})
	jt.Header["kid"] = "k1"
	if tok, err = jt.SignedString(priv); err != nil {
		t.Fatal(err)
	}
	return v, tok, release
}

// TestSubscribeDuringTeardown checks that a subscribe still checking its
// token when the session is closed leaves nothing behind in the hub.
func TestSubscribeDuringTeardown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v, tok, release := slowJWKS(t, "$x")
		e := newEnv(t, openChannels(), func(c *Config) {
			c.Verifier, c.AllowAnonymous = v, true
		})
		c := e.connected(t, "")
		done := make(chan bool)
		go func() {
			done <- c.s.HandleFrame([]byte(
				`{"id":2,"subscribe":{"channel":"$x","token":"` + tok + `"}}`))
		}()
		synctest.Wait() // the subscribe waits for the key set
		c.s.Disconnect(protocol.DisconnectForceReconnect)
		synctest.Wait()
		close(release)
		<-done
		c.wantClosed(3011)
		if n := e.hub.NumSubscribers("$x"); n != 0 {
			t.Errorf("%d hub subscribers of $x left by a closed session", n)
		}
		if n := e.m.NumSubscriptions(); n != 0 {
			t.Errorf("NumSubscriptions = %d after the close", n)
		}
	})
}
