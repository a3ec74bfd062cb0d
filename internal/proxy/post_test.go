package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/protocol"
)

// closedURL returns the URL of a server that is no longer listening.
func closedURL(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	return u
}

// blockUntilDone holds the request until the client gives up on it.
func blockUntilDone(_ http.ResponseWriter, r *http.Request) {
	<-r.Context().Done()
}

// stallBody sends the status line, then holds the body until the client
// gives up.
func stallBody(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(`{"result":`))
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

func TestFailures(t *testing.T) {
	// Tests use a small size limit; the limit itself is not what is slow.
	const limit = 4 << 10
	big := `{"result":{"user":"` + strings.Repeat("a", limit) + `"}}`
	tests := []struct {
		name    string
		url     func(t *testing.T) string
		handler http.HandlerFunc
		cause   error    // also wrapped, when not nil
		events  []string // nil: every event
	}{
		{name: "backend down", url: closedURL},
		{name: "slow past timeout", handler: blockUntilDone,
			cause: context.DeadlineExceeded},
		{name: "body stalls past timeout", handler: stallBody,
			cause: context.DeadlineExceeded},
		{name: "status 500", handler: answer(500, `{"result":{"user":"u"}}`)},
		{name: "status 404", handler: answer(404, ``)},
		{name: "status 204", handler: answer(204, ``)},
		{name: "status 201", handler: answer(201, `{"result":{}}`)},
		{name: "not JSON", handler: answer(200, `<html>oops</html>`)},
		{name: "empty body", handler: answer(200, ``)},
		{name: "truncated JSON", handler: answer(200, `{"result":{"user":"u"`)},
		{name: "result is array", handler: answer(200, `{"result":[]}`)},
		{name: "result is string", handler: answer(200, `{"result":"ok"}`)},
		{name: "wrong field type", handler: answer(200, `{"result":{"user":5}}`),
			events: []string{"connect"}},
		{name: "bad expire_at", handler: answer(200, `{"result":{"expire_at":"x"}}`),
			events: []string{"connect", "refresh", "subscribe", "sub_refresh"}},
		{name: "wrong code type", handler: answer(200, `{"error":{"code":-1}}`),
			events: []string{"connect", "subscribe", "publish", "rpc"}},
		{name: "array body", handler: answer(200, `[]`)},
		{name: "oversize body", handler: answer(200, big)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var url string
			if tt.url != nil {
				url = tt.url(t)
			} else {
				url = newBackendFunc(t, tt.handler).URL
			}
			timeout := 5 * time.Second
			if tt.cause == context.DeadlineExceeded {
				timeout = 100 * time.Millisecond
			}
			p := newProxy(t, config.Proxy{Endpoint: url, Timeout: timeout})
			p.maxBody = limit
			events := tt.events
			if events == nil {
				events = allEvents
			}
			for _, ev := range events {
				err := callEvent(p, ev)
				if !errors.Is(err, ErrUnavailable) {
					t.Fatalf("%s: err %v, want ErrUnavailable", ev, err)
				}
				if tt.cause != nil && !errors.Is(err, tt.cause) {
					t.Fatalf("%s: err %v, want cause %v", ev, err, tt.cause)
				}
				if strings.Contains(err.Error(), url) {
					t.Errorf("%s: error repeats the endpoint: %v", ev, err)
				}
			}
		})
	}
}

var allEvents = []string{"connect", "refresh", "subscribe", "publish", "rpc",
	"sub_refresh"}

func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// TestBodyAtLimit: an answer of exactly the size limit is accepted.
func TestBodyAtLimit(t *testing.T) {
	const limit = 4 << 10
	prefix, suffix := `{"result":{"user":"`, `"}}`
	user := strings.Repeat("u", limit-len(prefix)-len(suffix))
	b := newBackend(t, http.StatusOK, prefix+user+suffix)
	p := newProxy(t, config.Proxy{Endpoint: b.URL})
	if p.maxBody != maxBodySize {
		t.Fatalf("default limit %d, want %d", p.maxBody, maxBodySize)
	}
	p.maxBody = limit
	res, err := p.Connect(context.Background(), caller(), ConnectRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.User) != len(user) {
		t.Errorf("user length %d, want %d", len(res.User), len(user))
	}
}

// TestCallerGone: when the client's context ends first, the call returns
// at once with the context's error and nothing is logged, since the
// backend is not at fault.
func TestCallerGone(t *testing.T) {
	started := make(chan struct{})
	b := newBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		close(started)
		blockUntilDone(w, r)
	})
	rec := &recorder{}
	p, err := New(config.Proxy{Endpoint: b.URL, Timeout: time.Minute}, slog.New(rec))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started // the backend holds the request
		cancel()
	}()
	_, err = p.Connect(ctx, caller(), ConnectRequest{})
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want ErrUnavailable wrapping context.Canceled", err)
	}
	if n := len(rec.records()); n != 0 {
		t.Errorf("%d log records, want none", n)
	}
}

func TestStatusTransforms(t *testing.T) {
	transforms := []config.StatusToCodeTransform{
		{StatusCode: 401, ToError: config.TransformError{Code: 1001,
			Message: "unauthorized", Temporary: true}},
		{StatusCode: 403}, // neither set: skipped
		{StatusCode: 403, ToDisconnect: config.TransformDisconnect{Code: 4501,
			Reason: "forbidden"}},
		{StatusCode: 403, ToError: config.TransformError{Code: 9, Message: "late"}},
		{StatusCode: 429, ToError: config.TransformError{Code: 111, Message: "slow"},
			ToDisconnect: config.TransformDisconnect{Code: 4000, Reason: "ignored"}},
		{StatusCode: 503, ToDisconnect: config.TransformDisconnect{Code: 4002,
			Reason: "again"}},
	}
	tests := []struct {
		status int
		want   error // nil: ErrUnavailable
	}{
		{401, &protocol.Error{Code: 1001, Message: "unauthorized", Temporary: true}},
		{403, &protocol.Disconnect{Code: 4501, Reason: "forbidden"}},
		{429, &protocol.Error{Code: 111, Message: "slow"}},
		{503, &protocol.Disconnect{Code: 4002, Reason: "again", Reconnect: true}},
		{500, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			b := newBackend(t, tt.status, `{"result":{"user":"u"}}`)
			p := newProxy(t, config.Proxy{Endpoint: b.URL,
				HTTP: config.ProxyHTTP{StatusToCodeTransforms: transforms}})
			for _, ev := range []string{"connect", "subscribe", "publish", "rpc"} {
				err := callEvent(p, ev)
				if tt.want == nil {
					if !errors.Is(err, ErrUnavailable) {
						t.Errorf("%s: err %v, want ErrUnavailable", ev, err)
					}
					continue
				}
				if fmt.Sprintf("%#v", err) != fmt.Sprintf("%#v", tt.want) {
					t.Errorf("%s: err %#v, want %#v", ev, err, tt.want)
				}
			}

			// Refresh acts on results only, so a transformed status
			// expires, while an untransformed one is a failure (grace).
			r, err := p.Refresh(context.Background(), caller())
			sr, serr := p.SubRefresh(context.Background(), caller(),
				SubRefreshRequest{Channel: "a"})
			if tt.want == nil {
				if !errors.Is(err, ErrUnavailable) || !errors.Is(serr, ErrUnavailable) {
					t.Errorf("refresh err %v, sub_refresh err %v", err, serr)
				}
				return
			}
			if err != nil || !r.Expired || serr != nil || !sr.Expired {
				t.Errorf("refresh %+v %v, sub_refresh %+v %v; want expired",
					r, err, sr, serr)
			}
		})
	}
}

// TestWarningsRateLimited: a failing backend under load logs one warning
// naming the endpoint without its query, and no request details.
func TestWarningsRateLimited(t *testing.T) {
	b := newBackend(t, http.StatusInternalServerError, `secret body`)
	rec := &recorder{}
	p, err := New(config.Proxy{Endpoint: b.URL + "/connect?api_key=hunter2",
		HTTPHeaders: []string{"Cookie"}}, slog.New(rec))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)

	c := caller()
	c.Headers = http.Header{"Cookie": {"sid=topsecret"}}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			_, _ = p.Connect(context.Background(), c, ConnectRequest{})
		})
	}
	wg.Wait()

	recs := rec.records()
	if len(recs) != 1 {
		t.Fatalf("%d log records, want 1", len(recs))
	}
	if recs[0].Level != slog.LevelWarn {
		t.Errorf("level %v, want warn", recs[0].Level)
	}
	a := attrs(recs[0])
	for _, w := range rec.with {
		a[w.Key] = w.Value.String()
	}
	if a["component"] != "proxy" || a["endpoint"] != b.URL+"/connect" ||
		a["event"] != "connect" || !strings.Contains(a["error"], "500") {
		t.Errorf("attributes %v", a)
	}
	var all strings.Builder
	for k, v := range a {
		all.WriteString(k + "=" + v + " ")
	}
	all.WriteString(recs[0].Message)
	for _, secret := range []string{"hunter2", "topsecret", "secret body"} {
		if strings.Contains(all.String(), secret) {
			t.Errorf("log line leaks %q: %s", secret, all.String())
		}
	}
}

func TestWarnLimiter(t *testing.T) {
	var l warnLimiter
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at         time.Duration
		ok         bool
		suppressed int64
	}{
		{0, true, 0},
		{time.Second, false, 0},
		{9 * time.Second, false, 0},
		{10 * time.Second, true, 2},
		{15 * time.Second, false, 0},
		{time.Minute, true, 1},
	}
	for _, s := range steps {
		ok, n := l.allow(t0.Add(s.at), warnEvery)
		if ok != s.ok || n != s.suppressed {
			t.Errorf("at %v: allow = %v, %d; want %v, %d", s.at, ok, n, s.ok,
				s.suppressed)
		}
	}
}

// TestConcurrentCallers runs many callers at once over one proxy; run with
// -race. Each caller must get its own answer.
func TestConcurrentCallers(t *testing.T) {
	b := newBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		// Echo the client ID as the user, so answers can be matched.
		id := r.Header.Get("X-Client")
		_, _ = fmt.Fprintf(w, `{"result":{"user":%q,"info":{"id":%q},`+
			`"meta":{"id":%q}}}`, id, id, id)
	})
	p := newProxy(t, config.Proxy{Endpoint: b.URL, HTTPHeaders: []string{"X-Client"},
		HTTP: config.ProxyHTTP{StaticHeaders: map[string]string{"X-Static": "s"}}})
	shared := http.Header{"X-Static": {"shared"}}
	type checked struct {
		res  *ConnectResult
		want string
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64*11)
	for g := range 64 {
		wg.Go(func() {
			var results []checked
			defer func() {
				// Check again after all of this goroutine's calls.
				for _, r := range results {
					if string(r.res.Info) != r.want || string(r.res.Meta) != r.want {
						errs <- fmt.Errorf("result changed later: %+v", r.res)
						return
					}
				}
			}()
			for i := range 10 {
				id := fmt.Sprintf("%d-%d", g, i)
				c := caller()
				c.Client = id
				c.Headers = CaptureHeaders(http.Header{"X-Client": {id}},
					[]string{"X-Client"})
				res, err := p.Connect(context.Background(), c, ConnectRequest{
					Data: []byte(`{"n":1}`)})
				if err != nil {
					errs <- err
					return
				}
				// Info and meta must not alias the pooled read buffer,
				// which later answers overwrite.
				want := `{"id":"` + id + `"}`
				if res.User != id || string(res.Info) != want ||
					string(res.Meta) != want {
					errs <- fmt.Errorf("client %s got %+v", id, res)
				}
				results = append(results, checked{res, want})
				_, _ = p.Refresh(context.Background(), Caller{Headers: shared})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
