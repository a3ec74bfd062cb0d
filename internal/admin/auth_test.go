package admin

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// decodeToken reads the token of a login answer.
func decodeToken(t testing.TB, body string) string {
	t.Helper()
	var v struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.Token == "" {
		t.Fatalf("login answer %q: want {\"token\": ...}, err %v", body, err)
	}
	return v.Token
}

func TestAuth(t *testing.T) {
	noPassword := func(c *Config) { c.Password = "" }
	noSecret := func(c *Config) { c.Secret = "" }
	tests := []struct {
		name     string
		mods     []func(*Config)
		method   string
		body     func(t *testing.T) (io.Reader, string)
		want     int
		wantLogs string
	}{
		{"multipart", nil, http.MethodPost,
			func(t *testing.T) (io.Reader, string) { return multipartForm(t, testPassword) },
			http.StatusOK, "msg=\"admin login\""},
		{"urlencoded", nil, http.MethodPost,
			func(*testing.T) (io.Reader, string) { return urlencoded(testPassword) },
			http.StatusOK, "msg=\"admin login\""},
		{"wrong password", nil, http.MethodPost,
			func(t *testing.T) (io.Reader, string) { return multipartForm(t, "guess") },
			http.StatusBadRequest, "wrong password"},
		{"no password field", nil, http.MethodPost,
			func(*testing.T) (io.Reader, string) {
				return strings.NewReader("user=x"), "application/x-www-form-urlencoded"
			},
			http.StatusBadRequest, "wrong password"},
		{"password not configured", []func(*Config){noPassword}, http.MethodPost,
			func(*testing.T) (io.Reader, string) { return urlencoded("") },
			http.StatusBadRequest, "must both be set"},
		{"secret not configured", []func(*Config){noSecret}, http.MethodPost,
			func(*testing.T) (io.Reader, string) { return urlencoded(testPassword) },
			http.StatusBadRequest, "must both be set"},
		{"GET", nil, http.MethodGet,
			func(*testing.T) (io.Reader, string) { return nil, "" },
			http.StatusMethodNotAllowed, ""},
		{"body over 1 MiB", nil, http.MethodPost,
			func(*testing.T) (io.Reader, string) {
				big := "password=" + strings.Repeat("x", maxAuthBody)
				return strings.NewReader(big), "application/x-www-form-urlencoded"
			},
			http.StatusRequestEntityTooLarge, ""},
		{"broken multipart", nil, http.MethodPost,
			func(*testing.T) (io.Reader, string) {
				body := strings.NewReader("--x\r\nnot a part")
				return body, "multipart/form-data; boundary=x"
			},
			http.StatusBadRequest, "form unreadable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, logs := newTest(t, false, tt.mods...)
			body, ct := tt.body(t)
			rp := serve(h, tt.method, "/admin/auth", body, "Content-Type", ct)
			if rp.status != tt.want {
				t.Fatalf("status %d, want %d; body %q", rp.status, tt.want, rp.body)
			}
			if !strings.Contains(logs.String(), tt.wantLogs) {
				t.Errorf("logs do not mention %q:\n%s", tt.wantLogs, logs)
			}
			if tt.want != http.StatusOK {
				return
			}
			if ct := rp.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if err := verifyToken([]byte(testSecret), decodeToken(t, rp.body),
				time.Now()); err != nil {
				t.Errorf("issued token does not verify: %v", err)
			}
		})
	}
}

// A wrong password is answered after the delay, and logged once at warn
// with where it came from but never what it was.
func TestAuthWrongPasswordIsSlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, logs := newTest(t, false)
		h.failDelay = failDelay

		start := time.Now()
		body, ct := urlencoded("hunter2")
		r := httptest.NewRequest(http.MethodPost, "/admin/auth", body)
		r.Header.Set("Content-Type", ct)
		r.RemoteAddr = "192.0.2.7:4242"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)

		if got := time.Since(start); got != failDelay {
			t.Errorf("answered after %v, want %v", got, failDelay)
		}
		if w.Code != http.StatusBadRequest || strings.Contains(w.Body.String(), "token") {
			t.Errorf("answer %d %q, want 400 without a token", w.Code, w.Body)
		}
		out := logs.String()
		if n := strings.Count(out, "wrong password"); n != 1 {
			t.Errorf("logged %d times, want once:\n%s", n, out)
		}
		if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "192.0.2.7:4242") {
			t.Errorf("want a warning with the remote address:\n%s", out)
		}
		if strings.Contains(out, "hunter2") {
			t.Errorf("the password is in the logs:\n%s", out)
		}
	})
}

// A client that stops waiting frees its request at once.
func TestAuthWrongPasswordClientGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, _ := newTest(t, false)
		h.failDelay = failDelay

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		body, ct := urlencoded("guess")
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/admin/auth", body)
		r.Header.Set("Content-Type", ct)
		start := time.Now()
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got := time.Since(start); got != 0 {
			t.Errorf("held the request for %v after the client left", got)
		}
	})
}

func TestAPIAuthorization(t *testing.T) {
	h, _ := newTest(t, true)
	token := login(t, h)
	expired, err := issueToken([]byte(testSecret), time.Now().Add(-TokenTTL-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := issueToken([]byte("another secret"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	info := `{"method":"info","params":{}}`

	tests := []struct {
		name   string
		method string
		auth   string
		want   int
	}{
		{"valid token", http.MethodPost, "token " + token, http.StatusOK},
		{"scheme in any case", http.MethodPost, "TOKEN " + token, http.StatusOK},
		{"no header", http.MethodPost, "", http.StatusUnauthorized},
		{"other scheme", http.MethodPost, "Bearer " + token, http.StatusUnauthorized},
		{"three fields", http.MethodPost, "token " + token + " x", http.StatusUnauthorized},
		{"scheme only", http.MethodPost, "token", http.StatusUnauthorized},
		{"expired token", http.MethodPost, "token " + expired, http.StatusUnauthorized},
		{"other secret's token", http.MethodPost, "token " + foreign,
			http.StatusUnauthorized},
		{"insecure placeholder", http.MethodPost, "token insecure", http.StatusUnauthorized},
		{"GET", http.MethodGet, "token " + token, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rp := serve(h, tt.method, "/admin/api", strings.NewReader(info),
				"Authorization", tt.auth)
			if rp.status != tt.want {
				t.Fatalf("status %d, want %d; body %q", rp.status, tt.want, rp.body)
			}
			if tt.want == http.StatusUnauthorized && rp.body != "" {
				t.Errorf("401 with body %q, want empty", rp.body)
			}
			named := strings.Contains(rp.body, `"name":"`+testNode+`"`)
			if tt.want == http.StatusOK && !named {
				t.Errorf("info answer %q does not name the node", rp.body)
			}
		})
	}
}

// A token stops working when its secret changes: tokens are stateless.
func TestAPITokenOfOldSecret(t *testing.T) {
	old, _ := newTest(t, false)
	token := login(t, old)
	h, _ := newTest(t, true, func(c *Config) { c.Secret = "rotated" })
	rp := serve(h, http.MethodPost, "/admin/api",
		strings.NewReader(`{"method":"info"}`), "Authorization", "token "+token)
	if rp.status != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", rp.status)
	}
}

func TestAPIWithoutSecretRefusesAll(t *testing.T) {
	h, logs := newTest(t, true, func(c *Config) { c.Secret = "" })
	rp := serve(h, http.MethodPost, "/admin/api", strings.NewReader(`{"method":"info"}`),
		"Authorization", "token h1.9999999999.AAAA.AAAA")
	if rp.status != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", rp.status)
	}
	if !strings.Contains(logs.String(), "no admin secret") {
		t.Errorf("logs do not say why:\n%s", logs)
	}
}

// The admin API runs commands through the server API's legacy route: a
// publication made through it is in the channel's history.
func TestAPIDelegation(t *testing.T) {
	h, _ := newTest(t, true)
	auth := []string{"Authorization", "token " + login(t, h)}

	body := `{"method":"publish","params":{"channel":"hist:a","data":{"n":1}},"id":1}
{"method":"history","params":{"channel":"hist:a","limit":-1},"id":2}`
	rp := serve(h, http.MethodPost, "/admin/api", strings.NewReader(body), auth...)
	if rp.status != http.StatusOK {
		t.Fatalf("status %d, body %q", rp.status, rp.body)
	}
	lines := strings.Split(rp.body, "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"id":1,"result":{"offset":1`) ||
		!strings.Contains(lines[1], `"data":{"n":1}`) {
		t.Errorf("replies %q", rp.body)
	}
	if cc := rp.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}

	rp = serve(h, http.MethodPost, "/admin/api", strings.NewReader(`{"method":"nope"}`),
		auth...)
	if rp.status != http.StatusBadRequest {
		t.Errorf("unknown method: status %d, want 400 as from /api", rp.status)
	}
	rp = serve(h, http.MethodPost, "/admin/api",
		strings.NewReader(`{"method":"presence","params":{"channel":"plain"}}`), auth...)
	if rp.status != http.StatusOK || !strings.Contains(rp.body, `"code":108`) {
		t.Errorf("presence without presence: %d %q, want error 108", rp.status, rp.body)
	}
}

func TestAPIWithoutDelegate(t *testing.T) {
	h, _ := newTest(t, false)
	rp := serve(h, http.MethodPost, "/admin/api", strings.NewReader(`{"method":"info"}`),
		"Authorization", "token "+login(t, h))
	if rp.status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rp.status)
	}
}

func TestInsecure(t *testing.T) {
	h, _ := newTest(t, true, func(c *Config) {
		c.Insecure = true
		c.Password, c.Secret = "", ""
	})

	body, ct := urlencoded("anything")
	rp := serve(h, http.MethodPost, "/admin/auth", body, "Content-Type", ct)
	if rp.status != http.StatusOK || decodeToken(t, rp.body) != "insecure" {
		t.Errorf("auth: %d %q, want the insecure token", rp.status, rp.body)
	}
	rp = serve(h, http.MethodPost, "/admin/api", strings.NewReader(`{"method":"info"}`))
	if rp.status != http.StatusOK || !strings.Contains(rp.body, testNode) {
		t.Errorf("api without a token: %d %q, want info", rp.status, rp.body)
	}
	for path, want := range map[string]string{
		"/admin/settings": `{"edition":"oss","insecure":true}`,
		"/admin/init":     `{"authenticated":true,"edition":"oss","insecure":true}`,
	} {
		if rp := serve(h, http.MethodGet, path, nil); rp.body != want {
			t.Errorf("%s: %q, want %q", path, rp.body, want)
		}
	}
}

func TestSettingsAndInit(t *testing.T) {
	h, _ := newTest(t, false)
	token := login(t, h)
	tests := []struct {
		path, auth, want string
	}{
		{"/admin/settings", "", `{"edition":"oss","insecure":false}`},
		{"/admin/settings", "token " + token, `{"edition":"oss","insecure":false}`},
		{"/admin/init", "", `{"authenticated":false,"edition":"oss","insecure":false}`},
		{"/admin/init", "token " + token,
			`{"authenticated":true,"edition":"oss","insecure":false}`},
		{"/admin/init", "token " + token + "x",
			`{"authenticated":false,"edition":"oss","insecure":false}`},
	}
	for _, tt := range tests {
		rp := serve(h, http.MethodGet, tt.path, nil, "Authorization", tt.auth)
		if rp.status != http.StatusOK || rp.body != tt.want {
			t.Errorf("%s with %q: %d %q, want %q", tt.path, tt.auth, rp.status, rp.body,
				tt.want)
		}
		if ct := rp.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", tt.path, ct)
		}
	}
	for _, path := range []string{"/admin/settings", "/admin/init"} {
		rp := serve(h, http.MethodPost, path, nil)
		if rp.status != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %d, want 405", path, rp.status)
		}
	}
}
