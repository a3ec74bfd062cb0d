package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge-go"
)

// These tests run the tutorial the way `make tutorial` does, as one
// command that starts Herald as its child, from freshly built binaries and
// on free ports. They are in a _linux file because the child's parent
// death signal (herald_linux.go) and the /proc check of a process exist
// only there.

// startTimeout bounds how long the tutorial may take to build, start Herald
// and serve; waitTimeout bounds every other wait.
const (
	startTimeout = 60 * time.Second
	waitTimeout  = 15 * time.Second
	pollEvery    = 20 * time.Millisecond
)

// lockedBuffer collects a process's output for the test to read while the
// process writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// pollUntil calls cond until it returns true and fails the test with
// describe's text if that does not happen within timeout.
func pollUntil(t *testing.T, timeout time.Duration, cond func() bool,
	describe func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, describe())
		}
		<-tick.C
	}
}

// build compiles the package pkg of this module into dir.
func build(t *testing.T, dir, pkg string) string {
	t.Helper()
	bin := filepath.Join(dir, filepath.Base(pkg))
	out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// appDir is a copy of the tutorial's views and static files, with small
// stand-ins for the SDKs that `npm ci` would install.
func appDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"views", "static"} {
		if err := os.CopyFS(filepath.Join(dir, sub), os.DirFS(sub)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range vendorFiles {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("// sdk stand-in\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tutorial is one running herald-tutorial with its Herald child.
type tutorial struct {
	cmd       *exec.Cmd
	out       *lockedBuffer // the tutorial's and Herald's output
	done      chan struct{} // closed once the tutorial has exited
	err       error         // its exit status, read after done
	front     string        // the front door's base URL
	herald    string        // Herald's base URL
	heraldPID int
}

// heraldStarted is the tutorial's log line for its child.
var heraldStarted = regexp.MustCompile(`msg="herald started" .*pid=(\d+)`)

// startTutorial builds Herald and the tutorial and runs the tutorial with
// -start-herald, as `make tutorial` does, on free ports: Herald gets a copy
// of config.json with its own port, connect proxy endpoint and origin. It
// returns once the tutorial prints its banner, which it does after Herald
// answered /health and the app and front door listen.
func startTutorial(t *testing.T) *tutorial {
	t.Helper()
	bins := t.TempDir()
	heraldBin := build(t, bins, "github.com/heraldhq/herald/cmd/herald")
	tutorialBin := build(t, bins, "github.com/heraldhq/herald/examples/tutorial")

	heraldPort, appPort, frontPort := freePort(t), freePort(t), freePort(t)
	raw, err := os.ReadFile("config.json")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["port"] = heraldPort
	cfg["proxy_connect_endpoint"] = fmt.Sprintf(
		"http://127.0.0.1:%d/centrifugo/connect", appPort)
	cfg["allowed_origins"] = []string{fmt.Sprintf("http://localhost:%d", frontPort)}
	raw, err = json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(config, raw, 0o644); err != nil {
		t.Fatal(err)
	}

	tu := &tutorial{
		out:    &lockedBuffer{},
		done:   make(chan struct{}),
		front:  fmt.Sprintf("http://localhost:%d", frontPort),
		herald: fmt.Sprintf("http://127.0.0.1:%d", heraldPort),
	}
	tu.cmd = exec.Command(tutorialBin, "-dir", appDir(t),
		"-addr", fmt.Sprintf("127.0.0.1:%d", appPort),
		"-front", fmt.Sprintf("127.0.0.1:%d", frontPort),
		"-herald-url", tu.herald, "-interval", "200ms",
		"-start-herald", heraldBin, "-herald-config", config)
	tu.cmd.Stdout, tu.cmd.Stderr = tu.out, tu.out
	// Herald writes to the same pipe. Should it outlive the tutorial, Wait
	// must not wait for it to close the pipe.
	tu.cmd.WaitDelay = 2 * time.Second
	if err := tu.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		tu.err = tu.cmd.Wait()
		close(tu.done)
	}()
	t.Cleanup(func() {
		// A failed test may leave both running; a passing one has
		// stopped them already, and these do nothing.
		_ = tu.cmd.Process.Kill()
		<-tu.done
		if tu.heraldPID > 0 && !exited(tu.heraldPID) {
			_ = syscall.Kill(tu.heraldPID, syscall.SIGKILL)
		}
		if t.Failed() {
			t.Logf("tutorial output:\n%s", tu.out)
		}
	})

	banner := fmt.Sprintf("open http://localhost:%d\n", frontPort)
	pollUntil(t, startTimeout, func() bool {
		select {
		case <-tu.done:
			t.Fatalf("tutorial exited before serving: %v", tu.err)
		default:
		}
		return strings.Contains(tu.out.String(), banner)
	}, func() string { return "no banner " + strconv.Quote(banner) })
	m := heraldStarted.FindStringSubmatch(tu.out.String())
	if m == nil {
		t.Fatal("the tutorial did not log the Herald child's pid")
	}
	tu.heraldPID, _ = strconv.Atoi(m[1])
	return tu
}

// exited reports whether process pid is gone: it no longer exists, or it
// has ended and waits, as a zombie, for a parent that has not reaped it yet.
func exited(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// healthy reports whether Herald answers GET /health with 200.
func (tu *tutorial) healthy() bool {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get(tu.herald + "/health")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// wantExited waits until the tutorial exited and fails unless it exited
// with status 0.
func (tu *tutorial) wantExited(t *testing.T) {
	t.Helper()
	select {
	case <-tu.done:
	case <-time.After(waitTimeout):
		t.Fatalf("the tutorial did not exit within %v", waitTimeout)
	}
	if tu.err != nil {
		t.Fatalf("the tutorial exited with %v", tu.err)
	}
}

// wantHeraldGone waits until the Herald child has exited and stopped
// answering.
func (tu *tutorial) wantHeraldGone(t *testing.T) {
	t.Helper()
	pollUntil(t, waitTimeout, func() bool {
		return exited(tu.heraldPID) && !tu.healthy()
	}, func() string {
		return fmt.Sprintf("Herald (pid %d) is still running", tu.heraldPID)
	})
}

// readBody fetches url with c and returns the status and body.
func readBody(t *testing.T, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// fileText returns the tutorial's file name as a string.
func fileText(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestStartHerald runs the tutorial's one command and uses it as a reader
// of the tutorial would: log in through the front door, get the app page,
// connect to Herald through the front door with the session cookie and
// receive the server time on the personal channel. SIGTERM, what Ctrl-C
// sends in effect, then stops the tutorial and its Herald child.
func TestStartHerald(t *testing.T) {
	tu := startTutorial(t)
	if !tu.healthy() {
		t.Fatal("Herald is not healthy after the banner")
	}

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: waitTimeout}
	req, _ := http.NewRequest(http.MethodGet, tu.front+"/", nil)
	if _, body := readBody(t, client, req); body != fileText(t, "views/login.html") {
		t.Fatalf("GET / before logging in: %.200q, want the login page", body)
	}
	form := url.Values{"username": {demoUser}, "password": {demoPassword}}
	req, _ = http.NewRequest(http.MethodPost, tu.front+"/login",
		strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, body := readBody(t, client, req)
	if status != http.StatusOK || body != fileText(t, "views/app.html") {
		t.Fatalf("after login: %d %.200q, want the app page", status, body)
	}

	// The page's connection: the front door forwards the WebSocket to
	// Herald, Herald asks the app's connect proxy with the cookie, and the
	// app publishes the time to the user's channel through Herald's API.
	front, _ := url.Parse(tu.front)
	header := http.Header{"Origin": {tu.front}}
	for _, ck := range jar.Cookies(front) {
		header.Add("Cookie", ck.String())
	}
	ws := "ws://" + front.Host + "/connection/websocket"
	sdk := centrifuge.NewJsonClient(ws, centrifuge.Config{Header: header})
	defer sdk.Close()
	pubs := make(chan centrifuge.ServerPublicationEvent, 16)
	sdk.OnPublication(func(e centrifuge.ServerPublicationEvent) {
		select {
		case pubs <- e:
		default:
		}
	})
	if err := sdk.Connect(); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-pubs:
		var data struct{ Time int64 }
		if err := json.Unmarshal(e.Data, &data); err != nil || e.Channel != "#demo-user" ||
			data.Time < time.Now().Add(-time.Minute).Unix() {
			t.Fatalf("publication %q on %q, want the server time on #demo-user",
				e.Data, e.Channel)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("no publication within %v; client state %s", waitTimeout, sdk.State())
	}
	sdk.Close()

	if err := tu.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	tu.wantExited(t)
	tu.wantHeraldGone(t)
}

// TestStartHeraldParentDeath kills the tutorial so that it cannot stop
// Herald itself: the parent death signal makes Herald exit as well.
func TestStartHeraldParentDeath(t *testing.T) {
	tu := startTutorial(t)
	if err := tu.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-tu.done
	tu.wantHeraldGone(t)
}
