package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge-go"
	"github.com/golang-jwt/jwt/v5"
)

// TestConnect checks connection authentication with a v3 and a v6 config,
// over both encodings.
func TestConnect(t *testing.T) {
	dialects := []struct {
		name string
		cfg  Config
	}{
		{"v3", Config{"token_hmac_secret_key": secret}},
		{"v6", v6Config()},
	}
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			srv := Start(t, d.cfg)
			forEachEncoding(t, func(t *testing.T, enc encoding) {
				testValidTokens(t, srv, enc)
				testExpiredToken(t, srv, enc)
				testRejectedTokens(t, srv, enc)
			})
		})
	}
}

func testValidTokens(t *testing.T, srv *Server, enc encoding) {
	for _, m := range []jwt.SigningMethod{
		jwt.SigningMethodHS256, jwt.SigningMethodHS384, jwt.SigningMethodHS512,
	} {
		t.Run("valid "+m.Alg(), func(t *testing.T) {
			claims := jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}
			token, err := jwt.NewWithClaims(m, claims).SignedString([]byte(secret))
			if err != nil {
				t.Fatal(err)
			}
			c := newClient(t, srv, enc, token)
			c.mustConnect(t)
			if got := c.State(); got != centrifuge.StateConnected {
				t.Fatalf("state %q, want connected", got)
			}
		})
	}
}

// testExpiredToken checks that an expired token is answered with error 109,
// which makes the SDK ask GetToken for a new one and connect with it.
func testExpiredToken(t *testing.T, srv *Server, enc encoding) {
	t.Run("expired token is refreshed", func(t *testing.T) {
		expired := UserToken(t, secret, "alice", -time.Minute)
		fresh := UserToken(t, secret, "alice", time.Hour)
		c := newClient(t, srv, enc, expired, withGetToken(fresh))
		c.mustConnect(t)

		errs := c.errs.all()
		if len(errs) == 0 {
			t.Fatal("connected without first reporting the expired token")
		}
		wantErrorCode(t, errs[0], 109)
		if n := c.tokenCalls.Load(); n < 1 {
			t.Fatalf("GetToken called %d times, want at least 1", n)
		}
		if d := c.disconnected.all(); len(d) != 0 {
			t.Fatalf("unexpected disconnects: %+v", d)
		}
	})
}

// testRejectedTokens checks that a token that cannot be verified closes the
// connection with 3500 "invalid token" and the SDK does not reconnect.
func testRejectedTokens(t *testing.T, srv *Server, enc encoding) {
	cases := []struct {
		name  string
		token func(t *testing.T) string
	}{
		{"bad signature", func(t *testing.T) string {
			return UserToken(t, "not-the-secret", "alice", time.Hour)
		}},
		{"alg none", func(t *testing.T) string { return UnsignedToken(t, "alice") }},
		{"not a jwt", func(*testing.T) string { return "not-a-jwt" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, srv, enc, tc.token(t))
			if err := c.Connect(); err != nil {
				t.Fatalf("connect: %v", err)
			}
			d := c.disconnected.wait(t, 1, "disconnected events")[0]
			if d.Code != 3500 {
				t.Fatalf("disconnected with %d %q, want 3500 invalid token", d.Code, d.Reason)
			}
			assertStaysDisconnected(t, c)
		})
	}
}

// assertStaysDisconnected checks, over a window several reconnect delays
// long, that the client made no further connection attempt.
func assertStaysDisconnected(t *testing.T, c *sdkClient) {
	t.Helper()
	Consistently(t, time.Second, func() bool {
		return c.State() == centrifuge.StateDisconnected &&
			c.connecting.len() == 1 && c.connected.len() == 0
	}, func() string {
		return fmt.Sprintf("client reconnected after a terminal disconnect: "+
			"state %q, connecting %+v, connected %+v",
			c.State(), c.connecting.all(), c.connected.all())
	})
}
