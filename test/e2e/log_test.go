package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestOriginRejectedLog checks the log line of a refused WebSocket origin:
// it names the websocket component once, not the app's as well.
func TestOriginRejectedLog(t *testing.T) {
	srv := Start(t, v6Config().Set("client.allowed_origins", []string{"http://good.example"}))
	_, resp, err := dialWS(srv, encodings[0], http.Header{"Origin": {"http://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("dial from a foreign origin: %v %+v, want 403", err, resp)
	}
	var line string
	Eventually(t, WaitTimeout, func() bool {
		for l := range strings.Lines(srv.Output()) {
			if strings.Contains(l, `msg="origin rejected"`) {
				line = l
				return true
			}
		}
		return false
	}, func() string { return "no origin rejected line in the log" })
	if strings.Count(line, "component=") != 1 ||
		!strings.Contains(line, "component=websocket") {
		t.Fatalf("log line %q, want component=websocket once", line)
	}
}

// TestSecretsNotLogged drives the paths that handle secrets at debug level
// (valid and invalid tokens, a wrong API key, a wrong admin password, a
// connect proxy that fails) and checks that no secret, token or password
// appears in the log.
func TestSecretsNotLogged(t *testing.T) {
	const (
		adminPassword = "admin-pass-7f3a"
		adminSecret   = "admin-secret-91c2"
		wrongPassword = "guess-4d1e"
	)
	srv := Start(t, apiConfig(map[string]any{"name": "secure", "allow_subscribe_for_client": true}).
		Set("log.level", "debug").
		Set("admin", map[string]any{"enabled": true, "password": adminPassword,
			"secret": adminSecret}))
	good := UserToken(t, secret, "alice", time.Hour)
	bad := UserToken(t, "not-the-secret", "mallory", time.Hour)

	c, _ := connectUser(t, srv, encodings[0], "alice")
	c.subscribe(t, "secure:x")
	for _, tok := range []string{bad, good + "x"} {
		raw := newClient(t, srv, encodings[0], tok)
		_ = raw.Connect()
		raw.disconnected.wait(t, 1, "refused connects")
	}
	a := postAPI(t, srv, "/api/info", `{}`, "X-API-Key", "wrong-key-"+apiKey)
	if a.status != http.StatusUnauthorized {
		t.Fatalf("wrong API key: status %d", a.status)
	}
	form := url.Values{"password": {wrongPassword}}
	resp, err := srv.HTTPClient().PostForm(srv.URL("/admin/auth"), form)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("wrong admin password: status %d", resp.StatusCode)
	}

	out := srv.Output()
	for name, s := range map[string]string{
		"token secret": secret, "API key": apiKey, "admin password": adminPassword,
		"admin secret": adminSecret, "wrong password": wrongPassword,
		"valid token": good, "invalid token": bad,
		"token signature": good[strings.LastIndexByte(good, '.')+1:],
	} {
		if strings.Contains(out, s) {
			t.Errorf("the log holds the %s", name)
		}
	}
}
