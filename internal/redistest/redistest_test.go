package redistest_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/heraldhq/herald/internal/redistest"
)

// newClient opens a rueidis client closed when the test ends.
func newClient(t *testing.T, opt rueidis.ClientOption) rueidis.Client {
	t.Helper()
	opt.DisableCache = true
	c, err := rueidis.NewClient(opt)
	if err != nil {
		t.Fatalf("connect %v: %v", opt.InitAddress, err)
	}
	t.Cleanup(c.Close)
	return c
}

// nodeClient talks to one server only, never following a cluster.
func nodeClient(t *testing.T, s *redistest.Server) rueidis.Client {
	return newClient(t, rueidis.ClientOption{InitAddress: []string{s.Addr},
		ForceSingleClient: true})
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func set(t *testing.T, c rueidis.Client, key, value string) {
	t.Helper()
	cmd := c.B().Set().Key(key).Value(value).Build()
	if err := c.Do(testContext(t), cmd).Error(); err != nil {
		t.Fatalf("SET %s: %v", key, err)
	}
}

func get(t *testing.T, c rueidis.Client, key string) string {
	t.Helper()
	v, err := c.Do(testContext(t), c.B().Get().Key(key).Build()).ToString()
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	return v
}

// reachable reports whether something accepts connections on addr.
func reachable(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// waitUnreachable polls addr until nothing listens there.
func waitUnreachable(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for reachable(addr) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts connections", addr)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

func TestStartStop(t *testing.T) {
	s := redistest.Start(t)
	if s.Addr != "127.0.0.1:"+strconv.Itoa(s.Port) || s.Dir == "" {
		t.Fatalf("server %+v", s)
	}
	c := nodeClient(t, s)
	set(t, c, "k", "v")

	s.Stop(t)
	if reachable(s.Addr) {
		t.Errorf("%s reachable after Stop", s.Addr)
	}
	s.Stop(t) // a second Stop is a no-op
	s.Kill(t)
}

func TestRestartKeepsAppendOnlyData(t *testing.T) {
	tests := []struct {
		name string
		args []string
		down func(*redistest.Server, testing.TB)
	}{
		{"stop", []string{"--appendonly", "yes"}, (*redistest.Server).Stop},
		// Only an fsync per write survives a crash.
		{"kill", []string{"--appendonly", "yes", "--appendfsync", "always"},
			(*redistest.Server).Kill},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := redistest.Start(t, tt.args...)
			set(t, nodeClient(t, s), "survivor", tt.name)
			tt.down(s, t)
			if reachable(s.Addr) {
				t.Fatalf("%s reachable while down", s.Addr)
			}

			s.Restart(t)
			if got := get(t, nodeClient(t, s), "survivor"); got != tt.name {
				t.Errorf("after restart survivor = %q, want %q", got, tt.name)
			}
		})
	}
}

func TestRestartRunningServer(t *testing.T) {
	s := redistest.Start(t)
	s.Restart(t)
	if !reachable(s.Addr) {
		t.Fatalf("%s unreachable after Restart", s.Addr)
	}
}

func TestCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	if len(c.Nodes) != 3 || len(c.Addrs()) != 3 {
		t.Fatalf("cluster of %d nodes, %d addresses", len(c.Nodes), len(c.Addrs()))
	}
	ctx := testContext(t)
	for _, n := range c.Nodes {
		nc := nodeClient(t, n)
		info, err := nc.Do(ctx, nc.B().ClusterInfo().Build()).ToString()
		if err != nil || !strings.Contains(info, "cluster_state:ok") {
			t.Errorf("CLUSTER INFO of %s: %q, %v", n.Addr, info, err)
		}
	}

	// Exactly one node owns the key's slot; the others redirect.
	owners := 0
	for _, n := range c.Nodes {
		nc := nodeClient(t, n)
		err := nc.Do(ctx, nc.B().Set().Key("spread").Value("out").Build()).Error()
		if err == nil {
			owners++
			continue
		}
		re, ok := rueidis.IsRedisErr(err)
		if !ok {
			t.Errorf("SET on %s: %v, want a MOVED redirection", n.Addr, err)
			continue
		}
		if _, moved := re.IsMoved(); !moved {
			t.Errorf("SET on %s: %v, want a MOVED redirection", n.Addr, err)
		}
	}
	if owners != 1 {
		t.Fatalf("%d nodes accepted the key, want 1", owners)
	}
	cc := newClient(t, rueidis.ClientOption{InitAddress: c.Addrs()})
	if got := get(t, cc, "spread"); got != "out" {
		t.Errorf("cluster client read %q, want out", got)
	}
}

func TestSentinel(t *testing.T) {
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master, "herald-test")
	sc := newClient(t, rueidis.ClientOption{InitAddress: []string{sentinel.Addr},
		Sentinel: rueidis.SentinelOption{MasterSet: "herald-test"}})
	set(t, sc, "through", "sentinel")

	if got := get(t, nodeClient(t, master), "through"); got != "sentinel" {
		t.Errorf("master holds %q, want the value written through the sentinel", got)
	}
}

// orphanEnv makes the test binary, run again by TestNoServerOutlivesBinary,
// start a server and wait to be killed.
const orphanEnv = "REDISTEST_ORPHAN"

func TestNoServerOutlivesBinary(t *testing.T) {
	if os.Getenv(orphanEnv) == "1" {
		s := redistest.Start(t)
		os.Stdout.WriteString("orphan-port " + strconv.Itoa(s.Port) + "\n")
		time.Sleep(time.Minute) // the parent kills this process long before
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("only Linux kills a server whose test binary died")
	}
	redistest.Require(t)

	cmd := exec.Command(os.Args[0], "-test.run=^TestNoServerOutlivesBinary$",
		"-test.count=1")
	cmd.Env = append(os.Environ(), orphanEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := orphanAddr(t, out)

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	waitUnreachable(t, addr)
}

// orphanAddr reads the child's server address from its output.
func orphanAddr(t *testing.T, out io.Reader) string {
	t.Helper()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if port, ok := strings.CutPrefix(sc.Text(), "orphan-port "); ok {
			return "127.0.0.1:" + port
		}
	}
	t.Fatalf("the child test binary reported no server: %v", sc.Err())
	return ""
}
