package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// startTimeout bounds the wait for a process to answer after it starts,
	// and for a cluster or sentinel to settle.
	startTimeout = 20 * time.Second
	// stopTimeout bounds a graceful shutdown, which may write an AOF or RDB.
	stopTimeout = 15 * time.Second
	// pollInterval spaces the readiness checks.
	pollInterval = 10 * time.Millisecond
	// tailLines is how much of a log a failed test prints.
	tailLines = 40
	// maxPort keeps port+10000, a cluster node's bus port, a valid port.
	maxPort = 55000
	// portAttempts is how often a start is retried when another process
	// took the chosen port between the probe and redis-server's bind.
	portAttempts = 3
)

// errExited reports a process that ended while it was awaited.
var errExited = errors.New("redistest: redis-server exited")

// Require fails the test under CI=true, or skips it otherwise, when
// redis-server is not on PATH. [Start], [StartCluster] and [StartSentinel]
// call it, so tests need it only to bail out before other setup;
// [StartCluster] treats a missing redis-cli the same way.
func Require(t testing.TB) {
	t.Helper()
	requireBinary(t, "redis-server")
}

// requireBinary fails or skips t, as [Require], when name is not on PATH.
func requireBinary(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not on PATH; CI must provide it", name)
	}
	t.Skipf("%s is not on PATH", name)
}

// Server is one redis-server process, a plain server, a cluster node or a
// sentinel. Its port and directory stay the same across [Server.Restart].
type Server struct {
	// Addr is "127.0.0.1:<Port>".
	Addr string
	// Port is the TCP port the server listens on.
	Port int
	// Dir is the server's working directory: its data, config and log.
	Dir string

	args    []string
	logPath string
	// ready reports whether a freshly started process is usable.
	ready func(*Server) error

	// mu guards proc, which is nil while no process runs.
	mu   sync.Mutex
	proc *process
}

// process is one run of a Server.
type process struct {
	cmd *exec.Cmd
	// done is closed once cmd.Wait returned.
	done chan struct{}
}

// Start runs redis-server on a free 127.0.0.1 port in a new t.TempDir()
// with the extra args appended to its command line (for example
// "--appendonly", "yes"), waits until it answers PING and stops it when
// the test ends. The args cannot change the port, bind address, dir or
// logfile. RDB snapshots are off unless args turn them on with "--save".
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	Require(t)
	dir := t.TempDir()
	return launch(t, dir, func(port int) ([]string, error) {
		return serverArgs(port, dir, args), nil
	}, ping)
}

// serverArgs is the command line of a plain server; the fixed settings
// come last so that extra args cannot move the server elsewhere.
func serverArgs(port int, dir string, extra []string) []string {
	args := []string{"--save", "", "--appendonly", "no"}
	args = append(args, extra...)
	return append(args,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--daemonize", "no",
		"--dir", dir,
		"--logfile", filepath.Join(dir, "redis.log"),
	)
}

// launch starts a server in dir on a free port, with the command line
// build returns for that port, and waits for ready. A start that loses its
// port to another process is retried on a new one.
func launch(t testing.TB, dir string, build func(port int) ([]string, error),
	ready func(*Server) error) *Server {
	t.Helper()
	for attempt := 1; ; attempt++ {
		port := freePort(t)
		args, err := build(port)
		if err != nil {
			t.Fatalf("redistest: prepare server on port %d: %v", port, err)
		}
		s := &Server{
			Addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			Port:    port,
			Dir:     dir,
			args:    args,
			logPath: filepath.Join(dir, "redis.log"),
			ready:   ready,
		}

		err = s.start()
		if err == nil {
			s.cleanupAtEnd(t)
			return s
		}
		if attempt < portAttempts && strings.Contains(s.logTail(), "already in use") {
			_ = os.Remove(s.logPath)
			continue
		}
		t.Fatalf("redistest: start redis-server on %s: %v\n%s", s.Addr, err, s.logTail())
	}
}

// cleanupAtEnd stops s when t ends and prints its log if t failed.
func (s *Server) cleanupAtEnd(t testing.TB) {
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("redistest: stop %s: %v", s.Addr, err)
		}
		if t.Failed() {
			t.Logf("redis-server %s, last lines of %s:\n%s", s.Addr, s.logPath,
				s.logTail())
		}
	})
}

// start runs the process and waits for it to be ready; on failure the
// process is gone when start returns.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return errors.New("redistest: server already running")
	}

	// The server also writes to the log through stdout and stderr, which
	// catches what it prints before it opens its log file.
	log, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("redistest: open log: %w", err)
	}
	defer log.Close()
	cmd := exec.Command("redis-server", s.args...)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redistest: exec redis-server: %w", err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	s.proc = p

	if err := s.awaitLocked(s.ready); err != nil {
		s.killLocked()
		return err
	}
	return nil
}

// awaitLocked polls cond until it holds, the process exits or startTimeout
// passes.
func (s *Server) awaitLocked(cond func(*Server) error) error {
	deadline := time.Now().Add(startTimeout)
	for {
		err := cond(s)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redistest: not ready after %v: %w", startTimeout, err)
		}
		select {
		case <-s.proc.done:
			return fmt.Errorf("%w: %s", errExited, s.proc.cmd.ProcessState)
		case <-time.After(pollInterval):
		}
	}
}

// Stop sends SIGTERM and waits for the process to exit, so a server with
// persistence on writes its data first. Stopping a stopped server is a
// no-op.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if err := s.stop(); err != nil {
		t.Fatalf("redistest: stop %s: %v", s.Addr, err)
	}
}

func (s *Server) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	select {
	case <-s.proc.done:
		// It exited on its own; its log says why.
		s.killLocked()
		return nil
	default:
	}

	if err := terminate(s.proc.cmd.Process); err != nil {
		s.killLocked()
		return fmt.Errorf("redistest: sigterm: %w", err)
	}
	select {
	case <-s.proc.done:
		// A background save started just before SIGTERM may outlive
		// the server in its process group.
		killGroup(s.proc.cmd.Process)
		s.proc = nil
		return nil
	case <-time.After(stopTimeout):
		s.killLocked()
		return fmt.Errorf("redistest: no exit %v after SIGTERM, killed", stopTimeout)
	}
}

// Kill sends SIGKILL, as a crash would, and waits for the process to exit.
// Killing a stopped server is a no-op.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
}

// killLocked kills the process and its children and waits for it.
func (s *Server) killLocked() {
	if s.proc == nil {
		return
	}
	killGroup(s.proc.cmd.Process)
	<-s.proc.done
	s.proc = nil
}

// Restart starts the server again on the same port, directory and command
// line, stopping it first if it runs, and waits until it is ready.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	if err := s.start(); err != nil {
		t.Fatalf("redistest: restart %s: %v\n%s", s.Addr, err, s.logTail())
	}
}

// logTail returns the last lines of the server's log.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	return strings.Join(lines, "\n")
}

// ping is the readiness check of a plain server.
func ping(s *Server) error {
	r, err := call(s.Addr, "PING")
	if err != nil {
		return err
	}
	if r != "PONG" {
		return fmt.Errorf("redistest: PING answered %v", r)
	}
	return nil
}

// Ports handed out in this test binary, so that two tests running in
// parallel never get the same one between its probe and its use.
var (
	portsMu sync.Mutex
	ports   = map[int]bool{}
)

// freePort returns a loopback port, below maxPort, that is free together
// with port+10000 (a cluster node's bus port).
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		port, err := probePort(0)
		if err != nil {
			t.Fatalf("redistest: find a free port: %v", err)
		}
		if port >= maxPort {
			continue
		}
		if _, err := probePort(port + 10000); err != nil {
			continue
		}

		portsMu.Lock()
		taken := ports[port]
		ports[port] = true
		portsMu.Unlock()
		if !taken {
			return port
		}
	}
	t.Fatalf("redistest: no free port pair below %d", maxPort)
	return 0
}

// probePort listens on 127.0.0.1:port (0 for any) and closes at once,
// returning the port it got.
func probePort(port int) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// call sends one command to addr on a new connection and returns the
// reply: a string for simple and bulk strings, an int64, a []any for an
// array, nil for a null, or an error, for an error reply too.
func call(addr string, args ...string) (any, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))

	var req strings.Builder
	fmt.Fprintf(&req, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&req, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, req.String()); err != nil {
		return nil, err
	}
	return readReply(bufio.NewReader(conn))
}

// readReply reads one RESP2 reply.
func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("redistest: empty reply line")
	}

	body := line[1:]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, fmt.Errorf("redistest: server error: %s", body)
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		return readBulk(r, body)
	case '*':
		return readArray(r, body)
	}
	return nil, fmt.Errorf("redistest: unexpected reply %q", line)
}

func readBulk(r *bufio.Reader, size string) (any, error) {
	n, err := strconv.Atoi(size)
	if err != nil || n < 0 {
		return nil, err
	}
	b := make([]byte, n+2)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return string(b[:n]), nil
}

func readArray(r *bufio.Reader, size string) (any, error) {
	n, err := strconv.Atoi(size)
	if err != nil || n < 0 {
		return nil, err
	}
	out := make([]any, n)
	for i := range out {
		if out[i], err = readReply(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// await polls cond as a start does, for conditions that need more than the
// server itself, such as a cluster that has settled.
func (s *Server) await(cond func(*Server) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return errExited
	}
	return s.awaitLocked(cond)
}
